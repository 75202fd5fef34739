"""``sidecars nginxlog check FILE``: read a sample log with the configured format and say
how much of it matches, and why the first lines that do not, do not."""

from __future__ import annotations

import fnmatch
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from sidecars import ConfigError

from .config import is_exporter_file
from .explain import explain
from .namespaces import Namespace, plan
from .parser import LineParser, Rows
from .plan import build_parser, label_names, wanted_fields
from .routes import RouteRules
from .settings import NginxLogSettings
from .store import Store
from .tally import Tally

__all__ = ["check_command"]

_SHOWN = 5
USAGE = (
    "usage: sidecars nginxlog check FILE...  (format and labels from NGINXLOG_* variables; "
    "with an exporter file, the format of the namespace that lists FILE)"
)


def check_command(argv: Sequence[str]) -> int:
    """Exit 0 when every line matches, 1 when some do not, 2 for a usage or format error."""
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not argv else sys.stdout)
        return 0 if argv else 2
    env = dict(os.environ)
    config = env.get("NGINXLOG_CONFIG", "")
    if not is_exporter_file(Path(config)):  # an exporter file lists the files itself
        env.setdefault("NGINXLOG_FILES", argv[0])
    try:
        settings = NginxLogSettings.from_env(env)
    except ConfigError as exc:
        print(f"sidecars nginxlog check: {exc.render()}", file=sys.stderr)
        return 2
    log_format = settings.parsed_format()
    if settings.config is not None and is_exporter_file(settings.config):
        namespace = _namespace_of(plan(settings).namespaces, argv[0])
        print(f"namespace: {namespace.name}")
        log_format = namespace.log_format
    parser = build_parser(log_format, wanted_fields(settings))
    store = Store(label_names(settings, []), tuple(settings.buckets), 1_000_000)
    tally = Tally(store, parser.fields, {}, lambda: RouteRules((), settings.route_unmatched))
    total = matched = 0
    problems: list[str] = []
    reasons: Counter[str] = Counter()
    print(f"format: {log_format.text}")
    print(f"fields used: {', '.join(parser.fields) or 'none'}")
    for name in argv:
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            print(f"sidecars nginxlog check: cannot read {name}: {exc.strerror}", file=sys.stderr)
            return 2
        for number, line in enumerate(data.splitlines(), start=1):
            total += 1
            bad: list[bytes] = []
            before = store.parse_errors
            found: Rows = []
            parser.scan(line + b"\n", found, bad)
            tally.add(found)
            tally.fold()
            if bad:
                tokens = parser.pattern.tokens if isinstance(parser, LineParser) else ()
                reason = explain(tokens, line)
            elif store.parse_errors > before:
                reason = next(iter(tally.rejected))
                tally.rejected.clear()
            else:
                matched += 1
                continue
            reasons[reason.partition(", found")[0]] += 1
            if len(problems) < _SHOWN:
                problems.append(f"  {name}:{number}: {reason}")
    share = 100.0 * matched / total if total else 0.0
    print(f"lines: {total}, matched: {matched} ({share:.1f}%), not matched: {total - matched}")
    if problems:
        print("first lines that do not match:")
        print("\n".join(problems))
        print("most common reasons:")
        for reason, count in reasons.most_common(3):
            print(f"  {count} x {reason}")
    return 0 if total == matched and total else 1


def _namespace_of(namespaces: list[Namespace], path: str) -> Namespace:
    """The namespace whose files include ``path``; the first one if none does."""
    for namespace in namespaces:
        for spec in namespace.inputs:
            if any(fnmatch.fnmatch(path, pattern) for pattern in spec.files):
                return namespace
    return namespaces[0]
