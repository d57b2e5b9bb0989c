"""The HMI with a real runtime: navigation, live tiles and trends, history re-queries, kiosk, roles,
language, and that a hung machine or a slow disk never freezes the window."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QBoxLayout, QDialog, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from linesight.app.session import LoginDialog
from linesight.app.settings import HmiSettings
from linesight.app.window import MainWindow
from linesight.domain.machine import MachineState
from linesight.domain.tags import Sample
from linesight.domain.users import AuditEntry

from ..runtime.scripted import ScriptedFactory
from .harness import Hmi, kiosk_settings, plant, running_hmi

pytestmark = pytest.mark.gui


def click(qtbot: QtBot, button: QPushButton) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def login(qtbot: QtBot, hmi: Hmi, name: str, pin: str) -> LoginDialog:
    """Log in on the login dialog that the last click opened."""
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), LoginDialog), timeout=5000)
    dialog = QApplication.activeModalWidget()
    assert isinstance(dialog, LoginDialog)
    dialog.user.setCurrentText(name)
    dialog.secret.setText(pin)
    click(qtbot, dialog.ok)
    return dialog


def test_l1_to_a_machine_screen_and_its_history_in_two_clicks(qtbot: QtBot, tmp_path: Path) -> None:
    with running_hmi(tmp_path) as hmi:
        window = hmi.window
        assert window.stack.currentWidget() is window.overview
        click(qtbot, window.overview.tiles["forno-01"])  # 1
        assert window.stack.currentWidget() is window.machine and window.machine.machine_id == "forno-01"
        click(qtbot, window.machine.history)  # 2
        assert window.stack.currentWidget() is window.history
        assert window.history._chosen and all(key.startswith("forno-01.") for key in window.history._chosen)
        click(qtbot, window.nav_overview)
        assert window.stack.currentWidget() is window.overview


@pytest.mark.expect_log_warnings  # the machine drops off the network on purpose
def test_tiles_follow_the_machines_state(qtbot: QtBot, tmp_path: Path) -> None:
    factory = ScriptedFactory()
    config = plant()
    scripted = config.model_copy(
        update={
            "sites": [
                site.model_copy(
                    update={
                        "lines": [
                            line.model_copy(
                                update={
                                    "machines": [
                                        m.model_copy(update={"driver": "scripted", "connection": {}})
                                        for m in line.machines
                                    ]
                                }
                            )
                            for line in site.lines
                        ]
                    }
                )
                for site in config.sites
            ]
        }
    )
    with running_hmi(tmp_path, plant_config=scripted, factories={"scripted": factory}) as hmi:
        qtbot.waitUntil(lambda: "cnc-01" in factory.drivers, timeout=5000)
        driver = factory.drivers["cnc-01"]
        driver.values.update({"cnc-01.state": 1, "cnc-01.part_count": 10})
        tile = hmi.window.overview.tiles["cnc-01"]
        qtbot.waitUntil(lambda: tile.content().state.startswith("Running"), timeout=5000)
        driver.values["cnc-01.state"] = 3
        qtbot.waitUntil(lambda: tile.content().state.startswith("Stopped"), timeout=5000)
        assert tile.content().band == hmi.window.palette_in_use.stopped
        driver.unreachable = True  # the machine drops off the network: its tile says so
        qtbot.waitUntil(lambda: tile.content().no_data, timeout=10000)


def test_the_machine_screen_trends_receive_live_points(qtbot: QtBot, tmp_path: Path) -> None:
    with running_hmi(tmp_path) as hmi:
        window = hmi.window
        window.show_machine("cnc-01")
        trend = window.machine.trend
        key = window.machine._trended[0]
        qtbot.waitUntil(lambda: trend.point_count(key) >= 5, timeout=10000)
        first = trend.point_count(key)
        qtbot.waitUntil(lambda: trend.point_count(key) > first, timeout=10000)


def test_a_history_zoom_asks_the_historian_again_at_screen_resolution(qtbot: QtBot, tmp_path: Path) -> None:
    with running_hmi(tmp_path) as hmi:
        window = hmi.window
        qtbot.waitUntil(
            lambda: hmi.engine.stats().writer is not None and hmi.engine.stats().writer.stored > 50,
            timeout=10000,
        )
        window.show_history(["cnc-01.spindle_speed"])
        asked: list[tuple[int, int, int]] = []
        window.history.queried.connect(lambda start, end, points: asked.append((start, end, points)))
        now_us = int(time.time() * 1e6)
        window.history.trend.set_range(now_us - 60_000_000, now_us)  # as a zoom gesture ends
        # A drag or wheel turn moves the ViewBox; the trend takes any move it did not make as the user's.
        window.history.trend.view_box.setXRange((now_us - 30_000_000) / 1e6, now_us / 1e6, padding=0)
        trend = window.history.trend

        def asked_for_the_zoomed_range_at_the_plot_width() -> bool:
            # The layout may still settle (a resize asks again): the newest question must fit the plot.
            return any(
                abs((end - start) - 30_000_000) <= 1_500_000 and abs(points - trend.plot_width()) <= 2
                for start, end, points in asked
            )

        qtbot.waitUntil(asked_for_the_zoomed_range_at_the_plot_width, timeout=5000)
        qtbot.waitUntil(lambda: window.history.trend.point_count("cnc-01.spindle_speed") > 0, timeout=5000)


def test_kiosk_refuses_escape_alt_f4_and_closing_and_lets_only_an_admin_out(
    qtbot: QtBot, tmp_path: Path
) -> None:
    with running_hmi(tmp_path, settings=kiosk_settings()) as hmi:
        window = hmi.window
        assert window.isFullScreen() and window.windowFlags() & Qt.WindowType.FramelessWindowHint
        for key, modifiers in (
            (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
            (Qt.Key.Key_F4, Qt.KeyboardModifier.AltModifier),
        ):
            event = QKeyEvent(QEvent.Type.KeyPress, key, modifiers)
            QApplication.sendEvent(window, event)
            assert event.isAccepted()
        assert not window.close()  # what the window manager's close (and Alt+F4) asks
        assert window.isVisible()
        click(qtbot, window.exit_kiosk)
        login(qtbot, hmi, "ana", "2468")  # an operator's PIN: refused
        qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), QMessageBox), timeout=5000)
        refusal = QApplication.activeModalWidget()
        assert isinstance(refusal, QMessageBox) and "administrator" in refusal.text()
        refusal.close()
        qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None, timeout=5000)
        assert window.isVisible()
        click(qtbot, window.exit_kiosk)
        login(qtbot, hmi, "carla", "9753")  # the administrator's
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
        after = QDialog()  # the lock leaves with the window: Escape closes a dialog again
        qtbot.addWidget(after)
        after.show()
        QTest.keyClick(after, Qt.Key.Key_Escape)
        assert not after.isVisible()
        qtbot.waitUntil(
            lambda: any(e.action == "exit_kiosk" for e in hmi.historian.audit_entries()), timeout=5000
        )


def test_an_operator_cannot_write_a_setpoint_and_the_attempt_is_audited(qtbot: QtBot, tmp_path: Path) -> None:
    with running_hmi(tmp_path) as hmi:
        window = hmi.window
        click(qtbot, window.user)
        login(qtbot, hmi, "ana", "2468")
        qtbot.waitUntil(lambda: window.session.actor.name == "ana", timeout=5000)
        window.show_machine("forno-01")
        refused: list[str] = []
        window.machine.show_write_result = lambda ok, message: refused.append(message)  # type: ignore[method-assign]
        window.machine.writeRequested.emit("forno-01", "zone1_setpoint", 900.0)
        qtbot.waitUntil(lambda: bool(refused), timeout=5000)
        assert "may not write setpoint" in refused[0]

        def audited() -> list[AuditEntry]:
            return [e for e in hmi.historian.audit_entries() if e.action == "write_setpoint"]

        qtbot.waitUntil(lambda: bool(audited()), timeout=5000)
        assert (audited()[0].user, audited()[0].outcome, audited()[0].target) == (
            "ana",
            "refused",
            "forno-01.zone1_setpoint",
        )


def test_the_language_switch_changes_visible_text(qtbot: QtBot, tmp_path: Path) -> None:
    with running_hmi(tmp_path) as hmi:
        window = hmi.window
        assert window.nav_overview.text() == "Overview"
        click(qtbot, window.language)
        assert window.languages.current == "pt_BR"
        assert window.nav_overview.text() == "Visão geral"
        assert window.banner.content().message == "Nenhum alarme ativo"
        click(qtbot, window.language)
        assert window.nav_overview.text() == "Overview"


@contextmanager
def portuguese_kiosk_font(tmp_path: Path) -> Iterator[MainWindow]:
    """The widest labels there are (Portuguese, the kiosk's font) on a window that can be resized (a
    kiosk window is the screen's size)."""
    settings = replace(HmiSettings(language="pt_BR"), font_scale=1.25)
    with running_hmi(tmp_path, settings=settings) as hmi:
        hmi.window.languages.switch("pt_BR")
        yield hmi.window


def test_the_top_bar_gives_the_navigation_its_own_row_where_one_row_would_cut_the_labels(
    qtbot: QtBot, tmp_path: Path
) -> None:
    with portuguese_kiosk_font(tmp_path) as window:
        nav = window._nav_buttons()

        # As narrow as the window goes (its screens' minimum width: about 1,200 px in Portuguese with the
        # kiosk's font), narrower than one row needs.
        window.resize(1024, 768)
        qtbot.waitUntil(lambda: window.width() < window._one_row_width(), timeout=5000)
        qtbot.waitUntil(lambda: window.nav_on_one_row is False, timeout=5000)
        qtbot.wait(50)  # one layout pass
        for button in nav:
            if button.isVisible():
                assert button.width() >= button.sizeHint().width(), button.text()
                assert button.y() > window.clock.y() + window.clock.height(), button.text()
        # The test screen is smaller than a full HD panel: what a 1920 px window would do.
        window._fit_top_bar(1920)
        assert window.nav_on_one_row is True
        assert all(window._bar.indexOf(button) >= 0 for button in nav)
        window._fit_top_bar(1024)
        assert all(window._nav_row.indexOf(button) >= 0 for button in nav)


def test_on_a_narrow_panel_screens_rearrange_and_scroll_rather_than_squeeze(
    qtbot: QtBot, tmp_path: Path
) -> None:
    with portuguese_kiosk_font(tmp_path) as window:
        window.show_machine("forno-01")
        machine = window.machine
        assert window.stack.currentWidget() is machine  # the stack hands out screens, not scroll areas
        machine.fit_width(1000)  # what a 1024 px panel leaves for a screen
        assert machine._body.direction() is QBoxLayout.Direction.TopToBottom  # values under the trends
        assert machine._header.direction() is QBoxLayout.Direction.TopToBottom  # actions under the name
        qtbot.waitUntil(lambda: machine.minimumSizeHint().width() <= 1000, timeout=5000)
        machine.fit_width(2400)
        assert machine._body.direction() is QBoxLayout.Direction.LeftToRight
        assert machine._header.direction() is QBoxLayout.Direction.LeftToRight
        alarms = window.alarms
        alarms.fit_width(1000)
        assert alarms._kpi_columns < 3
        qtbot.waitUntil(lambda: alarms.minimumSizeHint().width() <= 1000, timeout=5000)
        alarms.fit_width(2400)
        assert alarms._kpi_columns == 3
        # Wherever a screen is still wider than the window, it scrolls: nothing is drawn over.
        area = window.stack.area_of(machine)
        assert area.widgetResizable() and area.widget() is machine


class SlowStore:
    """A historian whose disk takes two seconds for every write."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def append(self, samples: Sequence[Sample]) -> tuple[int, int] | None:
        time.sleep(2.0)
        return self._inner.append(samples)  # type: ignore[attr-defined,no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def test_a_hung_machine_and_a_slow_disk_do_not_freeze_the_window(qtbot: QtBot, tmp_path: Path) -> None:
    factory = ScriptedFactory()
    config = plant()
    machines = [
        m.model_copy(update={"driver": "scripted", "connection": {}, "timeout": 5.0})
        for _s, _l, m in config.machines()
    ]
    scripted = config.model_copy(
        update={
            "sites": [
                config.sites[0].model_copy(
                    update={"lines": [config.sites[0].lines[0].model_copy(update={"machines": machines})]}
                )
            ]
        }
    )
    from linesight.storage import Historian

    real = Historian(tmp_path / "slow.duckdb")
    with running_hmi(
        tmp_path, plant_config=scripted, factories={"scripted": factory}, historian=SlowStore(real)
    ) as hmi:  # type: ignore[arg-type]
        qtbot.waitUntil(lambda: "cnc-01" in factory.drivers, timeout=5000)
        factory.drivers["cnc-01"].hang.set()  # this machine stops answering mid-read for 5 s
        hmi.window.show_machine("cnc-02")
        qtbot.wait(300)  # the screen's first layout and paint are not what this test is about
        lateness: list[float] = []
        expected = [time.perf_counter() + 0.01]

        def probe() -> None:
            now = time.perf_counter()
            lateness.append(now - expected[0])
            expected[0] = now + 0.01

        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(probe)
        timer.start()
        qtbot.wait(4000)  # through several slow flushes and the hung read
        timer.stop()
        factory.drivers["cnc-01"].release.set()
    assert len(lateness) > 100
    assert max(lateness) < 0.050, f"the GUI loop was late by {max(lateness) * 1000:.0f} ms"
    real.close()


def test_the_window_geometry_and_touch_targets(qtbot: QtBot, tmp_path: Path) -> None:
    with running_hmi(tmp_path, settings=kiosk_settings()) as hmi:
        for button in hmi.window.findChildren(QPushButton):
            if button.isVisible():
                assert button.height() >= 48 and button.width() >= 48, button.text()
        assert hmi.window.mapToGlobal(QPoint(0, 0)) == QPoint(0, 0)
        assert MachineState.RUNNING


def test_history_keeps_one_query_in_flight_and_the_newest_range_wins(qtbot: QtBot, tmp_path: Path) -> None:
    with running_hmi(tmp_path) as hmi:
        history = hmi.window.history
        hmi.window.show_history(["cnc-01.spindle_speed"])
        qtbot.waitUntil(
            lambda: not history._in_flight and not history.trend._debounce.isActive(), timeout=5000
        )
        asked: list[tuple[int, int, int]] = []
        history.queried.connect(lambda start, end, points: asked.append((start, end, points)))
        now_us = int(time.time() * 1e6)
        for step in range(5):  # a drag: five ranges while the first answer is on its way
            history._zoomed(now_us - 600_000_000 + step * 1_000_000, now_us + step * 1_000_000, 500)
        qtbot.waitUntil(lambda: len(asked) == 2 and not history._in_flight, timeout=5000)
        assert asked[0][0] == now_us - 600_000_000 and asked[1][0] == now_us - 596_000_000
        assert history.trend.point_count("cnc-01.spindle_speed") > 0
