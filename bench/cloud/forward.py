"""Edge forwarding to a local Mosquitto at QoS 1: throughput, and live latency while a backlog drains.

Targets: >= 100,000 samples/s acknowledged by the broker (PUBACK); while a backlog of 10M samples
drains and live data arrives at 10,000 samples/s, live latency (receive time at a subscriber minus the
sample's time) stays <= 2 s.

Run: .venv/bin/python bench/cloud/forward.py [--samples N] [--backlog N] [--live-rate R] [--skip-drain]
The bench starts its own Mosquitto on a free port (no TLS, anonymous) and a subscriber in a process
of its own, so that neither is charged to the forwarder's process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import numpy as np

from linesight.cloud.codec import decompress
from linesight.cloud.forwarder import Forwarder, ForwarderOptions
from linesight.domain.cloud import CloudConfig
from linesight.storage.historian import Historian, RetentionPolicy

THROUGHPUT_TARGET = 100_000
LATENCY_TARGET_S = 2.0
TAGS = 200
CHUNK = 1_000_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_mosquitto(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nuser root\nmax_queued_messages 0\n"
        "max_inflight_messages 0\nlog_type error\n"
    )
    process = subprocess.Popen(
        ["mosquitto", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return process, port
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("mosquitto did not start")


def fill(historian: Historian, count: int, *, ts_us: int) -> None:
    """``count`` samples over TAGS tags, 1 ms apart, starting at ``ts_us``."""
    done = 0
    while done < count:
        n = min(CHUNK, count - done)
        index = np.arange(done, done + n)
        historian.append_columns(
            {
                "tag": [f"m{i % 20:02d}.t{i % TAGS:03d}" for i in range(n)],
                "ts": ts_us + index * 1000,
                "value": np.sin(index / 100.0),
            }
        )
        done += n


def config_for(port: int, **extra: Any) -> CloudConfig:
    return CloudConfig.model_validate(
        {
            "host": "127.0.0.1",
            "port": port,
            "tenant": "bench",
            "site": "lab",
            "edge": "edge-1",
            "enabled": True,
        }
        | extra
    )


# ---------------------------------------------------------------------------------------- subscriber


def subscriber_main(port: int, live_from: int, stop: EventType, ready: EventType, out: Connection) -> None:
    """Count samples and measure live latency (receive time - oldest live sample's time per message)."""
    import aiomqtt

    async def main() -> None:
        seqs = 0
        latencies: list[float] = []
        async with aiomqtt.Client("127.0.0.1", port, identifier="bench-sub", clean_session=True) as client:
            await client.subscribe("linesight/v1/+/+/+/samples", qos=1)
            ready.set()

            watcher = asyncio.ensure_future(asyncio.to_thread(stop.wait))
            messages = aiter(client.messages)
            while not watcher.done():
                getter = asyncio.ensure_future(anext(messages))
                done, _ = await asyncio.wait({getter, watcher}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                message = getter.result()
                now = time.time()
                document = json.loads(decompress(bytes(message.payload)))  # type: ignore[arg-type]
                seqs += len(document["seq"])
                live = [
                    ts for seq, ts in zip(document["seq"], document["ts_us"], strict=True) if seq > live_from
                ]
                if live:
                    latencies.append(now - min(live) / 1e6)
        out.send({"samples": seqs, "latencies": latencies})

    asyncio.run(main())


# ---------------------------------------------------------------------------------------- runs


async def throughput(folder: Path, port: int, samples: int, compression: str) -> float:
    path = folder / f"throughput-{compression}.duckdb"
    with Historian(path, retention=RetentionPolicy(raw=None, minute=None)) as historian:
        fill(historian, samples, ts_us=int(time.time() * 1e6) - samples * 1000)
        forwarder = Forwarder(
            config_for(port, compression=compression), historian, options=ForwarderOptions()
        )
        await forwarder.load()
        t0 = time.perf_counter()
        forwarder.start()
        await until(lambda: forwarder.health().published_samples >= samples, 0.05)
        elapsed = time.perf_counter() - t0
        await forwarder.stop()
    path.unlink()
    return samples / elapsed


async def drain(folder: Path, port: int, backlog: int, live_rate: int) -> dict[str, Any]:
    path = folder / "drain.duckdb"
    with Historian(path, retention=RetentionPolicy(raw=None, minute=None)) as historian:
        t_fill = time.perf_counter()
        fill(historian, backlog, ts_us=int(time.time() * 1e6) - backlog * 1000)
        print(f"  backlog of {backlog:,} samples written in {time.perf_counter() - t_fill:.1f} s")
        backlog_last = historian.last_seq
        ctx = multiprocessing.get_context("spawn")
        stop, ready = ctx.Event(), ctx.Event()
        receive, send = ctx.Pipe(duplex=False)
        subscriber = ctx.Process(target=subscriber_main, args=(port, backlog_last, stop, ready, send))
        subscriber.start()
        ready.wait(30)

        writing = threading.Event()
        writing.set()

        def write_live() -> None:
            # live_rate samples/s in 10 chunks a second, stamped with the time they are written.
            per_chunk = max(1, live_rate // 10)
            next_at = time.monotonic()
            while writing.is_set():
                now_us = int(time.time() * 1e6)
                historian.append_columns(
                    {
                        "tag": [f"live.t{i % 50:02d}" for i in range(per_chunk)],
                        "ts": np.full(per_chunk, now_us, dtype=np.int64),
                        "value": np.ones(per_chunk),
                    }
                )
                next_at += 0.1
                time.sleep(max(0.0, next_at - time.monotonic()))

        forwarder = Forwarder(config_for(port), historian, options=ForwarderOptions())
        await forwarder.load()
        writer = threading.Thread(target=write_live, daemon=True)
        t0 = time.perf_counter()
        writer.start()
        forwarder.start()
        await until(lambda: forwarder.health().watermark >= backlog_last, 0.2)
        drained = time.perf_counter() - t0
        await asyncio.sleep(2.0)  # live data after the drain, for comparison
        writing.clear()
        writer.join()
        await asyncio.sleep(1.0)
        health = forwarder.health()
        await forwarder.stop()
        stop.set()
        result: dict[str, Any] = receive.recv()
        subscriber.join(10)
    path.unlink()
    result.update(drained_s=drained, published=health.published_samples)
    return result


async def until(predicate: Callable[[], bool], every: float) -> None:
    """Poll a figure another thread or process moves, every ``every`` seconds, until it holds."""
    while True:
        if predicate():
            return
        await asyncio.sleep(every)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=2_000_000, help="samples for the throughput run")
    parser.add_argument("--backlog", type=int, default=10_000_000, help="backlog to drain beside live data")
    parser.add_argument("--live-rate", type=int, default=10_000, help="live samples/s during the drain")
    parser.add_argument("--skip-drain", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="linesight-bench-cloud-") as tmp:
        folder = Path(tmp)
        broker, port = start_mosquitto(folder)
        try:
            for compression in ("zstd", "none"):
                rate = await throughput(folder, port, args.samples, compression)
                verdict = "ok" if rate >= THROUGHPUT_TARGET else "BELOW TARGET"
                print(
                    f"forward {args.samples:,} samples, QoS 1, {compression}: {rate:,.0f} samples/s "
                    f"acknowledged (target >= {THROUGHPUT_TARGET:,}) {verdict}"
                )
            if not args.skip_drain:
                result = await drain(folder, port, args.backlog, args.live_rate)
                lat = result["latencies"]
                p95 = percentile(lat, 0.95)
                worst = max(lat) if lat else float("nan")
                verdict = "ok" if worst <= LATENCY_TARGET_S else "BELOW TARGET"
                print(
                    f"drain {args.backlog:,} backlog with {args.live_rate:,}/s live: drained in "
                    f"{result['drained_s']:.1f} s ({args.backlog / result['drained_s']:,.0f} samples/s); "
                    f"live latency p50 {statistics.median(lat) if lat else float('nan'):.3f} s, "
                    f"p95 {p95:.3f} s, max {worst:.3f} s over {len(lat)} messages "
                    f"(target max <= {LATENCY_TARGET_S} s) {verdict}; "
                    f"subscriber saw {result['samples']:,} samples, "
                    f"forwarder published {result['published']:,}"
                )
        finally:
            broker.terminate()
            broker.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
