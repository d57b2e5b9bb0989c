"""Words shared by several widgets and screens, translated through Qt (pt-BR and English).

Each function asks Qt for the translation at call time, so a language switch shows on the next
repaint or retranslation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QCoreApplication, QLocale

from linesight.domain.alarm_rules import Priority
from linesight.domain.alarm_types import AlarmState
from linesight.domain.machine import MachineState


def translate(context: str, text: str, disambiguation: str | None = None, n: int = -1) -> str:
    """Qt's translation of ``text`` in ``context``. Called ``translate`` (never ``tr``) so that lupdate
    reads the first argument as the context: it reads tr(a, b) as tr(source, comment)."""
    return QCoreApplication.translate(context, text, disambiguation, n)


def state_name(state: MachineState) -> str:
    names = {
        MachineState.RUNNING: translate("MachineState", "Running"),
        MachineState.IDLE: translate("MachineState", "Idle"),
        MachineState.STOPPED: translate("MachineState", "Stopped"),
        MachineState.SETUP: translate("MachineState", "Setup"),
        MachineState.PLANNED_STOP: translate("MachineState", "Planned stop"),
        MachineState.UNKNOWN: translate("MachineState", "No data"),
    }
    return names[state]


def duration_text(span: timedelta) -> str:
    """A state's age as an operator reads it: 45 s, 12 min, 3 h 05 min, 2 d 4 h."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return translate("Duration", "%n s", None, seconds)
    minutes = seconds // 60
    if minutes < 60:
        return translate("Duration", "%n min", None, minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return translate("Duration", "%1 h %2 min").replace("%1", str(hours)).replace("%2", f"{minutes:02d}")
    days, hours = divmod(hours, 24)
    return translate("Duration", "%1 d %2 h").replace("%1", str(days)).replace("%2", str(hours))


def percent(value: float | None, decimals: int = 1) -> str:
    """A ratio as a percentage in the current locale (87,5 % in Portuguese); an em dash for no value."""
    if value is None:
        return "—"
    return f"{QLocale().toString(value * 100.0, 'f', decimals)} %"


def number(value: float | int | None, decimals: int = 0) -> str:
    """A number with the current locale's separators (12.345 in Portuguese, 12,345 in English)."""
    if value is None:
        return "—"
    if isinstance(value, int) or decimals == 0:
        return QLocale().toString(round(value))
    return QLocale().toString(float(value), "f", decimals)


def priority_name(priority: Priority) -> str:
    """An alarm priority as the alarm list and banner name it (a noun's adjective: "High")."""
    names = {
        Priority.CRITICAL: translate("AlarmPriority", "Critical"),
        Priority.HIGH: translate("AlarmPriority", "High"),
        Priority.MEDIUM: translate("AlarmPriority", "Medium"),
        Priority.LOW: translate("AlarmPriority", "Low"),
    }
    return names[priority]


def alarm_state_name(state: AlarmState) -> str:
    """An alarm's ISA-18.2 state in the operator's words."""
    names = {
        AlarmState.NORMAL: translate("AlarmState", "Normal"),
        AlarmState.UNACK: translate("AlarmState", "Unacknowledged"),
        AlarmState.ACKED: translate("AlarmState", "Acknowledged"),
        AlarmState.RTN_UNACK: translate("AlarmState", "Cleared, unacknowledged"),
        AlarmState.SHELVED: translate("AlarmState", "Shelved"),
        AlarmState.SUPPRESSED: translate("AlarmState", "Suppressed"),
        AlarmState.OUT_OF_SERVICE: translate("AlarmState", "Out of service"),
    }
    return names[state]


def alarm_message(message: str, machine_name: str) -> str:
    """An alarm's message where its machine is shown beside it: without the "Machine: " it starts with."""
    prefix = f"{machine_name}: "
    if machine_name and message.startswith(prefix) and len(message) > len(prefix):
        return message[len(prefix) :]
    return message


def clock_time(moment: datetime | None, now: datetime | None = None) -> str:
    """A moment in local time, HH:MM:SS; with the day (25/11, as the history's range editors) when it
    was not today."""
    if moment is None:
        return "—"
    local = moment.astimezone()
    today = (now or datetime.now(UTC)).astimezone().date()
    clock = local.strftime("%H:%M:%S")
    if local.date() == today:
        return clock
    return f"{local.strftime('%d/%m')} {clock}"
