"""The vocabulary of alarms: states, actions, journal events, and what the alarm list shows of one alarm."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from linesight.domain.alarm_rules import Priority
from linesight.domain.errors import LineSightError
from linesight.domain.machine import MachineState
from linesight.domain.tags import TagValue

US = 1_000_000


class AlarmState(StrEnum):
    NORMAL = "normal"
    UNACK = "unack"  # active, not acknowledged
    ACKED = "acked"  # active, acknowledged
    RTN_UNACK = "rtn_unack"  # returned to normal, not acknowledged
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"  # by design: the machine is in a state where the alarm means nothing
    OUT_OF_SERVICE = "out_of_service"


STANDING = frozenset({AlarmState.UNACK, AlarmState.ACKED, AlarmState.RTN_UNACK})
UNACKNOWLEDGED = frozenset({AlarmState.UNACK, AlarmState.RTN_UNACK})


class AlarmAction(StrEnum):
    """What caused a journal event."""

    RAISE = "raise"
    CLEAR = "clear"
    ACKNOWLEDGE = "acknowledge"
    SHELVE = "shelve"
    UNSHELVE = "unshelve"  # by a person, at the end of a timed shelve, or a one-shot shelve's alarm cleared
    SUPPRESS = "suppress"
    UNSUPPRESS = "unsuppress"
    REMOVE_FROM_SERVICE = "remove_from_service"
    RETURN_TO_SERVICE = "return_to_service"
    COMMENT = "comment"


class AlarmCommandError(LineSightError):
    """An operator action that cannot apply: unknown alarm, one-shot shelve of a normal alarm..."""


@dataclass(frozen=True, kw_only=True)
class AlarmEvent:
    """One line of the alarm journal: a transition of one alarm, or a comment on it."""

    ts: datetime  # UTC
    alarm_id: str  # machine.rule, or machine.rule.level for limit rules
    rule_id: str
    machine: str
    tag: str  # the tag name on the machine; "" for machine_stopped
    priority: Priority
    from_state: AlarmState
    to_state: AlarmState
    action: AlarmAction
    value: TagValue
    message: str
    user: str | None = None  # None: the system
    comment: str | None = None
    shelved_until: datetime | None = None  # set while the alarm is shelved on a timer

    @property
    def ts_us(self) -> int:
        return to_us(self.ts)


@dataclass(frozen=True, kw_only=True)
class AlarmDefinition:
    """One alarm, made from a rule (a limit rule makes one per level)."""

    alarm_id: str
    rule_id: str
    kind: str
    level: str  # hh, h, l, ll for limit rules, else ""
    machine: str
    machine_name: str
    site: str
    tag: str
    unit: str
    priority: Priority
    template: str
    on_delay_us: int
    off_delay_us: int
    suppress_when: frozenset[MachineState]

    @property
    def tag_key(self) -> str:
        return f"{self.machine}.{self.tag}" if self.tag else ""


@dataclass(frozen=True, kw_only=True)
class AlarmStatus:
    """What the alarm list and banner show of one alarm, at one moment."""

    alarm_id: str
    rule_id: str
    kind: str
    level: str
    machine: str
    machine_name: str
    site: str
    tag: str
    unit: str
    priority: Priority
    state: AlarmState
    active: bool  # the condition holds now (also while shelved, suppressed or out of service)
    value: TagValue
    limit: float | None
    message: str
    since: datetime | None  # when it entered its state
    raised_at: datetime | None  # when the condition last became active
    acked_by: str | None
    shelved_until: datetime | None  # None while shelved: until it clears (one-shot)
    comment: str | None  # the latest comment
    chattering: bool
    stale: bool


@dataclass(frozen=True, kw_only=True)
class AlarmCounts:
    standing: int  # unacknowledged or active: what the alarm list shows
    active: int  # condition active and annunciated (UNACK, ACKED)
    unacked: int  # UNACK and RTN_UNACK
    by_priority: Mapping[Priority, int]  # standing alarms per priority
    unacked_by_priority: Mapping[Priority, int]
    shelved: int
    suppressed: int
    out_of_service: int


def to_us(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * US + delta.microseconds


def utc(ts_us: int) -> datetime:
    return datetime.fromtimestamp(ts_us // US, UTC).replace(microsecond=ts_us % US)
