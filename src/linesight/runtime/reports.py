"""Shift, day and week reports of machines and lines: OEE, counts, top losses and the downtime list.

A report replays the historian — the state and counter tags, the operators' codings and rejects — with
the same tracker and the same OEE code as the live screens, so a report of the running shift shows
what the machine screen shows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from linesight.domain.calendar import ShiftWindow, shifts_between
from linesight.domain.errors import InvalidEntry
from linesight.domain.oee import Loss, OeeResult, ShiftFigures, combine, losses, shift_figures
from linesight.domain.plant import PlantConfig
from linesight.domain.reasons import DowntimeCode, ReasonTree, RejectEntry
from linesight.domain.tags import Sample
from linesight.runtime.machines import MachineTracker

# How far before a shift the replay starts, so that the state and the counters at the shift's start
# are known (tags are stored on change: a machine stopped all night has no sample in the shift).
LOOKBACK = timedelta(hours=12)
ONE_US = timedelta(microseconds=1)


class ReportStore(Protocol):
    def samples(self, tags: Sequence[str], start: datetime, end: datetime) -> list[Sample]: ...
    def downtime_codes(self, machines: list[str], start: datetime, end: datetime) -> list[DowntimeCode]: ...
    def rejects(self, machines: list[str], start: datetime, end: datetime) -> list[RejectEntry]: ...


@dataclass(frozen=True, kw_only=True)
class MachineShift:
    machine: str
    title: str
    line: str
    shift: ShiftWindow
    until: datetime  # the shift's end, or now while it runs
    figures: ShiftFigures
    losses: tuple[Loss, ...]
    codes: tuple[DowntimeCode, ...]
    rejects: tuple[RejectEntry, ...]
    parts: int | None


@dataclass(frozen=True, kw_only=True)
class Report:
    title: str
    start: datetime
    end: datetime
    generated: datetime
    shifts: tuple[MachineShift, ...]  # by machine, then time
    machines: tuple[tuple[str, str, OeeResult | None], ...]  # (id, title, OEE over the period)
    oee: OeeResult | None  # every machine and shift together
    losses: tuple[Loss, ...]  # largest first
    without_oee: tuple[str, ...]  # machines of the scope with no OEE configuration or calendar


@dataclass(frozen=True, kw_only=True)
class Scope:
    """Which machines a report covers, resolved from the plant: one machine, a line, or a site."""

    title: str
    machines: tuple[str, ...]


def scope(plant: PlantConfig, *, machine: str | None = None, line: str | None = None) -> Scope:
    """The machines of ``machine`` or ``line`` (a line id, or site/line), or of the whole plant."""
    found: list[str] = []
    title = plant.name or plant.id
    for site, each_line, each in plant.machines():
        if machine is not None:
            if each.id == machine:
                return Scope(title=each.title, machines=(each.id,))
        elif line is not None:
            if line in (each_line.id, f"{site.id}/{each_line.id}"):
                found.append(each.id)
                title = each_line.name or each_line.id
        else:
            found.append(each.id)
    if machine is not None:
        known = ", ".join(m.id for _s, _l, m in plant.machines())
        raise InvalidEntry(f"no machine '{machine}' in the plant; its machines are: {known}")
    if not found:
        known = ", ".join(f"{s.id}/{li.id}" for s in plant.sites for li in s.lines)
        raise InvalidEntry(f"no line '{line}' in the plant; its lines are: {known}")
    return Scope(title=title, machines=tuple(found))


PERIODS = ("shift", "previous-shift", "today", "yesterday", "week", "last-7-days")


def period_bounds(plant: PlantConfig, covered: Scope, name: str, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of a named period in the local time of the scope's first machine's site.

    "shift" is the shift running now (else the last one that ended), "previous-shift" the one before
    it; days run from local midnight; "week" is this week from Monday; "last-7-days" ends at now.
    """
    if name not in PERIODS:
        raise InvalidEntry(f"unknown period '{name}'; the periods are: {', '.join(PERIODS)}")
    first = covered.machines[0]
    site = next(site for site, _l, machine in plant.machines() if machine.id == first)
    zone = ZoneInfo(site.timezone)
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date(), time(0), tzinfo=zone)
    if name in ("shift", "previous-shift"):
        calendar = next((c for c in (plant.calendar_for(m) for m in covered.machines) if c is not None), None)
        if calendar is None:
            raise InvalidEntry(f"'{covered.title}' has no shift calendar: choose a day or a week")
        started = [
            w for w in shifts_between(calendar, site.timezone, now - timedelta(days=8), now) if w.start <= now
        ]
        if len(started) < (1 if name == "shift" else 2):
            raise InvalidEntry(f"no {'previous ' if name != 'shift' else ''}shift in the last week")
        window = started[-1] if name == "shift" else started[-2]
        return window.start, window.end
    if name == "today":
        return _utc_of(midnight), _utc_of(midnight + timedelta(days=1))
    if name == "yesterday":
        return _utc_of(midnight - timedelta(days=1)), _utc_of(midnight)
    if name == "week":
        monday = midnight - timedelta(days=local.weekday())
        return _utc_of(monday), _utc_of(monday + timedelta(days=7))
    return now - timedelta(days=7), now


