"""tcp mode of several ambassador builds against HAProxy, in one run with interleaved rounds.

Run: .venv/bin/python benchmarks/ambassador/compare.py 2ffc3c8 . [--seconds 4] [--rounds 5]

Each revision (``.`` is the working tree) is built as the images ship it (``SIDECARS_COMPILE=1``;
``--pure`` for the source) into a directory of its own and runs from there, so no build
imports another's code. Single runs of run.py drift by several percent from run to run; a
change is judged by the ratios of one such run, with the CPU split into user and system time.
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

from run import compiled_tree, ensure_tools, free_port, peers, redis_bench, stop, wait_port, wrk

REPO = Path(__file__).resolve().parents[2]


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
    parser.add_argument("revs", nargs="+", help="git revisions; . is the working tree")
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pure", action="store_true", help="run the builds uncompiled")
    args = parser.parse_args()
    ensure_tools()
    root = Path(tempfile.mkdtemp(prefix="ambassador-compare-"))
    nginx, redis = free_port(), free_port()
    ports = {"haproxy": (free_port(), free_port())}
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
""")
    procs = {
        **peers(root, nginx, redis),
        "haproxy": subprocess.Popen(["haproxy", "-f", str(root / "haproxy.cfg")]),
    }
    try:
        names = ["haproxy"]
        for i, rev in enumerate(args.revs):
            name = f"{i}:{rev}"
            tree = build(rev, root / f"build{i}", args.pure)
            ports[name] = (free_port(), free_port())
            listeners = [
                {"name": "tcp", "listen": f"127.0.0.1:{ports[name][0]}",
                 "upstreams": [f"127.0.0.1:{nginx}"]},
                {"name": "redis", "listen": f"127.0.0.1:{ports[name][1]}",
                 "upstreams": [f"127.0.0.1:{redis}"]},
            ]  # fmt: skip
            config = root / f"ambassador{i}.json"
            config.write_text(json.dumps({"listeners": listeners}))
            env = dict(os.environ, PYTHONPATH=str(tree), AMBASSADOR_CONFIG_FILE=str(config),
                       AMBASSADOR_ADMIN_ADDR=f"127.0.0.1:{free_port()}",
                       AMBASSADOR_LOG_LEVEL="warning", AMBASSADOR_DRAIN_DELAY="0")  # fmt: skip
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "sidecars", "ambassador"], env=env, cwd=root / "logs"
            )
            names.append(name)
        for pair in ports.values():
            for port in pair:
                wait_port(port)
        compare(names, ports, {name: procs[name].pid for name in names}, args.seconds, args.rounds)
    finally:
        stop(procs.values(), root)


def compare(
    names: list[str],
    ports: dict[str, tuple[int, int]],
    pids: dict[str, int],
    seconds: int,
    rounds: int,
) -> None:
    """Each path, each build in turn, ``rounds`` times; medians and ratios to HAProxy."""
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

    def per_second(url: str, close: bool = False, field: int = 0) -> tuple[float, float]:
        figure = wrk(url, seconds, close)[field]
        return figure, figure * seconds

    for _ in range(rounds):
        for name in names:
            tcp, redis = ports[name]
            small, big = f"http://127.0.0.1:{tcp}/small.txt", f"http://127.0.0.1:{tcp}/big.bin"
            wrk(small, 1)  # warm-up
            measure(name, "keep-alive req/s", lambda url=small: per_second(url))
            measure(name, "new connections/s", lambda url=small: per_second(url, close=True))
            measure(name, "redis ops/s", lambda port=redis: (redis_bench(port), 400_000.0))
            measure(name, "1 MiB MiB/s", lambda url=big: per_second(url, field=1))
    print(f"median of {rounds} rounds of {seconds} s; CPU per request, op, connection or MiB")
    for path, base_figures in figures["haproxy"].items():
        base = statistics.median(base_figures)
        cells = [f"{path:<32}"]
        for name in names:
            value = statistics.median(figures[name][path])
            cells.append(f"{name:>14} {value:10.1f} ({value / base:.2f}x)")
        print("".join(cells))


if __name__ == "__main__":
    main()
