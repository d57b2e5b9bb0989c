"""The installer's bundle works: PyInstaller builds it from packaging/linesight.spec, and the built
program passes its own self-test (the HMI offscreen on the demo plant shows a live value read through
every protocol driver), answers as the headless agent, and carries none of the cloud backend.

One build (~80 s on 2 cores) serves every test here; it is skipped where PyInstaller is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from linesight import __version__

pytest.importorskip("PyInstaller", reason="PyInstaller is in the dev extra (pyinstaller==6.22.3)")

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "linesight_packaging_build", ROOT / "packaging" / "build.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bundle() -> Iterator[Path]:
    builder = _build_module()
    with tempfile.TemporaryDirectory(prefix="linesight-bundle-") as folder:
        built, _seconds = builder.build(Path(folder) / "dist", Path(folder) / "work", quiet=True)
        builder.strip_some(built)
        yield built


def _clean_env() -> dict[str, str]:
    """What a plant PC has: no virtualenv, no PYTHONPATH pointing at this checkout."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def test_self_test_of_the_bundle_shows_a_live_value_and_saves_a_screenshot(
    bundle: Path, tmp_path: Path
) -> None:
    shot = tmp_path / "shots" / "self-test.png"
    done = subprocess.run(
        # A generous deadline: this checks that the bundle works; bench/package.py times it (10 s target).
        [str(bundle / "linesight"), "--self-test", "--screenshot", str(shot), "--timeout", "60"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "self-test OK: first live value after" in done.stdout
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000  # a drawn overview, not an empty picture


def test_the_bundle_is_the_linesight_command_with_its_version_and_the_headless_agent(
    bundle: Path, tmp_path: Path
) -> None:
    version = subprocess.run(
        [str(bundle / "linesight"), "--version"],
        capture_output=True,
        text=True,
        env=_clean_env(),
        check=False,
    )
    assert version.stdout.strip() == f"linesight {__version__}"
    assert (bundle / "_internal" / "VERSION").read_text().strip() == __version__
    agent = subprocess.run(
        [
            str(bundle / "linesight"),
            "run",
            "--headless",
            "--db",
            str(tmp_path / "agent.duckdb"),
            "--duration",
            "3",
            "--status-interval",
            "1",
        ],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert agent.returncode == 0, agent.stderr
    assert re.search(r"machines ([1-9]\d*)/\1 online", agent.stdout), agent.stdout + agent.stderr
    stored = re.search(r"stopped: (\d+) samples stored", agent.stdout)
    assert stored is not None and int(stored.group(1)) > 0, agent.stdout


def test_the_bundle_leaves_out_the_cloud_backend_and_the_tools(bundle: Path) -> None:
    internal = bundle / "_internal"
    names = {item.name for item in internal.iterdir()}
    for unwanted in (
        "sqlalchemy",
        "fastapi",
        "uvicorn",
        "alembic",
        "psycopg",
        "pytest",
        "tkinter",
        "_tkinter",
    ):
        assert unwanted not in names, unwanted
    assert not (internal / "linesight" / "cloud" / "backend").exists()
    # The resources the HMI loads by path are files in the bundle.
    resources = internal / "linesight" / "resources"
    for relative in (
        "demo_plant.yaml",
        "simulator_plant.yaml",
        "themes/isa101.qss",
        "translations/linesight_pt_BR.qm",
        "schema/linesight-v1.schema.json",
    ):
        assert (resources / relative).is_file(), relative
    # PyInstaller's archive must not hold the backend's modules either.
    listing = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller.utils.cliutils.archive_viewer",
            "--recursive",
            "--brief",
            str(bundle / "linesight"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "linesight.cli.selftest" in listing.stdout  # the listing is of the modules
    assert "linesight.cloud.forwarder" in listing.stdout  # the edge's half of the cloud stays
    for unwanted in ("linesight.cloud.backend", "sqlalchemy", "fastapi", "alembic", "uvicorn"):
        assert unwanted not in listing.stdout, unwanted
