"""The alarm list as a Qt table model: one row per alarm, in the order it is given (unacknowledged
first, then by priority, newest first: the alarm service's order).

ISA-18.2 on the screen: the priority cell is filled with the priority's colour (and names it, so that
colour is never the only cue) while the alarm stands; an unacknowledged alarm's row is bold; shelved,
suppressed and out-of-service alarms are plain grey text: known, but nothing to act on now.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from linesight.domain.alarm_types import STANDING, UNACKNOWLEDGED, AlarmStatus
from linesight.domain.tags import TagValue
from linesight.widgets.palette import LIGHT, Palette, ink
from linesight.widgets.texts import (
    alarm_message,
    alarm_state_name,
    clock_time,
    number,
    priority_name,
    translate,
)

PRIORITY, STATE, TIME, MACHINE, MESSAGE, VALUE, ACKED_BY = range(7)
COLUMNS = 7
ALARM_ID_ROLE = Qt.ItemDataRole.UserRole + 1

_Index = QModelIndex | QPersistentModelIndex


def value_text(value: TagValue, unit: str = "") -> str:
    """A tag value as the alarm list shows it, in the current locale."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        text = translate("AlarmTable", "on") if value else translate("AlarmTable", "off")
    elif isinstance(value, int):
        text = number(value)
    elif isinstance(value, float):
        text = number(value, 0 if abs(value) >= 1000 else 1)
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def value_and_limit(status: AlarmStatus) -> str:
    """ "61,5 / 60 °C": the value that raised the alarm and the limit it crossed."""
    value = value_text(status.value)
    if status.limit is None:
        return value_text(status.value, status.unit) if status.value is not None else ""
    return f"{value} / {value_text(status.limit, status.unit)}"


def state_text(status: AlarmStatus, now: datetime | None = None) -> str:
    """The state, with what else the operator should know of it: until when it is shelved, stale,
    chattering."""
    words = [alarm_state_name(status.state)]
    if status.shelved_until is not None:
        words.append(translate("AlarmTable", "until %1").replace("%1", clock_time(status.shelved_until, now)))
    if status.stale:
        words.append(translate("AlarmTable", "stale"))
    if status.chattering:
        words.append(translate("AlarmTable", "chattering"))
    return " · ".join(words)


class AlarmTableModel(QAbstractTableModel):
    """Alarms as rows; ``set_alarms`` replaces them (a table of some dozens: a reset is cheap)."""

    def __init__(self, parent: QObject | None = None, *, palette: Palette = LIGHT) -> None:
        super().__init__(parent)
        self._alarms: list[AlarmStatus] = []
        self._colours = palette
        self._now: datetime | None = None

    def set_alarms(self, alarms: Sequence[AlarmStatus], now: datetime | None = None) -> None:
        self.beginResetModel()
        self._alarms = list(alarms)
        self._now = now
        self.endResetModel()

    def apply_palette(self, palette: Palette) -> None:
        self._colours = palette
        if self._alarms:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._alarms) - 1, COLUMNS - 1))

    def retranslate(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, COLUMNS - 1)
        if self._alarms:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._alarms) - 1, COLUMNS - 1))

    def alarm(self, row: int) -> AlarmStatus:
        return self._alarms[row]

    def alarms(self) -> list[AlarmStatus]:
        return list(self._alarms)

    def row_of(self, alarm_id: str) -> int | None:
        return next((row for row, a in enumerate(self._alarms) if a.alarm_id == alarm_id), None)

    # ------------------------------------------------------------------ Qt

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._alarms)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else COLUMNS

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        names = (
            translate("AlarmTable", "Priority"),
            translate("AlarmTable", "State"),
            translate("AlarmTable", "Time"),
            translate("AlarmTable", "Machine"),
            translate("AlarmTable", "Message"),
            translate("AlarmTable", "Value / limit"),
            translate("AlarmTable", "Acknowledged by"),
        )
        return names[section] if 0 <= section < COLUMNS else None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._alarms):
            return None
        alarm = self._alarms[index.row()]
        column = index.column()
        standing = alarm.state in STANDING
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(alarm, column)
        if role == ALARM_ID_ROLE:
            return alarm.alarm_id
        if role == Qt.ItemDataRole.FontRole:
            if alarm.state in UNACKNOWLEDGED or column == PRIORITY:
                font = QFont()
                font.setBold(True)
                return font
            return None
        if role == Qt.ItemDataRole.BackgroundRole and column == PRIORITY and standing:
            return QBrush(QColor(self._colours.alarm_colour(alarm.priority)))
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == PRIORITY and standing:
                return QBrush(QColor(ink(self._colours.alarm_colour(alarm.priority))))
            if not standing:
                return QBrush(QColor(self._colours.text_muted))
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column == PRIORITY:
                return int(Qt.AlignmentFlag.AlignCenter)
            if column == VALUE:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == MESSAGE:
            lines = [alarm.message, alarm.alarm_id]
            if alarm.comment:
                lines.append(translate("AlarmTable", "Comment: %1").replace("%1", alarm.comment))
            return "\n".join(lines)
        return None

    def _text(self, alarm: AlarmStatus, column: int) -> str:
        if column == PRIORITY:
            return priority_name(alarm.priority)
        if column == STATE:
            return state_text(alarm, self._now)
        if column == TIME:
            return clock_time(alarm.raised_at or alarm.since, self._now)
        if column == MACHINE:
            return alarm.machine_name
        if column == MESSAGE:
            message = alarm_message(alarm.message, alarm.machine_name)
            return f"{message} · “{alarm.comment}”" if alarm.comment else message
        if column == VALUE:
            return value_and_limit(alarm)
        if column == ACKED_BY:
            return alarm.acked_by or ""
        return ""


class PriorityDelegate(QStyledItemDelegate):
    """The priority cell keeps its colour on the selected row: the selection shows on the other cells,
    and the operator never loses the priority of the alarm about to be acknowledged."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: _Index) -> None:
        super().initStyleOption(option, index)
        if index.data(Qt.ItemDataRole.BackgroundRole) is not None:
            option.state &= ~QStyle.StateFlag.State_Selected
