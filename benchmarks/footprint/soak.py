"""Whether a helper's memory stays flat under normal work: a soak of every long-running helper.

All helpers run at once, each as a container runs it (``python -m sidecars <helper>``), with
a small realistic configuration and local peers only, and get steady, light work for
``--minutes`` (default 10):

- ambassador, tcp mode, in front of a real redis-server: ``redis-benchmark`` bursts of
  PING/SET/GET (new client connections each burst);
- ambassador, http mode, in front of a real nginx: ``curl`` over keep-alive connections,
  a few paths, some 404s;
- nginxlog following the access log that this nginx writes while the requests above hit it;
- gitsync polling a local repository (``file://``) every 10 s, a commit every 30 s and a
  ``POST /sync`` trigger every 90 s;
- injector answering AdmissionReviews over HTTPS (a Deployment's Pod opting into three
  helpers; each review a new uid, one of 20 namespaces and a repository annotation never seen
  before), on keep-alive connections renewed every 20 reviews;
- ``/metrics`` of every helper scraped every 15 s, as Prometheus would.

``VmRSS`` of each helper is read from ``/proc`` every ``--sample`` seconds. Reported per helper:
idle RSS (ready, before any work), RSS after the first minute of work, at the end, the growth
from minute one to the end and the least-squares slope over that span, beside the Python floor
(``import asyncio, h11, uvloop``) measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import ipaddress
import json
import os
import platform
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml  # noqa: E402
from run import _ready, _vmrss_kib, floor  # noqa: E402

from sidecars.injector.certs import issue  # noqa: E402
from tests.footprint import base_env, free_port  # noqa: E402
from tests.injector.kube import pod, review  # noqa: E402

FLOOR = "import asyncio, h11, uvloop"
TOKEN = "soak-trigger-token"
LOG_FORMAT = (
    'log_format timed \'$remote_addr - $remote_user [$time_local] "$request" $status '
    '$body_bytes_sent "$http_referer" "$http_user_agent" $request_time\';'
)
PATHS = ("/", "/index.html", "/static/app.css", "/api/items?page=2", "/missing")


@dataclass
class Helper:
    """One helper process under soak, its admin port and its RSS samples (seconds, KiB)."""

    name: str
    command: str
    env: dict[str, str]
    admin: int
    process: subprocess.Popen[bytes] | None = None
    samples: list[tuple[float, int]] = field(default_factory=list)
    idle_kib: int = 0


@dataclass(frozen=True)
class Targets:
    """Where the load generators send their work."""

    tcp: int
    http: int
    injector: int
    nginx: int
    repo: Path
    ca: str


@dataclass
class Work:
    """What the load generators did, so a flat line cannot come from an idle helper."""

    counts: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, key: str, ok: int = 1, failed: int = 0) -> None:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + ok
            self.failures[key] = self.failures.get(key, 0) + failed


def _git(*args: str, cwd: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(cwd),
        "GIT_AUTHOR_NAME": "soak",
        "GIT_AUTHOR_EMAIL": "soak@example.invalid",
        "GIT_COMMITTER_NAME": "soak",
        "GIT_COMMITTER_EMAIL": "soak@example.invalid",
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=60)


def _nginx_conf(workdir: Path, port: int) -> Path:
    site = workdir / "site"
    (site / "static").mkdir(parents=True)
    (site / "api").mkdir()
    (site / "index.html").write_text("<html>soak</html>\n" * 20)
    (site / "static/app.css").write_text("body { margin: 0 }\n" * 100)
    (site / "api/items").write_text(json.dumps([{"id": n} for n in range(50)]))
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""user root root;
worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
  {LOG_FORMAT}
  access_log {workdir}/access.log timed;
  client_body_temp_path {workdir}/tmp-body;
  proxy_temp_path {workdir}/tmp-proxy;
  fastcgi_temp_path {workdir}/tmp-fastcgi;
  uwsgi_temp_path {workdir}/tmp-uwsgi;
  scgi_temp_path {workdir}/tmp-scgi;
  server {{
    listen 127.0.0.1:{port};
    root {site};
    default_type application/octet-stream;
  }}
}}
"""
    )
    return conf


@contextlib.contextmanager
def peers(workdir: Path) -> Iterator[dict[str, int]]:
    """Real nginx and redis-server on 127.0.0.1, stopped on exit."""
    ports = {"nginx": free_port(), "redis": free_port()}
    conf = _nginx_conf(workdir, ports["nginx"])
    commands = [
        ["nginx", "-p", str(workdir), "-c", str(conf)],
        [
            *("redis-server", "--bind", "127.0.0.1", "--port", str(ports["redis"])),
            *("--save", "", "--appendonly", "no", "--dir", str(workdir)),
        ],
    ]
    processes = [
        subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for argv in commands
    ]
    try:
        for port in ports.values():
            _wait_port(port)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")
        time.sleep(0.05)


