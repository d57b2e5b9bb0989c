"""What the reports screen and the PDF share: the report periods in the site's local time, and the words
of a report (loss names, states, the downtime list) in one language.

A PDF may be written in another language than the HMI shows (the CLI has no translator installed at
all), so ``Words`` can carry its own translator and locale instead of the application's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

from linesight.app.i18n import LOCALES, TRANSLATIONS
from linesight.domain.calendar import ShiftWindow, shifts_between
from linesight.domain.machine import MachineState
from linesight.domain.oee import Loss, OeeResult
from linesight.domain.plant import CalendarConfig, PlantConfig
from linesight.domain.reasons import STOP_STATES, DowntimeCode, ReasonTree, Stop, StopPart
from linesight.runtime.reports import Report

log = logging.getLogger(__name__)


class Period(StrEnum):
    CURRENT_SHIFT = "current_shift"
    PREVIOUS_SHIFT = "previous_shift"
    TODAY = "today"
    YESTERDAY = "yesterday"
    THIS_WEEK = "this_week"
    LAST_7_DAYS = "last_7_days"


SHIFT_PERIODS = (Period.CURRENT_SHIFT, Period.PREVIOUS_SHIFT)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def period_range(
    period: Period, calendar: CalendarConfig | None, timezone: str, now: datetime
) -> tuple[datetime, datetime] | None:
    """[start, end) in UTC of ``period`` at ``now``, days and weeks in the site's local time.

    The current shift is the one running, or between shifts the last one; the previous shift the one
    before it. None when a shift is asked for and there is no calendar (or no shift in the last week).
    """
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    days = {
        Period.TODAY: (today, today + timedelta(days=1)),
        Period.YESTERDAY: (today - timedelta(days=1), today),
        Period.THIS_WEEK: (monday, monday + timedelta(days=7)),
        Period.LAST_7_DAYS: (today - timedelta(days=6), today + timedelta(days=1)),
    }
    if period in days:
        first, last = days[period]
        return _midnight(first, zone), _midnight(last, zone)
    if calendar is None:
        return None
    recent = shifts_between(calendar, timezone, now - timedelta(days=8), now + timedelta(microseconds=1))
    started = [window for window in recent if window.start <= now]
    wanted = 1 if period is Period.CURRENT_SHIFT else 2
    if len(started) < wanted:
        return None
    window: ShiftWindow = started[-wanted]
    return window.start, window.end


def scope_calendar(plant: PlantConfig, machines: Sequence[str]) -> tuple[CalendarConfig | None, str]:
    """The calendar and time zone a report of ``machines`` counts its shifts and days in: the first
    machine's that has a calendar (the site's time zone without one)."""
    timezone = plant.sites[0].timezone
    for site, _line, machine in plant.machines():
        if machine.id in machines:
            calendar = plant.calendar_for(machine.id)
            if calendar is not None:
                return calendar, site.timezone
            timezone = site.timezone
    return None, timezone


def site_zone(plant: PlantConfig, machines: Sequence[str]) -> ZoneInfo:
    return ZoneInfo(scope_calendar(plant, machines)[1])


def micro_stop_thresholds(plant: PlantConfig) -> dict[str, float]:
    """Each machine's micro-stop threshold (s): shorter stops are performance losses, not coded."""
    return {
        machine.id: machine.oee.micro_stop_threshold
        for _site, _line, machine in plant.machines()
        if machine.oee is not None
    }


def is_micro_stop(stop: Stop, threshold_s: float) -> bool:
    """A finished stop or wait shorter than the threshold: counted as a micro-stop, never coded."""
    return (
        not stop.open
        and stop.state in (MachineState.STOPPED, MachineState.IDLE)
        and stop.seconds < threshold_s
    )


def ui_language() -> str:
    """The language the HMI shows now, as the plant file's labels and the translations name it (pt_BR, en)."""
    current = QLocale()
    for name, locale in LOCALES.items():
        if locale.language() == current.language():
            return name
    return "en"


