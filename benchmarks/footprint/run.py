"""What one helper costs in every Pod: idle memory, start-up time, CPU of a wait, image size.

Each helper starts the way a container starts it (``python -m sidecars <helper>``) with its
smallest working configuration and local peers only (``tests/footprint.py``):

- idle RSS: ``VmRSS`` after ``/readyz`` first answers 200, a second, one scrape of
  ``/metrics`` (as Prometheus would make at once), and another second;
- start: wall time from exec to that first 200 (polled every 5 ms);
- waitfor, a one-shot: exec to exit 0 on a live tcp target, its CPU-seconds (user + system,
  from ``wait4``) and its peak RSS.

The Python floor is measured in the same run the same way: ``python -c pass``, ``import
asyncio``, the imports every helper shares (asyncio, h11), and those with uvloop, which the
ambassador adds.
Medians of ``--repeat`` runs. Image sizes come from ``docker image inspect`` when the images
exist. ``--source DIR`` measures another checkout (e.g. ``git archive main``) with the same
harness. ``--json`` writes the figures; ``table.py`` renders them into the README.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.footprint import (  # noqa: E402
    HELPERS,
    ONE_SHOT,
    base_env,
    free_port,
    listening,
    minimal_env,
)

FLOORS = {
    "python -c pass": "pass",
    "import asyncio": "import asyncio",
    "shared imports": "import asyncio, h11",
    "shared imports and uvloop": "import asyncio, h11, uvloop",
}
_VMRSS = (
    "; import sys; sys.stdout.write([l.split()[1] for l in open('/proc/self/status')"
    " if l.startswith('VmRSS')][0])"
)


def _vmrss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError("VmRSS")


def _scrape(port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"/metrics answered {response.status}")
    finally:
        connection.close()


def _ready(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/readyz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _wait4(process: subprocess.Popen[bytes]) -> tuple[int, float, int]:
    """Reap ``process``: (exit code, CPU-seconds, peak RSS in KiB)."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def floor(code: str, env: dict[str, str]) -> dict[str, float]:
    process = subprocess.Popen(
        [sys.executable, "-c", code + _VMRSS], env=env, stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    rss = int(process.stdout.read())
    exit_code, cpu, peak = _wait4(process)
    assert exit_code == 0
    return {"rss_mib": rss / 1024, "cpu_s": cpu, "peak_mib": peak / 1024}


def long_running(helper: str, env: dict[str, str], workdir: Path) -> dict[str, float]:
    admin = free_port()
    with listening() as target:
        env = {**env, **base_env(helper, admin), **minimal_env(helper, workdir, target)}
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "sidecars", helper],
            env=env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = started + 30
            while not _ready(admin):
                if process.poll() is not None or time.perf_counter() > deadline:
                    stderr = process.communicate()[1] if process.poll() is not None else b""
                    raise RuntimeError(f"{helper} did not become ready: {stderr.decode()}")
                time.sleep(0.005)
            start_s = time.perf_counter() - started
            time.sleep(1.0)
            _scrape(admin)
            time.sleep(1.0)
            rss = _vmrss_kib(process.pid)
            process.send_signal(signal.SIGTERM)
            exit_code, _, peak = _wait4(process)
        finally:
            if process.returncode is None:
                process.kill()
                process.wait()
    if exit_code != 0:
        raise RuntimeError(f"{helper} exited {exit_code} after SIGTERM")
    return {"rss_mib": rss / 1024, "start_s": start_s, "peak_mib": peak / 1024}


def one_shot(helper: str, env: dict[str, str], workdir: Path) -> dict[str, float]:
    with listening() as target:
        env = {**env, **base_env(helper, free_port()), **minimal_env(helper, workdir, target)}
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "sidecars", helper],
            env=env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        exit_code, cpu, peak = _wait4(process)
        wall = time.perf_counter() - started
    if exit_code != 0:
        raise RuntimeError(f"{helper} exited {exit_code}")
    return {"cpu_s": cpu, "exit_s": wall, "peak_mib": peak / 1024}


def image_mib(helper: str, version: str) -> float | None:
    if shutil.which("docker") is None:
        return None
    done = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", f"sidecars/{helper}:{version}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return int(done.stdout) / 2**20 if done.returncode == 0 and done.stdout.strip() else None


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def measure(repeat: int, source: Path, only: list[str]) -> dict[str, Any]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/root"),
        "PYTHONPATH": str(source),
    }
    version = subprocess.run(
        [sys.executable, "-m", "sidecars", "--version"],
        env=env,
        cwd=source,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    floors = {
        name: _median([floor(code, env) for _ in range(repeat)]) for name, code in FLOORS.items()
    }
    helpers: dict[str, dict[str, float | None]] = {}
    for helper in only or HELPERS:
        runs = []
        for _ in range(repeat):
            with tempfile.TemporaryDirectory(prefix=f"footprint-{helper}-") as workdir:
                run = one_shot if helper in ONE_SHOT else long_running
                runs.append(run(helper, env, Path(workdir)))
        helpers[helper] = {**_median(runs), "image_mib": image_mib(helper, version)}
        print(f"{helper}: {helpers[helper]}", file=sys.stderr)
    return {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "machine": f"{os.cpu_count()} cores, shared with other work while measured",
        "version": version,
        "repeat": repeat,
        "floors": floors,
        "helpers": helpers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--source", type=Path, default=ROOT, help="checkout to measure")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--write-readme", type=Path, help="update this README's table")
    parser.add_argument("--only", action="append", choices=HELPERS, help="measure these only")
    args = parser.parse_args()
    results = measure(args.repeat, args.source.resolve(), args.only or [])
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from table import render, replace_table

    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    if args.write_readme:
        text = args.write_readme.read_text(encoding="utf-8")
        args.write_readme.write_text(replace_table(text, render(results)), encoding="utf-8")


if __name__ == "__main__":
    main()
