"""Backend ingest into PostgreSQL: samples per second per instance, and how two instances scale.

Target: ≥ 100,000 samples/s per instance; two instances ≥ 1.8x one.

Each instance is its own process running the consumer's message path, ``Consumer.handle`` (codec
decode with validation → tenant/edge check → binary COPY straight into ``samples`` with rollups
computed in the instance, or, for a replay, COPY into staging → INSERT ... ON CONFLICT → rollups;
usage and quota), on pre-encoded zstd messages of 1000 samples from several edges. The broker is left
out on purpose: on a small machine the publisher and Mosquitto would take the same cores as the
instances and PostgreSQL, and the figure would measure them; the broker's part (shared subscription
splitting, exactly-once) is covered by tests/cloud/backend/test_consumer.py. ``--mode broker``
runs the same through a local Mosquitto for comparison.

    .venv/bin/python bench/cloud/ingest.py [--db postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import secrets
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import create_engine, func, select, text

from linesight.cloud import codec
from linesight.cloud.backend import db
from linesight.cloud.backend.consumer import Consumer, ConsumerConfig
from linesight.cloud.backend.control import init_schema
from linesight.cloud.backend.ingest import IngestMetrics
from linesight.cloud.backend.provision import create_edge, create_site, create_tenant

TENANT, SITE = "bench", "plant1"
T0_US = 1_780_000_000_000_000


def _payloads(
    index: int,
    instances: int,
    messages: int,
    per_message: int,
    edges: int,
    tags: int,
    replays: float = 0.0,
) -> list[tuple[str, bytes]]:
    """This instance's share of the messages: message k goes to instance k % instances. With
    ``replays``, that fraction of the messages is delivered twice, as after a reconnect: to the next
    instance at about the same moment (with one instance: to itself two groups later)."""
    every = round(1 / replays) if replays > 0 else 0
    out: list[tuple[float, str, bytes]] = []
    for k in range(messages):
        replayed = every > 0 and k % every == every // 2
        if k % instances == index:
            at = float(k)
        elif replayed and instances > 1 and (k + 1) % instances == index:
            at = k + 0.5
        else:
            continue
        edge = k % edges
        n = k // edges  # the n-th message of this edge
        first = n * per_message + 1
        seq = list(range(first, first + per_message))
        payload = codec.encode_samples(
            codec.Origin(tenant=TENANT, site=SITE, edge=f"edge{edge}"),
            batch=n,
            tags=[codec.TagRef(key=f"m{edge}.t{t}", unit="") for t in range(tags)],
            seq=seq,
            tag=[s % tags for s in seq],
            ts_us=[T0_US + s * 10_000 for s in seq],
            value=[float(s % 997) for s in seq],
            text=[None] * per_message,
            quality=[0] * per_message,
            sent_at_us=codec.now_us(),
            compress=True,
        )
        topic = f"linesight/v1/{TENANT}/{SITE}/edge{edge}/samples"
        out.append((at, topic, payload))
        if replayed and instances == 1:
            out.append((k + 20.5, topic, payload))
    return [(topic, payload) for _, topic, payload in sorted(out, key=lambda item: item[0])]


def _direct(
    url: str, args: argparse.Namespace, index: int, instances: int, barrier: Any, out: Any, done: Any
) -> None:
    engine = db.make_engine(url, pool_size=args.workers + 1)
    config = ConsumerConfig(workers=args.workers, group_size=args.group)
    consumer = Consumer(engine, config, index=index, metrics=IngestMetrics())
    work = _payloads(index, instances, args.messages, args.samples, args.edges, args.tags, args.replays)
    consumer.registry.refresh(force=True)
    barrier.wait()
    groups = [work[i : i + args.group] for i in range(0, len(work), args.group)]
    start, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(args.workers) as pool:
        results = [r for rs in pool.map(consumer.handle_many, groups) for r in rs]
    end, cpu = time.perf_counter(), time.process_time() - cpu
    bad = [r for r in results if r != "stored"]
    out.put((index, start, end, cpu, bad[:3]))
    done.wait()  # keep the database sessions until the parent has read their CPU times
    engine.dispose()


def _via_broker(
    url: str, args: argparse.Namespace, index: int, instances: int, barrier: Any, out: Any, done: Any
) -> None:
    engine = db.make_engine(url, pool_size=args.workers + 1)
    consumer = Consumer(
        engine,
        ConsumerConfig(
            host="127.0.0.1",
            port=args.broker_port,
            client_id="bench",
            workers=args.workers,
            group_size=args.group,
        ),
        index=index,
        metrics=IngestMetrics(),
    )
    expected = args.messages * args.samples

    async def run() -> tuple[float, float]:
        task = asyncio.create_task(consumer.run())
        await consumer.subscribed.wait()
        barrier.wait()
        start = time.perf_counter()
        while True:
            with engine.connect() as conn:
                stored = conn.execute(select(func.count()).select_from(db.samples)).scalar_one()
            if stored >= expected:
                break
            await asyncio.sleep(0.05)
        end = time.perf_counter()
        consumer.stop()
        await task
        return start, end

    cpu = time.process_time()
    start, end = asyncio.run(run())
    out.put((index, start, end, time.process_time() - cpu, []))
    done.wait()
    engine.dispose()


def _publish(args: argparse.Namespace) -> None:
    import aiomqtt

    async def run() -> None:
        payloads = _payloads(0, 1, args.messages, args.samples, args.edges, args.tags)
        async with aiomqtt.Client("127.0.0.1", args.broker_port, identifier="bench-edge") as client:
            for topic, payload in payloads:
                await client.publish(topic, payload, qos=1)

    asyncio.run(run())


def _reset(url: str) -> None:
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE samples, sample_rollups, usage, tags, dead_letters"))
    engine.dispose()


def _postgres_cpu() -> float:
    """CPU seconds used so far by the machine's PostgreSQL processes (all of them: other users too)."""
    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        if process.info["name"] == "postgres" and process.info["cpu_times"] is not None:
            total += process.info["cpu_times"].user + process.info["cpu_times"].system
    return total


