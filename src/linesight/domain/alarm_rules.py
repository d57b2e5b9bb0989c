"""Alarm rules as the plant file declares them (ISA-18.2): kinds, priorities, delays, suppression by design.

Each machine lists its rules under ``alarms:``; the plant-wide thresholds for chattering, floods and
stale alarms sit under ``alarm_options:``. Checks that need the machine (a rule's tag exists, ids are
unique) are in ``rule_issues``, which the plant loader calls with the machine's tags.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from linesight.domain.machine import MachineState
from linesight.domain.schema import ConfigModel, Name, OptionValue, Seconds

Location = tuple[str | int, ...]

PLACEHOLDERS = ("machine", "tag", "value", "limit", "unit")


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for the most urgent; sorts alarms the way an operator should look at them."""
        return _RANK[self]


_RANK = {Priority.CRITICAL: 0, Priority.HIGH: 1, Priority.MEDIUM: 2, Priority.LOW: 3}

# A rule is suppressed by design while its machine is in one of these states; ``not_running`` is every
# state but running (a machine that does not run cannot have a low line speed).
SuppressCondition = Literal["not_running", "idle", "stopped", "setup", "planned_stop", "unknown"]


def suppressing_states(conditions: Iterable[str]) -> frozenset[MachineState]:
    found: set[MachineState] = set()
    for condition in conditions:
        if condition == "not_running":
            found.update(state for state in MachineState if state is not MachineState.RUNNING)
        else:
            found.add(MachineState(condition))
    return frozenset(found)


def _template(text: str) -> str:
    try:
        fields = [name for _literal, name, _spec, _conv in string.Formatter().parse(text) if name is not None]
    except ValueError as err:
        raise ValueError(
            f"message {text!r} is not a valid template ({err}); write braces as {{{{ }}}}"
        ) from None
    unknown = [name for name in fields if name not in PLACEHOLDERS]
    if unknown:
        allowed = " ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        raise ValueError(f"unknown placeholder {{{unknown[0]}}} in the message; use {allowed}")
    return text


Template = Annotated[str, AfterValidator(_template)]


class _Rule(ConfigModel):
    """What every rule has besides its kind."""

    id: Name
    message: Template | None = None  # None: a message made for the kind
    priority: Priority | None = None  # None: the kind's default
    on_delay: Seconds = 0.0  # the condition must hold this long before the alarm is raised
    off_delay: Seconds = 0.0  # ... and be gone this long before it clears
    enabled: bool = True
    suppress_when: list[SuppressCondition] = Field(default_factory=list)


class _AnalogRule(_Rule):
    tag: Name
    # Hysteresis: an active alarm clears only once the value is this far back inside its limit.
    deadband: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)


class LimitLevel(ConfigModel):
    value: float = Field(allow_inf_nan=False)
    priority: Priority | None = None
    message: Template | None = None


def _level(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"expected a number or {{value: ..., priority: ...}}, got {value!r}")
    if isinstance(value, int | float):
        return {"value": value}
    return value


Level = Annotated[LimitLevel, BeforeValidator(_level)]
LEVELS = ("hh", "h", "l", "ll")
LEVEL_NAMES = {"hh": "high-high", "h": "high", "l": "low", "ll": "low-low"}
LEVEL_PRIORITY = {"hh": Priority.HIGH, "h": Priority.MEDIUM, "l": Priority.MEDIUM, "ll": Priority.HIGH}


class LimitRule(_AnalogRule):
    """High-high, high, low and low-low limits on one tag; each level given is an alarm of its own."""

    kind: Literal["limit"]
    hh: Level | None = None
    h: Level | None = None
    low: Level | None = Field(default=None, alias="l")
    ll: Level | None = None

    def levels(self) -> list[tuple[str, LimitLevel]]:
        found = {"hh": self.hh, "h": self.h, "l": self.low, "ll": self.ll}
        return [(name, level) for name, level in found.items() if level is not None]

    @model_validator(mode="after")
    def _ordered(self) -> LimitRule:
        given = self.levels()
        if not given:
            raise ValueError("a limit rule needs at least one of hh, h, l, ll")
        for (upper, above), (lower, below) in itertools.pairwise(given):
            if above.value <= below.value:
                raise ValueError(
                    f"limit {upper} ({above.value:g}) must be above {lower} ({below.value:g}): "
                    "hh > h > l > ll"
                )
        return self


