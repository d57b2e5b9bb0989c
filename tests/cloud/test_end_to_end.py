"""Edge to database through a real Mosquitto: the forwarder on one side, the backend consumer on the
other, the broker's password and ACL files written by provisioning. Whatever happens on the way (the
broker stopped for a while, the edge killed with kill -9), every sample is stored once."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from linesight.cloud.backend import db
from linesight.cloud.backend.consumer import Consumer
from linesight.cloud.backend.ingest import IngestMetrics
from linesight.cloud.forwarder import Forwarder
from linesight.domain.cloud import CloudConfig
from linesight.storage.historian import Historian, RetentionPolicy

from .backend.ingest_fixtures import _pg_url_fixture, empty_pg  # noqa: F401
from .backend.test_consumer import Plant, _provisioned, consuming, wait_until
from .test_forwarder import _EDGE_SCRIPT, FAST, add_samples


def edge_config(plant: Plant, **overrides: object) -> CloudConfig:
    """The edge's ``cloud:`` section with the credentials provisioning printed for it."""
    edge = plant.acme
    fields: dict[str, object] = {
        "enabled": True,
        "host": plant.broker.host,
        "port": plant.broker.port,
        "tenant": edge.tenant,
        "site": edge.site,
        "edge": edge.edge,
        "username": edge.username,
        "password": edge.password,
        "reconnect": {"initial": 0.2, "cap": 1.0},
    }
    fields.update(overrides)
    return CloudConfig.model_validate(fields)


def stored(engine: Engine) -> tuple[int, int, int, int]:
    """Rows, distinct sequence numbers, lowest and highest sequence number in the samples table."""
    s = db.samples.c
    query = select(func.count(), func.count(func.distinct(s.seq)), func.min(s.seq), func.max(s.seq))
    with engine.connect() as conn:
        rows, distinct, low, high = conn.execute(query).one()
    return int(rows), int(distinct), int(low or 0), int(high or 0)


@pytest.fixture(params=["sqlite", "postgresql"])
def plant(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Plant]:
    if request.param == "sqlite":
        engine = db.make_engine(tmp_path / "cloud.db")
    else:
        engine = empty_pg(request.getfixturevalue("pg_url"))
    provisioned = _provisioned(engine, tmp_path / "broker")
    yield provisioned
    provisioned.broker.stop()
    engine.dispose()