def _utc_of(local: datetime) -> datetime:
    # Day arithmetic on a zoned datetime is wall-clock arithmetic: a day with a clock change keeps
    # its real length (23 or 25 h) once converted.
    return local.astimezone(UTC)


def build_report(
    plant: PlantConfig,
    store: ReportStore,
    covered: Scope,
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = None,
) -> Report:
    """The report of the shifts that start in [start, end) (blocking: run it in a worker thread)."""
    now = now or datetime.now(UTC)
    tree = ReasonTree(plant.downtime_reasons)
    where = {machine.id: (site, line, machine) for site, line, machine in plant.machines()}
    shifts: list[MachineShift] = []
    per_machine: list[tuple[str, str, OeeResult | None]] = []
    without: list[str] = []
    for machine_id in covered.machines:
        site, line, config = where[machine_id]
        calendar = plant.calendar_for(machine_id)
        if calendar is None or config.oee is None:
            without.append(machine_id)
            continue
        windows = [
            window
            for window in shifts_between(calendar, site.timezone, start, end)
            if start <= window.start < end and window.start < now
        ]
        found = _machine_shifts(plant, store, tree, machine_id, line.name or line.id, windows, now)
        shifts.extend(found)
        per_machine.append(
            (machine_id, config.title, combine([s.figures.oee for s in found if s.figures.oee is not None]))
        )
    return Report(
        title=covered.title,
        start=start,
        end=end,
        generated=now,
        shifts=tuple(shifts),
        machines=tuple(per_machine),
        oee=combine([s.figures.oee for s in shifts if s.figures.oee is not None]),
        losses=tuple(sum_losses(loss for s in shifts for loss in s.losses)),
        without_oee=tuple(without),
    )


def _machine_shifts(
    plant: PlantConfig,
    store: ReportStore,
    tree: ReasonTree,
    machine_id: str,
    line: str,
    windows: Sequence[ShiftWindow],
    now: datetime,
) -> list[MachineShift]:
    if not windows:
        return []
    config = plant.machine(machine_id)
    oee = config.oee
    assert oee is not None
    moment = [windows[0].start]
    tracker = MachineTracker(plant, clock=lambda: moment[0].timestamp())
    history = store.samples(
        tracker.tags_of(machine_id), windows[0].start - LOOKBACK, min(windows[-1].end, now)
    )
    codes = store.downtime_codes([machine_id], windows[0].start, windows[-1].end)
    rejects = store.rejects([machine_id], windows[0].start, windows[-1].end)
    fed = 0
    found = []
    for window in windows:
        until = min(window.end, now)
        upto = fed
        while upto < len(history) and history[upto].ts_us < int(until.timestamp() * 1_000_000):
            upto += 1
        tracker.update(history[fed:upto])
        fed = upto
        moment[0] = until - ONE_US  # the last instant of the shift: the tracker is still in it
        status = tracker.status(machine_id)
        timeline = list(status.timeline)
        if timeline and timeline[-1].end == moment[0]:
            timeline[-1] = replace(timeline[-1], end=until)  # the last microsecond, left out above
        mine = tuple(c for c in codes if c.touches(window.start, window.end))
        entered = tuple(r for r in rejects if window.contains(r.ts))
        figures = shift_figures(
            window,
            timeline,
            codes=mine,
            tree=tree,
            parts=status.parts,
            counted_rejects=status.rejects,
            entered_rejects=sum(r.count for r in entered),
            ideal_cycle_s=oee.ideal_cycle_time,
            micro_stop_threshold_s=oee.micro_stop_threshold,
            until=until,
        )
        lost = (
            losses(
                window,
                figures.stops,
                figures.oee,
                tree=tree,
                micro_stop_threshold_s=oee.micro_stop_threshold,
                until=until,
            )
            if figures.oee is not None
            else []
        )
        found.append(
            MachineShift(
                machine=machine_id,
                title=config.title,
                line=line,
                shift=window,
                until=until,
                figures=figures,
                losses=tuple(lost),
                codes=mine,
                rejects=entered,
                parts=status.parts,
            )
        )
    return found


