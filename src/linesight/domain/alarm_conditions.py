"""Each alarm's live state and the condition that drives it, one class per rule kind, and its messages.

A condition reads samples of its tag (or machine states, or the clock) and tells the evaluator when its
instant value changes; the evaluator (``AlarmEngine``) applies the delays and the state machine.
"""

from __future__ import annotations

import math
import re
from collections import deque
from typing import Any, Protocol

from linesight.domain.alarm_rules import (
    DEFAULT_PRIORITY,
    LEVEL_NAMES,
    LEVEL_PRIORITY,
    DeviationRule,
    DiscreteRule,
    LimitRule,
    MachineStoppedRule,
    RateOfChangeRule,
    StaleRule,
    suppressing_states,
)
from linesight.domain.alarm_types import US, AlarmDefinition, AlarmState
from linesight.domain.machine import MachineState
from linesight.domain.plant import MachineConfig
from linesight.domain.tags import Quality, TagValue

_BAD = Quality.BAD


class Evaluator(Protocol):
    """What a condition needs of the engine."""

    arrival_us: int | None

    def raw_changed(self, alarm: LiveAlarm, raw: bool, ts: int) -> None: ...


# ---------------------------------------------------------------------- one alarm's state


class LiveAlarm:
    """One alarm's state as it evolves; only the engine changes it, under the runtime's lock."""

    __slots__ = (
        "acked",
        "acked_by",
        "activations",
        "active",
        "comment",
        "d",
        "limit",
        "message",
        "oos",
        "pending_us",
        "raised_us",
        "raw",
        "shelved",
        "shelved_until",
        "since_us",
        "state",
        "suppressed",
        "value",
    )

    def __init__(self, definition: AlarmDefinition) -> None:
        self.d = definition
        self.raw = False  # the condition this instant (with deadband)
        self.active = False  # the condition after the on/off delays
        self.pending_us: int | None = None  # when raw started to differ from active
        self.acked = True  # nothing waits for acknowledgement
        self.shelved = False
        self.shelved_until: int | None = None
        self.suppressed = False
        self.oos = False
        self.state = AlarmState.NORMAL
        self.since_us: int | None = None
        self.raised_us: int | None = None
        self.value: TagValue = None
        self.limit: float | None = None
        self.message = ""
        self.acked_by: str | None = None
        self.comment: str | None = None
        self.activations: deque[int] = deque()

    @property
    def hidden(self) -> bool:
        return self.oos or self.shelved or self.suppressed

    def derive(self) -> AlarmState:
        if self.oos:
            return AlarmState.OUT_OF_SERVICE
        if self.shelved:
            return AlarmState.SHELVED
        if self.suppressed:
            return AlarmState.SUPPRESSED
        if self.active:
            return AlarmState.ACKED if self.acked else AlarmState.UNACK
        return AlarmState.NORMAL if self.acked else AlarmState.RTN_UNACK


# ---------------------------------------------------------------------- conditions, one per alarm


def _numeric(value: TagValue, quality: Quality) -> bool:
    return value is not None and value.__class__ is not str and quality != _BAD


class HighLimit:
    __slots__ = ("alarm", "clear_at", "engine", "set_at")

    def __init__(self, engine: Evaluator, alarm: LiveAlarm, limit: float, deadband: float) -> None:
        self.engine, self.alarm, self.set_at, self.clear_at = engine, alarm, limit, limit - deadband
        alarm.limit = limit

    def sample(self, ts: int, value: Any, quality: Quality) -> None:
        if value is None or value.__class__ is str or quality == _BAD:
            return
        a = self.alarm
        a.value = value
        raw = value > (self.clear_at if a.raw else self.set_at)
        if raw is not a.raw or a.pending_us is not None:
            self.engine.raw_changed(a, raw, ts)


class LowLimit(HighLimit):
    __slots__ = ()

    def __init__(self, engine: Evaluator, alarm: LiveAlarm, limit: float, deadband: float) -> None:
        super().__init__(engine, alarm, limit, -deadband)

    def sample(self, ts: int, value: Any, quality: Quality) -> None:
        if value is None or value.__class__ is str or quality == _BAD:
            return
        a = self.alarm
        a.value = value
        raw = value < (self.clear_at if a.raw else self.set_at)
        if raw is not a.raw or a.pending_us is not None:
            self.engine.raw_changed(a, raw, ts)


