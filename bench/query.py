"""Trend query latency on a 90-day historian: 20 tags at 1 Hz (~155.5M raw rows) plus its rollups.

Target: P95 <= 100 ms per Historian.trend() call with max_points=2000, for windows of 1 h, 8 h, 24 h,
7 d, 30 d and 90 d, for 1 tag and for 4 tags at once (windows at seeded random positions).

Run: .venv/bin/python bench/query.py [--db bench/out/query.duckdb] [--repeat 50] [--seed 1]
Without --db the historian is built in a temporary folder and deleted afterwards; with --db it is kept,
and reused by the next run if the file already exists (the build takes a few minutes).
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from linesight.storage import Historian, Resolution

TARGET_P95_MS = 100.0
MAX_POINTS = 2000
DAY_S = 86_400
US_PER_S = 1_000_000
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
WINDOWS: tuple[tuple[str, timedelta], ...] = (
    ("1 h", timedelta(hours=1)),
    ("8 h", timedelta(hours=8)),
    ("24 h", timedelta(hours=24)),
    ("7 d", timedelta(days=7)),
    ("30 d", timedelta(days=30)),
    ("90 d", timedelta(days=90)),
)
TAG_COUNTS = (1, 4)
SPIKE_RATE = 2e-5  # per sample: about 1.7 single-sample spikes per tag and day


@dataclass(frozen=True, kw_only=True)
class Case:
    window: str
    tags: int
    resolution: Resolution
    bucket_s: float
    points: int  # most buckets returned for one tag
    p50_ms: float
    p95_ms: float

    @property
    def ok(self) -> bool:
        return self.p95_ms <= TARGET_P95_MS

    def row(self) -> str:
        return (
            f"{self.window:>6} {self.tags:>4} {self.resolution.value:>4} {duration(self.bucket_s):>7} "
            f"{self.points:>6} {self.p50_ms:>8.1f} {self.p95_ms:>8.1f}  "
            f"P95 <= {TARGET_P95_MS:g} ms {'ok' if self.ok else 'MISS'}"
        )


def tag_names(count: int) -> list[str]:
    """``count`` tags spread over machines of five tags each: m00.t0 … m03.t4 for 20."""
    return [f"m{i // 5:02d}.t{i % 5}" for i in range(count)]


def day_table(day: int, names: list[str], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One day of 1 Hz samples of every tag, in time order (as live ingest writes them).

    Each tag is a slow sine (its own period, level and phase) with a slower drift, Gaussian noise and
    rare single-sample spikes up or down.
    """
    count = len(names)
    t_s = np.arange(day * DAY_S, (day + 1) * DAY_S, dtype=np.int64)
    index = np.arange(count)
    period = (1800.0 + 900.0 * index)[None, :]
    level = (50.0 + 10.0 * index)[None, :]
    phase = (0.7 * index)[None, :]
    t = t_s[:, None].astype(np.float64)
    values = (
        level
        + 8.0 * np.sin(2 * math.pi * t / period + phase)
        + 3.0 * np.sin(2 * math.pi * t / (7 * DAY_S) + phase)
        + rng.normal(0.0, 0.5, size=(DAY_S, count))
    )
    spikes = rng.random((DAY_S, count)) < SPIKE_RATE
    values[spikes] += rng.choice([-40.0, 40.0], size=int(spikes.sum()))
    base_us = int(EPOCH.timestamp()) * US_PER_S
    ts = np.repeat(base_us + t_s * US_PER_S, count)
    tags = np.array(names, dtype=object)[np.tile(index, DAY_S)]
    return {"tag": tags, "ts": ts, "value": values.reshape(-1)}


def build(path: Path, days: int, names: list[str], memory_limit: str | None, seed: int) -> None:
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    with Historian(path, **_options(memory_limit)) as historian:
        for day in range(days):
            historian.append_columns(day_table(day, names, rng))
            if (day + 1) % 10 == 0 or day + 1 == days:
                elapsed = time.perf_counter() - t0
                rows = (day + 1) * DAY_S * len(names)
                print(
                    f"  built {day + 1:3d}/{days} days  {rows / 1e6:6.1f}M rows  {elapsed:6.1f} s", flush=True
                )
    elapsed = time.perf_counter() - t0
    rows = days * DAY_S * len(names)
    print(f"build: {rows:,} rows in {elapsed:.1f} s ({rows / elapsed / 1e6:.2f}M rows/s)")


