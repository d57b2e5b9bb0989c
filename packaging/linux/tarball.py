"""The Linux release tarball: the PyInstaller bundle plus what installs it as an app and a service.

    linesight-<version>-linux-<machine>/
        linesight/                           the bundle (linesight/linesight is the program)
        share/applications/linesight.desktop
        systemd/linesight-kiosk.service      user unit: the HMI as a kiosk, restarted on failure
        systemd/linesight-agent.service      system unit: the headless agent, Type=notify + watchdog
        docs/integrator-guide.md             (and the plant-file reference)
        install.sh, VERSION

Used by ``packaging/build.py --tarball``; ``python packaging/linux/tarball.py BUNDLE OUT_DIR`` alone too.
"""

from __future__ import annotations

import platform
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DOCS = ("integrator-guide.md", "plant-file.md")


def make_tarball(bundle: Path, out: Path, version: str, machine: str) -> Path:
    name = f"linesight-{version}-linux-{machine}"
    archive = out / f"{name}.tar.gz"
    out.mkdir(parents=True, exist_ok=True)

    def executable(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=f"{name}/linesight", filter=executable)
        tar.add(HERE / "linesight.desktop", arcname=f"{name}/share/applications/linesight.desktop")
        for unit in ("linesight-kiosk.service", "linesight-agent.service"):
            tar.add(HERE / unit, arcname=f"{name}/systemd/{unit}", filter=executable)
        tar.add(HERE / "install.sh", arcname=f"{name}/install.sh", filter=executable)
        for doc in DOCS:
            if (ROOT / "docs" / doc).is_file():
                tar.add(ROOT / "docs" / doc, arcname=f"{name}/docs/{doc}", filter=executable)
        version_file = bundle / "_internal" / "VERSION"
        tar.add(version_file, arcname=f"{name}/VERSION", filter=executable)
    return archive


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: tarball.py BUNDLE_DIR OUT_DIR")
    folder = Path(sys.argv[1])
    stamp = (folder / "_internal" / "VERSION").read_text().strip()
    print(make_tarball(folder, Path(sys.argv[2]), stamp, platform.machine()))
