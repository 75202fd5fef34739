"""Strips the debug symbols from the extension modules of the wheels in a directory, in place.

Wheels on PyPI often ship their shared objects unstripped (uvloop's loop module: 13.6 MB, of
which 12 MB is debug information); the images need none of it. Each wheel with a shared
object is rewritten with the stripped files and a RECORD whose hashes and sizes match them.
A file `strip` cannot read (a wheel for another machine) is left as it is.

Usage: strip-wheels.py DIRECTORY [STRIP]
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def stripped(data: bytes, strip: str) -> bytes | None:
    with tempfile.NamedTemporaryFile(suffix=".so") as file:
        file.write(data)
        file.flush()
        result = subprocess.run(
            [strip, "--strip-unneeded", file.name], capture_output=True, check=False
        )
        if result.returncode != 0:
            return None
        return Path(file.name).read_bytes()


def strip_wheel(wheel: Path, strip: str) -> int:
    """Rewrites the wheel; returns the bytes saved."""
    with zipfile.ZipFile(wheel) as source:
        infos = source.infolist()
        contents = {info.filename: source.read(info) for info in infos}
    changed = {}
    for name, data in contents.items():
        if name.endswith(".so") or ".so." in name:
            new = stripped(data, strip)
            if new is not None and len(new) < len(data):
                changed[name] = new
    if not changed:
        return 0
    contents.update(changed)
    record_name = next(n for n in contents if n.endswith(".dist-info/RECORD"))
    rows = []
    for row in csv.reader(io.StringIO(contents[record_name].decode("utf-8"))):
        if row and row[0] in changed:
            row = [row[0], record_hash(changed[row[0]]), str(len(changed[row[0]]))]
        rows.append(row)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    contents[record_name] = out.getvalue().encode("utf-8")
    saved = wheel.stat().st_size
    partial = wheel.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as target:
        for info in infos:
            target.writestr(info, contents[info.filename], zipfile.ZIP_DEFLATED)
    partial.replace(wheel)
    return saved - wheel.stat().st_size


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    strip = argv[2] if len(argv) == 3 else "strip"
    total = 0
    for wheel in sorted(Path(argv[1]).glob("*.whl")):
        total += strip_wheel(wheel, strip)
    print(f"strip-wheels: {total / 1e6:.1f} MB less in {argv[1]} (compressed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
