"""Plain-text durations and times of day as people write them in a plant file ("500ms", "15m", "06:00")."""

from __future__ import annotations

import re
from datetime import time

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
_FACTORS = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_TIME_OF_DAY = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?\s*$")

DURATION_HELP = "a number of seconds or a number with a unit: ms, s, m (or min), h, d, e.g. 500ms, 15m, 2h"


def parse_duration(value: object) -> float:
    """Seconds from ``12``, ``0.5``, ``"500ms"``, ``"15m"``, ``"2h"``, ``"30d"``; raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration ({DURATION_HELP}), got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _FACTORS[match.group(2)]
    else:
        raise ValueError(f"expected a duration ({DURATION_HELP}), got {value!r}")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {value!r}")
    return seconds


def parse_time_of_day(value: object) -> time:
    """A wall-clock time from ``"06:00"`` or ``"22:30:15"``; raises ValueError."""
    if isinstance(value, time):
        return value
    if isinstance(value, str) and (match := _TIME_OF_DAY.match(value)):
        return time(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))
    raise ValueError(f"expected a time of day as HH:MM (00:00 to 23:59), got {value!r}")
