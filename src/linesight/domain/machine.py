"""Machine states in the plant's words, as OEE and the screens use them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class MachineState(StrEnum):
    RUNNING = "running"
    IDLE = "idle"
    STOPPED = "stopped"  # unplanned stop: fault, breakdown, material shortage
    SETUP = "setup"
    PLANNED_STOP = "planned_stop"
    UNKNOWN = "unknown"  # no good data: the connection is down or the state tag is bad


@dataclass(frozen=True, kw_only=True)
class StateSpan:
    """A stretch of a machine's timeline in one state; ``reason`` is an operator's coding of a stop."""

    start: datetime
    end: datetime
    state: MachineState
    reason: str | None = None