def _setpoint(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number or the name of a tag of this machine, got {value!r}")
    return value


class DeviationRule(_AnalogRule):
    """The tag is too far from a setpoint: a fixed number or another tag of the machine."""

    kind: Literal["deviation"]
    setpoint: Annotated[float | str, BeforeValidator(_setpoint)]
    high: float | None = Field(default=None, gt=0.0, allow_inf_nan=False)  # allowed above the setpoint
    low: float | None = Field(default=None, gt=0.0, allow_inf_nan=False)  # allowed below it

    @model_validator(mode="after")
    def _a_band(self) -> DeviationRule:
        if self.high is None and self.low is None:
            raise ValueError(
                "a deviation rule needs high, low or both (the allowed band around the setpoint)"
            )
        return self


class RateOfChangeRule(_AnalogRule):
    """The tag changes faster than ``rate`` units per second, measured over ``window``."""

    kind: Literal["rate_of_change"]
    rate: float = Field(gt=0.0, allow_inf_nan=False)
    window: Seconds = Field(default=10.0, gt=0.0)
    direction: Literal["rising", "falling", "both"] = "both"


class DiscreteRule(_Rule):
    """The tag equals one of ``values`` (text compared without case), or without values is truthy."""

    kind: Literal["discrete"]
    tag: Name
    values: list[OptionValue] | None = Field(default=None, min_length=1)


class StaleRule(_Rule):
    """No good sample of the tag arrived for ``after``."""

    kind: Literal["stale"]
    tag: Name
    after: Seconds = Field(gt=0.0)


class MachineStoppedRule(_Rule):
    """The machine has been in one of ``states`` (by its OEE state rule) for ``after`` or longer."""

    kind: Literal["machine_stopped"]
    after: Seconds = Field(default=0.0, ge=0.0)
    states: list[MachineState] = Field(default_factory=lambda: [MachineState.STOPPED], min_length=1)


AlarmRule = Annotated[
    LimitRule | DeviationRule | RateOfChangeRule | DiscreteRule | StaleRule | MachineStoppedRule,
    Field(discriminator="kind"),
]
RULE_KINDS = ("limit", "deviation", "rate_of_change", "discrete", "stale", "machine_stopped")

DEFAULT_PRIORITY: dict[str, Priority] = {
    "deviation": Priority.MEDIUM,
    "rate_of_change": Priority.MEDIUM,
    "discrete": Priority.HIGH,
    "stale": Priority.LOW,
    "machine_stopped": Priority.MEDIUM,
}


class AlarmOptions(ConfigModel):
    """Plant-wide alarm management thresholds (ISA-18.2 performance monitoring)."""

    # An alarm that is raised this many times within the window is chattering.
    chattering_cycles: int = Field(default=3, ge=2)
    chattering_window: Seconds = Field(default=60.0, gt=0.0)
    # More than this many alarms raised within the window is a flood.
    flood_alarms: int = Field(default=10, ge=1)
    flood_window: Seconds = Field(default=600.0, gt=0.0)
    flood_scope: Literal["site", "plant"] = "site"
    # An alarm active longer than this is stale.
    stale_after: Seconds = Field(default=86400.0, gt=0.0)
    # The longest a timed shelve may last; ISA-18.2 wants shelving to end on its own.
    max_shelve: Seconds = Field(default=8 * 3600.0, gt=0.0)
    # The period the KPIs (alarms per 10 minutes, time in flood, most frequent) cover.
    kpi_window: Seconds = Field(default=86400.0, gt=0.0)


def rule_tags(rule: Any) -> list[tuple[str, str]]:
    """The (field, tag name) pairs a rule reads from its machine."""
    found = []
    tag = getattr(rule, "tag", None)
    if tag is not None:
        found.append(("tag", tag))
    if isinstance(rule, DeviationRule) and isinstance(rule.setpoint, str):
        found.append(("setpoint", rule.setpoint))
    return found


def rule_issues(
    rules: Sequence[Any], tag_names: Iterable[str], *, has_state: bool
) -> list[tuple[Location, str]]:
    """Problems the schema cannot see, located within the machine's ``alarms`` list."""
    issues: list[tuple[Location, str]] = []
    names = set(tag_names)
    allowed = ", ".join(sorted(names))
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        if rule.id in seen:
            issues.append(((index, "id"), f"alarm id '{rule.id}' is already used by alarms[{seen[rule.id]}]"))
        seen.setdefault(rule.id, index)
        for field_name, tag in rule_tags(rule):
            if tag not in names:
                issues.append(
                    ((index, field_name), f"no tag '{tag}' on this machine; its tags are: {allowed}")
                )
        if not has_state:
            if isinstance(rule, MachineStoppedRule):
                issues.append(
                    (
                        (index, "kind"),
                        "machine_stopped needs the machine's state: give the machine an oee.state rule",
                    )
                )
            elif rule.suppress_when:
                issues.append(
                    (
                        (index, "suppress_when"),
                        "suppress_when needs the machine's state: give the machine an oee.state rule",
                    )
                )
    return issues
