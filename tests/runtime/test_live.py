"""Live cache and sample bus: latest value, ring buffers, snapshots, faulty subscribers."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from linesight.domain.tags import Quality, Sample
from linesight.runtime.bus import SampleBus
from linesight.runtime.health import RateMeter
from linesight.runtime.live import LiveCache


def s(tag: str, ts: int, value: float | str | None, quality: Quality = Quality.GOOD) -> Sample:
    return Sample(tag=tag, ts_us=ts, value=value, quality=quality)


def test_latest_value_wins_and_late_samples_do_not_replace_newer_ones() -> None:
    cache = LiveCache()
    cache.update([s("m.a", 10, 1.0), s("m.a", 30, 3.0)])
    cache.update([s("m.a", 20, 2.0)])  # late
    latest = cache.latest("m.a")
    assert latest is not None and latest.value == 3.0


def test_ring_buffer_keeps_the_newest_points_in_order_after_wrapping() -> None:
    cache = LiveCache(ring_capacity=100)
    cache.update([s("m.a", ts, float(ts)) for ts in range(250)])
    ts, values = cache.trend("m.a")
    assert ts.tolist() == list(range(150, 250))
    assert np.array_equal(values, ts.astype(float))
    since_ts, _ = cache.trend("m.a", since_us=240)
    assert since_ts.tolist() == list(range(240, 250))


def test_the_ring_stays_in_order_while_it_grows_to_its_capacity() -> None:
    cache = LiveCache(ring_capacity=300)
    for count in range(1, 700):
        cache.update([s("m.a", count, float(count))])
        ts, values = cache.trend("m.a")
        expected = list(range(max(1, count - 299), count + 1))
        assert ts.tolist() == expected, f"after {count} samples"
        assert values.tolist() == [float(t) for t in expected]


def test_text_and_bad_samples_update_the_latest_value_but_not_the_trend() -> None:
    cache = LiveCache()
    cache.update([s("m.p", 1, "O1234"), s("m.a", 1, 5.0), s("m.a", 2, None, Quality.BAD)])
    assert cache.trend("m.p")[0].size == 0
    assert cache.trend("m.a")[1].tolist() == [5.0]
    latest = cache.latest("m.a")
    assert latest is not None and latest.quality is Quality.BAD
    text = cache.latest("m.p")
    assert text is not None and text.value == "O1234"


def test_snapshots_are_immutable_copies() -> None:
    cache = LiveCache()
    cache.update([s("m.a", 1, 1.0)])
    snap = cache.snapshot()
    cache.update([s("m.a", 2, 2.0)])
    assert snap["m.a"].value == 1.0
    with pytest.raises(TypeError):
        snap["m.a"] = s("m.a", 3, 3.0)  # type: ignore[index]


def test_readers_on_other_threads_always_see_consistent_rings() -> None:
    cache = LiveCache(ring_capacity=64)
    stop = threading.Event()
    problems: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            ts, values = cache.trend("m.a")
            if (
                ts.size != values.size
                or not np.all(np.diff(ts) > 0)
                or not np.array_equal(values, ts.astype(float))
            ):
                problems.append(f"inconsistent ring of {ts.size} points")

    thread = threading.Thread(target=reader)
    thread.start()
    for start in range(0, 20_000, 50):
        cache.update([s("m.a", ts, float(ts)) for ts in range(start, start + 50)])
    stop.set()
    thread.join()
    assert problems == []


@pytest.mark.expect_log_warnings
def test_a_failing_subscriber_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    bus = SampleBus()
    got: list[int] = []

    def broken(_batch: object) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    unsubscribe = bus.subscribe(lambda batch: got.append(len(batch)))
    bus.publish([s("m.a", 1, 1.0)])
    unsubscribe()
    bus.publish([s("m.a", 2, 1.0)])
    assert got == [1]
    assert any("subscriber" in r.getMessage() and r.exc_info for r in caplog.records)


def test_rate_meter_averages_over_its_window() -> None:
    meter = RateMeter(window_s=10.0)
    for second in range(30):
        meter.add(float(second), 100)
    assert meter.rate(29.0) == pytest.approx(100.0, rel=0.11)
    assert meter.rate(100.0) == 0.0
