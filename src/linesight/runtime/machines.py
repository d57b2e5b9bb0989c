"""Every machine's state, its shift timeline, its counts and live OEE, followed from the sample bus.

Screens ask for snapshots (any thread); the tracker itself runs on the runtime loop as a bus sink and
only looks at the few tags each machine's OEE configuration names.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from linesight.domain.calendar import ShiftWindow, shift_at
from linesight.domain.machine import MachineState
from linesight.domain.oee import OeeResult, StateSpan, shift_figures
from linesight.domain.plant import CalendarConfig, MachineConfig, OeeConfig, PlantConfig
from linesight.domain.reasons import DowntimeCode, ReasonTree, RejectEntry, Stop
from linesight.domain.state import derive_state, rule_tags
from linesight.domain.tags import Quality, Sample

US = 1_000_000
StateListener = Callable[[str, MachineState, int], None]


@dataclass(frozen=True, kw_only=True)
class MachineStatus:
    """What the overview tile and the machine screen show of one machine, at one moment."""

    machine: str
    state: MachineState
    since: datetime | None  # when the machine entered its state
    shift: ShiftWindow | None
    timeline: tuple[StateSpan, ...]  # this shift's states, the last one up to now, stops cut at codings
    parts: int | None  # made in this shift (None: the machine has no part counter)
    rejects: int | None  # the machine's reject counter and the rejects entered by hand
    oee: OeeResult | None
    stops: tuple[Stop, ...] = ()  # this shift's stops with their codings, oldest first
    entered_rejects: int = 0  # of ``rejects``, those entered by hand


def _utc(ts_us: int) -> datetime:
    return datetime.fromtimestamp(ts_us / US, UTC)


class _Counter:
    """A machine counter's progress in the shift; a counter that goes back was reset, not undone.

    Going back by more than a tenth is a reset (or a roll-over, or a reset while the link was down):
    production goes on from zero, so the new value counts. Going back by a tenth or less is a correction
    (a preset, a controller that came back with a slightly older value, a counter that restarted near
    where the shift's replay left it): the count stays where it was rather than jump by the counter's
    whole value.
    """

    def __init__(self) -> None:
        self.base: float | None = None
        self.last: float | None = None
        self.offset = 0.0

    def restart(self) -> None:
        self.base = self.last
        self.offset = 0.0

    def add(self, value: float) -> None:
        if self.last is not None and value < self.last:
            # reset (or rolled over): keep counting from there; set back a little: hold the count
            self.offset += self.last if value < self.last * 0.9 else self.last - value
        if self.base is None:
            self.base = value
        self.last = value

    @property
    def count(self) -> int | None:
        if self.base is None or self.last is None:
            return None
        return int(self.last + self.offset - self.base)


@dataclass(kw_only=True)
class _Machine:
    config: MachineConfig
    oee: OeeConfig | None
    calendar: CalendarConfig | None
    timezone: str
    latest: dict[str, Sample] = field(default_factory=dict)
    state: MachineState = MachineState.UNKNOWN
    since_us: int | None = None
    spans: list[StateSpan] = field(default_factory=list)  # closed spans of the current shift
    shift: ShiftWindow | None = None
    parts: _Counter = field(default_factory=_Counter)
    rejects: _Counter = field(default_factory=_Counter)
    good: _Counter = field(default_factory=_Counter)
    codes: list[DowntimeCode] = field(default_factory=list)  # operators' codings touching this shift
    entered_rejects: int = 0


class MachineTracker:
    """A bus sink (``update``) and a source of ``MachineStatus`` snapshots for any thread."""

    def __init__(self, plant: PlantConfig, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._machines: dict[str, _Machine] = {}
        self._tree = ReasonTree(plant.downtime_reasons)
        # tag key → (machine id, tag name, role); roles: "state", "parts", "rejects", "good"
        self._roles: dict[str, list[tuple[str, str, str]]] = {}
        # Listeners of state changes (the alarm service); called after the lock, changes in order.
        self._state_listeners: list[StateListener] = []
        self._state_changes: list[tuple[str, MachineState, int]] = []
        for site, _line, machine in plant.machines():
            oee = machine.oee
            entry = _Machine(
                config=machine, oee=oee, calendar=plant.calendar_for(machine.id), timezone=site.timezone
            )
            self._machines[machine.id] = entry
            if oee is None:
                continue
            for name in rule_tags(oee.state):
                self._roles.setdefault(f"{machine.id}.{name}", []).append((machine.id, name, "state"))
            counters = {"parts": oee.part_count, "rejects": oee.reject_count, "good": oee.good_count}
            for role, counter in counters.items():
                if counter:
                    self._roles.setdefault(f"{machine.id}.{counter}", []).append((machine.id, counter, role))

    def tags_of(self, machine_id: str) -> list[str]:
        """The tag keys the machine's state and counts are followed from."""
        return sorted(key for key, roles in self._roles.items() if any(r[0] == machine_id for r in roles))

    # ------------------------------------------------------------------ bus sink (runtime loop)

    def update(self, batch: Sequence[Sample]) -> None:
        roles = self._roles
        # A machine's state is derived once per timestamp, after all its state tags of that moment
        # (a rule may read several); a batch may span many moments: a replay of the shift is one batch.
        touched: dict[str, int] = {}
        with self._lock:
            for sample in batch:
                found = roles.get(sample[0])
                if found is None:
                    continue
                for machine_id, name, role in found:
                    machine = self._machines[machine_id]
                    moment = touched.get(machine_id)
                    if moment is not None and sample.ts_us > moment:
                        assert machine.oee is not None
                        self._enter(machine, derive_state(machine.oee.state, machine.latest), moment)
                        del touched[machine_id]
                    self._roll_shift(machine, sample.ts_us)
                    if role == "state":
                        machine.latest[name] = sample
                        touched[machine_id] = max(touched.get(machine_id, 0), sample.ts_us)
                    elif sample.quality is not Quality.BAD and isinstance(sample.value, int | float):
                        counter = (
                            machine.parts
                            if role == "parts"
                            else machine.rejects
                            if role == "rejects"
                            else machine.good
                        )
                        counter.add(float(sample.value))
            for machine_id, ts_us in touched.items():
                machine = self._machines[machine_id]
                assert machine.oee is not None
                self._enter(machine, derive_state(machine.oee.state, machine.latest), ts_us)
            changes, self._state_changes = self._state_changes, []
        for change in changes:
            for listener in tuple(self._state_listeners):
                listener(*change)

    def subscribe_states(self, listener: StateListener) -> Callable[[], None]:
        """``listener(machine id, state, UTC µs)`` at every change of a machine's state (runtime loop)."""
        self._state_listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._state_listeners:
                self._state_listeners.remove(listener)

        return unsubscribe

    def _enter(self, machine: _Machine, state: MachineState, ts_us: int) -> None:
        if state is machine.state and machine.since_us is not None:
            return
        if machine.since_us is not None and ts_us > machine.since_us:
            machine.spans.append(
                StateSpan(start=_utc(machine.since_us), end=_utc(ts_us), state=machine.state)
            )
        machine.state = state
        machine.since_us = ts_us
        if self._state_listeners:
            self._state_changes.append((machine.config.id, state, ts_us))

    def _roll_shift(self, machine: _Machine, ts_us: int) -> None:
        """At a shift change, start the new shift's timeline and counters."""
        if machine.calendar is None:
            return
        moment = _utc(ts_us)
        if machine.shift is not None and machine.shift.contains(moment):
            return
        shift = shift_at(machine.calendar, machine.timezone, moment)
        if shift == machine.shift:
            return
        machine.shift = shift
        machine.spans = []
        if machine.since_us is not None:
            machine.since_us = max(machine.since_us, int((shift.start if shift else moment).timestamp() * US))
        for counter in (machine.parts, machine.rejects, machine.good):
            counter.restart()
        machine.codes = []
        machine.entered_rejects = 0

    # ------------------------------------------------------------------ what operators enter (any thread)

    def add_code(self, code: DowntimeCode) -> None:
        """An operator's coding of a stop; it counts here if it touches the running shift."""
        with self._lock:
            machine = self._machines[code.machine]
            shift = machine.shift
            if shift is None or code.touches(shift.start, shift.end):
                machine.codes.append(code)

    def add_rejects(self, entry: RejectEntry) -> None:
        with self._lock:
            machine = self._machines[entry.machine]
            if machine.shift is None or machine.shift.contains(entry.ts):
                machine.entered_rejects += entry.count

    def backfill_request(self) -> tuple[list[str], datetime] | None:
        """The tags to replay from the historian and since when: the start of the earliest running shift."""
        now = _utc(int(self._clock() * US))
        starts = [
            shift.start
            for machine in self._machines.values()
            if machine.calendar is not None and machine.oee is not None
            for shift in [shift_at(machine.calendar, machine.timezone, now)]
            if shift is not None
        ]
        if not starts or not self._roles:
            return None
        return sorted(self._roles), min(starts)

    # ------------------------------------------------------------------ snapshots (any thread)

    def status(self, machine_id: str) -> MachineStatus:
        now = self._clock()
        with self._lock:
            machine = self._machines[machine_id]
            self._roll_shift(machine, int(now * US))
            timeline = list(machine.spans)
            if machine.since_us is not None:
                start = _utc(machine.since_us)
                end = _utc(int(now * US))
                if end > start:
                    timeline.append(StateSpan(start=start, end=end, state=machine.state))
            parts, rejects, good = machine.parts.count, machine.rejects.count, machine.good.count
            if rejects is None and good is not None and parts is not None:
                rejects = parts - good
            oee_config = machine.oee
            figures = shift_figures(
                machine.shift,
                timeline,
                codes=machine.codes,
                tree=self._tree,
                parts=parts,
                counted_rejects=rejects,
                entered_rejects=machine.entered_rejects,
                ideal_cycle_s=oee_config.ideal_cycle_time if oee_config is not None else None,
                micro_stop_threshold_s=oee_config.micro_stop_threshold if oee_config is not None else 0.0,
                until=_utc(int(now * US)),
            )
            return MachineStatus(
                machine=machine_id,
                state=machine.state,
                since=_utc(machine.since_us) if machine.since_us is not None else None,
                shift=machine.shift,
                timeline=figures.timeline,
                parts=parts,
                rejects=figures.rejects,
                oee=figures.oee,
                stops=figures.stops,
                entered_rejects=machine.entered_rejects,
            )

    def statuses(self) -> list[MachineStatus]:
        return [self.status(machine_id) for machine_id in self._machines]
