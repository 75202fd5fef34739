"""scripts/images/strip-wheels.py: stripped shared objects still load, and the RECORD of the
rewritten wheel matches its files (hashes and sizes as the wheel spec writes them)."""

from __future__ import annotations

import base64
import csv
import ctypes
import hashlib
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "images" / "strip-wheels.py"
SOURCE = "int answer(void) { static int table[4096] = {42}; return table[0]; }\n"

pytestmark = pytest.mark.skipif(
    not (shutil.which("gcc") and shutil.which("strip")), reason="needs gcc and binutils"
)


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(directory: Path) -> tuple[Path, bytes]:
    c = directory / "answer.c"
    c.write_text(SOURCE)
    so = directory / "answer.so"
    subprocess.run(["gcc", "-g3", "-O0", "-shared", "-fPIC", "-o", so, c], check=True)
    files = {
        "demo/__init__.py": b"",
        "demo/_answer.so": so.read_bytes(),
        "demo/notelf.so": b"not an ELF file",
        "demo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    }
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for name, data in files.items():
        writer.writerow([name, record_hash(data), len(data)])
    writer.writerow(["demo-1.0.dist-info/RECORD", "", ""])
    files["demo-1.0.dist-info/RECORD"] = out.getvalue().encode()
    wheel = directory / "wheels" / "demo-1.0-cp311-cp311-linux_x86_64.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel, files["demo/_answer.so"]


def test_stripped_wheel_loads_and_its_record_matches(tmp_path: Path) -> None:
    wheel, original = make_wheel(tmp_path)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(wheel.parent)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(wheel) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    stripped = contents["demo/_answer.so"]
    assert len(stripped) < len(original)
    assert contents["demo/notelf.so"] == b"not an ELF file"
    rows = list(csv.reader(io.StringIO(contents["demo-1.0.dist-info/RECORD"].decode())))
    for name, digest, size in rows:
        if name.endswith("RECORD"):
            continue
        assert digest == record_hash(contents[name]), name
        assert int(size) == len(contents[name]), name
    loaded = tmp_path / "loaded.so"
    loaded.write_bytes(stripped)
    assert ctypes.CDLL(str(loaded)).answer() == 42