def sum_losses(items: Iterable[Loss]) -> list[Loss]:
    """Losses of several machines or shifts added up by what they are, largest first."""
    totals: dict[tuple[str, str], tuple[float, int]] = {}
    for loss in items:
        seconds, events = totals.get((loss.kind, loss.key), (0.0, 0))
        totals[(loss.kind, loss.key)] = (seconds + loss.seconds, events + loss.events)
    summed = [Loss(kind=k, key=key, seconds=s, events=e) for (k, key), (s, e) in totals.items()]
    return sorted(summed, key=lambda loss: loss.seconds, reverse=True)


# ---------------------------------------------------------------------- CSV


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.2f}"


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f}"


def loss_name(loss: Loss, tree: ReasonTree, language: str = "en") -> str:
    if loss.kind == "reason":
        if loss.key in tree:
            reason = tree[loss.key]
            return f"{reason.category_label(language)} / {reason.label(language)}"
        return loss.key
    return {
        "uncoded": f"uncoded ({loss.key})",
        "micro_stops": "micro-stops",
        "speed": "speed loss",
        "quality": "quality loss",
    }.get(loss.kind, loss.kind)


def write_csv(report: Report, path: Path, tree: ReasonTree) -> None:
    """The report as CSV in three sections (shifts, losses, stops), each with its own header row.

    Numbers are plain (dot decimal, percentages 0-100, minutes); times are ISO 8601 UTC.
    """
    with path.open("w", newline="", encoding="utf-8") as out:
        rows = csv.writer(out)
        rows.writerow(["report", report.title, report.start.isoformat(), report.end.isoformat()])
        rows.writerow([])
        rows.writerow(
            [
                "machine",
                "line",
                "shift",
                "start",
                "end",
                "availability_pct",
                "performance_pct",
                "quality_pct",
                "oee_pct",
                "parts",
                "good",
                "rejects",
                "planned_busy_min",
                "production_min",
                "unplanned_downtime_min",
                "setup_min",
                "micro_stops",
                "mtbf_min",
                "mttr_min",
            ]
        )
        for item in report.shifts:
            result = item.figures.oee
            rows.writerow(
                [
                    item.machine,
                    item.line,
                    item.shift.name,
                    item.shift.start.isoformat(),
                    item.until.isoformat(),
                    *_result_cells(result),
                ]
            )
        period = [report.start.isoformat(), report.end.isoformat()]
        for machine_id, _title, result in report.machines:
            rows.writerow([machine_id, "", "total", *period, *_result_cells(result)])
        rows.writerow(["total", "", "", *period, *_result_cells(report.oee)])
        rows.writerow([])
        rows.writerow(["loss", "kind", "key", "minutes", "events"])
        for loss in report.losses:
            rows.writerow([loss_name(loss, tree), loss.kind, loss.key, _minutes(loss.seconds), loss.events])
        rows.writerow([])
        rows.writerow(["machine", "stop_start", "stop_end", "minutes", "state", "reason", "coded_minutes"])
        for item in report.shifts:
            for stop in item.figures.stops:
                for part in stop.parts:
                    rows.writerow(
                        [
                            item.machine,
                            part.start.isoformat(),
                            part.end.isoformat(),
                            _minutes(part.seconds),
                            stop.state.value,
                            part.reason or "",
                            _minutes(part.seconds if part.reason else 0.0),
                        ]
                    )


def _result_cells(result: OeeResult | None) -> list[str]:
    if result is None:
        return [""] * 14
    return [
        _pct(result.availability),
        _pct(result.performance),
        _pct(result.quality),
        _pct(result.oee),
        str(result.produced),
        str(result.good),
        str(result.rejects),
        _minutes(result.planned_busy_s),
        _minutes(result.production_s),
        _minutes(result.unplanned_downtime_s),
        _minutes(result.setup_s),
        str(result.micro_stops),
        _minutes(result.mtbf_s),
        _minutes(result.mttr_s),
    ]
