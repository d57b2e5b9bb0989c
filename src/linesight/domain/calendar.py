"""Shift calendars as time: which shift runs when, with its breaks and planned stops (pure).

Shifts are written in the site's local time; the windows computed here are in UTC, so that a shift
that crosses midnight or a daylight-saving change still has its real length.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from linesight.domain.plant import CalendarConfig, Shift
from linesight.domain.schema import WEEKDAYS


@dataclass(frozen=True, kw_only=True)
class Interval:
    start: datetime  # UTC
    end: datetime

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())

    def clip(self, start: datetime, end: datetime) -> Interval | None:
        lo, hi = max(self.start, start), min(self.end, end)
        return Interval(start=lo, end=hi) if hi > lo else None


@dataclass(frozen=True, kw_only=True)
class ShiftWindow:
    """One occurrence of a shift: its time in UTC and the planned downtime inside it."""

    name: str
    start: datetime
    end: datetime
    breaks: tuple[Interval, ...] = ()
    planned_stops: tuple[Interval, ...] = ()

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def planned_downtime(self, until: datetime | None = None) -> list[Interval]:
        """Breaks and planned stops, merged, up to ``until`` (default: the shift's end)."""
        end = min(until, self.end) if until is not None else self.end
        clipped = [c for c in (i.clip(self.start, end) for i in (*self.breaks, *self.planned_stops)) if c]
        return merge(clipped)

    def planned_busy_seconds(self, until: datetime | None = None) -> float:
        """ISO 22400 planned busy time: shift time minus breaks and planned stops (up to ``until``)."""
        end = min(until, self.end) if until is not None else self.end
        if end <= self.start:
            return 0.0
        return (end - self.start).total_seconds() - sum(i.seconds for i in self.planned_downtime(end))

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Overlapping or touching intervals joined, in time order."""
    merged: list[Interval] = []
    for interval in sorted(intervals, key=lambda i: i.start):
        if merged and interval.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Interval(start=last.start, end=max(last.end, interval.end))
        else:
            merged.append(interval)
    return merged


def _local(day: date, moment: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def _occurrence(calendar: CalendarConfig, shift: Shift, day: date, zone: ZoneInfo) -> ShiftWindow:
    start = _local(day, shift.start, zone)
    end_day = day if shift.end > shift.start else day + timedelta(days=1)
    end = _local(end_day, shift.end, zone)
    breaks = []
    for item in shift.breaks:
        break_day = day if item.start >= shift.start else day + timedelta(days=1)
        begin = _local(break_day, item.start, zone)
        breaks.append(Interval(start=begin, end=begin + timedelta(seconds=item.duration)))
    stops = []
    for stop in calendar.planned_stops:
        for stop_day in (day, day + timedelta(days=1)):  # a night shift reaches into the next day
            if stop.on is not None and stop.on != stop_day:
                continue
            if stop.weekday is not None and WEEKDAYS[stop_day.weekday()] != stop.weekday:
                continue
            begin = _local(stop_day, stop.start, zone)
            window = Interval(start=begin, end=begin + timedelta(seconds=stop.duration)).clip(start, end)
            if window is not None:
                stops.append(window)
    return ShiftWindow(
        name=shift.name, start=start, end=end, breaks=tuple(breaks), planned_stops=tuple(stops)
    )


def shifts_between(
    calendar: CalendarConfig, timezone: str, start: datetime, end: datetime
) -> list[ShiftWindow]:
    """Every shift occurrence that overlaps [start, end), in time order; holidays have none."""
    zone = ZoneInfo(timezone)
    first = start.astimezone(zone).date() - timedelta(days=1)  # yesterday's night shift may still run
    last = end.astimezone(zone).date()
    found = []
    for day in _days(first, last):
        if day in calendar.holidays:
            continue
        weekday = WEEKDAYS[day.weekday()]
        for shift in calendar.shifts:
            if weekday not in shift.days:
                continue
            window = _occurrence(calendar, shift, day, zone)
            if window.end > start and window.start < end:
                found.append(window)
    return sorted(found, key=lambda w: w.start)


def shift_at(calendar: CalendarConfig, timezone: str, moment: datetime) -> ShiftWindow | None:
    """The shift running at ``moment``, or None (between shifts, on a holiday)."""
    for window in shifts_between(calendar, timezone, moment, moment + timedelta(microseconds=1)):
        if window.contains(moment):
            return window
    return None


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
