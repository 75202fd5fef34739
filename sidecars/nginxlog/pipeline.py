"""One namespace's parser and store, and a feed for each of its inputs."""

from __future__ import annotations

import sys
from collections.abc import Callable

from sidecars import HelperContext

from .feed import Feed
from .metrics import InputStats, StoreView
from .namespaces import Namespace, label_names_for, wanted_for
from .parser import LineParser, Parser
from .plan import build_parser, label_names, wanted_fields
from .routes import RouteRules
from .settings import METRIC_FIELDS, NginxLogSettings
from .store import Store
from .tally import TWIN, Tally
from .values import JSON_CONVERTERS

__all__ = ["pipeline"]


def pipeline(
    ctx: HelperContext[NginxLogSettings], namespace: Namespace, routes: Callable[[], RouteRules]
) -> tuple[list[Feed], StoreView]:
    """One namespace's parser and store, and a feed for each of its inputs."""
    settings = ctx.settings
    log_format = namespace.log_format
    parser = build_parser(log_format, wanted_for(namespace, wanted_fields(settings)))
    ctx.log.info(
        "log format read",
        extra={
            "namespace": namespace.name,
            "format": log_format.text,
            "escape": log_format.escape,
            "fields": parser.fields,
            "row_counting": TWIN,
            "line_matching": matching(parser),
        },
    )
    labels = label_names_for(namespace, label_names(settings, namespace.inputs))
    store = Store(labels, namespace.buckets, settings.max_series, summaries=settings.summaries_on)
    converters: dict[str, tuple[str, Callable[[bytes], str]]] = {}
    if log_format.exporter:  # as in the exporter: no $request, no method label value
        for name in ("method", "status"):
            if name not in parser.fields:
                converters[name] = (name, _empty)
    if log_format.escape == "json":
        converters.update({name: (name, convert) for name, convert in JSON_CONVERTERS.items()})
    converters.update({r.target: (r.source, r.convert) for r in namespace.relabels})
    static = {label.name: label.value for label in settings.static_labels}
    static.update(namespace.static)
    feed_class = _PrintingFeed if namespace.print_log else Feed
    feeds = []
    for spec in namespace.inputs:
        tally = Tally(store, parser.fields, {**static, **spec.labels}, routes, converters)
        feeds.append(feed_class(spec.name, parser, tally, InputStats(), ctx.log))
    metric_fields = frozenset(METRIC_FIELDS[name] for name in settings.metrics)
    counter_only = frozenset(r.target for r in namespace.relabels if r.only_counter)
    view = StoreView(
        store, namespace.prefix, metric_fields & set(parser.fields), namespace.const, counter_only
    )
    return feeds, view


def _empty(_raw: bytes) -> str:
    return ""


class _PrintingFeed(Feed):
    """``print_log``: every line also goes to standard output, as the exporter does."""

    def lines(self, chunk: bytes, end: int | None = None) -> None:
        sys.stdout.buffer.write(chunk if end is None else memoryview(chunk)[:end])
        sys.stdout.flush()
        super().lines(chunk, end)


def matching(parser: Parser) -> str:
    """What matches the lines: the C scanner, the regex, or the JSON decoder."""
    if not isinstance(parser, LineParser):
        return "json"
    return "C scanner" if parser.steps is not None else "regex"
