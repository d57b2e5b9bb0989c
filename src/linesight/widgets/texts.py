"""Words shared by several widgets and screens, translated through Qt (pt-BR and English).

Each function asks Qt for the translation at call time, so a language switch shows on the next
repaint or retranslation.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QCoreApplication, QLocale

from linesight.domain.alarm_conditions import default_template
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
    """An alarm's message where its machine is shown beside it: without the "Machine: " it starts with.

    A message the engine made from its built-in template (no ``message:`` in the plant file) is said
    again in the HMI's language, with the value and limit it was raised with; a plant's own message is
    shown as written.
    """
    prefix = f"{machine_name}: "
    if machine_name and message.startswith(prefix) and len(message) > len(prefix):
        message = message[len(prefix) :]
    return _built_in_message(message) or message


# The engine's built-in message bodies: its default templates without the "{machine}: " they start
# with, keyed by the limit level or the rule kind (the engine renders them with spaces collapsed and no
# unit when there is none: _body_pattern allows for both).
_MACHINE_PREFIX = "{machine}: "
_BODIES: tuple[tuple[str, str], ...] = tuple(
    (level or kind, default_template(kind, level).removeprefix(_MACHINE_PREFIX))
    for kind, level in (
        *(("limit", level) for level in ("hh", "h", "l", "ll")),
        *((kind, "") for kind in ("deviation", "rate_of_change", "discrete", "stale", "machine_stopped")),
    )
)


def _body_pattern(body: str) -> re.Pattern[str]:
    pattern = re.escape(body)
    for field, group in (
        ("tag", r"(?P<tag>[^\s]+)"),
        ("value", r"(?P<value>.+?)"),
        ("limit", r"(?P<limit>[^\s()]+)"),
    ):
        pattern = pattern.replace(re.escape("{" + field + "}"), group)
    unit = re.escape(" {unit}")
    pattern = pattern.replace(unit, r"(?:\ (?P<unit>[^\s()]+))?", 1).replace(unit, r"(?:\ (?P=unit))?")
    return re.compile(f"^{pattern}$")


_PATTERNS = tuple((kind, _body_pattern(body)) for kind, body in _BODIES)


def _shown_number(text: str) -> str:
    """A number as the engine wrote it (61.8, 1.2e+03), in the current locale; anything else as is."""
    try:
        value = float(text)
    except ValueError:
        return text
    if not math.isfinite(value):
        return text
    places = len(text.split(".", 1)[1]) if "." in text and "e" not in text.lower() else 0
    if "e" in text.lower():
        return QLocale().toString(value, "g", 3)
    return QLocale().toString(value, "f", places)


def _built_in_message(body: str) -> str | None:
    for kind, pattern in _PATTERNS:
        found = pattern.match(body)
        if found is not None:
            return _say(kind, found.groupdict())
    return None


def _say(kind: str, parts: dict[str, str | None]) -> str:
    unit = parts.get("unit") or ""

    def with_unit(text: str) -> str:
        return f"{text} {unit}" if unit else text

    value = _shown_number(parts.get("value") or "")
    if kind == "machine_stopped" and value in {state.value for state in MachineState}:
        value = state_name(MachineState(value)).lower()
    elif kind != "discrete":
        value = with_unit(value)
    texts = {
        "hh": translate("AlarmMessage", "%1 high-high at %2 (limit %3)"),
        "h": translate("AlarmMessage", "%1 high at %2 (limit %3)"),
        "l": translate("AlarmMessage", "%1 low at %2 (limit %3)"),
        "ll": translate("AlarmMessage", "%1 low-low at %2 (limit %3)"),
        "deviation": translate("AlarmMessage", "%1 off its setpoint at %2 (limit %3)"),
        "rate_of_change": translate("AlarmMessage", "%1 changing at %2 (limit %3)"),
        "discrete": translate("AlarmMessage", "%1 is %2"),
        "stale": translate("AlarmMessage", "No fresh value of %1 for %3"),
        "machine_stopped": translate("AlarmMessage", "%2 for %3 or longer"),
    }
    limit = with_unit(_shown_number(parts.get("limit") or ""))
    return texts[kind].replace("%1", parts.get("tag") or "").replace("%2", value).replace("%3", limit)


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