def configure(workdir: Path, ports: dict[str, int]) -> tuple[list[Helper], Targets]:
    """Each helper's settings, and what the load generators need to reach them."""
    repo = workdir / "repo"
    repo.mkdir()
    _git("init", "-q", "-b", "main", cwd=repo)
    (repo / "README").write_text("soak\n")
    _git("add", "README", cwd=repo)
    _git("commit", "-q", "-m", "first", cwd=repo)
    ca, cert, key = issue(["localhost"], [ipaddress.ip_address("127.0.0.1")])
    (workdir / "tls.crt").write_bytes(cert)
    (workdir / "tls.key").write_bytes(key)
    configmap = yaml.safe_load((ROOT / "examples/kubernetes/injector/configmap.yaml").read_text())
    (workdir / "templates.yaml").write_text(configmap["data"]["templates.yaml"])
    listen = {"tcp": free_port(), "http": free_port(), "injector": free_port()}
    specs = {
        "ambassador tcp": (
            "ambassador",
            {
                "AMBASSADOR_LISTEN": f"127.0.0.1:{listen['tcp']}",
                "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{ports['redis']}",
                "AMBASSADOR_DRAIN_DELAY": "0s",
            },
        ),
        "ambassador http": (
            "ambassador",
            {
                "AMBASSADOR_LISTEN": f"127.0.0.1:{listen['http']}",
                "AMBASSADOR_MODE": "http",
                "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{ports['nginx']}",
                "AMBASSADOR_DRAIN_DELAY": "0s",
            },
        ),
        "gitsync": (
            "gitsync",
            {
                "GITSYNC_REPO": repo.as_uri(),
                "GITSYNC_REF": "main",
                "GITSYNC_ROOT": str(workdir / "root"),
                "GITSYNC_PERIOD": "10s",
                "GITSYNC_TRIGGER_SECRET": TOKEN,
            },
        ),
        "injector": (
            "injector",
            {
                "INJECTOR_TLS_CERT": str(workdir / "tls.crt"),
                "INJECTOR_TLS_KEY": str(workdir / "tls.key"),
                "INJECTOR_TEMPLATES": str(workdir / "templates.yaml"),
                "INJECTOR_LISTEN_ADDR": f"127.0.0.1:{listen['injector']}",
                "INJECTOR_DRAIN_DELAY": "0s",
            },
        ),
        "nginxlog": (
            "nginxlog",
            {
                "NGINXLOG_FILES": str(workdir / "access.log"),
                "NGINXLOG_FORMAT": LOG_FORMAT,
                "NGINXLOG_LABELS": "status_class",
                "NGINXLOG_CHECKPOINT": str(workdir / "nginxlog.offsets"),
            },
        ),
    }
    helpers = []
    for name, (command, env) in specs.items():
        admin = free_port()
        full = {**base_env(command, admin), "PYTHONPATH": str(ROOT), **env}
        helpers.append(Helper(name, command, full, admin))
    targets = Targets(
        tcp=listen["tcp"],
        http=listen["http"],
        injector=listen["injector"],
        nginx=ports["nginx"],
        repo=repo,
        ca=ca.decode(),
    )
    return helpers, targets


