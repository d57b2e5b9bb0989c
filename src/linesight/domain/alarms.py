"""Alarms after ISA-18.2: the evaluator of a plant's rules, the alarm state machine, operator actions.

``AlarmEngine`` is pure: it is fed sample batches, machine-state changes and the time (``tick``), and
answers each with the ``AlarmEvent``s of the transitions it caused; the runtime journals them and hands
them to listeners. Rules are indexed by tag key, so a sample no rule reads costs one dict lookup.
Times are UTC microseconds since the epoch; event times are the sample's (or the tick's) time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import MappingProxyType
from typing import Any

from linesight.domain.alarm_conditions import (
    Deviation,
    Discrete,
    HighLimit,
    LiveAlarm,
    LowLimit,
    RateOfChange,
    SetpointFeed,
    Stale,
    Stopped,
    definitions_for,
    render,
)
from linesight.domain.alarm_kpis import AlarmKpis, FloodMonitor
from linesight.domain.alarm_rules import (
    DeviationRule,
    DiscreteRule,
    LimitRule,
    Priority,
    RateOfChangeRule,
    StaleRule,
)
from linesight.domain.alarm_types import (
    STANDING,
    UNACKNOWLEDGED,
    US,
    AlarmAction,
    AlarmCommandError,
    AlarmCounts,
    AlarmDefinition,
    AlarmEvent,
    AlarmState,
    AlarmStatus,
    to_us,
    utc,
)
from linesight.domain.machine import MachineState
from linesight.domain.plant import PlantConfig
from linesight.domain.tags import Sample

__all__ = [
    "STANDING",
    "UNACKNOWLEDGED",
    "AlarmAction",
    "AlarmCommandError",
    "AlarmCounts",
    "AlarmDefinition",
    "AlarmEngine",
    "AlarmEvent",
    "AlarmKpis",
    "AlarmState",
    "AlarmStatus",
    "Priority",
    "latest_per_alarm",
    "to_us",
    "utc",
]


class AlarmEngine:
    """Every alarm of a plant: fed samples, machine states and the time; operated by people."""

    def __init__(self, plant: PlantConfig, *, start_us: int) -> None:
        options = plant.alarm_options
        self.options = options
        self._alarms: dict[str, LiveAlarm] = {}
        self._index: dict[str, list[Any]] = {}
        self._stale: list[Stale] = []
        self._stopped: dict[str, list[Stopped]] = {}
        self._suppressible: dict[str, list[LiveAlarm]] = {}
        self._pending: set[LiveAlarm] = set()
        self._timed: set[LiveAlarm] = set()
        self._out: list[AlarmEvent] = []
        self.arrival_us: int | None = None  # when the batch being evaluated arrived
        self._flood_per_site = options.flood_scope == "site"
        self._chatter_us = int(options.chattering_window * US)
        self._stale_us = int(options.stale_after * US)
        self._max_shelve_us = int(options.max_shelve * US)
        self.flood = FloodMonitor(options, start_us=start_us)
        for site, _line, machine in plant.machines():
            for rule in machine.alarms:
                if rule.enabled:
                    for definition, limit in definitions_for(site.id, machine, rule):
                        self._add(definition, rule, limit, start_us)

    def _add(self, definition: AlarmDefinition, rule: Any, limit: float | None, start_us: int) -> None:
        alarm = self._alarms[definition.alarm_id] = LiveAlarm(definition)
        key = definition.tag_key
        check: Any
        if isinstance(rule, LimitRule):
            assert limit is not None
            kind = HighLimit if definition.level in ("hh", "h") else LowLimit
            check = kind(self, alarm, limit, rule.deadband)
        elif isinstance(rule, DeviationRule):
            check = Deviation(self, alarm, rule)
            if isinstance(rule.setpoint, str):
                self._index.setdefault(f"{definition.machine}.{rule.setpoint}", []).append(
                    SetpointFeed(check)
                )
        elif isinstance(rule, RateOfChangeRule):
            check = RateOfChange(self, alarm, rule)
        elif isinstance(rule, DiscreteRule):
            check = Discrete(self, alarm, rule)
        elif isinstance(rule, StaleRule):
            check = Stale(self, alarm, rule, start_us)
            self._stale.append(check)
        else:
            stopped = Stopped(self, alarm, rule)
            self._stopped.setdefault(definition.machine, []).append(stopped)
            check = None
        if check is not None:
            self._index.setdefault(key, []).append(check)
        if definition.suppress_when:
            self._suppressible.setdefault(definition.machine, []).append(alarm)
        alarm.message = render(definition, None, alarm.limit)

    # ------------------------------------------------------------------ inputs

    def update(self, batch: Iterable[Sample], now_us: int | None = None) -> list[AlarmEvent]:
        """Evaluate a batch; ``now_us`` is when it arrived (stale rules count from arrival, not from
        the device's clock); without it each sample's own time is used."""
        index = self._index
        self.arrival_us = now_us
        for sample in batch:
            checks = index.get(sample[0])
            if checks is None:
                continue
            ts, value, quality = sample[1], sample[2], sample[3]
            for check in checks:
                check.sample(ts, value, quality)
        return self._take()

    def machine_state(self, machine: str, state: MachineState, ts_us: int) -> list[AlarmEvent]:
        """The machine entered ``state`` (from its OEE state rule) at ``ts_us``."""
        for alarm in self._suppressible.get(machine, ()):
            suppressed = state in alarm.d.suppress_when
            if suppressed is not alarm.suppressed:
                alarm.suppressed = suppressed
                if not suppressed:
                    alarm.acked = not alarm.active
                self._transition(alarm, ts_us, AlarmAction.SUPPRESS if suppressed else AlarmAction.UNSUPPRESS)
        for stopped in self._stopped.get(machine, ()):
            stopped.state(state, ts_us)
        return self._take()

    def tick(self, now_us: int) -> list[AlarmEvent]:
        """Timers: on/off delays, stale tags, machines stopped too long, timed shelves, floods."""
        for stale in self._stale:
            stale.tick(now_us)
        for stopped_checks in self._stopped.values():
            for stopped in stopped_checks:
                stopped.tick(now_us)
        for alarm in sorted(self._pending, key=lambda a: a.d.alarm_id):
            if alarm.pending_us is not None:
                delay = alarm.d.on_delay_us if alarm.raw else alarm.d.off_delay_us
                if now_us - alarm.pending_us >= delay:
                    self.raw_changed(alarm, alarm.raw, now_us)
        for alarm in sorted(self._timed, key=lambda a: a.d.alarm_id):
            if alarm.shelved_until is not None and now_us >= alarm.shelved_until:
                self._unshelve(alarm, now_us, None, "the shelve time is over")
        self.flood.advance(now_us)
        return self._take()

    # ------------------------------------------------------------------ the state machine

    def raw_changed(self, alarm: LiveAlarm, raw: bool, ts: int) -> None:
        """A condition's instant value changed (or is pending): apply the on/off delays."""
        alarm.raw = raw
        if raw is alarm.active:
            if alarm.pending_us is not None:
                alarm.pending_us = None
                self._pending.discard(alarm)
            return
        delay = alarm.d.on_delay_us if raw else alarm.d.off_delay_us
        if delay > 0:
            if alarm.pending_us is None:
                alarm.pending_us = ts
                self._pending.add(alarm)
                return
            if ts - alarm.pending_us < delay:
                return
            alarm.pending_us = None
            self._pending.discard(alarm)
        self._activate(alarm, raw, ts)

    def _activate(self, alarm: LiveAlarm, active: bool, ts: int) -> None:
        alarm.active = active
        if active:
            alarm.raised_us = ts
            chatter = alarm.activations
            chatter.append(ts)
            while chatter and chatter[0] <= ts - self._chatter_us:
                chatter.popleft()
            alarm.message = render(alarm.d, alarm.value, alarm.limit)
            if not alarm.hidden:
                alarm.acked = False
                alarm.acked_by = None
                self.flood.raised(alarm.d.alarm_id, alarm.d.site if self._flood_per_site else "plant", ts)
            self._transition(alarm, ts, AlarmAction.RAISE)
        elif alarm.shelved and alarm.shelved_until is None:
            self._unshelve(alarm, ts, None, "one-shot shelve ended: the alarm returned to normal")
        else:
            self._transition(alarm, ts, AlarmAction.CLEAR)

    def _unshelve(self, alarm: LiveAlarm, ts: int, user: str | None, comment: str | None) -> None:
        alarm.shelved = False
        alarm.shelved_until = None
        self._timed.discard(alarm)
        alarm.acked = not alarm.active
        self._transition(alarm, ts, AlarmAction.UNSHELVE, user, comment)

    def _transition(
        self,
        alarm: LiveAlarm,
        ts: int,
        action: AlarmAction,
        user: str | None = None,
        comment: str | None = None,
        *,
        force: bool = False,
    ) -> None:
        old, new = alarm.state, alarm.derive()
        if new is old and not force:
            return
        if new is not old:
            alarm.state = new
            alarm.since_us = ts
        if comment:
            alarm.comment = comment
        if not alarm.active and alarm.raised_us is None:
            # Shelved or taken out of service before it was ever raised: its message says what the
            # value is now, rather than the "—" it was made with before any sample came.
            alarm.message = render(alarm.d, alarm.value, alarm.limit)
        d = alarm.d
        self._out.append(
            AlarmEvent(
                ts=utc(ts),
                alarm_id=d.alarm_id,
                rule_id=d.rule_id,
                machine=d.machine,
                tag=d.tag,
                priority=d.priority,
                from_state=old,
                to_state=new,
                action=action,
                value=alarm.value,
                message=alarm.message,
                user=user,
                comment=comment,
                shelved_until=utc(alarm.shelved_until) if alarm.shelved_until is not None else None,
            )
        )

    def _take(self) -> list[AlarmEvent]:
        out = self._out
        if not out:
            return []
        self._out = []
        return out

    # ------------------------------------------------------------------ operator actions

    def _get(self, alarm_id: str) -> LiveAlarm:
        alarm = self._alarms.get(alarm_id)
        if alarm is None:
            raise AlarmCommandError(f"no alarm '{alarm_id}' in this plant (ids are machine.rule[.level])")
        return alarm

    def acknowledge(
        self, alarm_id: str, *, user: str, ts_us: int, comment: str | None = None
    ) -> list[AlarmEvent]:
        """Acknowledge one alarm; an alarm with nothing to acknowledge is left as it is (no event)."""
        alarm = self._get(alarm_id)
        self._acknowledge(alarm, user, ts_us, comment)
        return self._take()

    def _acknowledge(self, alarm: LiveAlarm, user: str, ts: int, comment: str | None) -> None:
        if alarm.state in UNACKNOWLEDGED:
            alarm.acked = True
            alarm.acked_by = user
            self._transition(alarm, ts, AlarmAction.ACKNOWLEDGE, user, comment)

    def acknowledge_all(
        self, *, user: str, ts_us: int, machine: str | None = None, comment: str | None = None
    ) -> list[AlarmEvent]:
        """Acknowledge every unacknowledged alarm (of one machine when given)."""
        for alarm in self._alarms.values():
            if machine is None or alarm.d.machine == machine:
                self._acknowledge(alarm, user, ts_us, comment)
        return self._take()

    def shelve(
        self,
        alarm_id: str,
        *,
        user: str,
        ts_us: int,
        until_us: int | None = None,
        comment: str | None = None,
    ) -> list[AlarmEvent]:
        """Shelve until ``until_us``, or without it until the alarm returns to normal (one-shot)."""
        alarm = self._get(alarm_id)
        if alarm.oos:
            raise AlarmCommandError(f"{alarm_id} is out of service; return it to service before shelving it")
        if until_us is None:
            if not alarm.active:
                raise AlarmCommandError(
                    f"{alarm_id} is not active, and a one-shot shelve lasts until the alarm clears: "
                    "shelve it for a time instead"
                )
        else:
            if until_us <= ts_us:
                raise AlarmCommandError(f"a shelve of {alarm_id} must end in the future")
            if until_us - ts_us > self._max_shelve_us:
                raise AlarmCommandError(
                    f"an alarm may be shelved for at most {self.options.max_shelve / 3600:g} h "
                    "(alarm_options.max_shelve in the plant file)"
                )
        alarm.shelved = True
        alarm.shelved_until = until_us
        if until_us is None:
            self._timed.discard(alarm)
        else:
            self._timed.add(alarm)
        self._transition(alarm, ts_us, AlarmAction.SHELVE, user, comment, force=True)
        return self._take()

    def unshelve(
        self, alarm_id: str, *, user: str, ts_us: int, comment: str | None = None
    ) -> list[AlarmEvent]:
        alarm = self._get(alarm_id)
        if alarm.shelved:
            self._unshelve(alarm, ts_us, user, comment)
        return self._take()

    def remove_from_service(
        self, alarm_id: str, *, user: str, ts_us: int, comment: str | None = None
    ) -> list[AlarmEvent]:
        alarm = self._get(alarm_id)
        if not alarm.oos:
            alarm.oos = True
            alarm.shelved = False  # out of service outranks a shelve, which it ends
            alarm.shelved_until = None
            self._timed.discard(alarm)
            self._transition(alarm, ts_us, AlarmAction.REMOVE_FROM_SERVICE, user, comment)
        return self._take()

    def return_to_service(
        self, alarm_id: str, *, user: str, ts_us: int, comment: str | None = None
    ) -> list[AlarmEvent]:
        alarm = self._get(alarm_id)
        if alarm.oos:
            alarm.oos = False
            alarm.acked = not alarm.active
            self._transition(alarm, ts_us, AlarmAction.RETURN_TO_SERVICE, user, comment)
        return self._take()

    def comment(self, alarm_id: str, *, user: str, ts_us: int, text: str) -> list[AlarmEvent]:
        alarm = self._get(alarm_id)
        if not text.strip():
            raise AlarmCommandError("a comment needs some text")
        self._transition(alarm, ts_us, AlarmAction.COMMENT, user, text.strip(), force=True)
        return self._take()

    # ------------------------------------------------------------------ restart

    def restore(self, latest: Iterable[AlarmEvent]) -> int:
        """Take back each alarm's state from its latest journal event (after a restart); no events.

        An alarm that was active stays active (and unacknowledged if it was) until fresh samples say
        otherwise, which then journal the change. Returns how many alarms were restored.
        """
        restored = 0
        for event in latest:
            alarm = self._alarms.get(event.alarm_id)
            if alarm is None:
                continue  # the rule is gone from the plant file or disabled
            state = event.to_state
            alarm.active = alarm.raw = state in (AlarmState.UNACK, AlarmState.ACKED)
            alarm.acked = state not in UNACKNOWLEDGED
            alarm.oos = state is AlarmState.OUT_OF_SERVICE
            alarm.shelved = state is AlarmState.SHELVED
            alarm.shelved_until = None
            if alarm.shelved:
                if event.shelved_until is None:
                    alarm.active = alarm.raw = True  # a one-shot shelve lasts while its alarm is active
                else:
                    alarm.shelved_until = to_us(event.shelved_until)
                    self._timed.add(alarm)
            alarm.suppressed = state is AlarmState.SUPPRESSED
            alarm.value = event.value
            alarm.message = event.message or alarm.message
            alarm.since_us = event.ts_us
            alarm.raised_us = event.ts_us if alarm.active else None
            if state is AlarmState.ACKED:
                alarm.acked_by = event.user
            alarm.state = alarm.derive()
            restored += 1
        return restored

    # ------------------------------------------------------------------ looking at it

    @property
    def definitions(self) -> list[AlarmDefinition]:
        return [alarm.d for alarm in self._alarms.values()]

    def state_of(self, alarm_id: str) -> AlarmState:
        return self._get(alarm_id).state

    def status(self, alarm_id: str, now_us: int) -> AlarmStatus:
        return self._status(self._get(alarm_id), now_us)

    def _status(self, alarm: LiveAlarm, now_us: int) -> AlarmStatus:
        d = alarm.d
        return AlarmStatus(
            alarm_id=d.alarm_id,
            rule_id=d.rule_id,
            kind=d.kind,
            level=d.level,
            machine=d.machine,
            machine_name=d.machine_name,
            site=d.site,
            tag=d.tag,
            unit=d.unit,
            priority=d.priority,
            state=alarm.state,
            active=alarm.active,
            value=alarm.value,
            limit=alarm.limit,
            message=alarm.message,
            since=utc(alarm.since_us) if alarm.since_us is not None else None,
            raised_at=utc(alarm.raised_us) if alarm.raised_us is not None else None,
            acked_by=alarm.acked_by,
            shelved_until=utc(alarm.shelved_until) if alarm.shelved_until is not None else None,
            comment=alarm.comment,
            chattering=self._chattering(alarm, now_us),
            stale=self._is_stale(alarm, now_us),
        )

    def _chattering(self, alarm: LiveAlarm, now_us: int) -> bool:
        cutoff = now_us - self._chatter_us
        return sum(1 for ts in alarm.activations if ts > cutoff) >= self.options.chattering_cycles

    def _is_stale(self, alarm: LiveAlarm, now_us: int) -> bool:
        return (
            alarm.state in (AlarmState.UNACK, AlarmState.ACKED)
            and alarm.raised_us is not None
            and now_us - alarm.raised_us > self._stale_us
        )

    def statuses(self, now_us: int, *, include_normal: bool = False) -> list[AlarmStatus]:
        """Alarms not in NORMAL (all with ``include_normal``), most urgent first, newest first within."""
        chosen = [
            alarm for alarm in self._alarms.values() if include_normal or alarm.state is not AlarmState.NORMAL
        ]
        chosen.sort(key=lambda a: (_STATE_ORDER[a.state], a.d.priority.rank, -(a.since_us or 0)))
        return [self._status(alarm, now_us) for alarm in chosen]

    def top_unacknowledged(self, now_us: int) -> AlarmStatus | None:
        """The alarm the banner shows: the most urgent unacknowledged one, the newest of those."""
        waiting = [alarm for alarm in self._alarms.values() if alarm.state in UNACKNOWLEDGED]
        if not waiting:
            return None
        best = min(waiting, key=lambda a: (a.d.priority.rank, _STATE_ORDER[a.state], -(a.since_us or 0)))
        return self._status(best, now_us)

    def counts(self) -> AlarmCounts:
        by_state = dict.fromkeys(AlarmState, 0)
        by_priority = dict.fromkeys(Priority, 0)
        unacked_by_priority = dict.fromkeys(Priority, 0)
        for alarm in self._alarms.values():
            state = alarm.state
            by_state[state] += 1
            if state in STANDING:
                by_priority[alarm.d.priority] += 1
                if state in UNACKNOWLEDGED:
                    unacked_by_priority[alarm.d.priority] += 1
        return AlarmCounts(
            standing=sum(by_state[state] for state in STANDING),
            active=by_state[AlarmState.UNACK] + by_state[AlarmState.ACKED],
            unacked=by_state[AlarmState.UNACK] + by_state[AlarmState.RTN_UNACK],
            by_priority=MappingProxyType(by_priority),
            unacked_by_priority=MappingProxyType(unacked_by_priority),
            shelved=by_state[AlarmState.SHELVED],
            suppressed=by_state[AlarmState.SUPPRESSED],
            out_of_service=by_state[AlarmState.OUT_OF_SERVICE],
        )

    def kpis(self, now_us: int, *, top_n: int = 10) -> AlarmKpis:
        alarms = self._alarms.values()
        return self.flood.kpis(
            now_us,
            stale=sum(1 for alarm in alarms if self._is_stale(alarm, now_us)),
            chattering=sum(1 for alarm in alarms if self._chattering(alarm, now_us)),
            top_n=top_n,
        )


# Unacknowledged first (active before returned), then acknowledged, then the hidden ones.
_STATE_ORDER = {
    AlarmState.UNACK: 0,
    AlarmState.RTN_UNACK: 1,
    AlarmState.ACKED: 2,
    AlarmState.SHELVED: 3,
    AlarmState.SUPPRESSED: 4,
    AlarmState.OUT_OF_SERVICE: 5,
    AlarmState.NORMAL: 6,
}


def latest_per_alarm(events: Sequence[AlarmEvent]) -> list[AlarmEvent]:
    """The last event of each alarm, in journal order (for ``AlarmEngine.restore``)."""
    latest: dict[str, AlarmEvent] = {}
    for event in events:
        latest[event.alarm_id] = event
    return list(latest.values())
