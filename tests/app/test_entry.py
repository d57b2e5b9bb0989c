"""`linesight run --plant` opens the HMI in a process of its own, records, remembers the plant, exits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from linesight.storage import Historian

from ..test_cli import SMALL_PLANT

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def test_the_hmi_runs_a_plant_and_stops_cleanly_with_every_sample_written(tmp_path: Path) -> None:
    plant = tmp_path / "plant.yaml"
    plant.write_text(SMALL_PLANT)
    db = tmp_path / "h.duckdb"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    command = [
        sys.executable,
        "-m",
        "linesight.cli",
        "--plant",
        str(plant),
        "--db",
        str(db),
        "--duration",
        "4",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert "no users yet" in result.stderr  # a plant without users is told how to add one
    assert "leaked" not in result.stderr  # what start-up froze out of the collector is freed at exit
    with Historian(db, read_only=True) as historian:
        stats = historian.stats()
    assert stats.raw_rows > 0 and stats.tags > 0
    settings = (tmp_path / "config" / "LineSight" / "LineSight.conf").read_text()
    assert f"plant={plant.resolve()}" in settings  # the next plain `linesight` opens this plant
