"""Several ambassador builds against HAProxy, tcp and http mode, in one run with interleaved rounds.

Run: .venv/bin/python benchmarks/ambassador/compare.py 2ffc3c8 . [--seconds 4] [--rounds 5]
     .venv/bin/python benchmarks/ambassador/compare.py python:/tmp/venv-old/bin/python \
         python:/tmp/venv-new/bin/python --paths http,tcp,big

Each revision (``.`` is the working tree) is built as the images ship it (``SIDECARS_COMPILE=1``;
``--pure`` for the source) into a directory of its own and runs from there, so no build
imports another's code. ``python:PATH`` runs the package already installed for that
interpreter (a venv holding a compiled wheel) instead. Single runs of run.py drift by several
percent from run to run; a change is judged by the ratios of one such run, with the CPU split
into user and system time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import run
from run import compiled_tree, ensure_tools, peers, redis_bench, stop, wait_port, wrk

REPO = Path(__file__).resolve().parents[2]
# http: small file through the http listeners; tcp: small file, keep-alive; close: a new
# connection per request; redis: redis-benchmark; big: the 1 MiB file through tcp.
PATHS = ("http", "tcp", "close", "redis", "big")


_TAKEN: set[int] = set()


def free_port() -> int:
    """A free port not handed out before in this run: the kernel may offer one twice."""
    while (port := run.free_port()) in _TAKEN:
        pass
    _TAKEN.add(port)
    return port


def cpu(pid: int) -> tuple[float, float]:
    """User and system seconds of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def build(rev: str, root: Path, pure: bool) -> Path:
    """The package at ``rev`` in ``root``: the source tree with --pure, else the compiled one."""
    src = root / "src"
    if rev == ".":
        shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".git", ".venv", "*.so"))
    else:
        src.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", rev], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    return src if pure else compiled_tree(root, src)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "revs",
        nargs="+",
        help="git revisions (. is the working tree) or python:PATH, each optionally LABEL=...",
    )
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pure", action="store_true", help="run the builds uncompiled")
    parser.add_argument(
        "--paths",
        default=",".join(PATHS),
        help=f"comma-separated, from {','.join(PATHS)} (default: all)",
    )
    args = parser.parse_args()
    paths = args.paths.split(",")
    if unknown := set(paths) - set(PATHS):
        parser.error(f"unknown paths: {', '.join(sorted(unknown))}")
    ensure_tools()
    root = Path(tempfile.mkdtemp(prefix="ambassador-compare-"))
    nginx, redis = free_port(), free_port()
    ports = {"haproxy": (free_port(), free_port(), free_port())}
    (root / "haproxy.cfg").write_text(f"""
global
  nbthread 1
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend tcp_in
  bind 127.0.0.1:{ports["haproxy"][0]}
  default_backend tcp_out
backend tcp_out
  server s1 127.0.0.1:{nginx}
frontend redis_in
  bind 127.0.0.1:{ports["haproxy"][1]}
  default_backend redis_out
backend redis_out
  server s1 127.0.0.1:{redis}
frontend http_in
  mode http
  option forwardfor
  bind 127.0.0.1:{ports["haproxy"][2]}
  default_backend http_out
backend http_out
  mode http
  http-reuse always
  server s1 127.0.0.1:{nginx}
""")
    procs = {
        **peers(root, nginx, redis),
        "haproxy": subprocess.Popen(["haproxy", "-f", str(root / "haproxy.cfg")]),
    }
    try:
        names = ["haproxy"]
        for i, rev in enumerate(args.revs):
            label, _, rev = rev.rpartition("=")
            name = label or f"{i}:{rev}"
            python, code = sys.executable, {}
            if rev.startswith("python:"):
                python = rev.removeprefix("python:")
            else:
                code = {"PYTHONPATH": str(build(rev, root / f"build{i}", args.pure))}
            ports[name] = (free_port(), free_port(), free_port())
            listeners = [
                {"name": "tcp", "listen": f"127.0.0.1:{ports[name][0]}",
                 "upstreams": [f"127.0.0.1:{nginx}"]},
                {"name": "redis", "listen": f"127.0.0.1:{ports[name][1]}",
                 "upstreams": [f"127.0.0.1:{redis}"]},
                {"name": "http", "listen": f"127.0.0.1:{ports[name][2]}", "mode": "http",
                 "upstreams": [f"127.0.0.1:{nginx}"]},
            ]  # fmt: skip
            config = root / f"ambassador{i}.json"
            config.write_text(json.dumps({"listeners": listeners}))
            env = dict(os.environ, **code, AMBASSADOR_CONFIG_FILE=str(config),
                       AMBASSADOR_ADMIN_ADDR=f"127.0.0.1:{free_port()}",
                       AMBASSADOR_LOG_LEVEL="warning", AMBASSADOR_DRAIN_DELAY="0")  # fmt: skip
            procs[name] = subprocess.Popen(
                [python, "-m", "sidecars", "ambassador"], env=env, cwd=root / "logs"
            )
            names.append(name)
        for pair in ports.values():
            for port in pair:
                wait_port(port)
        pids = {name: procs[name].pid for name in names}
        compare(names, ports, pids, args.seconds, args.rounds, paths)
    finally:
        stop(procs.values(), root)