def _session_cpu(url: str) -> float:
    """CPU seconds used by the PostgreSQL sessions connected to the bench database (this run's instances
    only: other users of the server are left out, and so are its background writers)."""
    engine = db.make_engine(url)
    with engine.connect() as conn:
        pids = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalars()
        total = 0.0
        for pid in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
    engine.dispose()
    return total


def measure(url: str, args: argparse.Namespace, instances: int) -> tuple[float, int, str]:
    _reset(url)
    psutil.cpu_percent()  # starts the machine-wide measurement window
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(instances + (1 if args.mode == "broker" else 0))
    out = context.Queue()
    done = context.Event()
    target = _direct if args.mode == "direct" else _via_broker
    processes = [
        context.Process(target=target, args=(url, args, i, instances, barrier, out, done))
        for i in range(instances)
    ]
    for process in processes:
        process.start()
    pg_cpu = _postgres_cpu()
    if args.mode == "broker":
        barrier.wait()
        _publish(args)
    results = [out.get(timeout=600) for _ in processes]
    pg_cpu = _postgres_cpu() - pg_cpu
    # the instances' sessions: opened after the processes started, kept until ``done``
    session_cpu = _session_cpu(url)
    busy = psutil.cpu_percent()
    done.set()
    for process in processes:
        process.join()
    for _, _, _, _, bad in results:
        if bad:
            raise SystemExit(f"messages were not stored: {bad}")
    start = min(r[1] for r in results)
    end = max(r[2] for r in results)
    engine = db.make_engine(url)
    with engine.connect() as conn:
        stored = int(conn.execute(select(func.count()).select_from(db.samples)).scalar_one())
    engine.dispose()
    client_cpu = sum(r[3] for r in results)
    cost = (
        f"CPU per 1000 samples: instances {1e3 * 1e3 * client_cpu / stored:.1f} ms, "
        f"PostgreSQL {1e3 * 1e3 * pg_cpu / stored:.1f} ms (all of the server's processes), of which "
        f"this run's sessions {1e3 * 1e3 * session_cpu / stored:.1f} ms; machine busy {busy:.0f} %"
    )
    return stored / (end - start), stored, cost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/postgres", help="admin URL")
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--samples", type=int, default=1000, help="samples per message")
    parser.add_argument("--edges", type=int, default=8)
    parser.add_argument("--tags", type=int, default=50, help="tags per edge")
    parser.add_argument("--workers", type=int, default=2, help="threads per instance")
    parser.add_argument("--group", type=int, default=10, help="messages stored per transaction")
    parser.add_argument(
        "--replays",
        type=float,
        default=0.0,
        help="fraction of the messages delivered twice, as after reconnects (direct mode)",
    )
    parser.add_argument("--mode", choices=["direct", "broker"], default="direct")
    parser.add_argument("--instances", default="1,2")
    args = parser.parse_args()

    admin_url = db.database_url(args.db)
    name = f"ls_bench_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    broker = None
    try:
        engine = db.make_engine(url)
        init_schema(engine)
        create_tenant(engine, TENANT, plan="enterprise")
        create_site(engine, TENANT, SITE)
        for e in range(args.edges):
            create_edge(engine, TENANT, SITE, f"edge{e}")
        engine.dispose()
        if args.mode == "broker":
            sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
            from tests.cloud.broker import Mosquitto

            folder = Path(f"/tmp/{name}")
            broker = Mosquitto(folder)
            broker.start()
            args.broker_port = broker.port
        print(
            f"backend ingest into PostgreSQL ({args.mode}): {args.messages} messages x {args.samples} "
            f"samples, {args.edges} edges x {args.tags} tags, zstd, {args.workers} threads per instance, "
            f"{args.group} messages per transaction, {args.replays:.0%} replayed, {os.cpu_count()} cores"
        )
        print(f"  load average before: {os.getloadavg()[0]:.2f} (other work on the machine shares its cores)")
        rates: dict[int, float] = {}
        for n in (int(x) for x in args.instances.split(",")):
            rate, stored, cost = measure(url, args, n)
            rates[n] = rate
            assert stored == args.messages * args.samples, (stored, args.messages * args.samples)
            print(
                f"  {n} instance(s): {rate:,.0f} samples/s, {rate / n:,.0f} per instance "
                "(target ≥ 100,000 per instance)"
            )
            print(f"    {cost}")
        if 1 in rates and 2 in rates:
            print(f"  two instances / one: {rates[2] / rates[1]:.2f}x (target ≥ 1.8x)")
    finally:
        if broker is not None:
            broker.stop()
            shutil.rmtree(broker.folder, ignore_errors=True)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
