"""A machine's state from its latest tag values, by the rule its plant file gives (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from linesight.domain.machine import MachineState
from linesight.domain.plant import (
    StateFromCode,
    StateFromMTConnect,
    StateFromRunningBit,
    StateFromThreshold,
    StateRule,
)
from linesight.domain.tags import Quality, Sample

# MTConnect Execution values (Part 2, EXECUTION) and what they mean for OEE.
_EXECUTION = {
    "ACTIVE": MachineState.RUNNING,
    "READY": MachineState.IDLE,
    "PROGRAM_COMPLETED": MachineState.IDLE,
    "OPTIONAL_STOP": MachineState.IDLE,
    "WAIT": MachineState.IDLE,
    "STOPPED": MachineState.STOPPED,
    "INTERRUPTED": MachineState.STOPPED,
    "FEED_HOLD": MachineState.STOPPED,
    "PROGRAM_STOPPED": MachineState.STOPPED,
}
_MANUAL_MODES = {"MANUAL", "MANUAL_DATA_INPUT", "EDIT"}


def rule_tags(rule: StateRule) -> tuple[str, ...]:
    """The tag names (of the machine) the rule reads."""
    if isinstance(rule, StateFromRunningBit):
        return tuple(name for name in (rule.tag, rule.fault_tag, rule.setup_tag) if name)
    if isinstance(rule, StateFromMTConnect):
        return tuple(name for name in (rule.execution, rule.controller_mode) if name)
    return (rule.tag,)


def derive_state(rule: StateRule, latest: Mapping[str, Sample]) -> MachineState:
    """The state the rule gives for the latest samples, keyed by tag name; UNKNOWN without good data."""

    def good(name: str | None) -> Sample | None:
        if name is None:
            return None
        sample = latest.get(name)
        return (
            sample
            if sample is not None and sample.quality is not Quality.BAD and sample.value is not None
            else None
        )

    if isinstance(rule, StateFromCode):
        code = _number(good(rule.tag))
        if code is None:
            return MachineState.UNKNOWN
        return rule.map.get(int(code), rule.default)
    if isinstance(rule, StateFromRunningBit):
        running = good(rule.tag)
        if running is None:
            return MachineState.UNKNOWN
        if _truthy(running.value):
            return MachineState.RUNNING
        fault, setup = good(rule.fault_tag), good(rule.setup_tag)
        if fault is not None and _truthy(fault.value):
            return MachineState.STOPPED
        if setup is not None and _truthy(setup.value):
            return MachineState.SETUP
        return MachineState.IDLE
    if isinstance(rule, StateFromThreshold):
        level = _number(good(rule.tag))
        if level is None:
            return MachineState.UNKNOWN
        return MachineState.RUNNING if level > rule.above else MachineState.IDLE
    execution = good(rule.execution)
    if execution is None:
        return MachineState.UNKNOWN
    state = _EXECUTION.get(str(execution.value).upper(), MachineState.UNKNOWN)
    mode = good(rule.controller_mode)
    if mode is not None and str(mode.value).upper() in _MANUAL_MODES and state is not MachineState.RUNNING:
        return MachineState.SETUP  # a stopped machine in manual mode is being set up
    return state


def _number(sample: Sample | None) -> float | None:
    value = None if sample is None else sample.value
    if value is None or isinstance(value, str):
        return None
    return float(value)


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on", "yes")
    return bool(value)