def _options(memory_limit: str | None, threads: int | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {} if memory_limit is None else {"memory_limit": memory_limit}
    if threads is not None:
        options["threads"] = threads
    return options


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.3g}s"
    if seconds < 3600:
        return f"{seconds / 60:.3g}m"
    return f"{seconds / 3600:.3g}h"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def measure(
    historian: Historian,
    names: list[str],
    history_s: int,
    span: timedelta,
    tags: int,
    repeat: int,
    rng: random.Random,
) -> tuple[Resolution, float, int, list[float]]:
    total_s = int(span.total_seconds())

    def one() -> tuple[Resolution, float, int, float]:
        offset = rng.randrange(0, history_s - total_s + 1)
        start = EPOCH + timedelta(seconds=offset)
        chosen = rng.sample(names, tags)
        t0 = time.perf_counter()
        result = historian.trend(chosen, start, start + span, max_points=MAX_POINTS)
        elapsed_ms = (time.perf_counter() - t0) * 1000
        lengths = [len(series) for series in result.values()]
        if len(result) != tags or min(lengths) == 0 or max(lengths) > MAX_POINTS:
            raise SystemExit(f"bad trend answer for {chosen} {start}+{span}: {lengths} points")
        series = next(iter(result.values()))
        return series.resolution, series.bucket_us / US_PER_S, max(lengths), elapsed_ms

    for _ in range(3):  # warm-up, not counted
        one()
    runs = [one() for _ in range(repeat)]
    resolution, bucket_s = runs[0][0], runs[0][1]
    return resolution, bucket_s, max(r[2] for r in runs), [r[3] for r in runs]


def run(path: Path, args: argparse.Namespace) -> None:
    names = tag_names(args.tags)
    expected = args.days * DAY_S * len(names)
    if path.exists():
        print(f"reusing {path}")
    else:
        print(f"building {path}: {args.days} days x {len(names)} tags at 1 Hz")
        build(path, args.days, names, args.memory_limit, args.seed)
    with Historian(path, **_options(args.memory_limit, args.threads)) as historian:
        stats = historian.stats()
        if stats.raw_rows != expected or sorted(t.key for t in historian.tags()) != sorted(names):
            raise SystemExit(
                f"{path} holds {stats.raw_rows:,} rows of {stats.tags} tags, expected {expected:,} of "
                f"{len(names)}: delete it (an interrupted build?) or pass other --days/--tags"
            )
        print(
            f"db: {stats.file_bytes / 2**30:.2f} GiB  raw {stats.raw_rows:,}  1m {stats.minute_rows:,}  "
            f"1h {stats.hour_rows:,}  memory_limit {args.memory_limit or 'default'}  "
            f"threads {args.threads or 'default'}"
        )
        rng = random.Random(args.seed)
        cases: list[Case] = []
        print(f"\ntrend() with max_points={MAX_POINTS}, {args.repeat} timed runs per row (after 3 warm-up)")
        header = ("window", "tags", "res", "bucket", "points", "P50 ms", "P95 ms")
        print(" ".join(f"{h:>{w}}" for h, w in zip(header, (6, 4, 4, 7, 6, 8, 8), strict=True)), " target")
        for label, span in WINDOWS:
            if span.total_seconds() > args.days * DAY_S:
                continue
            for tags in TAG_COUNTS:
                resolution, bucket_s, points, times = measure(
                    historian, names, args.days * DAY_S, span, tags, args.repeat, rng
                )
                case = Case(
                    window=label,
                    tags=tags,
                    resolution=resolution,
                    bucket_s=bucket_s,
                    points=points,
                    p50_ms=percentile(times, 50),
                    p95_ms=percentile(times, 95),
                )
                cases.append(case)
                print(case.row(), flush=True)
    missed = [f"{c.window}/{c.tags} tag{'s' if c.tags > 1 else ''}" for c in cases if not c.ok]
    verdict = "PASS" if not missed else f"FAIL (over target: {', '.join(missed)})"
    print(f"RESULT {verdict}   target P95 <= {TARGET_P95_MS:g} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path, help="historian file to build and keep, or reuse if it exists")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=50, help="timed queries per window and tag count")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-limit", help="DuckDB memory_limit (default: the Historian's own)")
    parser.add_argument(
        "--threads", type=int, help="DuckDB threads for the queries (default: the Historian's)"
    )
    args = parser.parse_args()
    if args.db is not None:
        run(args.db, args)
        return
    with tempfile.TemporaryDirectory() as folder:
        run(Path(folder) / "query.duckdb", args)


if __name__ == "__main__":
    main()
