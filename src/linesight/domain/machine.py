"""Machine states in the plant's words, as OEE and the screens use them."""

from __future__ import annotations

from enum import StrEnum


class MachineState(StrEnum):
    RUNNING = "running"
    IDLE = "idle"
    STOPPED = "stopped"  # unplanned stop: fault, breakdown, material shortage
    SETUP = "setup"
    PLANNED_STOP = "planned_stop"
    UNKNOWN = "unknown"  # no good data: the connection is down or the state tag is bad
