"""Coordinators: isolation between machines, timeouts, backoff, recovery, bad tags, scaling, deadband."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from typing import Any

import pytest

from linesight.domain.plant import PlantConfig
from linesight.domain.tags import Quality, Sample
from linesight.runtime.backoff import Backoff
from linesight.runtime.engine import Engine
from linesight.runtime.health import ConnectionState

from .scripted import ScriptedFactory

FAST = Backoff(initial=0.05, factor=2.0, cap=0.2, jitter=0.0)


def plant(*machines: dict[str, Any]) -> PlantConfig:
    return PlantConfig.model_validate(
        {"id": "t", "sites": [{"id": "s", "lines": [{"id": "l", "machines": list(machines)}]}]}
    )


def machine(machine_id: str, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "id": machine_id,
        "driver": "scripted",
        "poll_interval": 0.05,
        "timeout": 0.5,
        "tags": [{"name": "a", "address": "a"}, {"name": "b", "address": "b"}],
    }
    spec.update(extra)
    return spec


class Recorder:
    def __init__(self) -> None:
        self.samples: list[tuple[float, Sample]] = []

    def __call__(self, batch: Any) -> None:
        now = time.monotonic()
        self.samples.extend((now, sample) for sample in batch)

    def of(self, tag: str) -> list[tuple[float, Sample]]:
        return [(at, s) for at, s in self.samples if s.tag == tag]


async def wait_for(predicate: Any, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.mark.expect_log_warnings
async def test_a_hung_machine_does_not_delay_the_others() -> None:
    factory = ScriptedFactory()
    engine = Engine(
        plant(machine("hung", timeout=2.0), machine("ok1"), machine("ok2")),
        historian=None,
        factories={"scripted": factory},
        backoff=FAST,
    )
    recorder = Recorder()
    engine.bus.subscribe(recorder)
    async with engine:
        await wait_for(lambda: len(factory.drivers["hung"].reads) >= 2)
        factory.drivers["hung"].hang.set()
        hung_from = time.monotonic()
        # Let the hung machine sit in its 2 s timeout while the others keep polling.
        await wait_for(lambda: engine.machine_health("hung").state is ConnectionState.UNAVAILABLE)
        hung_until = time.monotonic()
    assert hung_until - hung_from >= 1.9  # the hang really lasted the whole timeout
    for name in ("ok1.a", "ok2.b"):
        during = [at for at, _sample in recorder.of(name) if hung_from <= at <= hung_until]
        gaps = [later - earlier for earlier, later in itertools.pairwise(during)]
        # Polled every 50 ms: the healthy machines never waited for the hung one's 2 s timeout.
        assert len(during) >= 10
        assert max(gaps) < 1.0
    expect_bad = [s for _at, s in recorder.of("hung.a") if s.quality is Quality.BAD]
    assert len(expect_bad) == 1


@pytest.mark.expect_log_warnings
async def test_a_lost_device_is_marked_bad_logged_once_and_recovers_by_itself(
    caplog: pytest.LogCaptureFixture,
) -> None:
    factory = ScriptedFactory()
    engine = Engine(plant(machine("m")), historian=None, factories={"scripted": factory}, backoff=FAST)
    recorder = Recorder()
    engine.bus.subscribe(recorder)
    async with engine:
        driver = None
        await wait_for(lambda: "m" in factory.drivers and len(factory.drivers["m"].reads) >= 2)
        driver = factory.drivers["m"]
        driver.unreachable = True
        await wait_for(lambda: engine.machine_health("m").failures >= 4)
        health = engine.machine_health("m")
        assert health.state is ConnectionState.UNAVAILABLE
        await wait_for(lambda: engine.machine_health("m").phase == "backing off")
        assert health.last_error is not None and "scripted" in health.last_error
        driver.unreachable = False
        driver.values["m.a"] = 42.0
        await wait_for(lambda: engine.machine_health("m").state is ConnectionState.ONLINE)
        assert engine.machine_health("m").phase == "connected"
        await wait_for(lambda: any(s.value == 42.0 for _at, s in recorder.of("m.a")))
    unavailable = [r for r in caplog.records if "unavailable" in r.getMessage()]
    recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
    assert len(unavailable) == 1 and unavailable[0].levelno == logging.WARNING
    assert len(recovered) == 1
    bad = [s for _at, s in recorder.of("m.a") if s.quality is Quality.BAD]
    assert len(bad) == 1 and bad[0].value is None  # marked bad once, not dropped, not repeated
    assert driver is not None and driver.connects >= 5  # it kept trying to reconnect


def test_backoff_doubles_up_to_the_cap_with_bounded_jitter() -> None:
    policy = Backoff(initial=1.0, factor=2.0, cap=30.0, jitter=0.2)
    rng = random.Random(7)
    for attempt, base in [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (6, 30.0), (40, 30.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert min(delays) >= base * 0.8 - 1e-9
        assert max(delays) <= base * 1.2 + 1e-9
        assert max(delays) - min(delays) > 0  # jittered, so edges do not retry in step
    exact = Backoff(initial=0.5, factor=2.0, cap=3.0, jitter=0.0)
    assert [exact.delay(n, rng) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


@pytest.mark.expect_log_warnings
async def test_backoff_between_reconnects_grows_while_the_device_stays_away() -> None:
    factory = ScriptedFactory()
    backoff = Backoff(initial=0.05, factor=2.0, cap=0.4, jitter=0.0)
    engine = Engine(plant(machine("m")), historian=None, factories={"scripted": factory}, backoff=backoff)
    connects: list[float] = []
    async with engine:
        await wait_for(lambda: engine.machine_health("m").polls >= 2)
        driver = factory.drivers["m"]
        driver.unreachable = True
        original = driver.connect

        async def timed_connect() -> None:
            connects.append(time.monotonic())
            await original()

        driver.connect = timed_connect  # type: ignore[method-assign]
        await wait_for(lambda: len(connects) >= 6)
    gaps = [b - a for a, b in itertools.pairwise(connects)]
    # 0.1, 0.2, 0.4, 0.4 ...: growing, then capped (lower bounds only; a busy machine is only slower).
    assert gaps[1] >= 0.19 and gaps[2] >= 0.39 and gaps[3] >= 0.39
    assert gaps[2] > gaps[0]


@pytest.mark.expect_log_warnings
async def test_a_refused_address_marks_only_that_tag_bad_and_the_rest_keeps_flowing() -> None:
    factory = ScriptedFactory()
    engine = Engine(plant(machine("m")), historian=None, factories={"scripted": factory}, backoff=FAST)
    recorder = Recorder()
    engine.bus.subscribe(recorder)
    async with engine:
        await wait_for(lambda: "m" in factory.drivers)
        driver = factory.drivers["m"]
        driver.refused.add("m.b")
        await wait_for(lambda: "m.b" in engine.machine_health("m").tag_errors)
        mark = len(recorder.samples)
        await wait_for(lambda: len([s for _at, s in recorder.samples[mark:] if s.tag == "m.a"]) >= 5)
        health = engine.machine_health("m")
        assert health.state is ConnectionState.ONLINE
        assert "illegal data address" in health.tag_errors["m.b"]
        driver.refused.clear()
        await wait_for(lambda: "m.b" not in engine.machine_health("m").tag_errors)
    bad = [s for _at, s in recorder.of("m.b") if s.quality is Quality.BAD]
    assert len(bad) == 1
    assert recorder.of("m.b")[-1][1].quality is Quality.GOOD


async def test_values_are_scaled_and_changes_inside_the_deadband_are_dropped() -> None:
    factory = ScriptedFactory()
    tags = [
        {"name": "a", "address": "a", "scale": 0.01, "offset": -5},
        {"name": "b", "address": "b", "deadband": 1.0},
    ]
    engine = Engine(
        plant(machine("m", tags=tags)), historian=None, factories={"scripted": factory}, backoff=FAST
    )
    recorder = Recorder()
    engine.bus.subscribe(recorder)
    async with engine:
        await wait_for(lambda: "m" in factory.drivers)
        driver = factory.drivers["m"]
        driver.values["m.a"] = 12345
        for value in (10.0, 10.4, 10.9, 11.2, 11.5):
            driver.values["m.b"] = value
            count = len(driver.reads)
            await wait_for(lambda count=count: len(driver.reads) >= count + 2)
    values_a = [s.value for _at, s in recorder.of("m.a")]
    assert pytest.approx(118.45) in values_a  # 12345 * 0.01 - 5
    kept_b = [s.value for _at, s in recorder.of("m.b")]
    # 10.4, 10.9 and 11.5 are within 1.0 of the last kept value (0.0 shows if read before the first change).
    assert kept_b in ([0.0, 10.0, 11.2], [10.0, 11.2])


@pytest.mark.expect_log_warnings
async def test_a_machine_whose_driver_cannot_be_created_reports_it_and_the_others_run() -> None:
    factory = ScriptedFactory()
    engine = Engine(
        plant(machine("broken", connection={"broken": True}), machine("fine")),
        historian=None,
        factories={"scripted": factory},
        backoff=FAST,
    )
    async with engine:
        await wait_for(lambda: engine.machine_health("fine").polls >= 3)
        broken = engine.machine_health("broken")
        assert broken.state is ConnectionState.UNAVAILABLE
        assert broken.last_error is not None and "cannot create driver" in broken.last_error
        assert [h.machine for h in engine.health()] == ["broken", "fine"]
    assert engine.machine_health("fine").state is ConnectionState.STOPPED


async def test_health_reports_round_trip_and_sample_rate() -> None:
    factory = ScriptedFactory()
    engine = Engine(plant(machine("m")), historian=None, factories={"scripted": factory}, backoff=FAST)
    async with engine:
        await wait_for(lambda: engine.machine_health("m").polls >= 10)
        health = engine.machine_health("m")
        assert health.state is ConnectionState.ONLINE
        assert health.round_trip_ms is not None and health.round_trip_ms >= 0.0
        assert health.last_success_at is not None
        assert health.samples_per_s > 0
        assert engine.stats().samples_total >= 20