def start(helper: Helper, workdir: Path) -> None:
    log = (workdir / f"{helper.name.replace(' ', '-')}.log").open("wb")
    helper.process = subprocess.Popen(
        [sys.executable, "-m", "sidecars", helper.command],
        env=helper.env,
        cwd=workdir,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while not _ready(helper.admin):
        if helper.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{helper.name} did not become ready; see {log.name}")
        time.sleep(0.05)


def every(
    seconds: float, stop: threading.Event, job: Callable[[], None], work: Work, key: str
) -> None:
    """Run ``job`` every ``seconds`` until ``stop``; a failure is counted, not raised."""
    while not stop.wait(seconds):
        try:
            job()
        except Exception as error:
            work.add(key, ok=0, failed=1)
            print(f"{key}: {error!r}", file=sys.stderr)


def redis_burst(port: int, work: Work) -> Callable[[], None]:
    def job() -> None:
        done = subprocess.run(
            [
                *("redis-benchmark", "-h", "127.0.0.1", "-p", str(port)),
                *("-n", "200", "-c", "4", "-t", "ping,set,get", "-q", "-d", "64"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        ok = done.returncode == 0 and "requests per second" in done.stdout
        work.add("ambassador tcp requests", ok=600 if ok else 0, failed=0 if ok else 1)

    return job


def curl_batch(port: int, work: Work, key: str, repeat: int = 4) -> Callable[[], None]:
    urls = [f"http://127.0.0.1:{port}{path}" for path in PATHS] * repeat
    outputs = [arg for url in urls for arg in ("-o", "/dev/null", url)]

    def job() -> None:
        done = subprocess.run(
            ["curl", "-s", "-w", "%{http_code}\\n", *outputs],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        codes = done.stdout.split()
        good = sum(code in {"200", "404"} for code in codes)
        if good < len(urls):
            print(f"{key}: {sorted(set(zip(urls, codes, strict=False)))}", file=sys.stderr)
        work.add(key, ok=good, failed=len(urls) - good)

    return job


def varied_review(n: int) -> bytes:
    """The n-th AdmissionReview: a new uid, one of 20 namespaces, a repository never seen before."""
    obj = pod("deployment")
    obj["metadata"]["namespace"] = f"team-{n % 20}"
    annotations = obj["metadata"]["annotations"]
    annotations["sidecars.io/gitsync.GITSYNC_REPO"] = f"https://git.example.internal/site-{n}.git"
    return json.dumps(review(obj)).encode()


def admissions(port: int, ca: str, work: Work) -> Callable[[], None]:
    context = ssl.create_default_context(cadata=ca)
    state: dict[str, http.client.HTTPSConnection] = {}
    sent = [0]

    def job() -> None:
        if sent[0] % 20 == 0:
            if "connection" in state:
                state["connection"].close()
            state["connection"] = http.client.HTTPSConnection(
                "127.0.0.1", port, context=context, timeout=10
            )
        connection = state["connection"]
        body = varied_review(sent[0])
        sent[0] += 1
        headers = {"Content-Type": "application/json"}
        connection.request("POST", "/mutate", body=body, headers=headers)
        response = connection.getresponse()
        answer = json.loads(response.read())
        ok = response.status == 200 and answer["response"]["allowed"] is True
        ok = ok and "patch" in answer["response"]
        work.add("injector admissions", ok=int(ok), failed=int(not ok))

    return job


def commits(repo: Path, work: Work) -> Callable[[], None]:
    def job() -> None:
        count = work.counts.get("gitsync commits", 0) + 1
        (repo / "data.txt").write_text(f"revision {count}\n" + "line\n" * (count % 50))
        _git("add", "data.txt", cwd=repo)
        _git("commit", "-q", "-m", f"revision {count}", cwd=repo)
        work.add("gitsync commits")

    return job


def trigger(admin: int, work: Work) -> Callable[[], None]:
    def job() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", admin, timeout=10)
        try:
            connection.request("POST", "/sync", headers={"Authorization": f"Bearer {TOKEN}"})
            status = connection.getresponse().status
        finally:
            connection.close()
        work.add("gitsync triggers", ok=int(status < 300), failed=int(status >= 300))

    return job


def scrape(helpers: list[Helper], work: Work) -> Callable[[], None]:
    def job() -> None:
        for helper in helpers:
            connection = http.client.HTTPConnection("127.0.0.1", helper.admin, timeout=10)
            try:
                connection.request("GET", "/metrics")
                response = connection.getresponse()
                response.read()
            finally:
                connection.close()
            ok = response.status == 200
            work.add("scrapes", ok=int(ok), failed=int(not ok))

    return job


COUNTED = {
    "nginxlog": ("nginx_http_response_count_total", "nginxlog lines counted"),
    "gitsync": ("gitsync_syncs_total", "gitsync syncs"),
    "injector": ("injector_admission_requests_total", "injector admissions counted"),
}


def counted(helper: Helper) -> tuple[str, float] | None:
    """What the helper's own /metrics says it did, so the work is seen from inside too."""
    if helper.name not in COUNTED:
        return None
    sample_name, label = COUNTED[helper.name]
    connection = http.client.HTTPConnection("127.0.0.1", helper.admin, timeout=10)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    total = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith((sample_name + "{", sample_name + " "))
    )
    return label, total


def sample(helpers: list[Helper], started: float) -> None:
    now = time.monotonic() - started
    for helper in helpers:
        assert helper.process is not None
        if helper.process.poll() is not None:
            raise RuntimeError(f"{helper.name} exited {helper.process.returncode} during the soak")
        helper.samples.append((now, _vmrss_kib(helper.process.pid)))


def slope_mib_per_10min(points: list[tuple[float, int]]) -> float:
    times = [t for t, _ in points]
    values = [kib / 1024 for _, kib in points]
    fitted = statistics.linear_regression(times, values)
    return fitted.slope * 600


def rss_at(helper: Helper, seconds: float) -> float:
    """RSS (MiB) of the first sample at or after ``seconds`` of work."""
    kib = next(k for t, k in helper.samples if t >= seconds)
    return kib / 1024


def soak(minutes: float, interval: float, workdir: Path) -> dict[str, object]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")}
    shared_floor = floor(FLOOR, {**env, "PYTHONPATH": str(ROOT)})["rss_mib"]
    work = Work()
    stop = threading.Event()
    with peers(workdir) as ports:
        helpers, targets = configure(workdir, ports)
        try:
            for helper in helpers:
                start(helper, workdir)
            time.sleep(2)
            for helper in helpers:
                assert helper.process is not None
                helper.idle_kib = _vmrss_kib(helper.process.pid)
            by_name = {helper.name: helper for helper in helpers}
            jobs = [
                (5.0, redis_burst(targets.tcp, work), "ambassador tcp"),
                (
                    2.0,
                    curl_batch(targets.http, work, "ambassador http requests"),
                    "ambassador http",
                ),
                (5.0, curl_batch(targets.nginx, work, "nginx direct requests", 1), "nginx direct"),
                (0.5, admissions(targets.injector, targets.ca, work), "injector"),
                (30.0, commits(targets.repo, work), "gitsync commits"),
                (90.0, trigger(by_name["gitsync"].admin, work), "gitsync triggers"),
                (15.0, scrape(helpers, work), "scrapes"),
            ]
            threads = [
                threading.Thread(target=every, args=(s, stop, job, work, key), daemon=True)
                for s, job, key in jobs
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            end = started + minutes * 60
            while time.monotonic() < end:
                sample(helpers, started)
                time.sleep(min(interval, max(0.0, end - time.monotonic())))
            sample(helpers, started)
            stop.set()
            for thread in threads:
                thread.join(timeout=120)
            inside = dict(filter(None, (counted(helper) for helper in helpers)))
        finally:
            stop.set()
            for helper in helpers:
                if helper.process is not None and helper.process.poll() is None:
                    helper.process.send_signal(signal.SIGTERM)
            for helper in helpers:
                if helper.process is not None:
                    try:
                        helper.process.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        helper.process.kill()
                        helper.process.wait()
    first = min(60.0, minutes * 60 / 2)
    rows = {}
    for helper in helpers:
        later = [(t, k) for t, k in helper.samples if t >= first]
        rows[helper.name] = {
            "idle_mib": helper.idle_kib / 1024,
            "first_minute_mib": rss_at(helper, first),
            "end_mib": helper.samples[-1][1] / 1024,
            "peak_mib": max(k for _, k in helper.samples) / 1024,
            "growth_mib": helper.samples[-1][1] / 1024 - rss_at(helper, first),
            "slope_mib_per_10min": slope_mib_per_10min(later),
            "samples": helper.samples,
        }
    return {
        "date": time.strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "machine": f"{os.cpu_count()} cores, shared with other work while measured",
        "minutes": minutes,
        "first_s": first,
        "floor_mib": shared_floor,
        "helpers": rows,
        "work": work.counts,
        "counted": inside,
        "failures": {key: n for key, n in work.failures.items() if n},
        "load": os.getloadavg(),
    }


def render(results: dict[str, object]) -> str:
    first = float(str(results["first_s"]))
    span = float(str(results["minutes"])) - first / 60
    lines = [
        f"| helper | idle RSS | after {first:g} s of work | end ({results['minutes']:g} min) "
        f"| growth, last {span:g} min | slope per 10 min | peak |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    helpers = results["helpers"]
    assert isinstance(helpers, dict)
    for name, row in sorted(helpers.items()):
        lines.append(
            f"| {name} | {row['idle_mib']:.1f} MB | {row['first_minute_mib']:.1f} MB "
            f"| {row['end_mib']:.1f} MB | {row['growth_mib']:+.1f} MB "
            f"| {row['slope_mib_per_10min']:+.2f} MB | {row['peak_mib']:.1f} MB |"
        )
    lines.append(f"| floor: `{FLOOR}` | {float(str(results['floor_mib'])):.1f} MB | | | | | |")
    work = results["work"]
    assert isinstance(work, dict)
    done = ", ".join(f"{key} {n}" for key, n in sorted(work.items()))
    inside = results["counted"]
    assert isinstance(inside, dict)
    seen = ", ".join(f"{key} {n:g}" for key, n in sorted(inside.items()))
    load = results["load"]
    assert isinstance(load, tuple)
    lines += [
        "",
        f"Work done: {done}; failures: {results['failures'] or 'none'}.",
        f"Counted by the helpers themselves: {seen}.",
        f"Load average at the end: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        f"({results['machine']}); Python {results['python']}, {results['date']}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the work")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--json", type=Path, help="write the figures and samples here")
    args = parser.parse_args()
    if args.minutes <= 0 or args.sample <= 0:
        parser.error("--minutes and --sample must be more than 0")
    with tempfile.TemporaryDirectory(prefix="soak-") as workdir:
        results = soak(args.minutes, args.sample, Path(workdir))
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