class Deviation:
    __slots__ = ("alarm", "deadband", "engine", "high", "last", "low", "setpoint")

    def __init__(self, engine: Evaluator, alarm: LiveAlarm, rule: DeviationRule) -> None:
        self.engine, self.alarm = engine, alarm
        self.setpoint: float | None = rule.setpoint if isinstance(rule.setpoint, float) else None
        self.high = math.inf if rule.high is None else rule.high
        self.low = math.inf if rule.low is None else rule.low
        self.deadband = rule.deadband
        self.last: tuple[int, Any] | None = None

    def sample(self, ts: int, value: Any, quality: Quality) -> None:
        if not _numeric(value, quality):
            return
        self.last = (ts, value)
        self._check(ts, value)

    def _check(self, ts: int, value: Any) -> None:
        setpoint = self.setpoint
        if setpoint is None:
            return
        a = self.alarm
        a.value = value
        deviation = value - setpoint
        band = self.deadband if a.raw else 0.0
        raw = deviation > self.high - band or -deviation > self.low - band
        if raw is not a.raw or a.pending_us is not None:
            a.limit = setpoint + self.high if deviation >= 0 else setpoint - self.low
            self.engine.raw_changed(a, raw, ts)


class SetpointFeed:
    """Feeds a deviation rule the setpoint read from another tag."""

    __slots__ = ("deviation",)

    def __init__(self, deviation: Deviation) -> None:
        self.deviation = deviation

    def sample(self, ts: int, value: Any, quality: Quality) -> None:
        if not _numeric(value, quality):
            return
        deviation = self.deviation
        deviation.setpoint = float(value)
        if deviation.last is not None:
            deviation._check(max(ts, deviation.last[0]), deviation.last[1])


class RateOfChange:
    __slots__ = ("alarm", "deadband", "engine", "points", "rate", "sign", "window_us")

    def __init__(self, engine: Evaluator, alarm: LiveAlarm, rule: RateOfChangeRule) -> None:
        self.engine, self.alarm = engine, alarm
        self.rate = rule.rate
        self.window_us = int(rule.window * US)
        self.sign = {"rising": 1, "falling": -1, "both": 0}[rule.direction]
        self.deadband = rule.deadband
        self.points: deque[tuple[int, float]] = deque()
        alarm.limit = rule.rate

    def sample(self, ts: int, value: Any, quality: Quality) -> None:
        if not _numeric(value, quality):
            return
        points = self.points
        if points and ts <= points[-1][0]:
            return  # a repeat or an older sample says nothing about the rate
        points.append((ts, value))
        cutoff = ts - self.window_us
        # Keep the newest point at or before the window's start, so the slope spans the whole window.
        while len(points) > 2 and points[1][0] <= cutoff:
            points.popleft()
        if len(points) < 2:
            return
        first_ts, first = points[0]
        rate = (value - first) * US / (ts - first_ts)
        measured = abs(rate) if self.sign == 0 else rate * self.sign
        a = self.alarm
        a.value = rate
        raw = measured > self.rate - (self.deadband if a.raw else 0.0)
        if raw is not a.raw or a.pending_us is not None:
            self.engine.raw_changed(a, raw, ts)