class Words:
    """Texts in one language: the application's translation (``language`` None) or a language's own.

    Call ``words.translate(context, source)`` literally: lupdate collects the strings from such calls.
    """

    def __init__(self, language: str | None = None) -> None:
        self._translator: QTranslator | None = None
        self._app = language is None
        self.language = ui_language() if language is None else language
        self.locale = QLocale() if language is None else LOCALES.get(language, LOCALES["en"])
        if language is not None and language != "en":
            translator = QTranslator()
            qm = TRANSLATIONS / f"linesight_{language}.qm"
            if translator.load(str(qm)):
                self._translator = translator
            else:
                log.info("no translation file %s: the report's headings are in English", qm)

    def translate(self, context: str, text: str, disambiguation: str | None = None, n: int = -1) -> str:
        if self._app:
            return QCoreApplication.translate(context, text, disambiguation, n)
        found = self._translator.translate(context, text, disambiguation, n) if self._translator else ""
        found = found or text
        return found.replace("%n", self.locale.toString(n)) if n >= 0 else found

    def number(self, value: float | None, decimals: int = 0) -> str:
        if value is None:
            return "—"
        if decimals == 0:
            return self.locale.toString(round(value))
        return self.locale.toString(float(value), "f", decimals)

    def percent(self, value: float | None) -> str:
        return "—" if value is None else f"{self.locale.toString(value * 100.0, 'f', 1)} %"

    def minutes(self, seconds: float | None) -> str:
        """A span as 45 s, 12 min or 2 h 05 min (a dash for none)."""
        if seconds is None:
            return "—"
        if seconds < 59.5:
            return self.translate("ReportWords", "%1 s").replace("%1", self.locale.toString(round(seconds)))
        minutes = round(seconds / 60)
        if minutes < 60:
            return self.translate("ReportWords", "%1 min").replace("%1", self.locale.toString(minutes))
        hours, rest = divmod(minutes, 60)
        return (
            self.translate("ReportWords", "%1 h %2 min")
            .replace("%1", self.locale.toString(hours))
            .replace("%2", f"{rest:02d}")
        )

    def oee_figures(self, result: OeeResult | None) -> list[str]:
        """Ten figures for a report row: A, P, Q, OEE, produced, good, rejects, downtime, MTBF, MTTR."""
        if result is None:
            return ["—"] * 10
        return [
            self.percent(result.availability),
            self.percent(result.performance),
            self.percent(result.quality),
            self.percent(result.oee),
            self.number(result.produced),
            self.number(result.good),
            self.number(result.rejects),
            self.minutes(result.unplanned_downtime_s),
            self.minutes(result.mtbf_s),
            self.minutes(result.mttr_s),
        ]

    def time(self, moment: datetime, zone: ZoneInfo | None = None) -> str:
        local = moment.astimezone(zone) if zone is not None else moment.astimezone()
        return local.strftime("%H:%M")

    def date_time(self, moment: datetime, zone: ZoneInfo | None = None) -> str:
        local = moment.astimezone(zone) if zone is not None else moment.astimezone()
        # 25/11/2026 in Portuguese; ISO 2026-11-25 in English, which no reader takes for 11 May.
        day = "%d/%m/%Y" if self.locale.language() is QLocale.Language.Portuguese else "%Y-%m-%d"
        return local.strftime(f"{day} %H:%M")

    def state(self, state: MachineState) -> str:
        names = {
            MachineState.RUNNING: self.translate("MachineState", "Running"),
            MachineState.IDLE: self.translate("MachineState", "Idle"),
            MachineState.STOPPED: self.translate("MachineState", "Stopped"),
            MachineState.SETUP: self.translate("MachineState", "Setup"),
            MachineState.PLANNED_STOP: self.translate("MachineState", "Planned stop"),
            MachineState.UNKNOWN: self.translate("MachineState", "No data"),
        }
        return names[state]

    def period(self, period: Period) -> str:
        names = {
            Period.CURRENT_SHIFT: self.translate("ReportWords", "Current shift"),
            Period.PREVIOUS_SHIFT: self.translate("ReportWords", "Previous shift"),
            Period.TODAY: self.translate("ReportWords", "Today"),
            Period.YESTERDAY: self.translate("ReportWords", "Yesterday"),
            Period.THIS_WEEK: self.translate("ReportWords", "This week"),
            Period.LAST_7_DAYS: self.translate("ReportWords", "Last 7 days"),
        }
        return names[period]

    def reason(self, reason: str | None, tree: ReasonTree) -> str:
        """A reason as "Category / Reason"; "Not coded" for None; the id of a reason no longer in the tree."""
        if reason is None:
            return self.translate("ReportWords", "Not coded")
        if reason not in tree:
            return reason
        found = tree[reason]
        return f"{found.category_label(self.language)} / {found.label(self.language)}"

    def loss(self, loss: Loss, tree: ReasonTree) -> str:
        """The name of a bar of the loss Pareto."""
        if loss.kind == "reason":
            return self.reason(loss.key, tree)
        if loss.kind == "uncoded":
            try:
                state = self.state(MachineState(loss.key))
            except ValueError:
                state = loss.key
            return self.translate("ReportWords", "Not coded: %1").replace("%1", state)
        names = {
            "micro_stops": self.translate("ReportWords", "Micro-stops"),
            "speed": self.translate("ReportWords", "Speed loss"),
            "quality": self.translate("ReportWords", "Quality loss"),
        }
        return names.get(loss.kind, loss.kind)


@dataclass(frozen=True, kw_only=True)
class DowntimeRow:
    """One line of a report's downtime list: a stop, or the part of a stop coded with one reason."""

    machine: str
    title: str
    stop_start: datetime
    start: datetime
    end: datetime
    state: MachineState
    reason: str | None
    user: str
    comment: str
    open: bool

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, kw_only=True)
class DowntimeList:
    rows: tuple[DowntimeRow, ...]
    micro_stops: int  # left out of ``rows``
    micro_stop_s: float


def _coding(part: StopPart, codes: Sequence[DowntimeCode]) -> DowntimeCode | None:
    """The coding that gave ``part`` its reason: the latest one with that reason covering it."""
    covering = [
        code
        for code in codes
        if code.reason == part.reason
        and code.start <= part.start
        and (code.end is None or code.end >= part.end)
    ]
    return max(covering, key=lambda code: code.coded_at) if covering else None


def downtime_list(report: Report, micro_stop_s: Mapping[str, float] | None = None) -> DowntimeList:
    """The report's stops by machine and time, one row per coded part; micro-stops (by each machine's
    threshold, when known) are left out and counted."""
    rows: list[DowntimeRow] = []
    micro, micro_total = 0, 0.0
    thresholds = micro_stop_s or {}
    for item in report.shifts:
        threshold = thresholds.get(item.machine)
        for stop in item.figures.stops:
            if stop.state not in STOP_STATES:
                continue
            if threshold is not None and is_micro_stop(stop, threshold):
                micro += 1
                micro_total += stop.seconds
                continue
            for part in stop.parts:
                code = _coding(part, item.codes) if part.reason else None
                rows.append(
                    DowntimeRow(
                        machine=item.machine,
                        title=item.title,
                        stop_start=stop.start,
                        start=part.start,
                        end=part.end,
                        state=stop.state,
                        reason=part.reason,
                        user=code.user if code else "",
                        comment=code.comment if code else "",
                        open=stop.open and part.end >= stop.end,
                    )
                )
    return DowntimeList(rows=tuple(rows), micro_stops=micro, micro_stop_s=micro_total)
