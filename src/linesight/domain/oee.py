"""OEE by the ISO 22400-2 time model, from a machine's state spans and counts in a shift (pure).

Planned busy time is the shift minus its breaks and planned stops (the calendar's, and the machine's
own planned-stop state). Inside it, running is actual production time; setup, unplanned stops, idle
waiting and time without data are losses of availability. Stops shorter than the micro-stop
threshold are counted apart and, as is usual for OEE, charged to performance rather than availability.
Availability = APT / PBT, Performance = parts x ideal cycle / APT, Quality = good / parts, and
OEE = A x P x Q from the unrounded factors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from linesight.domain.calendar import Interval, ShiftWindow
from linesight.domain.machine import MachineState


@dataclass(frozen=True, kw_only=True)
class StateSpan:
    start: datetime
    end: datetime
    state: MachineState


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
    ideal_cycle_s: float
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
        availability=production / planned_busy if planned_busy > 0 else None,
        performance=produced * ideal_cycle_s / production if production > 0 else None,
        quality=good / produced if produced > 0 else None,
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
