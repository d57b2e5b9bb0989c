"""Coding stops, entering rejects and shift reports on the HMI, over a real runtime and historian: what
the operator taps is what the historian stores, and the screens follow."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from linesight.app.reporting import Period
from linesight.app.screens.downtime import DowntimeScreen
from linesight.domain.machine import MachineState
from linesight.domain.plant import PlantConfig
from linesight.domain.reasons import Stop
from linesight.domain.tags import Sample, TagSpec
from linesight.domain.users import Role
from linesight.runtime.commands import Actor
from linesight.storage import Historian

from ..runtime.scripted import ScriptedDriver, ScriptedFactory
from .harness import Hmi, kiosk_settings, plant, running_hmi

pytestmark = pytest.mark.gui

MINUTE = timedelta(minutes=1)
ANA = Actor(name="ana", role=Role.OPERATOR)


class RunningFactory(ScriptedFactory):
    """Scripted machines that run from their first read (a scripted tag starts at 0: no state)."""

    def create(
        self, machine_id: str, connection: Mapping[str, Any], tags: Sequence[TagSpec]
    ) -> ScriptedDriver:
        driver = super().create(machine_id, connection, tags)
        driver.values[f"{machine_id}.state"] = 1
        driver.values[f"{machine_id}.part_count"] = 100
        return driver


def scripted_plant(now: datetime) -> PlantConfig:
    """The harness plant on scripted machines, with a shift that began two hours ago (no midnight
    surprises) and lasts eight."""
    config = plant()
    start = (now - timedelta(hours=2)).strftime("%H:%M")
    end = (now + timedelta(hours=6)).strftime("%H:%M")
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    calendar = {"shifts": [{"name": "A", "start": start, "end": end, "days": days}]}
    data = config.model_dump(mode="json", exclude_unset=True)
    data["calendars"] = {"day": calendar}
    for site in data["sites"]:
        for line in site["lines"]:
            for machine in line["machines"]:
                machine["driver"] = "scripted"
                machine["connection"] = {}
    return PlantConfig.model_validate(data)


@contextmanager
def production_hmi(
    tmp_path: Path, **options: Any
) -> Iterator[tuple[Hmi, dict[str, datetime], RunningFactory]]:
    """cnc-01 ran for the last hour with a 15 min stop, an 8 min wait and a 30 s micro-stop; it runs now."""
    now = datetime.now(UTC).replace(microsecond=0)
    store = Historian(tmp_path / "production.duckdb")
    store.open()
    times = {
        "first": now - timedelta(minutes=60),
        "stop": now - timedelta(minutes=40),
        "stop_end": now - timedelta(minutes=25),
        "wait": now - timedelta(minutes=20),
        "wait_end": now - timedelta(minutes=12),
        "micro": now - timedelta(minutes=8),
        "micro_end": now - timedelta(minutes=8) + timedelta(seconds=30),
    }
    states = [
        (times["first"], 1),
        (times["stop"], 3),
        (times["stop_end"], 1),
        (times["wait"], 2),
        (times["wait_end"], 1),
        (times["micro"], 3),
        (times["micro_end"], 1),
    ]

    def us(moment: datetime) -> int:
        return int(moment.timestamp() * 1_000_000)

    samples = [Sample("cnc-01.state", us(moment), code) for moment, code in states]
    samples += [Sample("cnc-01.part_count", us(times["first"] + i * MINUTE), i) for i in range(0, 59)]
    store.append(sorted(samples, key=lambda sample: sample.ts_us))
    factory = RunningFactory()
    try:
        with running_hmi(
            tmp_path,
            historian=store,
            plant_config=scripted_plant(now),
            factories={"scripted": factory},
            **options,
        ) as hmi:
            yield hmi, times, factory
    finally:
        store.close()


def click(qtbot: QtBot, widget: QWidget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def listed(screen: DowntimeScreen) -> list[Stop]:
    return [screen.rows[start].stop for start in screen._order]


def stops_of(hmi: Hmi, machine: str = "cnc-01") -> tuple[Stop, ...]:
    return hmi.bridge.status(machine).stops


def code(qtbot: QtBot, screen: DowntimeScreen, category: str, reason: str) -> None:
    click(qtbot, screen.categories[category])
    click(qtbot, screen.reasons[reason])
    assert screen.code.isEnabled()
    click(qtbot, screen.code)


# ---------------------------------------------------------------------- coding stops


def test_coding_a_stop_on_the_screen_stores_it_and_the_uncoded_count_drops(
    qtbot: QtBot, tmp_path: Path
) -> None:
    with production_hmi(tmp_path) as (hmi, times, _factory):
        window = hmi.window
        window.session.set_actor(ANA)
        window.show_machine("cnc-01")
        button = window.machine.code_stops
        qtbot.waitUntil(lambda: button.text() == "Code stops (2)", timeout=5000)
        assert button.property("attention") is True  # the operator's task, in amber: not alarm red
        click(qtbot, button)
        screen = window.downtime
        assert window.stack.currentWidget() is screen and screen.machine_id == "cnc-01"
        # Newest first; the 30 s micro-stop is a performance loss and is not offered for coding.
        assert [stop.start for stop in listed(screen)] == [times["wait"], times["stop"]]
        assert screen.micro.text().startswith("Micro-stops not listed: 1 (30 s in all)")
        assert all(row.property("uncoded") is True for row in screen.rows.values())
        assert screen.selected is not None and screen.selected.start == times["wait"]  # the newest to code

        click(qtbot, screen.rows[times["stop"]])
        assert screen.selected is not None and screen.selected.start == times["stop"]
        assert not screen.code.isEnabled()  # no reason chosen yet
        code(qtbot, screen, "breakdown", "mechanical")

        def stored() -> list[Any]:
            return hmi.historian.downtime_codes(
                ["cnc-01"], times["first"], times["first"] + timedelta(hours=2)
            )

        qtbot.waitUntil(lambda: len(stored()) == 1, timeout=5000)
        (coded,) = stored()
        assert (coded.reason, coded.user, coded.start, coded.end) == (
            "mechanical",
            "ana",
            times["stop"],
            times["stop_end"],
        )
        qtbot.waitUntil(lambda: button.text() == "Code stops (1)", timeout=5000)
        assert screen.rows[times["stop"]].property("uncoded") is False
        assert screen.rows[times["wait"]].property("uncoded") is True
        assert "Breakdown / Mechanical failure" in screen.rows[times["stop"]].parts.text()
        # Once the runtime answered, the screen says so and offers the next stop to code.
        qtbot.waitUntil(
            lambda: screen.message.text() == "Coded: Breakdown / Mechanical failure", timeout=5000
        )
        assert screen.selected is not None and screen.selected.start == times["wait"]
        audit = [(e.user, e.action, e.target, e.outcome) for e in hmi.historian.audit_entries()]
        assert ("ana", "code_downtime", "cnc-01", "done") in audit


def test_a_stop_split_at_a_chosen_minute_gets_two_reasons(qtbot: QtBot, tmp_path: Path) -> None:
    with production_hmi(tmp_path) as (hmi, times, _factory):
        window = hmi.window
        window.session.set_actor(ANA)
        window.show_downtime("cnc-01")
        screen = window.downtime
        click(qtbot, screen.rows[times["wait"]])
        click(qtbot, screen.split)
        assert screen.split_box.isVisible()
        assert screen.split_moment() == times["wait"] + 4 * MINUTE  # the middle of the 8 min wait
        click(qtbot, screen.steps[-60])
        split = times["wait"] + 3 * MINUTE
        assert screen.split_moment() == split
        assert screen.before.isChecked()
        code(qtbot, screen, "material", "no_material")
        # Once the first part is coded, the part after the split is the one left to code.
        qtbot.waitUntil(lambda: screen.after.isChecked(), timeout=5000)
        assert screen.coding_range() == (split, times["wait_end"])
        code(qtbot, screen, "operator", "adjustment")

        def parts() -> list[tuple[datetime, datetime, str | None]]:
            (stop,) = [s for s in stops_of(hmi) if s.start == times["wait"]]
            return [(part.start, part.end, part.reason) for part in stop.parts]

        qtbot.waitUntil(lambda: parts()[-1][2] == "adjustment", timeout=5000)
        assert parts() == [
            (times["wait"], split, "no_material"),
            (split, times["wait_end"], "adjustment"),
        ]
        stored = hmi.historian.downtime_codes(["cnc-01"], times["first"], times["first"] + timedelta(hours=2))
        assert [(c.start, c.end, c.reason) for c in stored] == [
            (times["wait"], split, "no_material"),
            (split, times["wait_end"], "adjustment"),
        ]
        # The screen hears of the coding with the machines' next status (coalesced by the bridge).
        qtbot.waitUntil(lambda: screen.rows[times["wait"]].property("uncoded") is False, timeout=5000)


def test_an_ongoing_stop_is_listed_first_and_coded_until_it_ends(qtbot: QtBot, tmp_path: Path) -> None:
    with production_hmi(tmp_path) as (hmi, times, factory):
        window = hmi.window
        window.session.set_actor(ANA)
        window.show_downtime("cnc-01")
        screen = window.downtime
        factory.drivers["cnc-01"].values["cnc-01.state"] = 3
        qtbot.waitUntil(lambda: bool(screen._order) and screen.rows[screen._order[0]].stop.open, timeout=5000)
        ongoing = screen.rows[screen._order[0]]
        assert ongoing.stop.state is MachineState.STOPPED
        assert ongoing.badge.text().startswith("Ongoing")
        click(qtbot, ongoing)
        code(qtbot, screen, "setup", "changeover")

        def stored() -> list[Any]:
            return hmi.historian.downtime_codes(
                ["cnc-01"], times["first"], datetime.now(UTC) + timedelta(hours=1)
            )

        qtbot.waitUntil(lambda: len(stored()) == 1, timeout=5000)
        assert stored()[0].end is None  # until the stop ends, however long it lasts
        qtbot.waitUntil(lambda: stops_of(hmi)[-1].coded, timeout=5000)
        assert stops_of(hmi)[-1].open


def test_coding_with_nobody_logged_in_asks_for_a_login_first(qtbot: QtBot, tmp_path: Path) -> None:
    from linesight.app.session import LoginDialog

    with production_hmi(tmp_path) as (hmi, times, _factory):
        window = hmi.window
        window.show_downtime("cnc-01")
        screen = window.downtime
        click(qtbot, screen.rows[times["stop"]])
        code(qtbot, screen, "breakdown", "electrical")
        qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), LoginDialog), timeout=5000)
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, LoginDialog)
        assert hmi.historian.downtime_codes(["cnc-01"], times["first"], times["stop_end"]) == []
        dialog.user.setCurrentText("ana")
        dialog.secret.setText("2468")
        click(qtbot, dialog.ok)
        qtbot.waitUntil(
            lambda: len(hmi.historian.downtime_codes(["cnc-01"], times["first"], times["stop_end"])) == 1,
            timeout=5000,
        )
        assert window.session.actor.name == "ana"


# ---------------------------------------------------------------------- rejects


def test_rejects_are_stored_and_a_count_of_zero_or_no_number_is_refused(qtbot: QtBot, tmp_path: Path) -> None:
    with production_hmi(tmp_path) as (hmi, times, _factory):
        window = hmi.window
        window.session.set_actor(ANA)
        window.show_machine("cnc-01")
        click(qtbot, window.machine.enter_rejects)
        dialog = window.rejects_dialog
        assert dialog is not None and dialog.isVisible()
        click(qtbot, dialog.reasons["surface"])
        for typed, said in (
            ("0", "at least 1"),
            ("abc", "whole number"),
            ("", "whole number"),
            ("-2", "at least 1"),
        ):
            dialog.count.setText(typed)
            click(qtbot, dialog.save)
            assert dialog.isVisible(), typed
            assert dialog.message.isVisible() and said in dialog.message.text(), typed
            assert dialog.message.property("error") is True
        dialog.count.setText("3")
        click(qtbot, dialog.reasons["surface"])
        dialog.comment.setText("risco na face")
        click(qtbot, dialog.save)
        qtbot.waitUntil(lambda: window.rejects_dialog is None, timeout=5000)  # saved, closed, gone
        entries = hmi.historian.rejects(["cnc-01"], times["first"], datetime.now(UTC) + timedelta(minutes=1))
        assert [(e.count, e.reason, e.user, e.comment) for e in entries] == [
            (3, "surface", "ana", "risco na face")
        ]
        assert hmi.bridge.status("cnc-01").entered_rejects == 3
        # The refused counts never reached the runtime: one entry was audited, the one stored.
        audit = [
            (e.action, e.outcome, e.new) for e in hmi.historian.audit_entries() if e.action == "enter_rejects"
        ]
        assert audit == [("enter_rejects", "done", "3 surface")]


def test_rejects_need_a_reason(qtbot: QtBot, tmp_path: Path) -> None:
    with production_hmi(tmp_path) as (hmi, _times, _factory):
        window = hmi.window
        window.session.set_actor(ANA)
        window.show_downtime("cnc-01")
        click(qtbot, window.downtime.rejects)
        dialog = window.rejects_dialog
        assert dialog is not None and dialog.isVisible()
        dialog.count.setText("2")
        click(qtbot, dialog.save)
        assert dialog.isVisible() and "reason" in dialog.message.text()
        dialog.reject()


# ---------------------------------------------------------------------- reports


def test_the_reports_screen_builds_the_running_shift_and_exports_csv_and_pdf(
    qtbot: QtBot, tmp_path: Path
) -> None:
    with production_hmi(tmp_path) as (hmi, _times, _factory):
        window = hmi.window
        click(qtbot, window.nav_reports)  # one click from anywhere
        screen = window.reports
        assert window.stack.currentWidget() is screen
        # Built in a worker thread: the screen says it is busy until the report comes back.
        assert screen.is_busy and screen.busy.isVisible()
        qtbot.waitUntil(lambda: screen.report is not None and not screen.is_busy, timeout=15000)
        assert not screen.busy.isVisible()
        report = screen.report
        assert report is not None
        assert [title for _id, title, _oee in report.machines] == ["Cnc 01", "Cnc 02", "Forno 01"]
        assert screen.machines.rowCount() == 4 and screen.machines.item(3, 0).text() == "Total"

        screen.choose_scope("machine", "cnc-01")
        assert screen.is_busy
        qtbot.waitUntil(lambda: not screen.is_busy and screen.report is not None, timeout=15000)
        report = screen.report
        assert report is not None and report.title == "Cnc 01"
        ((_id, _title, oee),) = report.machines
        assert oee is not None and oee.availability is not None and oee.availability < 1
        assert oee.failures >= 1 and oee.mttr_s is not None
        # The Pareto: the uncoded stop time, in the attention colour; the downtime list: both stops.
        bars = screen.pareto.bars()
        assert any(bar.attention and bar.label == "Not coded: Stopped" for bar in bars)
        starts = {screen.stops.item(row, 1).text() for row in range(screen.stops.rowCount())}
        assert len(starts) == 2 and screen.stops.rowCount() == 2
        assert screen.micro.text().startswith("Micro-stops not listed: 1 (30 s in all)")

        csv_path, pdf_path = tmp_path / "shift.csv", tmp_path / "out" / "shift.pdf"
        screen.save_csv(csv_path)
        qtbot.waitUntil(lambda: screen.status.text() == f"Saved to {csv_path}", timeout=10000)
        rows = list(csv.reader(csv_path.read_text(encoding="utf-8").splitlines()))
        assert rows[0][:2] == ["report", "Cnc 01"]
        assert any(row[:1] == ["cnc-01"] and row[2] == "A" for row in rows)
        screen.save_pdf(pdf_path)
        qtbot.waitUntil(lambda: screen.status.text() == f"Saved to {pdf_path}", timeout=20000)
        data = pdf_path.read_bytes()
        assert data.startswith(b"%PDF") and len(data) > 10_000
        assert b"/Type /Page" in data


def test_a_report_period_without_a_shift_calendar_says_so(qtbot: QtBot, tmp_path: Path) -> None:
    config = plant()
    data = config.model_dump(mode="json", exclude_unset=True)
    data["calendars"] = {}
    data["sites"][0].pop("calendar", None)
    with running_hmi(tmp_path, plant_config=PlantConfig.model_validate(data)) as hmi:
        screen = hmi.window.reports
        hmi.window.show_reports()
        qtbot.waitUntil(lambda: "No shift calendar" in screen.status.text(), timeout=5000)
        assert screen.report is None and not screen.export_pdf.isEnabled()
        screen.choose_period(Period.TODAY)
        qtbot.waitUntil(lambda: screen.report is not None and not screen.is_busy, timeout=15000)
        assert screen.report is not None and screen.report.without_oee == ("cnc-01", "cnc-02", "forno-01")


# ---------------------------------------------------------------------- navigation and touch


def test_the_coding_and_reports_screens_are_one_click_away(qtbot: QtBot, tmp_path: Path) -> None:
    with production_hmi(tmp_path) as (hmi, _times, _factory):
        window = hmi.window
        assert window.stack.currentWidget() is window.overview
        click(qtbot, window.nav_downtime)  # 1
        assert window.stack.currentWidget() is window.downtime and window.nav_downtime.isChecked()
        assert window.downtime.machine_id == "cnc-01"  # the machine with stops to code
        click(qtbot, window.nav_reports)  # 1
        assert window.stack.currentWidget() is window.reports
        click(qtbot, window.nav_overview)
        click(qtbot, window.overview.tiles["cnc-02"])  # 1
        click(qtbot, window.machine.code_stops)  # 2
        assert window.stack.currentWidget() is window.downtime and window.downtime.machine_id == "cnc-02"
        click(qtbot, window.downtime.back)
        assert window.stack.currentWidget() is window.machine and window.machine.machine_id == "cnc-02"


def _small_targets(root: QWidget) -> list[str]:
    return [
        f"{button.text()!r} {button.width()}x{button.height()}"
        for button in root.findChildren(QPushButton)
        if button.isVisible() and (button.height() < 48 or button.width() < 48)
    ]


def test_touch_targets_of_the_new_screens_are_48_px_at_least_in_kiosk_mode(
    qtbot: QtBot, tmp_path: Path
) -> None:
    with production_hmi(tmp_path, settings=kiosk_settings()) as (hmi, times, _factory):
        window = hmi.window
        window.session.set_actor(ANA)
        window.show_machine("cnc-01")
        assert _small_targets(window) == []
        window.show_downtime("cnc-01")
        screen = window.downtime
        click(qtbot, screen.rows[times["stop"]])
        click(qtbot, screen.split)
        click(qtbot, screen.categories["breakdown"])
        qtbot.wait(50)  # a layout pass for the buttons just shown
        assert _small_targets(window) == []
        assert all(row.height() >= 48 for row in screen.rows.values())
        assert all(button.height() >= 56 for button in screen.reasons.values() if button.isVisible())
        dialog = window.open_rejects("cnc-01")
        qtbot.waitUntil(dialog.isVisible, timeout=2000)
        qtbot.wait(50)
        assert _small_targets(dialog) == []
        dialog.reject()
        window.show_reports()
        qtbot.waitUntil(
            lambda: window.reports.report is not None and not window.reports.is_busy, timeout=15000
        )
        assert _small_targets(window) == []


def test_the_machine_screen_counts_no_stop_to_code_in_grey(qtbot: QtBot, tmp_path: Path) -> None:
    with production_hmi(tmp_path) as (hmi, _times, _factory):
        window = hmi.window
        window.show_machine("cnc-01")
        assert window.machine.code_stops.text() == "Code stops (2)"
        window.show_machine("cnc-02")  # it ran all along
        assert window.machine.code_stops.text() == "Code stops"
        assert window.machine.code_stops.property("attention") is False
