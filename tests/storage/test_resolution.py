"""Which resolution answers a trend window: enough points, fast, never beyond max_points."""

from __future__ import annotations

import pytest

from linesight.storage.resolution import HOUR_US, MINUTE_US, US_PER_S, Resolution, plan_query

H = 3600 * US_PER_S
D = 24 * H


@pytest.mark.parametrize(
    ("window", "resolution", "bucket_us"),
    [
        (10 * 60 * US_PER_S, Resolution.RAW, 300_151),  # 10 min: buckets of 0.3 s
        (H, Resolution.RAW, 1_800_901),
        (8 * H, Resolution.RAW, 14_407_204),  # 480 one-minute buckets would be too few
        (16 * H, Resolution.RAW, 28_814_408),
        (17 * H, Resolution.MINUTE, MINUTE_US),  # 1,020 one-minute buckets: enough
        (D, Resolution.MINUTE, MINUTE_US),
        (7 * D, Resolution.MINUTE, 6 * MINUTE_US),
        (30 * D, Resolution.MINUTE, 22 * MINUTE_US),
        (42 * D, Resolution.HOUR, HOUR_US),  # 1,008 hourly buckets: enough
        (90 * D, Resolution.HOUR, 2 * HOUR_US),
        (3 * 365 * D, Resolution.HOUR, 14 * HOUR_US),
    ],
)
def test_the_finest_resolution_that_is_worth_it_is_chosen(
    window: int, resolution: Resolution, bucket_us: int
) -> None:
    start = 1_700_000_000 * US_PER_S
    plan = plan_query(start, start + window, 2000)
    assert (plan.resolution, plan.bucket_us) == (resolution, bucket_us)
    # Aligned buckets touching the window never number more than max_points.
    first, last = start // plan.bucket_us, (start + window - 1) // plan.bucket_us
    assert last - first + 1 <= 2000


def test_a_resolution_removed_by_retention_is_skipped() -> None:
    start = 1_700_000_000 * US_PER_S
    plan = plan_query(start, start + H, 2000, raw_from_us=start + 1)
    assert plan.resolution is Resolution.MINUTE and plan.bucket_us == MINUTE_US
    plan = plan_query(start, start + H, 2000, raw_from_us=start + 1, minute_from_us=start + 1)
    assert plan.resolution is Resolution.HOUR


def test_nonsense_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="after its start"):
        plan_query(10, 10, 2000)
    with pytest.raises(ValueError, match="at least 2"):
        plan_query(0, 10, 1)