@pytest.mark.slow
@pytest.mark.expect_log_warnings  # the outage itself, and the ranges sent again: checked below
async def test_a_broker_outage_while_forwarding_loses_and_doubles_nothing_in_the_database(
    plant: Plant, historian: Historian, caplog: pytest.LogCaptureFixture
) -> None:
    add_samples(historian, 10_000)  # a backlog, with live data arriving all along
    stop_writing = asyncio.Event()

    async def write_live() -> None:
        while not stop_writing.is_set():
            await asyncio.to_thread(add_samples, historian, 100)
            await asyncio.sleep(0.02)

    metrics = IngestMetrics()
    consumer = Consumer(plant.engine, plant.config(client_id="e2e-backend"), metrics=metrics)
    async with consuming([consumer]):
        # Mosquitto 2.0.11 forgets the consumer's shared subscription over its restart and drops what
        # the edge sends before the consumer subscribes again, after acknowledging it to the edge: the
        # backend's confirmations make the edge send those ranges again (confirm_grace after the
        # backend confirmed later ones; when the last messages of all were lost, a probe after
        # confirm_probe without a word from the backend).
        config = edge_config(plant, batch_rows=500, confirm_grace=2.0, confirm_probe=5.0)
        forwarder = Forwarder(config, historian, options=FAST)
        await forwarder.load()
        forwarder.start()
        writer = asyncio.create_task(write_live())
        await wait_until(lambda: stored(plant.engine)[0] > 2000, "the first samples stored")
        await asyncio.to_thread(plant.broker.stop)
        await asyncio.sleep(1.5)  # the edge goes on collecting; the consumer loses its broker too
        assert not forwarder.health().connected
        await asyncio.to_thread(plant.broker.start)
        await asyncio.sleep(1.0)
        stop_writing.set()
        await writer
        last = historian.last_seq
        await wait_until(lambda: stored(plant.engine)[1] == last, "every sample stored", limit=90)
        confirmations = forwarder.confirmations
        assert confirmations is not None
        await wait_until(lambda: confirmations.watermark("samples") == last, "every sample confirmed")
        await forwarder.stop()
    rows, distinct, low, high = stored(plant.engine)
    assert (rows, distinct, low, high) == (last, last, 1, last)
    assert forwarder.health().retries >= 1
    with plant.engine.connect() as conn:
        dead = conn.execute(select(db.dead_letters.c.reason, db.dead_letters.c.detail)).all()
    assert dead == []
    # Every sample confirmed by the backend, and that recorded: retention may now delete them.
    assert historian.outbox_watermark("samples.confirmed") == last
    assert confirmations.pending("samples") == 0
    health = forwarder.health()  # what the diagnostics screen and /metrics show
    assert (health.unconfirmed, health.resent) == (0, forwarder.resent_rows)
    assert forwarder.metrics.registry.get_sample_value("backlog_unconfirmed_rows") == 0
    assert (forwarder.metrics.registry.get_sample_value("resent_rows_total") or 0) == forwarder.resent_rows
    duplicates = metrics.registry.get_sample_value("dedupe_total", {"kind": "samples"}) or 0
    print(
        f"broker outage: {last} samples stored once; {forwarder.resent_rows} sent again after the broker "
        f"acknowledged them and the backend never confirmed them; {duplicates:.0f} duplicates dropped; "
        f"{consumer.confirmations} confirmations published"
    )
    # The warnings are the outage's and the resending's; paho and asyncio complain about the socket
    # the broker reset under them.
    expected = {
        "linesight.cloud.forwarder": "cloud sync",
        "linesight.cloud.backend.consumer": "broker connection lost",
        "mqtt": "on socket",
        "asyncio": "Exception in callback BaseSelectorEventLoop.add_writer",
    }
    loud = [r for r in caplog.get_records("call") if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in loud if expected.get(r.name, "\0") not in r.getMessage()] == []


_SLOW_EDGE_SCRIPT = _EDGE_SCRIPT.replace("persist_every=0.05", "persist_every=0.5")


@pytest.mark.slow
async def test_an_edge_killed_mid_batch_and_restarted_stores_every_sample_once(
    plant: Plant, tmp_path: Path
) -> None:
    path = tmp_path / "edge.duckdb"
    with Historian(path, retention=RetentionPolicy(raw=None, minute=None)) as historian:
        add_samples(historian, 60_000)
        last = historian.last_seq
    script = tmp_path / "edge.py"
    # The watermark is recorded every 0.5 s: a kill between two records makes the restarted edge send
    # again what the broker already acknowledged, which the backend must drop.
    script.write_text(_SLOW_EDGE_SCRIPT)
    config = json.dumps(edge_config(plant, batch_rows=1000, compression="none").model_dump(mode="json"))
    log = tmp_path / "edge.log"

    def launch() -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen([sys.executable, str(script), str(path), config], stdout=out, stderr=out)

    metrics = IngestMetrics()
    consumer = Consumer(plant.engine, plant.config(client_id="e2e-backend"), metrics=metrics)
    async with consuming([consumer]):
        edge = launch()
        try:
            await wait_until(lambda: stored(plant.engine)[0] > 5_000, "the first samples stored", limit=60)
            os.kill(edge.pid, signal.SIGKILL)
            edge.wait()
            killed_at = stored(plant.engine)[0]
            assert killed_at < last, "the edge finished before it was killed: make the backlog larger"
            edge = launch()
            await wait_until(lambda: stored(plant.engine)[1] == last, "every sample stored", limit=90)
        finally:
            edge.terminate()
            edge.wait(timeout=20)
    assert stored(plant.engine) == (last, last, 1, last)
    duplicates = metrics.registry.get_sample_value("dedupe_total", {"kind": "samples"}) or 0
    print(
        f"kill -9 after {killed_at} of {last} samples stored; {duplicates:.0f} duplicates dropped; "
        f"{consumer.confirmations} confirmations published"
    )
    assert "Traceback" not in log.read_text()
