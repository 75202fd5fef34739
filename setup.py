"""Optional: ``SIDECARS_COMPILE=1`` compiles the ambassador's data path with mypyc, and
builds tcp mode's poller in C (``sidecars/ambassador/tcp/_poller.c``) and nginxlog's row
counting and line scanning in C (``sidecars/nginxlog/_tally.c``).

The modules stay plain, type-checked Python; compiled, a request costs about a fifth less
CPU, and the C poller cuts tcp mode's user time per request to a third
(benchmarks/ambassador/README.md). Without the variable the package is pure Python.
"""

import atexit
import os
import shutil
import tempfile

from setuptools import Extension, setup

# A fresh build tree for every build: one left in the checkout would carry compiled modules
# into a later wheel, pure ones included.
BUILD = tempfile.mkdtemp(prefix="sidecars-build-")
atexit.register(shutil.rmtree, BUILD, True)

COMPILED = [
    "sidecars/ambassador/http/client.py",
    "sidecars/ambassador/http/forwarding.py",
    "sidecars/ambassador/http/framing.py",
    "sidecars/ambassador/http/headers.py",
    "sidecars/ambassador/http/pool.py",
    "sidecars/ambassador/http/routing.py",
    "sidecars/ambassador/stats.py",
    "sidecars/ambassador/tcp/pump.py",
    "sidecars/ambassador/tcp/raw.py",
    "sidecars/ambassador/upstream/balancer.py",
    "sidecars/ambassador/upstream/cluster.py",
    "sidecars/ambassador/upstream/endpoint.py",
    "sidecars/runtime/histogram.py",  # observe() once per proxied request
]

ext_modules = []
if os.environ.get("SIDECARS_COMPILE") == "1":
    from mypyc.build import mypycify

    # Whether or not the build environment has the runtime dependencies, their types count
    # as unknown (Any), so every build compiles the same code. A class with such a base does
    # not compile soundly: metrics.py (a prometheus Collector) stays interpreted.
    options = [
        "--no-site-packages",
        "--ignore-missing-imports",
        "--allow-untyped-calls",
        "--allow-subclassing-any",
    ]
    ext_modules = mypycify([*options, *COMPILED], opt_level="3", target_dir=BUILD)
    # poller.py's classes in C; poller.py stays interpreted, so that compiled callers treat
    # whichever Poller and Copier it exports as ordinary Python objects
    ext_modules.append(
        Extension("sidecars.ambassador.tcp._poller", ["sidecars/ambassador/tcp/_poller.c"],
                  extra_compile_args=["-O2"])
    )  # fmt: skip
    # nginxlog's row counting and line scanning in C (tally.py and the regex keep the
    # Python twins)
    ext_modules.append(
        Extension("sidecars.nginxlog._tally", ["sidecars/nginxlog/_tally.c"],
                  extra_compile_args=["-O2"])
    )  # fmt: skip

setup(ext_modules=ext_modules, options={"build": {"build_base": BUILD}})
