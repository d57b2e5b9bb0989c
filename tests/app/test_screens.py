"""What the screenshots showed wrong, kept right: the machine screen's first trends, its live trend
after a start, the keypad's size under the application's style sheet, the login heading, and the
diagnostics' refused-tags table when nothing was refused."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from linesight.app import theme
from linesight.app.screens.machine import default_trends
from linesight.app.screens.overview import OverviewScreen
from linesight.app.session import LoginDialog
from linesight.domain.calendar import ShiftWindow
from linesight.domain.machine import MachineState, StateSpan
from linesight.domain.oee import compute_oee
from linesight.domain.tags import DataType, Sample
from linesight.runtime.machines import MachineStatus
from linesight.storage import Historian
from linesight.widgets.keypad import NumericKeypad
from linesight.widgets.palette import LIGHT

from .harness import plant, running_hmi

pytestmark = pytest.mark.gui


def test_a_machine_screen_trends_process_values_first_not_the_state_or_the_counters() -> None:
    machine = plant().machine("forno-01")
    numeric = [spec for spec in machine.tag_specs() if spec.data_type is not DataType.STRING]
    chosen = [spec.name for spec in default_trends(machine, numeric)]
    assert chosen == ["energy", "zone1_temp", "zone1_setpoint"]


def test_the_live_trend_shows_the_last_minutes_from_the_historian_at_once(
    qtbot: QtBot, tmp_path: Path
) -> None:
    store = Historian(tmp_path / "before.duckdb")
    store.open()
    try:
        before = time.time() - 300
        store.append(
            [
                Sample("forno-01.zone1_temp", int((before + i) * 1_000_000), 150.0 + i / 100)
                for i in range(200)
            ]
        )
        with running_hmi(tmp_path, historian=store) as hmi:
            hmi.window.show_machine("forno-01")
            trend = hmi.window.machine.trend

            def earliest() -> float:
                x, _y = trend.curve("forno-01.zone1_temp").getData()
                return float("inf") if x is None or len(x) == 0 else float(min(x))

            qtbot.waitUntil(lambda: earliest() < before + 1, timeout=5000)
    finally:
        store.close()


def test_the_keypad_keeps_its_large_keys_under_the_application_style_sheet(qtbot: QtBot) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setStyleSheet(theme.style_sheet(LIGHT))
    try:
        keypad = NumericKeypad(title="Setpoint", value=165.0)
        qtbot.addWidget(keypad)
        keypad.show()
        clear = keypad.clear_key
        assert clear.font().pointSizeF() >= 16
        assert clear.fontMetrics().horizontalAdvance(clear.text()) < clear.contentsRect().width()
    finally:
        app.setStyleSheet("")


def test_the_login_dialog_says_what_it_is_for_without_a_title_bar(qtbot: QtBot, tmp_path: Path) -> None:
    with running_hmi(tmp_path) as hmi:
        hmi.window.login(title="")
        qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), LoginDialog), timeout=5000)
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, LoginDialog)
        assert dialog.heading.isVisible() and dialog.heading.text() == "Log in"
        dialog.reject()


def test_no_refused_tag_is_a_sentence_not_an_empty_table(qtbot: QtBot, tmp_path: Path) -> None:
    with running_hmi(tmp_path) as hmi:
        hmi.window.show_diagnostics()
        screen = hmi.window.diagnostics
        qtbot.waitUntil(lambda: screen.table.rowCount() == 3, timeout=5000)
        assert screen.errors.isHidden()
        assert screen.no_errors.isVisible() and screen.no_errors.text()


class _Signals(QObject):
    statusChanged = Signal(list)
    healthChanged = Signal(list)
    alarmsChanged = Signal(object)
    alarms = None  # no alarm snapshot yet


def test_a_line_shows_its_shift_oee_from_its_machines_summed_times(qtbot: QtBot) -> None:
    config = plant()
    screen = OverviewScreen(_Signals(), config)  # type: ignore[arg-type]
    qtbot.addWidget(screen)
    site = config.sites[0]
    line = site.lines[0]
    window = ShiftWindow(
        name="A", start=datetime(2026, 3, 2, 6, tzinfo=UTC), end=datetime(2026, 3, 2, 14, tzinfo=UTC)
    )
    half = datetime(2026, 3, 2, 10, tzinfo=UTC)
    all_day = [StateSpan(start=window.start, end=window.end, state=MachineState.RUNNING)]
    half_day = [
        StateSpan(start=window.start, end=half, state=MachineState.PLANNED_STOP),
        StateSpan(start=half, end=window.end, state=MachineState.RUNNING),
    ]

    def status(machine: str, produced: int, spans: list[StateSpan]) -> MachineStatus:
        oee = compute_oee(
            window, spans, produced=produced, good=produced, ideal_cycle_s=1.0, micro_stop_threshold_s=0
        )
        return MachineStatus(
            machine=machine,
            state=MachineState.RUNNING,
            since=window.start,
            shift=window,
            timeline=tuple(spans),
            parts=produced,
            rejects=0,
            oee=oee,
        )

    first, second = [machine.id for machine in line.machines]
    group = next(g for g, name, _s, _ids in screen._groups if name == (line.name or line.id))
    assert "OEE" not in group.title()
    # One machine at 50 % performance, the other without data yet: the line shows 50 %.
    screen.show_statuses([status(first, 4 * 3600, all_day)])
    assert group.title().endswith("OEE 50 %")
    # The second machine: 100 % over its 4 h of planned busy time. The average of the two tiles would be
    # 75 %; the line is 8 h of ideal output in 12 h of production time: 67 %.
    screen.show_statuses([status(first, 4 * 3600, all_day), status(second, 4 * 3600, half_day)])
    assert group.title().endswith("OEE 67 %")
