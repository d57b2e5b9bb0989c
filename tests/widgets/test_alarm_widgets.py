"""The alarm banner, the alarm table model and the tile's alarm marks: ISA-18.2 colours only for
alarms, a blink only while something is unacknowledged, the priority always in words too."""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from linesight.domain.alarm_rules import Priority
from linesight.domain.alarm_types import AlarmCounts, AlarmState, AlarmStatus
from linesight.domain.machine import MachineState
from linesight.runtime.machines import MachineStatus
from linesight.widgets import alarm_table
from linesight.widgets.alarm_banner import AlarmBanner
from linesight.widgets.alarm_table import AlarmTableModel, value_and_limit
from linesight.widgets.palette import DARK, LIGHT
from linesight.widgets.tile import MachineTile

pytestmark = pytest.mark.gui

NOW = datetime.now(UTC)


def alarm(
    priority: Priority = Priority.CRITICAL, state: AlarmState = AlarmState.UNACK, **extra: object
) -> AlarmStatus:
    fields: dict[str, object] = {
        "alarm_id": "press-01.oil-temp.hh",
        "rule_id": "oil-temp",
        "kind": "limit",
        "level": "hh",
        "machine": "press-01",
        "machine_name": "Press 01",
        "site": "sp",
        "tag": "oil_temp",
        "unit": "°C",
        "priority": priority,
        "state": state,
        "active": state in (AlarmState.UNACK, AlarmState.ACKED),
        "value": 61.8,
        "limit": 60.0,
        "message": "Press 01: oil_temp high-high at 61.8 °C (limit 60 °C)",
        "since": NOW,
        "raised_at": NOW,
        "acked_by": None,
        "shelved_until": None,
        "comment": None,
        "chattering": False,
        "stale": False,
    }
    fields.update(extra)
    return AlarmStatus(**fields)  # type: ignore[arg-type]


def counts(standing: dict[Priority, int], unacked: int) -> AlarmCounts:
    by_priority = {priority: standing.get(priority, 0) for priority in Priority}
    return AlarmCounts(
        standing=sum(by_priority.values()),
        active=sum(by_priority.values()),
        unacked=unacked,
        by_priority=MappingProxyType(by_priority),
        unacked_by_priority=MappingProxyType(dict.fromkeys(Priority, 0)),
        shelved=0,
        suppressed=0,
        out_of_service=0,
    )


def count_colour(picture: QImage, colour: str) -> int:
    wanted = QColor(colour).rgb()
    return sum(
        1 for y in range(picture.height()) for x in range(picture.width()) if picture.pixel(x, y) == wanted
    )


def shown_banner(qtbot: QtBot, palette: object = LIGHT) -> AlarmBanner:
    banner = AlarmBanner(palette=palette)  # type: ignore[arg-type]
    qtbot.addWidget(banner)
    banner.resize(1200, banner.sizeHint().height())
    banner.show()
    return banner


def alarm_colours(picture: QImage, palette: object = LIGHT) -> int:
    return sum(
        count_colour(picture, getattr(palette, name))
        for name in ("alarm_critical", "alarm_high", "alarm_medium", "alarm_low")
    )


def test_the_banner_is_grey_and_still_without_alarms(qtbot: QtBot) -> None:
    banner = shown_banner(qtbot)
    banner.show_alarms(None, counts({}, 0))
    content = banner.content()
    assert (content.message, content.priority, content.chips, content.counts) == (
        "No active alarms",
        None,
        (),
        "",
    )
    assert not banner.blinking and not banner._blink.isActive()
    assert alarm_colours(banner.grab().toImage()) == 0


def test_an_unacknowledged_alarm_gets_a_solid_marker_and_a_blinking_border(qtbot: QtBot) -> None:
    banner = shown_banner(qtbot)
    banner.show_alarms(alarm(), counts({Priority.CRITICAL: 1, Priority.LOW: 2}, 3))
    content = banner.content()
    assert (content.marker, content.machine) == ("CRITICAL", "Press 01")
    assert content.message == "oil_temp high-high at 61.8 °C (limit 60 °C)"  # the machine is beside it
    assert content.counts == "Unacknowledged: 3"
    assert content.chips == ((Priority.CRITICAL, "1"), (Priority.LOW, "2"))
    assert banner.blinking and banner._blink.interval() >= 500  # at most once a second
    lit = count_colour(banner.grab().toImage(), LIGHT.alarm_critical)
    banner._toggle_blink()  # the border's off half: the marker stays
    dark = count_colour(banner.grab().toImage(), LIGHT.alarm_critical)
    assert lit > dark > 0
    assert "CRITICAL" in banner.accessibleDescription()


