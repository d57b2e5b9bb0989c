"""Sustained samples/s from simulated machines through the runtime into the DuckDB historian, with CPU used.

Target: >= 200,000 samples/s on 2 cores. Run: .venv/bin/python bench/ingest.py [--machines N --tags M --hz F]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import psutil

# Run as a script, bench/ is first on sys.path: the shared synthetic plants import as a top-level module.
from _plants import synthetic_plant
from linesight.runtime.engine import Engine
from linesight.storage import Historian

TARGET = 200_000


async def measure(machines: int, tags: int, hz: float, warmup: float, seconds: float, db: Path) -> None:
    plant = synthetic_plant(machines, tags, 1.0 / hz)
    offered = machines * tags * hz
    process = psutil.Process()
    with Historian(db) as historian:
        async with Engine(plant, historian=historian) as engine:
            await asyncio.sleep(warmup)
            writer = engine.writer
            assert writer is not None
            stored0 = writer.stats().stored
            cpu0 = process.cpu_times()
            t0 = time.perf_counter()
            await asyncio.sleep(seconds)
            elapsed = time.perf_counter() - t0
            cpu1 = process.cpu_times()
            stats = writer.stats()
            stored1 = stats.stored
            overruns = sum(h.overruns for h in engine.health())
        final = historian.stats()
    rate = (stored1 - stored0) / elapsed
    cpu = ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / elapsed
    print(f"plant: {machines} machines x {tags} tags at {hz:g} Hz = {offered:,.0f} samples/s offered")
    print(f"stored: {rate:,.0f} samples/s sustained over {elapsed:.1f} s   (target >= {TARGET:,})")
    print(
        f"cpu: {cpu:.2f} cores of {psutil.cpu_count()}   ({cpu * 1e6 / max(rate, 1):.2f} cpu-us per sample)"
    )
    print(f"pending at the end: {stats.pending:,}   polls skipped (overruns): {overruns:,}")
    print(f"last flush: {stats.last_flush_ms or 0:.0f} ms   historian rows: {final.raw_rows:,}")
    print("RESULT", "PASS" if rate >= TARGET else "FAIL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--machines", type=int, default=30)
    parser.add_argument("--tags", type=int, default=100)
    parser.add_argument("--hz", type=float, default=100.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(
            measure(args.machines, args.tags, args.hz, args.warmup, args.seconds, Path(folder) / "b.duckdb")
        )


if __name__ == "__main__":
    main()
