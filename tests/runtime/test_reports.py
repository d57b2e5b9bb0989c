"""Shift and day reports replayed from a real historian: OEE with codings and rejects, losses, the
downtime list, line scope and the CSV export."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from linesight.cli import main
from linesight.domain.errors import InvalidEntry
from linesight.domain.plant import parse_plant
from linesight.domain.reasons import DowntimeCode, ReasonTree, RejectEntry
from linesight.domain.tags import Quality, Sample
from linesight.runtime.reports import build_report, period_bounds, scope, write_csv
from linesight.storage import Historian


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)  # a Monday


PLANT_YAML = """\
id: t
calendars:
  two:
    shifts:
      - {name: A, start: "06:00", end: "14:00", breaks: [{start: "10:00", duration: 30min}]}
      - {name: B, start: "14:00", end: "22:00"}
sites:
  - id: s
    calendar: two
    lines:
      - id: l1
        name: Line 1
        machines: [MACHINE_m1, MACHINE_m2]
      - id: l2
        machines:
          - {id: m3, driver: simulator, connection: {profile: press}, tags: [{name: state, address: state_code}]}
"""  # noqa: E501
MACHINE = (
    "{id: ID, name: NAME, driver: simulator, connection: {profile: press}, "
    "tags: [{name: state, address: state_code, type: int16}, "
    "{name: parts, address: part_count, type: uint32}], "
    "oee: {state: {from: state_code, tag: state, map: {1: running, 3: stopped}}, "
    "part_count: parts, ideal_cycle_time: 60s}}"
)
PLANT_YAML = PLANT_YAML.replace("MACHINE_m1", MACHINE.replace("ID", "m1").replace("NAME", "M1")).replace(
    "MACHINE_m2", MACHINE.replace("ID", "m2").replace("NAME", "M2")
)
PLANT = parse_plant(PLANT_YAML, "plant.yaml")
TREE = ReasonTree(PLANT.downtime_reasons)


def sample(key: str, when: datetime, value: float) -> Sample:
    return Sample(tag=key, ts_us=int(when.timestamp() * 1_000_000), value=value, quality=Quality.GOOD)


@pytest.fixture
def historian(tmp_path: Path) -> Iterator[Historian]:
    store = Historian(tmp_path / "h.duckdb")
    store.open()
    store.register_tags(PLANT.tag_specs())
    store.append(
        sorted(
            [
                sample("m1.state", at(5), 3),  # stopped since before the shift: no sample at 06:00
                sample("m1.parts", at(5), 1000),
                sample("m1.state", at(6, 30), 1),
                sample("m1.parts", at(12), 1200),
                sample("m1.state", at(13), 3),
                sample("m1.parts", at(13), 1300),
                sample("m1.state", at(13, 20), 1),
                sample("m1.parts", at(21), 1500),
                sample("m2.state", at(6), 1),
                sample("m2.parts", at(6), 0),
                sample("m2.parts", at(13, 59), 450),
            ],
            key=lambda s: s.ts_us,
        )
    )
    coded = DowntimeCode(
        machine="m1", start=at(6), end=None, reason="maintenance", user="ana", coded_at=at(7)
    )
    store.record_downtime_code(coded)
    store.record_reject(RejectEntry(machine="m1", ts=at(12), count=5, reason="surface", user="ana"))
    yield store
    store.close()


def test_a_shift_report_replays_states_counters_codings_and_rejects(historian: Historian) -> None:
    report = build_report(PLANT, historian, scope(PLANT, machine="m1"), at(6), at(14), now=at(0, day=3))
    (shift,) = report.shifts
    result = shift.figures.oee
    assert result is not None and shift.shift.name == "A"
    # 480 min - 30 min break - 30 min coded planned maintenance = 420 min planned busy time.
    assert result.planned_busy_s == 420 * 60
    assert result.unplanned_downtime_s == 20 * 60 and result.failures == 1
    assert (result.produced, result.good) == (300, 295)
    assert result.availability == pytest.approx(400 / 420)
    assert result.performance == pytest.approx(300 * 60 / (400 * 60))
    assert result.quality == pytest.approx(295 / 300)
    assert [(loss.kind, loss.key) for loss in shift.losses][:1] == [("speed", "speed")]
    uncoded = next(loss for loss in shift.losses if loss.kind == "uncoded")
    assert (uncoded.key, uncoded.seconds) == ("stopped", 20 * 60)
    assert [(s.start, s.coded) for s in shift.figures.stops] == [(at(6), True), (at(13), False)]


def test_a_line_report_for_a_day_combines_machines_and_shifts(historian: Historian) -> None:
    line = scope(PLANT, line="l1")
    assert line.machines == ("m1", "m2") and line.title == "Line 1"
    report = build_report(PLANT, historian, line, at(0), at(0, day=3), now=at(0, day=3))
    assert [(s.machine, s.shift.name) for s in report.shifts] == [
        ("m1", "A"),
        ("m1", "B"),
        ("m2", "A"),
        ("m2", "B"),
    ]
    m1_b = report.shifts[1].figures.oee
    assert m1_b is not None and m1_b.produced == 200  # the counter went on from 1300 to 1500
    by_machine = {ident: result for ident, _title, result in report.machines}
    assert by_machine["m1"] is not None and by_machine["m1"].produced == 500
    assert report.oee is not None
    assert report.oee.produced == sum(r.produced for r in by_machine.values() if r is not None)
    assert report.oee.planned_busy_s == sum(
        s.figures.oee.planned_busy_s for s in report.shifts if s.figures.oee is not None
    )


def test_a_running_shift_is_reported_up_to_now_and_future_shifts_are_left_out(historian: Historian) -> None:
    report = build_report(PLANT, historian, scope(PLANT, machine="m1"), at(0), at(0, day=3), now=at(12, 30))
    (shift,) = report.shifts
    assert shift.until == at(12, 30)
    assert shift.figures.oee is not None and shift.figures.oee.produced == 200


def test_machines_without_oee_are_named_and_unknown_scopes_are_refused(historian: Historian) -> None:
    report = build_report(PLANT, historian, scope(PLANT, line="s/l2"), at(6), at(14), now=at(0, day=3))
    assert report.shifts == () and report.without_oee == ("m3",) and report.oee is None
    with pytest.raises(InvalidEntry, match="no machine 'mx' in the plant; its machines are: m1, m2, m3"):
        scope(PLANT, machine="mx")
    with pytest.raises(InvalidEntry, match="no line 'l9' in the plant; its lines are: s/l1, s/l2"):
        scope(PLANT, line="l9")


def test_the_csv_export_has_shifts_totals_losses_and_stops(historian: Historian, tmp_path: Path) -> None:
    report = build_report(PLANT, historian, scope(PLANT, line="l1"), at(6), at(14), now=at(0, day=3))
    path = tmp_path / "report.csv"
    write_csv(report, path, TREE)
    with path.open(encoding="utf-8") as text:
        rows = list(csv.reader(text))
    header = rows[2]
    assert header[:3] == ["machine", "line", "shift"] and "oee_pct" in header
    m1 = dict(zip(header, rows[3], strict=True))
    assert (m1["machine"], m1["shift"], m1["parts"], m1["good"]) == ("m1", "A", "300", "295")
    assert m1["availability_pct"] == f"{100 * 400 / 420:.2f}"
    assert any(row[:1] == ["total"] for row in rows)
    losses_at = rows.index(["loss", "kind", "key", "minutes", "events"])
    assert ["uncoded (stopped)", "uncoded", "stopped", "20.0", "1"] in rows[losses_at:]
    stops_at = rows.index(
        ["machine", "stop_start", "stop_end", "minutes", "state", "reason", "coded_minutes"]
    )
    assert rows[stops_at + 1][:6] == [
        "m1",
        at(6).isoformat(),
        at(6, 30).isoformat(),
        "30.0",
        "stopped",
        "maintenance",
    ]


def test_the_report_command_prints_the_shift_and_writes_csv(historian: Historian, tmp_path: Path) -> None:
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(PLANT_YAML, encoding="utf-8")
    historian.close()
    out = tmp_path / "r.csv"
    where = ["--plant", str(plant_file), "--db", str(tmp_path / "h.duckdb")]
    when = ["--from", at(6).isoformat(), "--to", at(14).isoformat()]
    code = main(["report", *where, "--line", "l1", *when, "--csv", str(out)])
    assert code == 0 and out.stat().st_size > 0


def test_the_report_command_names_a_bad_machine_and_a_bad_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(PLANT_YAML, encoding="utf-8")
    assert main(["report", "--plant", str(plant_file), "--machine", "mx"]) == 2
    assert "no machine 'mx' in the plant; its machines are: m1, m2, m3" in capsys.readouterr().err
    assert main(["report", "--plant", str(plant_file), "--from", "yesterday-ish"]) == 2
    assert "yesterday-ish" in capsys.readouterr().err


def test_periods_follow_the_sites_local_time_and_its_shifts() -> None:
    covered = scope(PLANT, machine="m1")
    assert period_bounds(PLANT, covered, "shift", at(12)) == (at(6), at(14))
    friday = datetime(2026, 2, 27, 14, tzinfo=UTC)  # Monday's shift before is Friday's last one
    assert period_bounds(PLANT, covered, "previous-shift", at(12)) == (friday, friday.replace(hour=22))
    assert period_bounds(PLANT, covered, "shift", at(23)) == (at(14), at(22))  # between shifts: the last
    assert period_bounds(PLANT, covered, "today", at(12)) == (at(0), at(0, day=3))
    assert period_bounds(PLANT, covered, "week", at(12, day=4)) == (at(0), at(0, day=9))
    with pytest.raises(InvalidEntry, match="unknown period 'month'"):
        period_bounds(PLANT, covered, "month", at(12))
