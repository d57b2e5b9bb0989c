"""Which stored resolution answers a trend query, and how wide its buckets are (pure arithmetic)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

US_PER_S = 1_000_000
MINUTE_US = 60 * US_PER_S
HOUR_US = 3600 * US_PER_S


class Resolution(StrEnum):
    RAW = "raw"
    MINUTE = "1m"
    HOUR = "1h"

    @property
    def seconds(self) -> int:
        return {Resolution.RAW: 0, Resolution.MINUTE: 60, Resolution.HOUR: 3600}[self]


@dataclass(frozen=True, kw_only=True)
class Plan:
    resolution: Resolution
    bucket_us: int  # bucket width; buckets are aligned to multiples of it since the epoch


def plan_query(
    start_us: int,
    end_us: int,
    max_points: int,
    *,
    raw_from_us: int | None = None,
    minute_from_us: int | None = None,
) -> Plan:
    """The resolution and bucket width for a trend of at most ``max_points`` buckets over [start, end).

    The finer resolution is used only when the next coarser one would give fewer than half of
    ``max_points`` buckets: a screen gains little from 2,000 raw buckets over 1,440 one-minute ones,
    and rollups answer several times faster (bench/query.py: a 24 h window went from 66 to 17 ms).
    Every bucket keeps its min and max, so no spike is lost either way.

    Buckets align to multiples of their width, so a window can touch one more bucket than
    ``window / width``; the width is chosen for ``max_points - 1`` so that the answer never exceeds
    ``max_points``. A resolution whose rows were already deleted by retention before ``start``
    (``raw_from_us``, ``minute_from_us``) is skipped for the next coarser one.
    """
    if max_points < 2:
        raise ValueError("max_points must be at least 2")
    if end_us <= start_us:
        raise ValueError("the end of a trend window must be after its start")
    window = end_us - start_us
    needed = math.ceil(window / (max_points - 1))
    levels = (
        (Resolution.RAW, 1, raw_from_us),
        (Resolution.MINUTE, MINUTE_US, minute_from_us),
        (Resolution.HOUR, HOUR_US, None),
    )
    for index, (resolution, unit, available_from) in enumerate(levels):
        if available_from is not None and start_us < available_from:
            continue  # retention already removed these rows
        if index + 1 < len(levels):
            coarser = levels[index + 1][1]
            if needed > coarser or window / coarser >= max_points / 2:
                continue  # the coarser resolution answers as well
        return Plan(resolution=resolution, bucket_us=max(unit, math.ceil(needed / unit) * unit))
    raise AssertionError("the hour rollups are always a resolution")  # pragma: no cover
