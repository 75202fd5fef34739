"""Cuts an image's root down to what the helpers run, then proves nothing they load went missing.

Run as root in the install stage of base.Dockerfile, after the package is installed in
/opt/sidecars; the final stage copies the result onto an empty image, so the files removed here
take no space at all. It removes three kinds of files:

- Debian packages a running helper never uses (apt, dpkg, perl, the login tools, the
  documentation of git), by their dpkg file lists; /var/lib/dpkg/status keeps the rest, so that
  image scanners still see every package that is there;
- the parts of Python that only install or teach (pip, ensurepip and the wheels behind it,
  idlelib, tkinter, lib2to3, test suites, docs);
- documentation, manual pages, translations, time zones and the rarer character sets.

Then every ELF file left is given to the dynamic loader: a shared library that a kept program or
extension module needs but is gone fails the build here, not in a Pod. Stdlib modules whose only
use was a removed library (_dbm needs Berkeley DB) go with it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path


def words(text: str) -> list[str]:
    return text.split()


# Installed in a Debian bookworm base (minbase, python:3.11-slim-bookworm, or either with git)
# and never run by a helper.
PACKAGES = words("""
    adduser apt debconf debian-archive-keyring debianutils-doc diffutils dpkg e2fsprogs
    git-man gpgv init-system-helpers libapt-pkg6.0 libdb5.3 libext2fs2 liberror-perl
    libperl5.36 libss2 libsemanage2 libsemanage-common libsepol2 libpam-modules
    libpam-modules-bin libpam-runtime login logsave mount openssl passwd perl perl-base
    perl-modules-5.36 python3-pip-whl python3-setuptools-whl python3.11-venv python3-venv
    python3-distutils python3-lib2to3 sysvinit-utils tar tzdata util-linux util-linux-extra
    bash ncurses-bin bsdutils libsasl2-modules-db
""")

# Relative to the standard library directory.
STDLIB = words("""
    ensurepip idlelib tkinter turtledemo turtle.py lib2to3 pydoc_data test unittest/test
    distutils/tests venv/scripts/nt site-packages/pip site-packages/setuptools
    site-packages/wheel site-packages/_distutils_hack site-packages/distutils-precedence.pth
""")

TREES = words("""
    /usr/share/doc /usr/share/man /usr/share/info /usr/share/locale /usr/share/lintian
    /usr/share/linda /usr/share/bash-completion /usr/share/zoneinfo /usr/share/gitweb
    /usr/share/perl5 /usr/share/perl /usr/lib/git-core/mergetools /var/cache/debconf
    /var/cache/apt /var/lib/apt /var/log /usr/share/python-wheels /tmp/wheels /tmp/slim.py
    /var/lib/dpkg/status-old /var/lib/dpkg/diversions-old /var/lib/dpkg/statoverride-old
""")

# Programs of kept packages that a helper never runs: git's servers and mail tools (git daemon
# stays: the compose trial's git server runs it), and the static twin of tini.
PROGRAMS = words("""
    /usr/bin/scalar /usr/lib/git-core/scalar /usr/bin/git-shell /usr/lib/git-core/git-shell
    /usr/lib/git-core/git-http-push /usr/lib/git-core/git-imap-send
    /usr/lib/git-core/git-http-backend /usr/lib/git-core/git-http-fetch /usr/bin/tini-static
    /usr/bin/localedef
