"""Ambassador against HAProxy and the direct path, measured in one run on this machine.

Run: .venv/bin/python benchmarks/ambassador/run.py [--seconds 5] [--rounds 3]

Starts nginx (small and 1 MiB files), redis-server, HAProxy (tcp and http frontends,
one thread) and the ambassador (tcp and http listeners) on 127.0.0.1, then drives each
path with wrk (1 thread, 50 connections) and redis-benchmark (-n 200000 -c 50), and
reads what the proxy and the whole machine spent on CPU while it ran. Absolute
figures depend on whatever else runs on the machine; the ratios in one run are the result,
so every path is measured in interleaved rounds and the medians are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

PACKAGES = {
    "haproxy": "haproxy",
    "nginx": "nginx-light",
    "wrk": "wrk",
    "redis-server": "redis-server",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_tools() -> None:
    missing = [pkg for tool, pkg in PACKAGES.items() if shutil.which(tool) is None]
    if shutil.which("redis-benchmark") is None:
        missing.append("redis-tools")
    if missing:
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True)


def wait_port(port: int, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """Seconds the whole machine's CPUs were busy (all but idle and iowait) since boot: on
    loopback the kernel work of every hop lands on whichever process or softirq sent it."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wrk(url: str, seconds: int, close: bool = False) -> tuple[float, float]:
    cmd = ["wrk", "-t1", "-c50", f"-d{seconds}s", url]
    if close:
        cmd[1:1] = ["-H", "Connection: close"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw errors on {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    amount, unit = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out).groups()  # type: ignore[union-attr]
    scale = {"B": 1 / 2**20, "KB": 1 / 1024, "MB": 1.0, "GB": 1024.0}[unit]
    return rps, float(amount) * scale


def redis_bench(port: int) -> float:
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-n", "200000", "-c", "50", "-q", "-t", "set,get"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.replace("\r", "\n")
    values = [float(v) for v in re.findall(r"([\d.]+) requests per second", out)]
    return sum(values) / len(values)


def idle_rss(pid: int, port: int, count: int = 1000) -> float:
    before = rss_kib(pid)
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"PING\r\n")
        socks.append(sock)
    for sock in socks:
        sock.recv(16)
    time.sleep(0.5)
    after = rss_kib(pid)
    for sock in socks:
        sock.close()
    return (after - before) / count


def peers(root: Path, nginx: int, redis: int) -> dict[str, subprocess.Popen[bytes]]:
    """nginx serving a 100-byte and a 1 MiB file from ``root``, and redis-server."""
    root.chmod(0o755)  # nginx workers run as nobody
    for name in ("html", "logs"):
        (root / name).mkdir(exist_ok=True)
    (root / "html" / "small.txt").write_bytes(b"x" * 100)
    (root / "html" / "big.bin").write_bytes(os.urandom(2**20))
    (root / "nginx.conf").write_text(f"""
worker_processes 1; error_log {root}/logs/error.log; pid {root}/nginx.pid;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{nginx}; root {root}/html; }} }}
""")
    return {
        "nginx": subprocess.Popen(["nginx", "-p", str(root), "-c", str(root / "nginx.conf"),
                                   "-g", "daemon off;"]),
        "redis": subprocess.Popen(["redis-server", "--port", str(redis), "--save", "",
                                   "--appendonly", "no", "--bind", "127.0.0.1"],
                                  stdout=subprocess.DEVNULL),
    }  # fmt: skip


def stop(procs: Iterable[subprocess.Popen[bytes]], root: Path) -> None:
    """SIGTERM to every process, a kill for any still there after 10 s; ``root`` removed."""
    procs = list(procs)
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    shutil.rmtree(root, ignore_errors=True)


def compiled_tree(root: Path, repo: Path | None = None) -> Path:
    """The package as the images carry it (the data path compiled), built from ``repo`` (the
    checkout) and unpacked in ``root``: run from there, so the checkout's modules do not come
    first."""
    repo = repo or Path(__file__).resolve().parents[2]
    wheels = root / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(repo)],
        env=dict(os.environ, SIDECARS_COMPILE="1"), check=True, capture_output=True,
    )  # fmt: skip
    tree = root / "code"
    with zipfile.ZipFile(next(wheels.glob("sidecars-*.whl"))) as wheel:
        wheel.extractall(tree)
    print(f"ambassador: compiled ({len(list(tree.rglob('*.so')))} modules)")
    return tree


