"""OEE by the ISO 22400-2 time model, from a machine's state spans and counts in a shift (pure).

Planned busy time is the shift minus its breaks and planned stops (the calendar's, and the machine's
own planned-stop state). Inside it, running is actual production time; setup, unplanned stops, idle
waiting and time without data are losses of availability. Stops shorter than the micro-stop
threshold are counted apart and, as is usual for OEE, charged to performance rather than availability.
Availability = APT / PBT, Performance = parts x ideal cycle / APT, Quality = good / parts, and
OEE = A x P x Q from the unrounded factors.

Reliability as ISO 22400-2 gives it: a failure is an unplanned stop (stopped, not idle waiting) longer
than the micro-stop threshold; MTBF = APT / (failures + 1) (the operating time between failures, the
last one up to the end of the period, averaged), MTTR = time in failure / failures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from linesight.domain.calendar import Interval, ShiftWindow
from linesight.domain.machine import MachineState, StateSpan
from linesight.domain.reasons import DowntimeCode, ReasonTree, Stop, cut_at_codings, stops

__all__ = [
    "Loss",
    "OeeResult",
    "ShiftFigures",
    "StateSpan",
    "combine",
    "compute_oee",
    "losses",
    "shift_figures",
]


@dataclass(frozen=True, kw_only=True)
class OeeResult:
    planned_busy_s: float
    production_s: float  # actual production time (running, plus micro-stops)
    setup_s: float
    unplanned_downtime_s: float  # stops and idle waits longer than the micro-stop threshold
    micro_stop_s: float
    micro_stops: int
    no_data_s: float
    machine_planned_s: float  # the machine's own planned stops inside the shift's busy time
    produced: int
    good: int
    ideal_cycle_s: float  # a combination of machines carries the part-weighted mean
    failures: int = 0
    failure_s: float = 0.0
    availability: float | None
    performance: float | None
    quality: float | None

    @property
    def oee(self) -> float | None:
        if self.availability is None or self.performance is None or self.quality is None:
            return None
        return self.availability * self.performance * self.quality

    @property
    def rejects(self) -> int:
        return self.produced - self.good

    @property
    def mtbf_s(self) -> float | None:
        return self.production_s / (self.failures + 1) if self.production_s > 0 else None

    @property
    def mttr_s(self) -> float | None:
        return self.failure_s / self.failures if self.failures else None


def compute_oee(
    window: ShiftWindow,
    spans: Sequence[StateSpan],
    *,
    produced: int,
    good: int,
    ideal_cycle_s: float,
    micro_stop_threshold_s: float,
    until: datetime | None = None,
) -> OeeResult:
    """OEE of the shift from its start to ``until`` (default its end): a running shift gives live OEE."""
    end = min(until, window.end) if until is not None else window.end
    busy = _busy_intervals(window, end)
    seconds = {state: 0.0 for state in MachineState}
    micro_s = 0.0
    micro = 0
    failures = 0
    failure_s = 0.0
    covered = 0.0
    for span in spans:
        length = (span.end - span.start).total_seconds()
        inside = sum(piece.seconds for piece in _overlaps(Interval(start=span.start, end=span.end), busy))
        if inside <= 0:
            continue
        covered += inside
        is_stop = span.state in (MachineState.STOPPED, MachineState.IDLE)
        if is_stop and length < micro_stop_threshold_s:
            micro_s += inside
            micro += 1
        else:
            seconds[span.state] += inside
            if span.state is MachineState.STOPPED:
                failures += 1
                failure_s += inside
    busy_s = sum(piece.seconds for piece in busy)
    no_data = max(0.0, busy_s - covered) + seconds[MachineState.UNKNOWN]
    planned_busy = busy_s - seconds[MachineState.PLANNED_STOP]
    production = seconds[MachineState.RUNNING] + micro_s
    return OeeResult(
        planned_busy_s=planned_busy,
        production_s=production,
        setup_s=seconds[MachineState.SETUP],
        unplanned_downtime_s=seconds[MachineState.STOPPED] + seconds[MachineState.IDLE],
        micro_stop_s=micro_s,
        micro_stops=micro,
        no_data_s=no_data,
        machine_planned_s=seconds[MachineState.PLANNED_STOP],
        produced=produced,
        good=good,
        ideal_cycle_s=ideal_cycle_s,
        failures=failures,
        failure_s=failure_s,
        **_factors(planned_busy, production, produced * ideal_cycle_s, produced, good),
    )


def _factors(
    planned_busy_s: float, production_s: float, ideal_s: float, produced: int, good: int
) -> dict[str, float | None]:
    return {
        "availability": production_s / planned_busy_s if planned_busy_s > 0 else None,
        "performance": ideal_s / production_s if production_s > 0 else None,
        "quality": good / produced if produced > 0 else None,
    }


def combine(results: Sequence[OeeResult]) -> OeeResult | None:
    """One OEE for several machines or periods (a line, a site, a day, a week) from their times and counts.

    The factors come from the summed times, not from averaging percentages: a machine that ran an hour
    weighs an hour, one that ran a minute a minute (ISO 22400 aggregates the elements, not the KPIs).
    """
    if not results:
        return None
    total = {name: sum(getattr(r, name) for r in results) for name in _SUMMED}
    ideal_s = sum(r.produced * r.ideal_cycle_s for r in results)
    produced, good = int(total["produced"]), int(total["good"])
    return OeeResult(
        planned_busy_s=total["planned_busy_s"],
        production_s=total["production_s"],
        setup_s=total["setup_s"],
        unplanned_downtime_s=total["unplanned_downtime_s"],
        micro_stop_s=total["micro_stop_s"],
        micro_stops=int(total["micro_stops"]),
        no_data_s=total["no_data_s"],
        machine_planned_s=total["machine_planned_s"],
        produced=produced,
        good=good,
        ideal_cycle_s=ideal_s / produced if produced else 0.0,
        failures=int(total["failures"]),
        failure_s=total["failure_s"],
        **_factors(total["planned_busy_s"], total["production_s"], ideal_s, produced, good),
    )


_SUMMED = (
    "planned_busy_s",
    "production_s",
    "setup_s",
    "unplanned_downtime_s",
    "micro_stop_s",
    "micro_stops",
    "no_data_s",
    "machine_planned_s",
    "produced",
    "good",
    "failures",
    "failure_s",
)


def _busy_intervals(window: ShiftWindow, end: datetime) -> list[Interval]:
    """The shift up to ``end`` without its breaks and planned stops."""
    busy = []
    cursor = window.start
    for pause in window.planned_downtime(end):
        if pause.start > cursor:
            busy.append(Interval(start=cursor, end=pause.start))
        cursor = max(cursor, pause.end)
    if end > cursor:
        busy.append(Interval(start=cursor, end=end))
    return busy


def _overlaps(span: Interval, busy: Sequence[Interval]) -> list[Interval]:
    return [
        piece for piece in (interval.clip(span.start, span.end) for interval in busy) if piece is not None
    ]


@dataclass(frozen=True, kw_only=True)
class Loss:
    """One bar of the loss Pareto: a downtime reason, an uncoded state, or a performance/quality loss."""

    kind: str  # "reason", "uncoded" (key: the stop's state), "micro_stops", "speed", "quality"
    key: str
    seconds: float
    events: int


def losses(
    window: ShiftWindow,
    found: Sequence[Stop],
    result: OeeResult,
    *,
    tree: ReasonTree,
    micro_stop_threshold_s: float,
    until: datetime | None = None,
) -> list[Loss]:
    """The shift's losses, largest first: stop time by reason (uncoded by state) inside planned busy
    time, micro-stops, the speed loss (production time not covered by the ideal cycle) and the quality
    loss (rejects x ideal cycle). Time coded with a planned reason is no loss and is left out."""
    end = min(until, window.end) if until is not None else window.end
    busy = _busy_intervals(window, end)
    bars: dict[tuple[str, str], list[float]] = {}

    def add(kind: str, key: str, seconds: float) -> None:
        if seconds <= 0:
            return
        bar = bars.setdefault((kind, key), [0.0, 0])
        bar[0] += seconds
        bar[1] += 1

    for stop in found:
        if stop.seconds < micro_stop_threshold_s and stop.state in (MachineState.STOPPED, MachineState.IDLE):
            add("micro_stops", "micro_stops", _inside(stop.start, stop.end, busy))
            continue
        for part in stop.parts:
            if part.reason is not None and part.reason in tree and tree[part.reason].planned:
                continue
            kind, key = ("reason", part.reason) if part.reason else ("uncoded", stop.state.value)
            add(kind, key, _inside(part.start, part.end, busy))
    ideal_s = result.produced * result.ideal_cycle_s
    add("speed", "speed", result.production_s - ideal_s)
    add("quality", "quality", result.rejects * result.ideal_cycle_s)
    ranked = [
        Loss(kind=kind, key=key, seconds=seconds, events=int(events))
        for (kind, key), (seconds, events) in bars.items()
    ]
    return sorted(ranked, key=lambda loss: loss.seconds, reverse=True)


def _inside(start: datetime, end: datetime, busy: Sequence[Interval]) -> float:
    return sum(piece.seconds for piece in _overlaps(Interval(start=start, end=end), busy))


@dataclass(frozen=True, kw_only=True)
class ShiftFigures:
    """A machine's shift as the screens and reports show it: codings applied, stops, rejects, OEE."""

    timeline: tuple[StateSpan, ...]  # stops cut at their codings; planned codings are planned stops
    stops: tuple[Stop, ...]
    rejects: int | None  # counted by the machine plus entered by hand
    oee: OeeResult | None  # None without a part count or outside a shift


def shift_figures(
    window: ShiftWindow | None,
    spans: Sequence[StateSpan],
    *,
    codes: Sequence[DowntimeCode],
    tree: ReasonTree,
    parts: int | None,
    counted_rejects: int | None,
    entered_rejects: int,
    ideal_cycle_s: float | None,
    micro_stop_threshold_s: float,
    until: datetime,
) -> ShiftFigures:
    found = tuple(stops(spans, codes, now=until))
    timeline = tuple(cut_at_codings(spans, found, tree)) if codes else tuple(spans)
    rejects = counted_rejects
    if entered_rejects:
        rejects = (rejects or 0) + entered_rejects
    oee = None
    if window is not None and parts is not None and ideal_cycle_s is not None:
        oee = compute_oee(
            window,
            timeline,
            produced=parts,
            good=max(0, parts - (rejects or 0)),
            ideal_cycle_s=ideal_cycle_s,
            micro_stop_threshold_s=micro_stop_threshold_s,
            until=until,
        )
    return ShiftFigures(timeline=timeline, stops=found, rejects=rejects, oee=oee)
