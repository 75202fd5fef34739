"""nginxlog against mtail on the same generated access log, in the same run.

    .venv/bin/python benchmarks/nginxlog/run.py [--lines 1000000] [--wrk-seconds 10]

1. Reads a generated log (``combined`` + `` $request_time $upstream_response_time``, varied
   methods, paths and statuses, one malformed line in 10,007) from the beginning, counting
   requests by method and status, a request-time histogram and parse errors: lines per
   CPU-second and peak RSS for ``sidecars nginxlog`` and for ``mtail`` (an equivalent
   program), and their ratio. The helper is measured with its defaults (every metric)
   first, then with mtail's work only, then configured by the exporter's command line
   (summaries on).
2. Follows a real NGINX on 127.0.0.1 driven by ``wrk``: CPU share of each follower.

The machine may be shared, so absolute figures are noisy; the ratios are what counts.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time $upstream_response_time'
)
BUCKETS = "0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5,5,10"
MTAIL_PROGRAM = r"""
counter http_requests_total by method, status
histogram http_request_duration_seconds buckets 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 by method, status
counter parse_errors_total

/^(?P<remote_addr>\S+) - (?P<remote_user>\S+) \[(?P<time_local>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+) (?P<proto>[^"]+)" (?P<status>\d{3}) (?P<size>\d+) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)" (?P<request_time>\d+\.\d+) (?P<upstream>\S+)$/ {
  http_requests_total[$method][$status]++
  http_request_duration_seconds[$method][$status] = $request_time
} else {
  parse_errors_total++
}
"""  # noqa: E501
CLK = os.sysconf("SC_CLK_TCK")


def generate(path: Path, lines: int) -> None:
    """The reference workload, the same bytes for the same line count."""
    rng = random.Random(7)
    methods = ["GET"] * 70 + ["POST"] * 15 + ["PUT"] * 5 + ["DELETE"] * 4 + ["HEAD"] * 3
    methods += ["PATCH"] * 2 + ["OPTIONS"]
    paths = ["/", "/index.html", "/api/v1/users/{}", "/api/v1/orders/{}/items"]
    paths += ["/static/app.{}.js", "/health", "/login", "/search?q={}"]
    statuses = ["200"] * 80 + ["201"] * 3 + ["204"] * 2 + ["301"] * 2 + ["304"] * 4
    statuses += ["400"] * 2 + ["401", "403"] + ["404"] * 3 + ["500", "502", "503"]
    agents = [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
        "curl/8.4.0",
        "Go-http-client/1.1",
        "kube-probe/1.29",
    ]
    with path.open("w", encoding="ascii") as out:
        for i in range(lines):
            if i % 10007 == 0:
                out.write(f"garbage line that does not match {i}\n")
                continue
            request_time = rng.expovariate(20)
            upstream = "-" if rng.random() < 0.05 else f"{request_time * 0.9:.3f}"
            address = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            out.write(
                f"{address} - - [22/Nov/2026:04:{(i // 60) % 60:02d}:{i % 60:02d} +0000] "
                f'"{rng.choice(methods)} {rng.choice(paths).format(rng.randint(1, 99999))} '
                f'HTTP/1.1" {rng.choice(statuses)} {rng.randint(0, 50000)} '
                f'"https://www.example.com/shop/catalogue" "{rng.choice(agents)}" '
                f"{request_time:.3f} {upstream}\n"
            )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name = line.split("{", 1)[0].split(" ", 1)[0]
            totals[name] = totals.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return totals


DEFAULTS = "default"
"""``metrics`` value meaning: leave NGINXLOG_METRICS unset (every default metric)."""
EXPORTER = "exporter"
"""``metrics`` value meaning: the exporter's command line (``-format FORMAT FILE``), so
its defaults apply, summaries included."""


def helper_env(files: str, port: int, metrics: str, start_at: str) -> dict[str, str]:
    env = {
        **os.environ,
        "NGINXLOG_START_AT": start_at,
        "NGINXLOG_ADMIN_ADDR": f"127.0.0.1:{port}",
        "NGINXLOG_LOG_LEVEL": "warning",
    }
    if metrics == EXPORTER:
        return env
    env.update({"NGINXLOG_FORMAT": FORMAT, "NGINXLOG_FILES": files})
    if metrics != DEFAULTS:
        env.update({"NGINXLOG_METRICS": metrics, "NGINXLOG_BUCKETS": BUCKETS})
    return env


def start_helper(env: dict[str, str], files: str = "") -> subprocess.Popen[bytes]:
    args = [] if "NGINXLOG_FORMAT" in env else ["-format", FORMAT, files]
    return subprocess.Popen(
        [sys.executable, "-m", "sidecars", "nginxlog", *args], env=env, stderr=subprocess.DEVNULL
    )


def wait_ready(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise TimeoutError("the helper did not become ready")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_helper(log: Path, lines: int, metrics: str, work: Path) -> dict[str, float]:
    """CPU from start to the last line counted; the start-up alone is measured on an empty
    file, so the figure is given with and without it."""
    empty = work / "empty.log"
    empty.touch()
    port = free_port()
    idle = start_helper(helper_env(str(empty), port, metrics, "beginning"), str(empty))
    try:
        wait_ready(port, time.monotonic() + 30)
        time.sleep(1.0)
        startup = cpu_seconds(idle.pid)
        idle_rss = rss_mb(idle.pid)
    finally:
        stop(idle)
    port = free_port()
    process = start_helper(helper_env(str(log), port, metrics, "beginning"), str(log))
    try:
        wait_ready(port, time.monotonic() + 30)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if scrape(port).get("nginxlog_input_lines_total", 0) >= lines:
                break
            time.sleep(0.5)
        cpu = cpu_seconds(process.pid)
        totals = scrape(port)
        rss = peak_rss_mb(process.pid)
    finally:
        stop(process)
    counted = totals.get("nginx_http_response_count_total", 0) + totals.get(
        "nginx_parse_errors_total", 0
    )
    assert counted == lines, f"helper counted {counted} of {lines}"
    return {
        "cpu": cpu,
        "startup": startup,
        "rss": rss,
        "idle_rss": idle_rss,
        "errors": totals.get("nginx_parse_errors_total", 0),
    }


def mtail_programs(work: Path) -> Path:
    progs = work / "progs"
    progs.mkdir(exist_ok=True)
    (progs / "nginx.mtail").write_text(MTAIL_PROGRAM)
    return progs


def run_mtail(log: Path, lines: int, work: Path) -> dict[str, float]:
    progs = mtail_programs(work)
    started = time.monotonic()
    process = subprocess.Popen(
        ["mtail", "--progs", str(progs), "--logs", str(log), "--one_shot"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    output = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    data = json.loads(output)
    requests = sum(
        value["Value"]["Value"]
        for metric in data.get("http_requests_total", [])
        for value in metric.get("LabelValues", [])
    )
    errors = sum(m["LabelValues"][0]["Value"]["Value"] for m in data.get("parse_errors_total", []))
    assert requests + errors == lines, f"mtail counted {requests + errors} of {lines}"
    return {
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": usage.ru_maxrss / 1024,
        "errors": errors,
        "wall": time.monotonic() - started,
    }


def follow_nginx(work: Path, seconds: int) -> dict[str, float]:
    """NGINX under wrk for ``seconds``; CPU share of the helper and of mtail following it."""
    root = work / "nginx"
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (root / name).mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = root / "access.log"
    log.touch()
    user = "user root;" if os.geteuid() == 0 else ""
    (root / "nginx.conf").write_text(
        f"""{user}
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 256; }}
http {{
    log_format reference '{FORMAT}';
    access_log {log} reference;
    client_body_temp_path {root}/body; proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi; uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
    server {{ listen 127.0.0.1:{port}; location / {{ return 200 "ok\\n"; }} }}
}}
"""
    )
    nginx = subprocess.Popen(
        ["nginx", "-p", str(root), "-c", str(root / "nginx.conf"), "-g", "daemon off;"]
    )
    helper_port = free_port()
    helper = start_helper(helper_env(str(log), helper_port, DEFAULTS, "end"))
    progs = mtail_programs(work)
    mtail_port = free_port()
    mtail = subprocess.Popen(
        ["mtail", "--progs", str(progs), "--logs", str(log), "--port", str(mtail_port),
         "--address", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_ready(helper_port, time.monotonic() + 30)
        time.sleep(1.0)
        before = {"helper": cpu_seconds(helper.pid), "mtail": cpu_seconds(mtail.pid)}
        started = time.monotonic()
        result = subprocess.run(
            ["wrk", "-t2", "-c20", f"-d{seconds}s", f"http://127.0.0.1:{port}/"],
            capture_output=True,
            text=True,
            check=True,
        )
        deadline = time.monotonic() + 60
        requests = sum(1 for _ in log.open("rb"))
        while time.monotonic() < deadline:
            if scrape(helper_port).get("nginx_http_response_count_total", 0) >= requests:
                break
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        after = {"helper": cpu_seconds(helper.pid), "mtail": cpu_seconds(mtail.pid)}
        counted = scrape(helper_port).get("nginx_http_response_count_total", 0)
    finally:
        stop(helper)
        mtail.terminate()
        mtail.wait(20)
        nginx.terminate()
        nginx.wait(20)
    rate = next(
        (line.split()[1] for line in result.stdout.splitlines() if "Requests/sec" in line), "?"
    )
    return {
        "requests": requests,
        "counted": counted,
        "elapsed": elapsed,
        "wrk_rate": float(rate) if rate != "?" else 0.0,
        "helper_share": (after["helper"] - before["helper"]) / elapsed,
        "mtail_share": (after["mtail"] - before["mtail"]) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--only", choices=["read", "follow"], help="run one of the two parts")
    args = parser.parse_args()
    for tool in ("mtail", "nginx", "wrk"):
        if shutil.which(tool) is None:
            sys.exit(f"needs {tool} (bash scripts/setup.sh installs it)")
    with tempfile.TemporaryDirectory(prefix="nginxlog-bench-") as tmp:
        work = Path(tmp)
        if args.only != "follow":
            read_from_beginning(work, args.lines)
        if args.only != "read":
            report_follow(follow_nginx(work, args.wrk_seconds))


def read_from_beginning(work: Path, lines: int) -> None:
    log = work / "reference.log"
    generate(log, lines)
    size = log.stat().st_size
    print(f"reference file: {lines:,} lines, {size / lines:.0f} bytes a line")
    print("(run on a shared machine: absolute figures are noisy, ratios less so)")
    from sidecars.nginxlog.tally import TWIN

    print(f"row counting: the {TWIN} twin (C when built with SIDECARS_COMPILE=1)")
    mtail = run_mtail(log, lines, work)
    full = run_helper(log, lines, DEFAULTS, work)
    small = run_helper(log, lines, "count,response_time", work)
    exporter = run_helper(log, lines, EXPORTER, work)
    n = lines

    def row(name: str, cpu: float, rss: float) -> None:
        print(f"  {name:<52} {n / cpu:>10,.0f} lines/CPU-s  {cpu:6.2f} CPU-s  {rss:5.1f} MB")

    print("read from the beginning:")
    row("sidecars nginxlog, defaults (start-up included)", full["cpu"], full["rss"])
    row("sidecars nginxlog, defaults (start-up excluded)", full["cpu"] - full["startup"],
        full["rss"])  # fmt: skip
    row("sidecars nginxlog, count,response_time", small["cpu"], small["rss"])
    row("sidecars nginxlog, exporter command line (summaries)", exporter["cpu"], exporter["rss"])
    row("mtail (count by method/status, time histogram)", mtail["cpu"], mtail["rss"])
    print(
        f"  start-up of the helper: {full['startup']:.2f} CPU-s, idle RSS "
        f"{full['idle_rss']:.1f} MB (VmRSS one second after /readyz answers 200)"
    )
    print(
        f"  nginxlog/mtail lines per CPU-second, defaults: {mtail['cpu'] / full['cpu']:.2f}x; "
        f"count,response_time (mtail's work): {mtail['cpu'] / small['cpu']:.2f}x"
    )


def report_follow(follow: dict[str, float]) -> None:
    print(
        f"following nginx under wrk: {follow['requests']:,} requests "
        f"({follow['wrk_rate']:,.0f}/s) in {follow['elapsed']:.1f}s, "
        f"{follow['counted']:,.0f} counted by the helper"
    )
    print(
        f"  CPU share: sidecars nginxlog {100 * follow['helper_share']:.1f}% of a core, "
        f"mtail {100 * follow['mtail_share']:.1f}%"
    )
    per_line = {
        k: follow[f"{k}_share"] * follow["elapsed"] / follow["requests"]
        for k in ("helper", "mtail")
    }
    print(
        f"  CPU per line: sidecars nginxlog {1e6 * per_line['helper']:.2f} µs, "
        f"mtail {1e6 * per_line['mtail']:.2f} µs"
    )


if __name__ == "__main__":
    main()
