"""Idle memory (VmRSS) of ``sidecars injector``, beside the Python floor measured in the same run.

Starts the injector as a real process with a certificate made by ``sidecars injector
certs`` and the shipped templates (as YAML, and converted to JSON), waits for ``/readyz``
200 and two seconds more, and reads VmRSS from ``/proc/<pid>/status``. Then sends one
AdmissionReview naming each helper (the first admission that names a helper imports that
helper to check its settings) and reads VmRSS again. ``--tree DIR`` runs another checkout
(``git archive <commit> sidecars | tar -x -C DIR``) for a before/after comparison.

Run: .venv/bin/python benchmarks/injector/footprint.py [--tree DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
FLOORS = {
    "python -c pass": "pass",
    "asyncio, h11, uvloop": "import asyncio, h11, uvloop",
    "sidecars runtime (lifecycle)": "import sidecars.runtime.lifecycle",
}
HELPERS = ("waitfor", "gitsync", "nginxlog", "ambassador")
MORE = 3000


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def floor(code: str, env: dict[str, str]) -> int:
    probe = f"{code}\nprint(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True, cwd="/"
    )
    return int(out.stdout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(url)


def review(helper: str, value: str = "") -> bytes:
    annotations = {"sidecars.io/helpers": helper}
    if value:
        annotations["sidecars.io/gitsync.GITSYNC_REPO"] = f"https://git.example/{value}.git"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"p-{helper}",
            "labels": {"sidecars.io/inject": "true"},
            "annotations": annotations,
        },
        "spec": {"containers": [{"name": "app", "image": "example/app:1"}]},
    }
    request = {
        "uid": f"uid-{helper}",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "namespace": "default",
        "operation": "CREATE",
        "object": pod,
    }
    body = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
    return json.dumps(body).encode()


def measure(env: dict[str, str], work: Path, templates: Path, ca: Path) -> tuple[int, int, int]:
    admin, listen = free_port(), free_port()
    settings = {
        **env,
        "INJECTOR_TLS_CERT": str(work / "tls.crt"),
        "INJECTOR_TLS_KEY": str(work / "tls.key"),
        "INJECTOR_TEMPLATES": str(templates),
        "INJECTOR_LISTEN_ADDR": f"127.0.0.1:{listen}",
        "INJECTOR_ADMIN_ADDR": f"127.0.0.1:{admin}",
        "INJECTOR_SHUTDOWN_DELAY": "0s",
    }
    with open(work / "injector.log", "ab") as log:
        process = subprocess.Popen(  # cwd: "-m" would put this checkout first on the path
            [sys.executable, "-m", "sidecars", "injector"], env=settings, stderr=log, cwd=work
        )
    try:
        wait_ready(f"http://127.0.0.1:{admin}/readyz", time.monotonic() + 30)
        time.sleep(2)
        idle = rss_kib(process.pid)
        context = ssl.create_default_context(cafile=str(ca))
        for helper in HELPERS:
            request = urllib.request.Request(
                f"https://localhost:{listen}/mutate",
                data=review(helper),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                response.read()
        time.sleep(1)
        first = rss_kib(process.pid)
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
        for number in range(MORE):  # each with annotations not seen before
            request = urllib.request.Request(
                f"https://localhost:{listen}/mutate",
                data=review("gitsync", str(number)),
                headers={"Content-Type": "application/json"},
            )
            with opener.open(request, timeout=10) as response:
                response.read()
        time.sleep(1)
        return idle, first, rss_kib(process.pid)
    except TimeoutError:
        raise SystemExit((work / "injector.log").read_text()[-2000:]) from None
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, help="Another checkout's directory to measure too")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        certs = ["certs", "--service", "localhost", "--namespace", "default"]
        certs += ["--dns", "localhost", "--out", str(work)]
        subprocess.run(
            [sys.executable, "-m", "sidecars", "injector", *certs], check=True, capture_output=True
        )
        configmap = yaml.safe_load(
            (ROOT / "examples/kubernetes/injector/configmap.yaml").read_text()
        )
        text = configmap["data"]["templates.yaml"]
        (work / "templates.yaml").write_text(text)
        (work / "templates.json").write_text(json.dumps(yaml.safe_load(text)))
        older = yaml.safe_load(text)  # without the keys an older build refuses
        for template in older["helpers"].values():
            template.pop("helper", None)
        (work / "older.yaml").write_text(yaml.safe_dump(older))
        (work / "older.json").write_text(json.dumps(older))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["INJECTOR_LOG_LEVEL"] = "warning"
        rows: list[tuple[str, Any, Any, Any]] = [
            (name, floor(code, env), "", "") for name, code in FLOORS.items()
        ]
        trees = [("this tree", env, "templates")]
        if args.tree:
            trees.append((f"tree {args.tree}", {**env, "PYTHONPATH": str(args.tree)}, "older"))
        for label, tree_env, stem in trees:
            for kind in ("yaml", "json"):
                runs = [
                    measure(tree_env, work, work / f"{stem}.{kind}", work / "ca.crt")
                    for _ in range(args.runs)
                ]
                idle, busy, more = (sorted(r[i] for r in runs)[len(runs) // 2] for i in range(3))
                rows.append((f"injector, {label}, {kind} templates", idle, busy, more))
    print("VmRSS in KiB (MiB), median of runs; shared machine, so compare rows of one run only")
    print(f"{'process':<52} {'idle':>14} {'1 admission per helper':>24} {'+3000 new':>16}")
    for name, *values in rows:
        shown = [f"{v} ({v / 1024:.1f})" if v else "" for v in values]
        print(f"{name:<52} {shown[0]:>14} {shown[1]:>24} {shown[2]:>16}")


if __name__ == "__main__":
    main()
