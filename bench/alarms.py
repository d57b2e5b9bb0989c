"""Alarm evaluation: samples/s against 1,000 rules, and the latency from a sample on the bus to a listener.

Targets: >= 100,000 samples/s evaluated against 1,000 rules on 2 cores; a triggering sample reaches an
alarm listener within 1 s (P50/P95/max) in a running engine under load.
Run: .venv/bin/python bench/alarms.py [--seconds S] [--load-machines N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Run as a script, bench/ is first on sys.path: the shared synthetic plants import as a top-level module.
from _plants import synthetic_plant
from linesight.domain.alarms import AlarmAction, AlarmEngine, AlarmEvent
from linesight.domain.plant import PlantConfig
from linesight.domain.tags import Quality, Sample, TagSpec, TagValue
from linesight.drivers import registry
from linesight.runtime.alarms import AlarmService
from linesight.runtime.engine import Engine
from linesight.storage import Historian

THROUGHPUT_TARGET = 100_000
LATENCY_TARGET_S = 1.0
RULES = 1000
US = 1_000_000


def rule_plant(machines: int = 100, tags: int = 10) -> PlantConfig:
    """``machines`` x ``tags`` tags, one rule on each (1,000 by default), every kind represented."""
    members = []
    for m in range(machines):
        rules: list[dict[str, Any]] = []
        for t in range(tags):
            tag = f"t{t}"
            kind = t % 10
            if kind < 5:
                rules.append(
                    {"id": f"r{t}", "kind": "limit", "tag": tag, "hh": 95, "h": 90, "l": 10, "deadband": 1}
                )
            elif kind == 5:
                rules.append({"id": f"r{t}", "kind": "deviation", "tag": tag, "setpoint": "t0", "high": 45})
            elif kind == 6:
                rules.append(
                    {"id": f"r{t}", "kind": "rate_of_change", "tag": tag, "rate": 50, "window": "5s"}
                )
            elif kind == 7:
                rules.append({"id": f"r{t}", "kind": "discrete", "tag": tag, "values": [99, 100]})
            elif kind == 8:
                rules.append({"id": f"r{t}", "kind": "stale", "tag": tag, "after": "30s"})
            else:
                rules.append({"id": f"r{t}", "kind": "limit", "tag": tag, "h": 97, "on_delay": "2s"})
        members.append(
            {
                "id": f"m{m:03d}",
                "driver": "simulator",
                "tags": [{"name": f"t{t}", "address": "spindle_speed"} for t in range(tags)],
                "alarms": rules,
            }
        )
    return PlantConfig.model_validate(
        {"id": "bench", "sites": [{"id": "s", "lines": [{"id": "l", "machines": members}]}]}
    )


def batches(plant: PlantConfig, count: int, size: int, seed: int = 1) -> list[list[Sample]]:
    """Random walks between 0 and 100 on every tag: mostly normal, now and then crossing a limit."""
    keys = [spec.key for spec in plant.tag_specs()]
    rng = random.Random(seed)
    level = dict.fromkeys(keys, 50.0)
    ts = 1_780_000_000 * US
    out = []
    for _ in range(count):
        batch = []
        for _ in range(size):
            key = keys[rng.randrange(len(keys))]
            value = min(100.0, max(0.0, level[key] + rng.gauss(0.0, 4.0)))
            level[key] = value
            ts += 10
            batch.append(Sample(key, ts, value, Quality.GOOD))
        out.append(batch)
    return out


def measure_throughput(seconds: float) -> tuple[float, float, int]:
    plant = rule_plant()
    rules = sum(len(machine.alarms) for _s, _l, machine in plant.machines())
    assert rules == RULES
    data = batches(plant, 200, 1000)
    samples = sum(len(batch) for batch in data)

    engine = AlarmEngine(plant, start_us=data[0][0].ts_us)
    events = 0
    t0 = time.perf_counter()
    rounds = 0
    while time.perf_counter() - t0 < seconds:
        for batch in data:
            events += len(engine.update(batch))
        rounds += 1
    pure = rounds * samples / (time.perf_counter() - t0)

    # As wired in production: the service's lock, the arrival time, the journal queue, a listener.
    service = AlarmService(plant, clock=lambda: data[0][0].ts_us / US)
    service.subscribe(lambda events: None)
    t0 = time.perf_counter()
    rounds = 0
    while time.perf_counter() - t0 < seconds:
        for batch in data:
            service.update(batch)
        rounds += 1
    wired = rounds * samples / (time.perf_counter() - t0)
    return pure, wired, events


class PulseDriver:
    """A device whose one tag jumps between 0 and 200 every quarter second: an alarm raised twice a second."""

    def __init__(self, tags: Sequence[TagSpec]) -> None:
        self.tags = tags

    async def connect(self) -> None:
        return None

    async def read(self, tags: Sequence[TagSpec]) -> list[Sample]:
        now = time.time()
        value = 200.0 if int(now * 4) % 2 else 0.0
        return [Sample(tag.key, int(now * US), value) for tag in tags]

    async def write(self, tag: TagSpec, value: TagValue) -> None:
        return None

    async def close(self) -> None:
        return None


class PulseFactory:
    name = "pulse"

    def validate(self, connection: Mapping[str, Any], tags: Sequence[TagSpec]) -> list[Any]:
        return []

    def create(self, machine_id: str, connection: Mapping[str, Any], tags: Sequence[TagSpec]) -> PulseDriver:
        return PulseDriver(tags)


async def measure_latency(
    seconds: float, load_machines: int, db: Path
) -> tuple[list[float], list[float], float]:
    load = synthetic_plant(load_machines, 100, 0.1)  # load_machines x 100 tags at 10 Hz into the historian
    machines = [machine.model_dump(by_alias=True) for _s, _l, machine in load.machines()]
    per_machine = min(100, RULES // max(1, load_machines))
    for machine in machines:  # 1,000 rules evaluated on the load too (limits it never reaches)
        machine["alarms"] = [
            {"id": f"r{t}", "kind": "limit", "tag": f"t{t:03d}", "h": 1e9} for t in range(per_machine)
        ]
    machines.append(
        {
            "id": "pulse",
            "driver": "pulse",
            "poll_interval": 0.05,
            "tags": [{"name": "level", "address": "level"}],
            "alarms": [{"id": "high", "kind": "limit", "tag": "level", "h": 100}],
        }
    )
    plant = PlantConfig.model_validate(
        {"id": "bench", "sites": [{"id": "s", "lines": [{"id": "l", "machines": machines}]}]}
    )
    factories = {name: registry.factory(name) for name in ("simulator",)}
    factories["pulse"] = PulseFactory()  # type: ignore[assignment]

    entered: dict[int, float] = {}  # sample time → when it entered the bus (perf_counter)
    from_bus: list[float] = []
    from_read: list[float] = []

    def on_bus(batch: Sequence[Sample]) -> None:
        now = time.perf_counter()
        for sample in batch:
            if sample[0] == "pulse.level":
                entered[sample[1]] = now

    def on_events(events: Sequence[AlarmEvent]) -> None:
        now = time.perf_counter()
        wall = time.time()
        for event in events:
            if event.alarm_id == "pulse.high.h" and event.action is AlarmAction.RAISE:
                start = entered.get(event.ts_us)
                if start is not None:
                    from_bus.append(now - start)
                from_read.append(wall - event.ts_us / US)

    with Historian(db) as historian:
        engine = Engine(plant, historian=historian, factories=factories)
        engine.bus.subscribe(on_bus)  # before start: the first sink, so it sees a batch as it enters
        engine.alarms.subscribe(on_events)
        async with engine:
            await asyncio.sleep(2.0)
            from_bus.clear()
            from_read.clear()
            await asyncio.sleep(seconds)
            rate = engine.stats().samples_per_s
    return from_bus, from_read, rate


def _figures(values: list[float]) -> str:
    if not values:
        return "no events"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"P50 {statistics.median(ordered) * 1000:.2f} ms   P95 {p95 * 1000:.2f} ms   "
        f"max {ordered[-1] * 1000:.2f} ms   ({len(ordered)} alarms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--load-machines", type=int, default=20)
    args = parser.parse_args()

    pure, wired, events = measure_throughput(args.seconds / 2)
    print(f"(a) evaluation against {RULES:,} rules ({events:,} alarm events in the pure run)")
    print(f"    AlarmEngine:  {pure:,.0f} samples/s   (target >= {THROUGHPUT_TARGET:,})")
    print(f"    AlarmService: {wired:,.0f} samples/s   (as wired: lock, journal queue, a listener)")

    with tempfile.TemporaryDirectory() as folder:
        from_bus, from_read, rate = asyncio.run(
            measure_latency(args.seconds, args.load_machines, Path(folder) / "b.duckdb")
        )
    worst = max(from_bus + from_read, default=float("inf"))
    print(f"(b) latency to a listener, engine running {rate:,.0f} samples/s into the historian")
    print(f"    from the bus:        {_figures(from_bus)}   (target <= {LATENCY_TARGET_S * 1000:.0f} ms)")
    print(f"    from the device read: {_figures(from_read)}")
    ok = min(pure, wired) >= THROUGHPUT_TARGET and worst <= LATENCY_TARGET_S and bool(from_bus)
    print("RESULT", "PASS" if ok else "FAIL")


if __name__ == "__main__":
    main()
