"""The diagnostics screen exports the support bundle: the running plant's file without its secrets,
the live health, the versions; the window never waits for it."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from linesight.app.settings import HmiSettings

from .harness import Hmi, running_hmi

PLANT = """\
version: 1
id: bundle-test
sites:
  - id: sp
    lines:
      - id: l1
        machines:
          - id: cnc-01
            driver: simulator
            model: cnc
            connection: {password: s3cret-pw}
            tags:
              - {name: spindle_speed, address: spindle_speed, unit: rpm}
"""


@pytest.fixture
def hmi(tmp_path: Path) -> Iterator[Hmi]:
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(PLANT)
    settings = HmiSettings(plant=str(plant_file), language="en", idle_logout_s=300)
    with running_hmi(tmp_path, settings=settings) as running:
        yield running


def test_the_bundle_holds_the_plant_without_secrets_and_the_live_health(
    qtbot: QtBot, hmi: Hmi, tmp_path: Path
) -> None:
    screen = hmi.window.diagnostics
    out = tmp_path / "support.zip"
    screen.write_bundle(out)
    qtbot.waitUntil(lambda: "written to" in screen.bundle_info.text(), timeout=15000)
    assert screen.export_bundle.isEnabled()
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        plant = archive.read("plant.yaml").decode()
        health = json.loads(archive.read("health.json"))
    assert {"versions.json", "plant.yaml", "health.json"} <= names
    assert "s3cret-pw" not in plant and "bundle-test" in plant
    assert health, "the runtime's health report is in the bundle"


def test_a_bundle_that_cannot_be_written_says_where_and_why(qtbot: QtBot, hmi: Hmi, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    screen = hmi.window.diagnostics
    screen.write_bundle(blocker / "support.zip")
    qtbot.waitUntil(lambda: "could not be written" in screen.bundle_info.text(), timeout=15000)
    assert str(blocker / "support.zip") in screen.bundle_info.text()
    assert screen.export_bundle.isEnabled()