""")

# Of dpkg's records, the file lists and checksums stay (image scanners read them); the
# maintainer scripts, symbol files and templates only matter to dpkg itself.
DPKG_RECORDS_KEPT = (".list", ".md5sums", ".conffiles")

# Charset converters of glibc kept: the Unicode ones and Latin-1; git asks iconv for these.
GCONV_KEPT = ("gconv-modules", "UTF-", "UNICODE", "ISO8859-1.so", "UTF-7")

DPKG = Path("/var/lib/dpkg")


def remove(path: Path) -> None:
    """Removes a file, a symlink or a tree; a symlink to a directory is left (merged /usr)."""
    if path.is_symlink():
        if not path.is_dir():
            path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def drop_packages(names: set[str]) -> list[str]:
    """Removes the files of the installed packages named, and their dpkg records."""
    dropped = []
    for listing in sorted((DPKG / "info").glob("*.list")):
        package = listing.stem.split(":")[0]
        if package not in names:
            continue
        for line in listing.read_text(encoding="utf-8").splitlines():
            path = Path(line)
            if line and (path.is_symlink() or path.is_file()):
                remove(path)
        for record in (DPKG / "info").glob(f"{listing.stem}.*"):
            record.unlink()
        dropped.append(package)
    status = DPKG / "status"
    if status.exists():
        stanzas = status.read_text(encoding="utf-8").split("\n\n")
        kept = [s for s in stanzas if s.strip() and package_of(s) not in dropped]
        status.write_text("\n\n".join(kept) + "\n", encoding="utf-8")
    return dropped


def package_of(stanza: str) -> str:
    for line in stanza.splitlines():
        if line.startswith("Package: "):
            return line.removeprefix("Package: ").strip()
    return ""


def trim_python() -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in STDLIB:
        remove(stdlib / name)
    for prefix in {Path(sys.base_prefix), Path("/usr/local")}:
        for pattern in ("pip*", "idle*", "pydoc*", "2to3*", "easy_install*", "wheel"):
            for script in (prefix / "bin").glob(pattern):
                remove(script)
    # No writable disk in a Pod: byte code compiled now is what every start-up reads.
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j0", str(stdlib)], check=True)


def trim_gconv() -> None:
    for gconv in Path("/usr/lib").glob("*/gconv"):
        for module in gconv.iterdir():
            if not module.name.startswith(GCONV_KEPT):
                remove(module)


def is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(4) == b"\x7fELF"
    except OSError:
        return False


def missing_libraries(roots: list[Path]) -> dict[Path, list[str]]:
    """Every ELF file under roots whose shared libraries the loader cannot all find."""
    loader = next(p for p in sorted(Path("/").glob("lib*/ld-linux*.so.*")) if p.exists())
    missing = {}
    seen: set[tuple[int, int]] = set()
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_symlink() or not path.is_file() or not is_elf(path):
                continue
            inode = (path.stat().st_dev, path.stat().st_ino)
            if inode in seen:
                continue
            seen.add(inode)
            run = subprocess.run(
                [str(loader), "--list", str(path)], capture_output=True, text=True, check=False
            )
            # The loader names the first library it cannot open on stderr, or, listing a
            # library that loads, each one missing as "name => not found".
            lost = [line.split()[0] for line in run.stdout.splitlines() if "not found" in line]
            if run.returncode != 0 and "error while loading shared libraries" in run.stderr:
                lost.append(run.stderr.split("shared libraries: ", 1)[1].split(":")[0])
            if lost:
                missing[path] = lost
    return missing


def main() -> int:
    dropped = drop_packages(set(PACKAGES))
    trim_python()
    trim_gconv()
    for name in [*TREES, *PROGRAMS]:
        remove(Path(name))
    for record in (DPKG / "info").glob("*"):
        if not record.name.endswith(DPKG_RECORDS_KEPT):
            remove(record)
    Path("/var/log").mkdir(exist_ok=True)
    roots = [Path(p) for p in ("/usr/bin", "/usr/sbin", "/usr/lib", "/usr/local", "/opt")]
    missing = missing_libraries([r for r in roots if r.is_dir()])
    # A stdlib extension whose library was dropped with a package no helper imports goes too.
    lib_dynload = Path(sysconfig.get_paths()["platstdlib"]) / "lib-dynload"
    for module in [p for p in missing if p.parent == lib_dynload and p.name.startswith("_dbm")]:
        remove(module)
        del missing[module]
    print(f"slim: dropped {len(dropped)} packages: {' '.join(dropped)}")
    for path, lost in missing.items():
        print(f"slim: {path} needs {', '.join(lost)}, which is gone", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
