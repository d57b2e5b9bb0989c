"""What the screenshots showed wrong, kept right: the machine screen's first trends, its live trend
after a start, the keypad's size under the application's style sheet, the login heading, and the
diagnostics' refused-tags table when nothing was refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from linesight.app import theme
from linesight.app.screens.machine import default_trends
from linesight.app.session import LoginDialog
from linesight.domain.tags import DataType, Sample
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
