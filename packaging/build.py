"""Build the LineSight bundle (``make package``): PyInstaller one-folder build, then checks.

    python packaging/build.py [--dist DIR] [--work DIR] [--self-test] [--tarball]

1. PyInstaller runs ``packaging/linesight.spec`` into ``DIR/linesight/`` (default ``dist/``).
2. On Linux, symbols come off a few large libraries known to survive it (a blanket strip breaks the
   libraries auditwheel patched, such as numpy's OpenBLAS).
3. ``--self-test`` runs ``DIR/linesight/linesight --self-test`` offscreen: a bundle that cannot show a
   live value fails the build.
4. ``--tarball`` (Linux) writes ``DIR/linesight-<version>-linux-<machine>.tar.gz`` with the bundle,
   the desktop file, the systemd units and an install script (``packaging/linux/tarball.py``).

It prints the bundle's size and the build time beside their targets. Exit status 0 when every step
worked; the figures are information, not a verdict.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = HERE / "linesight.spec"
SIZE_TARGET_MB = 200.0
# Large libraries whose symbols can go: none of them was patched by auditwheel.
STRIPPABLE = ("libpython3", "zstandard/backend_c", "cryptography/hazmat/bindings/_rust")


def executable(bundle: Path) -> Path:
    return bundle / ("linesight.exe" if sys.platform == "win32" else "linesight")


def folder_size(path: Path) -> int:
    """Bytes of every regular file below path (symbolic links not counted twice)."""
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            item = Path(folder) / name
            if not item.is_symlink():
                total += item.stat().st_size
    return total


def build(dist: Path, work: Path, *, quiet: bool = False) -> tuple[Path, float]:
    """Run PyInstaller; returns the bundle folder and the seconds it took."""
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--clean",
        "--log-level",
        "WARN",
        "--distpath",
        str(dist),
        "--workpath",
        str(work),
        str(SPEC),
    ]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=quiet, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        detail = (done.stdout or "")[-2000:] + (done.stderr or "")[-4000:] if quiet else ""
        raise SystemExit(f"PyInstaller failed (exit {done.returncode}){':' if detail else ''}\n{detail}")
    bundle = dist / "linesight"
    if not executable(bundle).is_file():
        raise SystemExit(f"PyInstaller finished but {executable(bundle)} is missing")
    return bundle, seconds


def strip_some(bundle: Path) -> int:
    """Strip the known-safe large libraries (Linux, when ``strip`` exists); returns bytes saved."""
    tool = shutil.which("strip")
    if not sys.platform.startswith("linux") or tool is None:
        return 0
    saved = 0
    for item in sorted(bundle.rglob("*.so*")):
        relative = item.relative_to(bundle).as_posix()
        if item.is_symlink() or not any(f"/{name}" in f"/{relative}" for name in STRIPPABLE):
            continue
        before = item.stat().st_size
        subprocess.run([tool, "--strip-unneeded", str(item)], check=True)
        saved += before - item.stat().st_size
    return saved


def self_test(bundle: Path, screenshot: Path, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run the bundle's self-test offscreen, with nothing of this checkout on its paths.

    The deadline is looser than the self-test's own 10 s: a build machine busy with other jobs must not
    fail a good bundle (bench/package.py measures against the 10 s)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return subprocess.run(
        [str(executable(bundle)), "--self-test", "--screenshot", str(screenshot), "--timeout", str(timeout)],
        cwd=tempfile.gettempdir(),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout + 60,
        check=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="PyInstaller's work folder")
    parser.add_argument("--self-test", action="store_true", help="run the bundle's self-test afterwards")
    parser.add_argument("--tarball", action="store_true", help="Linux: also write the release tarball")
    args = parser.parse_args(argv)

    bundle, seconds = build(args.dist.resolve(), args.work.resolve())
    saved = strip_some(bundle)
    size_mb = folder_size(bundle) / 1e6
    version = (bundle / "_internal" / "VERSION").read_text().strip()
    print(f"bundle      {bundle} (linesight {version})")
    print(f"build time  {seconds:.0f} s")
    print(
        f"bundle size {size_mb:.0f} MB (stripping saved {saved / 1e6:.0f} MB)  "
        f"target <= {SIZE_TARGET_MB:.0f} MB"
    )
    if args.self_test:
        shot = args.dist.resolve() / "self-test.png"
        done = self_test(bundle, shot)
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        if done.returncode != 0:
            print(f"self-test of the bundle FAILED (exit {done.returncode})", file=sys.stderr)
            return 1
    if args.tarball:
        if not sys.platform.startswith("linux"):
            print("--tarball is for Linux; on Windows build packaging/windows/linesight.iss", file=sys.stderr)
            return 1
        sys.path.insert(0, str(HERE / "linux"))
        from tarball import make_tarball  # packaging/linux/tarball.py

        archive = make_tarball(bundle, args.dist.resolve(), version, platform.machine())
        print(f"tarball     {archive} ({archive.stat().st_size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