def test_the_blink_stops_once_everything_is_acknowledged(qtbot: QtBot) -> None:
    banner = shown_banner(qtbot)
    banner.show_alarms(alarm(), counts({Priority.CRITICAL: 1}, 1))
    assert banner._blink.isActive()
    banner.show_alarms(None, counts({Priority.CRITICAL: 1}, 0))
    assert not banner._blink.isActive() and not banner.blinking
    content = banner.content()
    assert content.message == "All alarms acknowledged" and content.chips == ((Priority.CRITICAL, "1"),)
    picture = banner.grab().toImage()
    assert count_colour(picture, LIGHT.alarm_critical) > 0  # the chip: an active alarm is abnormal


def test_the_banner_is_clicked_to_open_the_list_and_is_a_touch_target(qtbot: QtBot) -> None:
    banner = shown_banner(qtbot)
    banner.set_touch(56)
    assert banner.sizeHint().height() >= 56
    with qtbot.waitSignal(banner.clicked, timeout=1000):
        qtbot.mouseClick(banner, Qt.MouseButton.LeftButton)


def test_the_banner_takes_the_night_palette(qtbot: QtBot) -> None:
    banner = shown_banner(qtbot, DARK)
    banner.show_alarms(alarm(Priority.HIGH), counts({Priority.HIGH: 1}, 1))
    picture = banner.grab().toImage()
    assert count_colour(picture, DARK.alarm_high) > 0 and count_colour(picture, LIGHT.alarm_high) == 0


def test_the_table_fills_the_priority_cell_of_a_standing_alarm_and_greys_a_shelved_one(qtbot: QtBot) -> None:
    model = AlarmTableModel()
    shelved = alarm(Priority.MEDIUM, AlarmState.SHELVED, alarm_id="press-01.x", comment="waiting for parts")
    model.set_alarms([alarm(), shelved], NOW)
    first, second = model.index(0, alarm_table.PRIORITY), model.index(1, alarm_table.PRIORITY)
    assert model.data(first) == "Critical"
    assert model.data(first, Qt.ItemDataRole.BackgroundRole).color().name() == LIGHT.alarm_critical
    assert model.data(model.index(0, alarm_table.STATE), Qt.ItemDataRole.FontRole).bold()
    assert model.data(second, Qt.ItemDataRole.BackgroundRole) is None
    assert model.data(second, Qt.ItemDataRole.ForegroundRole).color().name() == LIGHT.text_muted
    assert "waiting for parts" in model.data(model.index(1, alarm_table.MESSAGE))
    assert model.data(model.index(0, alarm_table.VALUE)) == "61.8 / 60.0 °C"
    assert model.row_of("press-01.x") == 1
    model.apply_palette(DARK)
    assert model.data(first, Qt.ItemDataRole.BackgroundRole).color().name() == DARK.alarm_critical


def test_value_and_limit_of_a_discrete_alarm_is_the_value_alone() -> None:
    assert value_and_limit(alarm(value="FAULT", limit=None, unit="")) == "FAULT"
    assert value_and_limit(alarm(value=True, limit=None, unit="")) == "on"


def test_a_tile_with_an_unacknowledged_alarm_gets_a_border_in_its_priority_colour(qtbot: QtBot) -> None:
    tile = MachineTile("press-01", "Press 01")
    qtbot.addWidget(tile)
    tile.resize(tile.sizeHint())
    status = MachineStatus(
        machine="press-01",
        state=MachineState.RUNNING,
        since=NOW,
        shift=None,
        timeline=(),
        parts=10,
        rejects=0,
        oee=None,
    )
    tile.update_status(status, now=NOW)
    tile.set_alarms(2, priority=Priority.CRITICAL, unacknowledged=Priority.MEDIUM)
    content = tile.content()
    assert (content.alarms, content.badge, content.alarm_border) == (
        "2",
        LIGHT.alarm_critical,
        LIGHT.alarm_medium,
    )
    picture = tile.grab().toImage()
    assert (
        count_colour(picture, LIGHT.alarm_medium) > 100 and count_colour(picture, LIGHT.alarm_critical) > 20
    )
    tile.update_status(status, now=NOW)  # a status update keeps the alarms
    assert tile.content().alarms == "2"
    tile.set_alarms(2, priority=Priority.CRITICAL)  # acknowledged: the border goes, the badge stays
    assert tile.content().alarm_border is None and tile.content().alarms == "2"
    tile.set_alarms(0)
    assert tile.content().alarms is None and count_colour(tile.grab().toImage(), LIGHT.alarm_critical) == 0
