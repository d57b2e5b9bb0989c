"""Which stored resolution answers a trend query, and how wide its buckets are (pure arithmetic)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

US_PER_S = 1_000_000


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
    """The finest resolution whose aligned buckets over [start, end) number at most ``max_points``.

    Buckets align to multiples of their width, so a window can touch one more bucket than
    ``window / width``; the width is chosen for ``max_points - 1`` so that the answer never exceeds
    ``max_points``. A resolution whose rows were already deleted by retention before ``start``
    (``raw_from_us``, ``minute_from_us``) is skipped for the next coarser one.
    """
    if max_points < 2:
        raise ValueError("max_points must be at least 2")
    if end_us <= start_us:
        raise ValueError("the end of a trend window must be after its start")
    needed = math.ceil((end_us - start_us) / (max_points - 1))
    finer = (
        (Resolution.RAW, 1, raw_from_us, 60 * US_PER_S),
        (Resolution.MINUTE, 60 * US_PER_S, minute_from_us, 3600 * US_PER_S),
    )
    for resolution, unit, available_from, coarser_unit in finer:
        if needed <= coarser_unit and (available_from is None or start_us >= available_from):
            return Plan(resolution=resolution, bucket_us=max(unit, math.ceil(needed / unit) * unit))
    hour = 3600 * US_PER_S
    return Plan(resolution=Resolution.HOUR, bucket_us=max(hour, math.ceil(needed / hour) * hour))