def forwarders(p: dict[str, int]) -> dict[str, subprocess.Popen[bytes]]:
    """The issue's reference forwarders (forwarders.py), to nginx and to redis."""
    script = str(Path(__file__).with_name("forwarders.py"))
    procs = {}
    for kind in ("protocol", "splice"):
        for suffix, upstream in (("", p["nginx"]), ("_redis", p["redis"])):
            port = p[f"fwd_{kind}{suffix}"]
            procs[f"{kind}{suffix}"] = subprocess.Popen(
                [sys.executable, script, kind, str(port), str(upstream)]
            )
    return procs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--pure", action="store_true", help="run the ambassador uncompiled (default: as imaged)"
    )
    args = parser.parse_args()
    ensure_tools()
    root = Path(tempfile.mkdtemp(prefix="ambassador-bench-"))
    p = {
        name: free_port()
        for name in (
            "nginx",
            "redis",
            "ha_tcp",
            "ha_http",
            "ha_redis",
            "am_tcp",
            "am_http",
            "am_redis",
            "admin",
            "fwd_protocol",
            "fwd_splice",
            "fwd_protocol_redis",
            "fwd_splice_redis",
        )
    }
    (root / "haproxy.cfg").write_text(f"""
global
  nbthread 1
  maxconn 8000
defaults
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend tcp_in
  mode tcp
  bind 127.0.0.1:{p["ha_tcp"]}
  default_backend tcp_out
backend tcp_out
  mode tcp
  server s1 127.0.0.1:{p["nginx"]}
frontend http_in
  mode http
  option forwardfor
  bind 127.0.0.1:{p["ha_http"]}
  default_backend http_out
backend http_out
  mode http
  http-reuse always
  server s1 127.0.0.1:{p["nginx"]}
frontend redis_in
  mode tcp
  bind 127.0.0.1:{p["ha_redis"]}
  default_backend redis_out
backend redis_out
  mode tcp
  server s1 127.0.0.1:{p["redis"]}
""")
    nginx, redis = f"127.0.0.1:{p['nginx']}", f"127.0.0.1:{p['redis']}"
    listeners = [
        {"name": "tcp", "listen": f"127.0.0.1:{p['am_tcp']}", "upstreams": [nginx]},
        {"name": "http", "listen": f"127.0.0.1:{p['am_http']}", "mode": "http",
         "upstreams": [nginx]},
        {"name": "redis", "listen": f"127.0.0.1:{p['am_redis']}", "upstreams": [redis]},
    ]  # fmt: skip
    (root / "ambassador.json").write_text(json.dumps({"listeners": listeners}))
    env_code = {} if args.pure else {"PYTHONPATH": str(compiled_tree(root))}
    env = dict(os.environ, **env_code, AMBASSADOR_CONFIG_FILE=str(root / "ambassador.json"),
               AMBASSADOR_ADMIN_ADDR=f"127.0.0.1:{p['admin']}", AMBASSADOR_LOG_LEVEL="warning",
               AMBASSADOR_DRAIN_DELAY="0")  # fmt: skip
    procs = {
        **peers(root, p["nginx"], p["redis"]),
        "haproxy": subprocess.Popen(["haproxy", "-f", str(root / "haproxy.cfg")]),
        "ambassador": subprocess.Popen(
            [sys.executable, "-m", "sidecars", "ambassador"], env=env, cwd=root
        ),
        **forwarders(p),
    }  # fmt: skip
    try:
        for port in p.values():
            wait_port(port)
        run(p, procs, args.seconds, args.rounds)
    finally:
        stop(procs.values(), root)


