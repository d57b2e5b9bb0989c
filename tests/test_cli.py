"""The linesight command: check, run headless, export, version, and what survives a kill -9."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from linesight import __version__
from linesight.cli import main, parse_when
from linesight.domain.tags import Sample
from linesight.runtime.plantfile import DEMO_PLANT
from linesight.storage import Historian, to_us

SMALL_PLANT = """\
id: small
historian:
  flush_interval: 1s
sites:
  - id: s
    lines:
      - id: l
        machines:
          - id: press-1
            driver: simulator
            connection: {profile: press, seed: 7}
            poll_interval: 100ms
            tags:
              - {name: parts, address: part_count, type: uint32}
              - {name: pressure, address: hydraulic_pressure, unit: bar}
              - {name: alarm, address: alarm_text, type: string}
          - id: cnc-1
            driver: simulator
            connection: {profile: cnc, seed: 8}
            poll_interval: 100ms
            tags:
              - {name: speed, address: spindle_speed, unit: rpm}
"""


def linesight(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "linesight.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"linesight {__version__}"


def test_check_says_ok_for_the_demo_plant(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(DEMO_PLANT)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK: {DEMO_PLANT}") and "8 machine(s)" in out


def test_check_lists_every_problem_with_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SMALL_PLANT.replace("type: uint32", "type: uint33").replace(
            "poll_interval: 100ms", "poll_interval: 0", 2
        )
    )
    assert main(["check", str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "3 problems in the plant file"
    assert (
        out[1].startswith(f"{bad}:12:")
        and "machines[0].poll_interval" in out[1]
        and "greater than 0" in out[1]
    )
    assert out[2].startswith(f"{bad}:14:") and "tags[0].type" in out[2] and "float64" in out[2]
    assert out[3].startswith(f"{bad}:20:") and "machines[1].poll_interval" in out[3]


def test_check_names_an_address_the_driver_does_not_know(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL_PLANT.replace("address: spindle_speed", "address: rpm"))
    assert main(["check", str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith(f"{bad}:22:") and "tags[0].address" in out[1] and "no signal 'rpm'" in out[1]


def test_check_of_a_missing_file_says_it_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tmp_path / "nope.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().out


@pytest.mark.slow
def test_a_malformed_plant_starts_nothing(tmp_path: Path) -> None:
    plant = tmp_path / "plant.yaml"
    plant.write_text(SMALL_PLANT.replace("poll_interval: 100ms", "poll_interval: quickly", 1))
    db = tmp_path / "h.duckdb"
    result = linesight("run", "--headless", "--plant", str(plant), "--db", str(db), "--duration", "5")
    assert result.returncode == 1
    assert f"{plant}:12:" in result.stderr and "poll_interval" in result.stderr
    assert not db.exists()


@pytest.mark.slow
def test_a_headless_run_records_history_that_export_writes_out(tmp_path: Path) -> None:
    plant = tmp_path / "plant.yaml"
    plant.write_text(SMALL_PLANT)
    db = tmp_path / "h.duckdb"
    health = tmp_path / "health.json"
    run = ["run", "--headless", "--plant", str(plant), "--db", str(db), "--duration", "3"]
    result = linesight(*run, "--status-interval", "1", "--health-file", str(health))
    assert result.returncode == 0, result.stderr
    assert "machines 2/2 online" in result.stdout
    report = json.loads(health.read_text())
    machines = {item["machine"]: item for item in report["machines"]}
    assert set(machines) == {"press-1", "cnc-1"}
    assert machines["press-1"]["state"] == "stopped"  # written once more after the clean stop
    assert machines["press-1"]["polls"] > 10 and machines["press-1"]["round_trip_ms"] is not None
    assert report["historian"]["stored"] > 0
    stored = int(re.search(r"stopped: (\d+) samples stored", result.stdout).group(1))  # type: ignore[union-attr]
    assert stored > 40
    out = tmp_path / "out.parquet"
    code = main(
        [
            "export",
            "--db",
            str(db),
            "--tag",
            "press-1.parts",
            "--tag",
            "press-1.alarm",
            "--from",
            "-1h",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    table = pq.read_table(out)
    assert set(table.column("tag").to_pylist()) == {"press-1.parts", "press-1.alarm"}
    with Historian(db, read_only=True) as historian:
        assert historian.stats().raw_rows == stored
        units = {tag.key: tag.unit for tag in historian.tags()}
    assert units["press-1.pressure"] == "bar"


@pytest.mark.slow
def test_a_damaged_historian_stops_the_run_with_its_name_and_is_left_alone(tmp_path: Path) -> None:
    plant = tmp_path / "plant.yaml"
    plant.write_text(SMALL_PLANT)
    db = tmp_path / "h.duckdb"
    db.write_bytes(b"\x00garbage" * 1000)
    result = linesight("run", "--headless", "--plant", str(plant), "--db", str(db), "--duration", "5")
    assert result.returncode == 2
    assert str(db) in result.stderr and "damaged" in result.stderr
    assert db.read_bytes() == b"\x00garbage" * 1000


def test_export_refuses_bad_times_and_unknown_tags_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.duckdb"
    with Historian(db) as historian:
        historian.append([Sample(tag="m.a", ts_us=to_us(datetime.now(UTC)), value=1.0)])
    assert main(["export", "--db", str(db), "--tag", "m.a", "--from", "yesterday"]) == 2
    assert "'yesterday' is not a time" in capsys.readouterr().err
    assert main(["export", "--db", str(db), "--tag", "m.a", "--from", "-1h", "--to", "-2h"]) == 2
    assert "must be after --from" in capsys.readouterr().err
    assert main(["export", "--db", str(db), "--tag", "m.b", "--from", "-1h"]) == 2
    assert "no tag 'm.b'" in capsys.readouterr().err
    assert main(["export", "--db", str(tmp_path / "none.duckdb"), "--tag", "m.a", "--from", "-1h"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_relative_and_iso_times_are_understood() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_when("-8h", now) == now - timedelta(hours=8)
    assert parse_when("-7d", now) == now - timedelta(days=7)
    assert parse_when("2026-05-01T09:30:00+00:00", now) == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    assert parse_when("now", now) == now


@pytest.mark.slow
def test_kill_9_loses_at_most_the_last_flush_interval_and_the_file_opens_cleanly(tmp_path: Path) -> None:
    plant = tmp_path / "plant.yaml"
    plant.write_text(SMALL_PLANT)
    db = tmp_path / "h.duckdb"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "linesight.cli",
            "run",
            "--headless",
            "--plant",
            str(plant),
            "--db",
            str(db),
            "--status-interval",
            "0.25",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    reported_seq = 0
    try:
        assert process.stdout is not None
        started = time.monotonic()
        # Let it run through several flushes, remembering the last sequence number it reported stored.
        while time.monotonic() - started < 4.5:
            line = process.stdout.readline()
            if match := re.search(r"\(seq (\d+)\)", line):
                reported_seq = int(match.group(1))
        killed_at = time.time()
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    assert reported_seq > 0
    with Historian(db) as historian:
        stats = historian.stats()
        rows = historian.raw(
            [tag.key for tag in historian.tags()], datetime(2000, 1, 1), datetime(2100, 1, 1)
        )
    seqs = sorted(rows["seq"].tolist())
    assert seqs == list(range(1, stats.last_seq + 1))  # nothing half-written, no holes
    assert stats.last_seq >= reported_seq  # everything reported as stored survived
    assert stats.newest_us is not None
    flush_interval, poll_interval, slack = 1.0, 0.1, 0.5
    lost_s = killed_at - stats.newest_us / 1e6
    assert lost_s <= flush_interval + poll_interval + slack, f"lost {lost_s:.2f} s of data"


@pytest.mark.slow
def test_a_headless_run_never_loads_qt(tmp_path: Path) -> None:
    plant = tmp_path / "plant.yaml"
    plant.write_text(SMALL_PLANT)
    script = (
        "import sys; from linesight.cli import main; "
        f"code = main(['run', '--headless', '--plant', {str(plant)!r}, "
        f"'--db', {str(tmp_path / 'h.duckdb')!r}, '--duration', '1', '--status-interval', '0']); "
        "qt = ('PySide6', 'pyqtgraph', 'qasync'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in qt)); sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