def compare(
    names: list[str],
    ports: dict[str, tuple[int, int, int]],
    pids: dict[str, int],
    seconds: int,
    rounds: int,
    paths: list[str],
) -> None:
    """Each path, each build in turn, ``rounds`` times; medians and ratios to HAProxy. Use a
    multiple of the number of contenders (HAProxy counts) for ``rounds``."""
    figures: dict[str, dict[str, list[float]]] = {name: {} for name in names}

    def measure(name: str, path: str, run: Callable[[], tuple[float, float]]) -> None:
        """``run`` gives the figure and how many units (requests, ops, MiB) it moved."""
        user, system = cpu(pids[name])
        figure, units = run()
        after = cpu(pids[name])
        row = figures[name]
        row.setdefault(path, []).append(figure)
        row.setdefault(f"  user us, {path}", []).append((after[0] - user) / units * 1e6)
        row.setdefault(f"  system us, {path}", []).append((after[1] - system) / units * 1e6)
        row.setdefault(f"  CPU us, {path}", []).append(
            (after[0] + after[1] - user - system) / units * 1e6
        )

    def per_second(url: str, close: bool = False, field: int = 0) -> tuple[float, float]:
        figure = wrk(url, seconds, close)[field]
        return figure, figure * seconds

    # the order turns every round: a build measured in the same place each round came out
    # up to 6% lower in the last place (HISTORY.md), so each takes every place in turn
    for number in range(rounds):
        turn = number % len(names)
        for name in names[turn:] + names[:turn]:
            tcp, redis, http = ports[name]
            small, big = f"http://127.0.0.1:{tcp}/small.txt", f"http://127.0.0.1:{tcp}/big.bin"
            http_small = f"http://127.0.0.1:{http}/small.txt"
            wrk(small, 1)  # warm-up
            if "http" in paths:
                wrk(http_small, 1)
                measure(name, "http keep-alive req/s", lambda url=http_small: per_second(url))
            if "tcp" in paths:
                measure(name, "keep-alive req/s", lambda url=small: per_second(url))
            if "close" in paths:
                measure(name, "new connections/s", lambda url=small: per_second(url, close=True))
            if "redis" in paths:
                measure(name, "redis ops/s", lambda port=redis: (redis_bench(port), 400_000.0))
            if "big" in paths:
                measure(name, "1 MiB MiB/s", lambda url=big: per_second(url, field=1))
    print(f"median of {rounds} rounds of {seconds} s; CPU per request, op, connection or MiB")
    print(f"{'':<34}" + "".join(f"{name:>20}" for name in names), end="")
    print(f"  {names[-1]}/{names[1]}" if len(names) > 2 else "")
    for path, base_figures in figures["haproxy"].items():
        base = statistics.median(base_figures)
        values = [statistics.median(figures[name][path]) for name in names]
        cells = [f"{path:<34}"]
        cells += [f"{value:12.1f} ({value / base if base else 0:.2f}x)" for value in values]
        if len(names) > 2:
            cells.append(f"  {values[-1] / values[1] if values[1] else 0:.3f}x")
        print("".join(cells))


if __name__ == "__main__":
    main()