def run(
    p: dict[str, int], procs: dict[str, subprocess.Popen[bytes]], seconds: int, rounds: int
) -> None:
    ha, am = procs["haproxy"].pid, procs["ambassador"].pid
    rss = {  # first, while both processes are fresh: later rounds leave memory to reuse
        "haproxy tcp": [idle_rss(ha, p["ha_redis"])],
        "ambassador tcp": [idle_rss(am, p["am_redis"])],
    }
    paths = {
        "direct": p["nginx"], "haproxy tcp": p["ha_tcp"], "haproxy http": p["ha_http"],
        "ambassador tcp": p["am_tcp"], "ambassador http": p["am_http"],
        "protocol fwd": p["fwd_protocol"], "splice fwd": p["fwd_splice"],
    }  # fmt: skip
    owner = {"haproxy tcp": ha, "haproxy http": ha, "ambassador tcp": am, "ambassador http": am,
             "protocol fwd": procs["protocol"].pid, "splice fwd": procs["splice"].pid}  # fmt: skip
    small: dict[str, list[float]] = {name: [] for name in paths}
    big: dict[str, list[float]] = {name: [] for name in paths}
    cpu: dict[str, list[float]] = {name: [] for name in owner}
    machine: dict[str, list[float]] = {name: [] for name in paths}
    fresh: dict[str, list[float]] = {name: [] for name in paths if "http" not in name}
    for _ in range(rounds):  # interleaved rounds, medians: other load on the machine drifts
        for name, port in paths.items():
            wrk(f"http://127.0.0.1:{port}/small.txt", 1)  # warm-up
            before = cpu_seconds(owner[name]) if name in owner else 0.0
            rps, _ = wrk(f"http://127.0.0.1:{port}/small.txt", seconds)
            small[name].append(rps)
            if name in owner:
                used = cpu_seconds(owner[name]) - before
                cpu[name].append(used / (rps * seconds) * 1e6)
            busy = machine_busy()
            big[name].append(wrk(f"http://127.0.0.1:{port}/big.bin", seconds)[1])
            machine[name].append((machine_busy() - busy) / (big[name][-1] * seconds) * 1e6)
            if name in fresh:
                fresh[name].append(wrk(f"http://127.0.0.1:{port}/small.txt", seconds, True)[0])
    redis_paths = {
        "direct": p["redis"], "haproxy tcp": p["ha_redis"], "ambassador tcp": p["am_redis"],
        "protocol fwd": p["fwd_protocol_redis"], "splice fwd": p["fwd_splice_redis"],
    }  # fmt: skip
    redis: dict[str, list[float]] = {name: [] for name in redis_paths}
    for _ in range(rounds):
        for name, port in redis_paths.items():
            redis[name].append(redis_bench(port))

    def table(title: str, runs: dict[str, list[float]], unit: str, peer: dict[str, str]) -> None:
        values = {name: statistics.median(figures) for name, figures in runs.items()}
        print(f"\n{title} (median of {rounds})")
        for name, value in values.items():
            ratios = f"{value / values['direct']:.2f}x direct" if "direct" in values else ""
            if name in peer and peer[name] in values:
                ratios += f", {value / values[peer[name]]:.2f}x {peer[name]}"
            print(f"  {name:<16} {value:>12,.1f} {unit:<10} {ratios}")

    peers = {"ambassador tcp": "haproxy tcp", "ambassador http": "haproxy http",
             "haproxy http": "haproxy tcp", "protocol fwd": "haproxy tcp",
             "splice fwd": "haproxy tcp"}  # fmt: skip
    table("small file, wrk -t1 -c50 (keep-alive)", small, "req/s", peers)
    table("1 MiB file, wrk -t1 -c50", big, "MiB/s", peers)
    table("new connection per request (Connection: close)", fresh, "req/s", peers)
    table("redis-benchmark -n 200000 -c 50 (mean of SET and GET)", redis, "ops/s", peers)
    table("proxy CPU per small-file request", cpu, "us", peers)
    table("whole machine CPU per MiB of the 1 MiB file (every process and softirq)", machine,
          "us", peers)  # fmt: skip
    table("RSS per idle proxied connection (1000 redis connections)", rss, "KiB", peers)


if __name__ == "__main__":
    main()