def _key(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().casefold()
    return float(value)


_FALSE_TEXT = frozenset({"", "0", "false", "off", "no"})


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() not in _FALSE_TEXT
    return bool(value)


class Discrete:
    __slots__ = ("alarm", "engine", "match")

    def __init__(self, engine: Evaluator, alarm: LiveAlarm, rule: DiscreteRule) -> None:
        self.engine, self.alarm = engine, alarm
        self.match = None if rule.values is None else frozenset(_key(value) for value in rule.values)

    def sample(self, ts: int, value: Any, quality: Quality) -> None:
        if value is None or quality == _BAD:
            return
        a = self.alarm
        a.value = value
        match = self.match
        raw = _truthy(value) if match is None else _key(value) in match
        if raw is not a.raw or a.pending_us is not None:
            self.engine.raw_changed(a, raw, ts)


class Stale:
    __slots__ = ("after_us", "alarm", "engine", "last_us")

    def __init__(self, engine: Evaluator, alarm: LiveAlarm, rule: StaleRule, start_us: int) -> None:
        self.engine, self.alarm = engine, alarm
        self.after_us = int(rule.after * US)
        self.last_us = start_us  # nothing arrived yet: stale once ``after`` has passed since the start
        alarm.limit = rule.after

    def sample(self, ts: int, value: Any, quality: Quality) -> None:
        if value is None or quality == _BAD:
            return
        now = self.engine.arrival_us
        arrived = ts if now is None else now
        if arrived > self.last_us:
            self.last_us = arrived
        a = self.alarm
        a.value = value
        if a.raw or a.pending_us is not None:
            self.engine.raw_changed(a, False, arrived)

    def tick(self, now_us: int) -> None:
        a = self.alarm
        if not a.raw and now_us - self.last_us > self.after_us:
            self.engine.raw_changed(a, True, now_us)


class Stopped:
    __slots__ = ("after_us", "alarm", "engine", "since_us", "states")

    def __init__(self, engine: Evaluator, alarm: LiveAlarm, rule: MachineStoppedRule) -> None:
        self.engine, self.alarm = engine, alarm
        self.states = frozenset(rule.states)
        self.after_us = int(rule.after * US)
        self.since_us: int | None = None
        alarm.limit = rule.after

    def state(self, state: MachineState, ts: int) -> None:
        a = self.alarm
        a.value = state.value
        if state in self.states:
            if self.since_us is None:
                self.since_us = ts
            self.tick(ts)
        else:
            self.since_us = None
            if a.raw or a.pending_us is not None:
                self.engine.raw_changed(a, False, ts)

    def tick(self, now_us: int) -> None:
        since = self.since_us
        if since is not None and (now_us - since >= self.after_us) is not self.alarm.raw:
            self.engine.raw_changed(self.alarm, now_us - since >= self.after_us, now_us)


# ---------------------------------------------------------------------- messages


class _Shown:
    """A value in a message: short by default, or as the template's format spec asks."""

    __slots__ = ("raw",)

    def __init__(self, raw: object) -> None:
        self.raw = raw

    def __format__(self, spec: str) -> str:
        raw = self.raw
        if spec:
            return format(raw, spec)
        if raw is None:
            return "—"
        if isinstance(raw, float) and not isinstance(raw, bool):
            if raw != 0 and (abs(raw) >= 1e6 or abs(raw) < 0.01):
                return f"{raw:.3g}"
            return f"{raw:.2f}".rstrip("0").rstrip(".")
        return str(raw)


_SPACES = re.compile(r"\s+")


def default_template(kind: str, level: str) -> str:
    if kind == "limit":
        return f"{{machine}}: {{tag}} {LEVEL_NAMES[level]} at {{value}} {{unit}} (limit {{limit}} {{unit}})"
    return {
        "deviation": "{machine}: {tag} off its setpoint at {value} {unit} (limit {limit} {unit})",
        "rate_of_change": "{machine}: {tag} changing at {value} {unit} (limit {limit} {unit})",
        "discrete": "{machine}: {tag} is {value}",
        "stale": "{machine}: no fresh value of {tag} for {limit} {unit}",
        "machine_stopped": "{machine}: {value} for {limit} {unit} or longer",
    }[kind]


def render(definition: AlarmDefinition, value: TagValue, limit: float | None) -> str:
    fields = {
        "machine": definition.machine_name,
        "tag": definition.tag,
        "value": _Shown(value),
        "limit": _Shown(limit),
        "unit": definition.unit,
    }
    try:
        text = definition.template.format(**fields)
    except (ValueError, TypeError):  # a format spec that does not suit this value (text for a number)
        text = default_template(definition.kind, definition.level).format(**fields)
    return _SPACES.sub(" ", text).replace(" )", ")").strip()


def definitions_for(site: str, machine: MachineConfig, rule: Any) -> list[tuple[AlarmDefinition, Any]]:
    units = {tag.name: tag.unit for tag in machine.tags}
    base: dict[str, Any] = {
        "rule_id": rule.id,
        "kind": rule.kind,
        "machine": machine.id,
        "machine_name": machine.title,
        "site": site,
        "on_delay_us": int(rule.on_delay * US),
        "off_delay_us": int(rule.off_delay * US),
        "suppress_when": suppressing_states(rule.suppress_when),
    }
    tag = getattr(rule, "tag", None) or ""
    unit = units.get(tag, "")
    if isinstance(rule, LimitRule):
        return [
            (
                AlarmDefinition(
                    **base,
                    alarm_id=f"{machine.id}.{rule.id}.{name}",
                    level=name,
                    tag=tag,
                    unit=unit,
                    priority=level.priority or rule.priority or LEVEL_PRIORITY[name],
                    template=level.message or rule.message or default_template("limit", name),
                ),
                level.value,
            )
            for name, level in rule.levels()
        ]
    if isinstance(rule, RateOfChangeRule):
        unit = f"{unit}/s" if unit else "/s"
    elif isinstance(rule, StaleRule | MachineStoppedRule):
        unit = "s"
    definition = AlarmDefinition(
        **base,
        alarm_id=f"{machine.id}.{rule.id}",
        level="",
        tag=tag,
        unit=unit,
        priority=rule.priority or DEFAULT_PRIORITY[rule.kind],
        template=rule.message or default_template(rule.kind, ""),
    )
    return [(definition, None)]
