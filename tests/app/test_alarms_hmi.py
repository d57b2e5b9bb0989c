"""Alarms on the HMI over a real runtime: what the alarm service raises reaches the banner, the tiles,
the machine screen and the alarm list; what the operator taps there is journalled (and audited where
it is privileged); the journal is read without stopping the window."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton, QTableView, QWidget
from pytestqt.qtbot import QtBot

from linesight.app.screens.alarms import AlarmsScreen, ShelveDialog
from linesight.app.settings import HmiSettings
from linesight.domain.alarm_rules import Priority
from linesight.domain.alarm_types import AlarmAction, AlarmEvent, AlarmState
from linesight.domain.users import Role
from linesight.widgets import alarm_table

from ..runtime.scripted import ScriptedFactory
from .harness import Hmi, alarm_plant, kiosk_settings, running_hmi
from .test_hmi import click, login

pytestmark = pytest.mark.gui

HH, H = "cnc-01.spindle-temp.hh", "cnc-01.spindle-temp.h"


@contextmanager
def alarm_hmi(tmp_path: Path, settings: HmiSettings | None = None) -> Iterator[tuple[Hmi, ScriptedFactory]]:
    factory = ScriptedFactory()
    with running_hmi(
        tmp_path, plant_config=alarm_plant(), factories={"scripted": factory}, settings=settings
    ) as hmi:
        yield hmi, factory


def set_value(factory: ScriptedFactory, key: str, value: object) -> None:
    factory.drivers[key.split(".")[0]].values[key] = value  # type: ignore[assignment]


def state(hmi: Hmi, alarm_id: str) -> AlarmState:
    return hmi.engine.alarms.status(alarm_id).state


def journal(hmi: Hmi) -> list[AlarmEvent]:
    now = datetime.now(UTC)
    return hmi.historian.alarm_events(now - timedelta(hours=1), now + timedelta(minutes=1))


def wait_for_drivers(qtbot: QtBot, factory: ScriptedFactory) -> None:
    qtbot.waitUntil(lambda: {"cnc-01", "cnc-02", "forno-01"} <= set(factory.drivers), timeout=5000)


def shown(screen: AlarmsScreen) -> list[str]:
    return [alarm.alarm_id for alarm in screen.model.alarms()]


def test_an_alarm_raised_by_the_runtime_shows_in_the_banner_and_on_the_alarm_screen(
    qtbot: QtBot, tmp_path: Path
) -> None:
    with alarm_hmi(tmp_path) as (hmi, factory):
        window = hmi.window
        wait_for_drivers(qtbot, factory)
        assert window.banner.content().message == "No active alarms" and not window.banner.blinking
        set_value(factory, "cnc-01.spindle_temp", 100.0)
        qtbot.waitUntil(lambda: window.banner.content().priority is Priority.CRITICAL, timeout=5000)
        content = window.banner.content()
        assert (content.marker, content.machine) == ("CRITICAL", "Cnc 01")
        assert content.message.startswith("spindle_temp") and "Cnc 01:" not in content.message
        assert content.counts == "Unacknowledged: 2"
        assert dict(content.chips) == {Priority.CRITICAL: "1", Priority.MEDIUM: "1"}
        assert window.banner.blinking

        click(qtbot, window.banner)  # type: ignore[arg-type]
        screen = window.alarms
        assert window.stack.currentWidget() is screen and window.nav_alarms.isChecked()
        assert shown(screen) == [HH, H]
        model = screen.model
        assert model.data(model.index(0, alarm_table.PRIORITY)) == "Critical"
        assert model.data(model.index(0, alarm_table.STATE)) == "Unacknowledged"
        assert model.data(model.index(0, alarm_table.MACHINE)) == "Cnc 01"
        assert model.data(model.index(0, alarm_table.VALUE)) == "100.0 / 95.0 °C"
        assert model.data(
            model.index(0, alarm_table.PRIORITY), Qt.ItemDataRole.BackgroundRole
        ).color().name() == (window.palette_in_use.alarm_critical)
        # The condition goes: the alarm stays, unacknowledged, until someone acknowledges it.
        set_value(factory, "cnc-01.spindle_temp", 40.0)
        qtbot.waitUntil(lambda: state(hmi, HH) is AlarmState.RTN_UNACK, timeout=5000)
        qtbot.waitUntil(
            lambda: model.data(model.index(0, alarm_table.STATE)) == "Cleared, unacknowledged", timeout=5000
        )
        assert window.banner.blinking


def test_acknowledging_on_the_alarm_screen_changes_the_state_and_is_journalled(
    qtbot: QtBot, tmp_path: Path
) -> None:
    with alarm_hmi(tmp_path) as (hmi, factory):
        window = hmi.window
        wait_for_drivers(qtbot, factory)
        set_value(factory, "cnc-01.spindle_temp", 100.0)
        screen = window.alarms
        click(qtbot, window.nav_alarms)
        qtbot.waitUntil(lambda: shown(screen) == [HH, H], timeout=5000)
        assert not screen.acknowledge.isEnabled()  # nothing selected
        assert screen.select(HH) and screen.acknowledge.isEnabled()
        click(qtbot, screen.acknowledge)
        login(qtbot, hmi, "ana", "2468")  # nobody was logged in: the operator logs in to acknowledge
        qtbot.waitUntil(lambda: state(hmi, HH) is AlarmState.ACKED, timeout=5000)
        assert state(hmi, H) is AlarmState.UNACK
        qtbot.waitUntil(
            lambda: any(e.action is AlarmAction.ACKNOWLEDGE and e.user == "ana" for e in journal(hmi)),
            timeout=5000,
        )
        # The banner moves on to the next unacknowledged alarm; the list shows who acknowledged.
        qtbot.waitUntil(lambda: window.banner.content().priority is Priority.MEDIUM, timeout=5000)
        row = screen.model.row_of(HH)
        assert row is not None and screen.model.data(screen.model.index(row, alarm_table.ACKED_BY)) == "ana"
        assert screen.acknowledge_all.text() == "Acknowledge all shown (1)"
        click(qtbot, screen.acknowledge_all)  # ana is still logged in: no second login
        qtbot.waitUntil(lambda: state(hmi, H) is AlarmState.ACKED, timeout=5000)
        qtbot.waitUntil(lambda: not window.banner.blinking, timeout=5000)
        assert window.banner.content().message == "All alarms acknowledged"
        assert window.banner.content().counts == ""
        assert dict(window.banner.content().chips) == {Priority.CRITICAL: "1", Priority.MEDIUM: "1"}


def test_acknowledge_all_acknowledges_only_what_the_filters_show_and_search_narrows_the_list(
    qtbot: QtBot, tmp_path: Path
) -> None:
    with alarm_hmi(tmp_path) as (hmi, factory):
        window = hmi.window
        wait_for_drivers(qtbot, factory)
        set_value(factory, "cnc-01.spindle_temp", 100.0)
        set_value(factory, "cnc-02.spindle_temp", 85.0)
        set_value(factory, "forno-01.alarm_text", "door open")
        screen = window.alarms
        window.show_alarms(None)
        everything = [HH, H, "cnc-02.spindle-temp.h", "forno-01.door"]
        qtbot.waitUntil(lambda: sorted(shown(screen)) == sorted(everything), timeout=5000)
        assert shown(screen)[0] == HH  # most urgent first

        screen.priority_filter.setCurrentIndex(screen.priority_filter.findData(Priority.MEDIUM))
        assert sorted(shown(screen)) == [H, "cnc-02.spindle-temp.h"]
        screen.priority_filter.setCurrentIndex(0)
        screen.search.setText("CNC-02")  # any case
        assert shown(screen) == ["cnc-02.spindle-temp.h"]
        screen.search.setText("door")
        assert shown(screen) == ["forno-01.door"]
        assert screen.model.data(screen.model.index(0, alarm_table.PRIORITY)) == "Low"
        screen.search.clear()
        screen.state_filter.setCurrentIndex(screen.state_filter.findData("shelved"))
        assert shown(screen) == [] and screen.empty.text() == "No alarm matches the filters."
        screen.state_filter.setCurrentIndex(0)

        screen.machine_filter.setCurrentIndex(screen.machine_filter.findData("cnc-01"))
        assert shown(screen) == [HH, H]
        click(qtbot, screen.acknowledge_all)
        login(qtbot, hmi, "ana", "2468")
        qtbot.waitUntil(
            lambda: state(hmi, HH) is AlarmState.ACKED and state(hmi, H) is AlarmState.ACKED, timeout=5000
        )
        assert state(hmi, "cnc-02.spindle-temp.h") is AlarmState.UNACK
        assert state(hmi, "forno-01.door") is AlarmState.UNACK
        qtbot.waitUntil(
            lambda: window.banner.content().machine == "Cnc 02", timeout=5000
        )  # medium before low


def test_an_operator_cannot_shelve_and_the_refusal_is_audited_but_a_supervisor_can(
    qtbot: QtBot, tmp_path: Path
) -> None:
    with alarm_hmi(tmp_path) as (hmi, factory):
        window = hmi.window
        wait_for_drivers(qtbot, factory)
        set_value(factory, "cnc-01.spindle_temp", 100.0)
        screen = window.alarms
        window.show_alarms(None)
        qtbot.waitUntil(lambda: screen.select(HH), timeout=5000)
        # Nobody is logged in: the button works, and asks who it is.
        assert screen.shelve.isEnabled()
        click(qtbot, screen.shelve)
        dialog = screen.shelve_dialog
        assert isinstance(dialog, ShelveDialog) and dialog.one_shot.isEnabled()
        click(qtbot, dialog.timed[15 * 60])
        login(qtbot, hmi, "ana", "2468")  # an operator: the runtime refuses, and audits the refusal
        qtbot.waitUntil(lambda: "may not shelve" in screen.message.text(), timeout=5000)
        assert screen.message.property("error") is True
        assert state(hmi, HH) is AlarmState.UNACK
        refused = [e for e in hmi.historian.audit_entries() if e.outcome == "refused"]
        assert [(e.user, e.action, e.target) for e in refused] == [("ana", "shelve", HH)]
        # Logged in as an operator, the privileged controls are disabled (and say why).
        assert window.session.actor.role is Role.OPERATOR
        for button in (screen.shelve, screen.unshelve, screen.out_of_service, screen.return_to_service):
            assert not button.isEnabled()
        assert "supervisor" in screen.shelve.toolTip()

        click(qtbot, window.user)  # log out
        click(qtbot, window.user)
        login(qtbot, hmi, "bruno", "1357")
        qtbot.waitUntil(lambda: window.session.actor.name == "bruno", timeout=5000)
        assert screen.shelve.isEnabled()
        click(qtbot, screen.shelve)
        dialog = screen.shelve_dialog
        assert dialog is not None
        click(qtbot, dialog.timed[3600])
        qtbot.waitUntil(lambda: state(hmi, HH) is AlarmState.SHELVED, timeout=5000)
        assert hmi.engine.alarms.status(HH).shelved_until is not None
        qtbot.waitUntil(lambda: HH not in shown(screen), timeout=5000)  # a shelved alarm leaves the list
        screen.state_filter.setCurrentIndex(screen.state_filter.findData("shelved"))
        assert screen.select(HH) and screen.unshelve.isEnabled() and not screen.shelve.isEnabled()
        click(qtbot, screen.unshelve)
        qtbot.waitUntil(lambda: state(hmi, HH) is AlarmState.UNACK, timeout=5000)  # announced again
        screen.state_filter.setCurrentIndex(screen.state_filter.findData("all"))
        qtbot.waitUntil(lambda: screen.select(HH), timeout=5000)
        click(qtbot, screen.out_of_service)
        qtbot.waitUntil(lambda: state(hmi, HH) is AlarmState.OUT_OF_SERVICE, timeout=5000)
        qtbot.waitUntil(lambda: screen.return_to_service.isEnabled(), timeout=5000)
        click(qtbot, screen.return_to_service)
        qtbot.waitUntil(lambda: state(hmi, HH) is AlarmState.UNACK, timeout=5000)

        def journalled(action: AlarmAction) -> bool:
            return any(e.action is action and e.user == "bruno" for e in journal(hmi))

        for action in (
            AlarmAction.SHELVE,
            AlarmAction.UNSHELVE,
            AlarmAction.REMOVE_FROM_SERVICE,
            AlarmAction.RETURN_TO_SERVICE,
        ):
            qtbot.waitUntil(lambda action=action: journalled(action), timeout=5000)
        done = [(e.action, e.outcome) for e in hmi.historian.audit_entries() if e.user == "bruno"]
        assert ("shelve_alarm", "done") in done and ("return_alarm_to_service", "done") in done


def test_a_comment_typed_on_the_on_screen_keyboard_is_journalled(qtbot: QtBot, tmp_path: Path) -> None:
    with alarm_hmi(tmp_path) as (hmi, factory):
        window = hmi.window
        wait_for_drivers(qtbot, factory)
        click(qtbot, window.user)
        login(qtbot, hmi, "ana", "2468")
        qtbot.waitUntil(lambda: window.session.actor.name == "ana", timeout=5000)
        set_value(factory, "forno-01.zone1_temp", 950.0)
        screen = window.alarms
        window.show_alarms(None)
        qtbot.waitUntil(lambda: screen.select("forno-01.zone1-temp.h"), timeout=5000)
        click(qtbot, screen.comment)
        keyboard = screen.comment_dialog
        assert keyboard is not None and keyboard.isVisible()
        for char in "sensor":
            click(qtbot, keyboard.key(char))
        click(qtbot, keyboard.ok_key)
        qtbot.waitUntil(
            lambda: any(e.action is AlarmAction.COMMENT and e.comment == "sensor" for e in journal(hmi)),
            timeout=5000,
        )
        qtbot.waitUntil(
            lambda: "sensor" in str(screen.model.data(screen.model.index(0, alarm_table.MESSAGE))),
            timeout=5000,
        )


def test_the_journal_view_reads_the_history_in_a_worker_while_the_window_goes_on(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with alarm_hmi(tmp_path) as (hmi, factory):
        window = hmi.window
        wait_for_drivers(qtbot, factory)
        set_value(factory, "forno-01.zone1_temp", 950.0)
        qtbot.waitUntil(lambda: state(hmi, "forno-01.zone1-temp.h") is AlarmState.UNACK, timeout=5000)
        set_value(factory, "forno-01.zone1_temp", 850.0)
        qtbot.waitUntil(lambda: any(e.action is AlarmAction.CLEAR for e in journal(hmi)), timeout=5000)

        real = hmi.historian.alarm_events
        release = threading.Event()
        threads: list[int] = []

        def slow(*args: Any, **kwargs: Any) -> list[AlarmEvent]:
            threads.append(threading.get_ident())
            release.wait(10)  # a slow disk: held until the test lets it go
            return real(*args, **kwargs)

        monkeypatch.setattr(hmi.historian, "alarm_events", slow)
        screen = window.alarms
        window.show_alarms(None)
        click(qtbot, screen.view_journal)
        qtbot.waitUntil(lambda: bool(threads), timeout=5000)
        assert screen.journal_running and screen.journal_info.text() == "Reading the journal…"
        assert threads[0] != threading.get_ident()  # not the GUI thread
        # While the query hangs, the window goes on: a new alarm reaches the banner.
        set_value(factory, "cnc-02.spindle_temp", 99.0)
        qtbot.waitUntil(lambda: window.banner.content().machine == "Cnc 02", timeout=5000)
        release.set()
        qtbot.waitUntil(lambda: not screen.journal_running, timeout=5000)
        events = [screen.journal.item(row, 4).text() for row in range(screen.journal.rowCount())]
        assert "Raised" in events and "Cleared" in events
        assert screen.journal_info.text().startswith("Events: ")

        screen.journal_search.setText("zone1")
        click(qtbot, screen.journal_go)
        qtbot.waitUntil(lambda: not screen.journal_running, timeout=5000)
        messages = {screen.journal.item(row, 2).text() for row in range(screen.journal.rowCount())}
        assert messages == {"Forno 01"}
        screen.journal_search.setText("no such alarm")
        click(qtbot, screen.journal_go)
        qtbot.waitUntil(lambda: not screen.journal_running and screen.journal.rowCount() == 0, timeout=5000)


def test_tiles_count_the_machines_alarms_and_the_machine_screen_lists_them(
    qtbot: QtBot, tmp_path: Path
) -> None:
    with alarm_hmi(tmp_path) as (hmi, factory):
        window = hmi.window
        palette = window.palette_in_use
        wait_for_drivers(qtbot, factory)
        tile, other = window.overview.tiles["cnc-01"], window.overview.tiles["cnc-02"]
        assert tile.content().alarms is None
        set_value(factory, "cnc-01.spindle_temp", 100.0)
        qtbot.waitUntil(lambda: tile.content().alarms == "2", timeout=5000)
        content = tile.content()
        assert (content.badge, content.alarm_border) == (palette.alarm_critical, palette.alarm_critical)
        assert "an alarm is unacknowledged" in tile.accessibleDescription()
        assert other.content().alarms is None and other.content().alarm_border is None

        hmi.engine.alarms.acknowledge_all(user="ana", role=Role.OPERATOR)
        qtbot.waitUntil(lambda: tile.content().alarm_border is None, timeout=5000)
        assert tile.content().alarms == "2"  # acknowledged, still active

        click(qtbot, tile)  # type: ignore[arg-type]
        machine = window.machine
        texts = [machine.alarms.item(row).text() for row in range(machine.alarms.count())]
        assert len(texts) == 2 and "Critical · Acknowledged\nspindle_temp" in texts[0]
        window.show_machine("cnc-02")
        assert [machine.alarms.item(0).text()] == ["No active alarms on this machine"]
        window.show_machine("cnc-01")
        click(qtbot, machine.alarms_open)
        assert window.stack.currentWidget() is window.alarms
        assert window.alarms.machine_filter.currentData() == "cnc-01"
        assert shown(window.alarms) == [HH, H]


def test_the_bridge_sends_an_alarm_snapshot_only_when_the_alarms_changed(
    qtbot: QtBot, tmp_path: Path
) -> None:
    with alarm_hmi(tmp_path) as (hmi, factory):
        bridge = hmi.bridge
        wait_for_drivers(qtbot, factory)
        sent: list[object] = []
        bridge.alarmsChanged.connect(sent.append)
        for _ in range(3):
            bridge._publish_alarms()  # the 4 Hz timer with no alarm event: nothing taken, nothing sent
            bridge._publish_alarms(force=True)  # the slow refresh: taken, but equal, so not sent
        assert sent == []
        set_value(factory, "cnc-01.spindle_temp", 100.0)
        qtbot.waitUntil(lambda: bool(sent), timeout=5000)
        assert bridge.alarms is sent[-1]
        assert {a.alarm_id for a in bridge.alarms.alarms} == {HH, H}


def test_the_alarm_screen_and_banner_are_touch_targets_in_kiosk_mode(qtbot: QtBot, tmp_path: Path) -> None:
    with alarm_hmi(tmp_path, settings=kiosk_settings()) as (hmi, factory):
        window = hmi.window
        wait_for_drivers(qtbot, factory)
        set_value(factory, "cnc-01.spindle_temp", 100.0)
        screen = window.alarms
        window.show_alarms(None)
        qtbot.waitUntil(lambda: len(shown(screen)) == 2, timeout=5000)
        assert window.banner.height() >= 48
        # Six screens in the top bar, with the kiosk's larger font, still fit a 1440 px panel.
        top_bar = window.nav_alarms.parentWidget()
        assert top_bar.layout().sizeHint().width() <= 1440

        def check(widget: object) -> None:
            controls: list[QWidget] = [
                *screen.findChildren(QPushButton),
                *screen.findChildren(QComboBox),
                *screen.findChildren(QLineEdit),
            ]
            for control in controls:
                if control.isVisible():
                    assert control.height() >= 48, (widget, control)
            for table in screen.findChildren(QTableView):
                if table.isVisible():
                    assert table.verticalHeader().defaultSectionSize() >= 48

        for view in (screen.view_active, screen.view_journal, screen.view_kpis):
            click(qtbot, view)
            qtbot.wait(50)  # one layout pass
            check(view)
        click(qtbot, screen.view_active)
        assert screen.select(HH)
        click(qtbot, screen.shelve)
        dialog = screen.shelve_dialog
        assert dialog is not None
        qtbot.waitUntil(dialog.isVisible, timeout=5000)
        for button in dialog.findChildren(QPushButton):
            assert button.height() >= 48, button.text()
        dialog.reject()
