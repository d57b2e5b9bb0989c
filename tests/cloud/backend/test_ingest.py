"""The bulk path on SQLite and PostgreSQL: exactly-once samples and events, rollups, quotas."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select, text, update

from linesight.cloud.backend import db
from linesight.cloud.backend.ingest import (
    IngestMetrics,
    Ingestor,
    QuotaExceeded,
    StoreResult,
    UnknownTenant,
    us_to_datetime,
)
from linesight.cloud.backend.provision import create_edge, create_site, create_tenant
from linesight.cloud.codec import Event, MachineInfo, SampleBatch, Status

from .ingest_fixtures import (  # noqa: F401
    T0_US,
    _engine_fixture,
    _pg_url_fixture,
    empty_pg,
    event_batch,
    origin,
    sample_batch,
)


@pytest.fixture
def acme(engine: Engine) -> Engine:
    create_tenant(engine, "acme", plan="standard")
    create_site(engine, "acme", "plant1")
    create_edge(engine, "acme", "plant1", "edge1")
    return engine


def _metric(metrics: IngestMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def _count(engine: Engine, table: db.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _usage(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.sum(db.usage.c.samples), 0))).scalar_one())


def _naive(ts: datetime) -> datetime:
    return ts.replace(tzinfo=None) if ts.tzinfo is None else ts.astimezone(UTC).replace(tzinfo=None)


def test_the_same_batch_twice_is_stored_once_and_counted_as_duplicates(acme: Engine) -> None:
    metrics = IngestMetrics()
    ingestor = Ingestor(acme, metrics=metrics)
    batch = sample_batch(1, 500)
    first = ingestor.store(batch)
    again = ingestor.store(batch)
    assert (first.stored, first.duplicates) == (500, 0)
    assert (again.stored, again.duplicates) == (0, 500)
    assert _count(acme, db.samples) == 500
    assert _usage(acme) == 500
    assert _metric(metrics, "dedupe_total", kind="samples") == 500
    assert _metric(metrics, "ingest_messages_total", kind="samples", result="stored") == 2
    assert _metric(metrics, "ingest_samples_total") == 500
    with acme.connect() as conn:
        hourly = conn.execute(
            select(func.sum(db.sample_rollups.c.count)).where(db.sample_rollups.c.resolution == "hour")
        ).scalar_one()
    assert hourly == 500  # the duplicate did not count twice in the rollups


def test_overlapping_batches_store_the_union_and_rollups_match_the_raw_samples(acme: Engine) -> None:
    ingestor = Ingestor(acme, metrics=IngestMetrics())
    # 1 s apart across the hour boundary; the second batch overlaps and arrives out of order
    ingestor.store(sample_batch(3000, 4000))
    ingestor.store(sample_batch(1, 3500))
    ingestor.store(sample_batch(3990, 4200))
    assert _count(acme, db.samples) == 4200
    assert _usage(acme) == 4200
    with acme.connect() as conn:
        seqs = conn.execute(select(db.samples.c.seq).order_by(db.samples.c.seq)).scalars().all()
        assert seqs == list(range(1, 4201))
        tags = {row.key: row.id for row in conn.execute(select(db.tags))}
        assert set(tags) == {"m1.tag0", "m1.tag1", "m1.tag2"}
        rollups = conn.execute(
            select(db.sample_rollups).where(db.sample_rollups.c.resolution == "hour")
        ).all()
    # recompute from the definition of sample_batch: sample n is tag n % 3 at T0 + n s, value n
    expected: dict[tuple[int, datetime], list[int]] = {}
    for n in range(1, 4201):
        ts_us = T0_US + n * 1_000_000
        bucket = us_to_datetime(ts_us - ts_us % 3_600_000_000)
        expected.setdefault((tags[f"m1.tag{n % 3}"], _naive(bucket)), []).append(n)
    assert len(rollups) == len(expected) and len({r.bucket for r in rollups}) == 2
    for r in rollups:
        ns = expected[(r.tag_id, _naive(r.bucket))]
        assert (r.count, r.min, r.max, r.sum) == (len(ns), min(ns), max(ns), sum(ns))
        assert (r.first, r.last) == (min(ns), max(ns))
        assert _naive(r.first_ts) == _naive(us_to_datetime(T0_US + min(ns) * 1_000_000))
        assert _naive(r.last_ts) == _naive(us_to_datetime(T0_US + max(ns) * 1_000_000))
    with acme.connect() as conn:
        daily = conn.execute(
            select(func.sum(db.sample_rollups.c.count)).where(db.sample_rollups.c.resolution == "day")
        ).scalar_one()
    assert daily == 4200


def test_text_null_and_quality_survive_the_bulk_path(acme: Engine) -> None:
    batch = sample_batch(1, 4)
    batch = replace(
        batch,
        value=(1.5, None, None, -2.25e-7),
        text=(None, "tab\there\nnew line \\ back", "ação", None),
        quality=(0, 1, 2, 0),
    )
    Ingestor(acme, metrics=IngestMetrics()).store(batch)
    with acme.connect() as conn:
        rows = conn.execute(select(db.samples).order_by(db.samples.c.seq)).all()
    assert [(r.value, r.text, r.quality) for r in rows] == [
        (1.5, None, 0),
        (None, "tab\there\nnew line \\ back", 1),
        (None, "ação", 2),
        (-2.25e-7, None, 0),
    ]
    assert _naive(rows[0].ts) == _naive(us_to_datetime(T0_US + 1_000_000))


def test_quota_exceeded_stores_nothing_of_the_batch_and_is_counted(acme: Engine) -> None:
    with acme.begin() as conn:
        conn.execute(update(db.plans).where(db.plans.c.id == "standard").values(samples_per_day=150))
    metrics = IngestMetrics()
    ingestor = Ingestor(acme, metrics=metrics)
    ingestor.store(sample_batch(1, 100))
    rollups_before = _count(acme, db.sample_rollups)
    with pytest.raises(
        QuotaExceeded, match=r"tenant 'acme'.*100 stored today \+ 100 in this batch > 150"
    ) as info:
        ingestor.store(sample_batch(101, 200))
    assert (info.value.used, info.value.adding, info.value.limit) == (100, 100, 150)
    assert _count(acme, db.samples) == 100
    assert _usage(acme) == 100
    assert _count(acme, db.sample_rollups) == rollups_before
    assert _metric(metrics, "quota_exceeded_total", tenant="acme") == 1
    assert _metric(metrics, "quota_usage_percent", tenant="acme") == pytest.approx(100 * 100 / 150)
    # duplicates do not use quota; what still fits is stored
    assert ingestor.store(sample_batch(1, 100)).stored == 0
    assert ingestor.store(sample_batch(101, 150)).stored == 50
    assert _metric(metrics, "quota_usage_percent", tenant="acme") == 100.0
    with pytest.raises(QuotaExceeded):
        ingestor.store(sample_batch(151, 151))
    assert _metric(metrics, "quota_exceeded_total", tenant="acme") == 2


def test_events_are_stored_once_and_update_machine_states_and_shift_results(acme: Engine) -> None:
    metrics = IngestMetrics()
    ingestor = Ingestor(acme, metrics=metrics)
    hour = 3_600_000_000
    shift = {
        "shift": "A",
        "start_us": T0_US,
        "end_us": T0_US + 8 * hour,
        "availability": 0.9,
        "performance": 0.8,
        "quality": 0.95,
        "oee": 0.684,
        "produced": 1000,
        "good": 950,
        "rejects": 50,
    }
    events = [
        Event(stream="state", id=1, ts_us=T0_US, machine="m1", data={"state": "running"}),
        Event(stream="state", id=2, ts_us=T0_US + hour, machine="m1", data={"state": "stopped"}),
        Event(stream="alarm", id=1, ts_us=T0_US, machine="m1", data={"to": "active"}),
        Event(stream="shift_oee", id=1, ts_us=T0_US + 8 * hour, machine="m1", data=shift),
    ]
    first = ingestor.store(event_batch(events))
    assert (first.stored, first.duplicates) == (4, 0)
    # the same events again, plus an older state change arriving late from a backlog
    late = Event(stream="state", id=3, ts_us=T0_US - hour, machine="m1", data={"state": "idle"})
    again = ingestor.store(event_batch([*events, late]))
    assert (again.stored, again.duplicates) == (1, 4)
    assert _count(acme, db.events) == 5
    assert _metric(metrics, "dedupe_total", kind="events") == 4
    with acme.connect() as conn:
        state = conn.execute(select(db.machine_states)).one()
        result = conn.execute(select(db.shift_results)).one()
        data = conn.execute(select(db.events.c.data).where(db.events.c.stream == "alarm")).scalar_one()
    assert (state.machine, state.state) == ("m1", "stopped")
    assert _naive(state.since) == _naive(us_to_datetime(T0_US + hour))
    assert (result.shift, result.oee, result.produced, result.good, result.rejects) == (
        "A",
        0.684,
        1000,
        950,
        50,
    )
    assert _naive(result.shift_end) == _naive(us_to_datetime(T0_US + 8 * hour))
    assert data == {"to": "active"}


def test_status_marks_the_edge_online_and_registers_its_machines(acme: Engine) -> None:
    ingestor = Ingestor(acme, metrics=IngestMetrics())
    machines = (MachineInfo(id="m1", name="Press 1", line="L1", site="plant1"), MachineInfo(id="m2"))
    ingestor.store(
        Status(origin=origin(), sent_at_us=T0_US, batch=0, online=True, version="1.2", machines=machines)
    )
    with acme.connect() as conn:
        edge = conn.execute(select(db.edges)).one()
        rows = conn.execute(select(db.machines).order_by(db.machines.c.id)).all()
    assert (edge.online, edge.version) == (True, "1.2")
    assert [(m.id, m.name, m.line) for m in rows] == [("m1", "Press 1", "L1"), ("m2", "m2", None)]
    ingestor.store(Status(origin=origin(), sent_at_us=T0_US, batch=0, online=False))
    with acme.connect() as conn:
        edge = conn.execute(select(db.edges)).one()
    assert (edge.online, edge.version) == (False, "1.2")


def test_a_late_or_repeated_status_does_not_undo_a_newer_one(acme: Engine) -> None:
    metrics = IngestMetrics()
    ingestor = Ingestor(acme, metrics=metrics)
    session = T0_US

    def status(online: bool, session_us: int, sent_at_us: int) -> Status:
        return Status(origin=origin(), sent_at_us=sent_at_us, batch=0, online=online, session_us=session_us)

    def online() -> bool:
        with acme.connect() as conn:
            return bool(conn.execute(select(db.edges.c.online)).scalar_one())

    ingestor.store(status(True, session, session + 10))
    # The connection's last will was written before its birth (an earlier sent_at), and still ends it.
    ingestor.store(status(False, session, session))
    assert not online()
    ingestor.store(status(True, session, session + 10))  # the birth again (a second instance, a retry)
    assert not online()
    ingestor.store(status(True, session + 5_000_000, session + 5_000_010))  # the next connection
    assert online()
    ingestor.store(status(False, session, session))  # the previous connection's will, late
    assert online()
    assert metrics.registry.get_sample_value("dedupe_total", {"kind": "status"}) == 2
    # An edge of an older version sends no session, and wrote its will before its birth: applied as it
    # comes, the will included, and the next edge with sessions is not held back by it.
    ingestor.store(status(True, 0, session + 9_000_000))
    ingestor.store(status(False, 0, session + 8_000_000))
    assert not online()
    ingestor.store(status(True, session + 10_000_000, session + 10_000_000))
    assert online()


def test_an_unregistered_tenant_is_refused_and_a_dead_letter_is_kept(acme: Engine) -> None:
    metrics = IngestMetrics()
    ingestor = Ingestor(acme, metrics=metrics)
    with pytest.raises(UnknownTenant, match="tenant 'globex' is not registered"):
        ingestor.store(sample_batch(1, 10, src=origin(tenant="globex")))
    assert _count(acme, db.samples) == 0
    ingestor.dead_letter(
        topic="linesight/v1/acme/plant1/edge1/samples",
        reason="bad_json",
        detail="not JSON",
        payload=b"x" * 2000,
    )
    with acme.connect() as conn:
        row = conn.execute(select(db.dead_letters)).one()
    assert (row.reason, row.detail, len(row.payload_head)) == ("bad_json", "not JSON", 512)
    assert _metric(metrics, "parse_error_total", reason="bad_json") == 1


def test_a_group_of_batches_is_stored_once_and_a_refused_member_does_not_refuse_the_others(
    acme: Engine,
) -> None:
    create_tenant(acme, "globex", plan="free")
    create_site(acme, "globex", "plant9")
    create_edge(acme, "globex", "plant9", "edge9")
    with acme.begin() as conn:
        conn.execute(update(db.plans).where(db.plans.c.id == "free").values(samples_per_day=50))
    metrics = IngestMetrics()
    ingestor = Ingestor(acme, metrics=metrics)
    nul = replace(sample_batch(700, 701), text=("a\x00b", None), value=(None, 1.0))
    group = [
        sample_batch(1, 300),
        sample_batch(200, 500),  # overlaps the first
        sample_batch(1, 100, src=origin("globex", "plant9", "edge9")),  # over globex's quota of 50
        sample_batch(501, 600),
    ]
    results = ingestor.store_many(group)
    assert [getattr(r, "stored", type(r).__name__) for r in results] == [300, 200, "QuotaExceeded", 100]
    assert _count(acme, db.samples) == 600
    assert _metric(metrics, "dedupe_total", kind="samples") == 101  # 200..300 twice
    again = ingestor.store_many([sample_batch(1, 600), sample_batch(601, 650)])
    assert [getattr(r, "stored", None) for r in again] == [0, 50]
    refused = ingestor.store_many([sample_batch(651, 660), nul])
    assert getattr(refused[0], "stored", None) == 10
    if acme.dialect.name == "postgresql":  # PostgreSQL text cannot hold NUL; SQLite can
        assert type(refused[1]).__name__ == "StoreRefused" and "database refused" in str(refused[1])
    with acme.connect() as conn:
        hourly = conn.execute(
            select(func.sum(db.sample_rollups.c.count)).where(db.sample_rollups.c.resolution == "hour")
        ).scalar_one()
        usage = conn.execute(
            select(db.usage.c.tenant_id, db.usage.c.samples).order_by(db.usage.c.tenant_id)
        ).all()
    stored = _count(acme, db.samples)
    assert stored == (660 if acme.dialect.name == "postgresql" else 662)
    assert hourly == stored - (0 if acme.dialect.name == "postgresql" else 1)  # the NUL row has no value
    assert [(u.tenant_id, u.samples) for u in usage if u.samples] == [("acme", stored)]


# ---------------------------------------------------------------- PostgreSQL: the direct COPY path


@pytest.fixture
def acme_pg(pg_url: str) -> Iterator[Engine]:
    engine = empty_pg(pg_url)
    create_tenant(engine, "acme", plan="enterprise")
    create_site(engine, "acme", "plant1")
    create_edge(engine, "acme", "plant1", "edge1")
    create_edge(engine, "acme", "plant1", "edge2")
    yield engine
    engine.dispose()


def _rollups_match_raw_samples(engine: Engine) -> int:
    """Recompute every hourly and daily rollup from the stored samples and compare; returns how many
    rollup rows there are."""
    with engine.connect() as conn:
        raw = conn.execute(select(db.samples.c.tag_id, db.samples.c.ts, db.samples.c.value)).all()
        rows = conn.execute(select(db.sample_rollups)).all()
    expected: dict[tuple[int, str, datetime], list[tuple[datetime, float]]] = {}
    for tag_id, ts, value in raw:
        if value is None:
            continue
        ts = _naive(ts)
        hour = ts.replace(minute=0, second=0, microsecond=0)
        expected.setdefault((tag_id, "hour", hour), []).append((ts, value))
        expected.setdefault((tag_id, "day", hour.replace(hour=0)), []).append((ts, value))
    got = {(r.tag_id, r.resolution, _naive(r.bucket)): r for r in rows}
    assert set(got) == set(expected)
    for key, points in expected.items():
        r = got[key]
        values = [v for _, v in points]
        first, last = min(points), max(points)
        assert (r.count, r.min, r.max) == (len(points), min(values), max(values)), key
        assert r.sum == pytest.approx(sum(values)), key
        assert (_naive(r.first_ts), r.first, _naive(r.last_ts), r.last) == (*first, *last), key
    return len(rows)


def test_a_replay_after_a_direct_copy_is_stored_once(acme_pg: Engine) -> None:
    one = Ingestor(acme_pg, metrics=IngestMetrics())
    assert one.store(sample_batch(1, 1000)).stored == 1000
    assert (one.direct_batches, one.staged_batches) == (1, 0)
    # the same instance knows it stored these: the replay goes through staging at once
    again = one.store(sample_batch(1, 1000))
    assert (again.stored, again.duplicates) == (0, 1000)
    assert (one.direct_batches, one.staged_batches, one.direct_conflicts) == (1, 1, 0)
    # another instance does not know: its probe of the primary key finds the stored rows
    other = Ingestor(acme_pg, metrics=IngestMetrics())
    overlap = other.store(sample_batch(501, 1500))
    assert (overlap.stored, overlap.duplicates) == (500, 500)
    assert (other.direct_batches, other.staged_batches, other.direct_conflicts) == (0, 1, 0)
    # a group mixing a new batch, a replay and a batch with text (never direct) in one transaction
    text_batch = replace(sample_batch(1601, 1603), text=("a", None, "b"), value=(None, 2.0, None))
    results = other.store_many([sample_batch(1501, 1600), sample_batch(900, 1100), text_batch])
    assert [getattr(r, "stored", r) for r in results] == [100, 0, 3]
    assert _count(acme_pg, db.samples) == 1603
    assert _usage(acme_pg) == 1603
    assert _rollups_match_raw_samples(acme_pg) > 0


def test_a_direct_copy_racing_an_uncommitted_writer_of_its_rows_is_redone_through_staging(
    acme_pg: Engine,
) -> None:
    # Another instance holds sample 2000 in a transaction not yet committed: the probe cannot see it,
    # the COPY waits for it, meets the key once it commits, and the batch is stored through staging.
    ingestor = Ingestor(acme_pg, metrics=IngestMetrics())
    assert ingestor.store(sample_batch(1, 3)).stored == 3  # the tags exist
    with acme_pg.connect() as conn:
        tag_id = conn.execute(select(func.min(db.tags.c.id))).scalar_one()
    blocker = acme_pg.connect()
    blocker.begin()
    blocker.execute(
        db.samples.insert().values(
            tenant_id="acme", edge_id="edge1", seq=2000, tag_id=tag_id, ts=us_to_datetime(T0_US),
            value=None, text="other instance", quality=0,
        )
    )  # fmt: skip
    with ThreadPoolExecutor(1) as pool:
        racing = pool.submit(ingestor.store, sample_batch(1991, 2010))
        with acme_pg.connect() as conn:
            for _ in range(600):  # until the COPY waits for the blocker's row lock (at most 60 s)
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database()"
                    )
                ).scalar_one()
                conn.rollback()
                if waiting or racing.done():
                    break
                time.sleep(0.1)
        assert waiting == 1 and not racing.done()
        blocker.commit()
        blocker.close()
        result = racing.result(timeout=60)
    assert (result.stored, result.duplicates) == (19, 1)
    assert (ingestor.direct_batches, ingestor.direct_conflicts, ingestor.staged_batches) == (1, 1, 1)
    assert _count(acme_pg, db.samples) == 23
    assert _usage(acme_pg) == 22  # the blocker's row was not the ingestor's to count
    assert _rollups_match_raw_samples(acme_pg) > 0


def test_two_concurrent_writers_of_one_edge_store_each_sample_once(acme_pg: Engine) -> None:
    # Two instances get overlapping batches of the same two edges at the same moment, in opposite
    # orders, in groups (a shared subscription can hand one edge's messages, and their replays, to both).
    edges = [origin(edge="edge1"), origin(edge="edge2")]
    batches = [
        sample_batch(first, first + 399, src=src, t0_us=T0_US + 7 * 3_600_000_000, step_us=3_000_000)
        for src in edges
        for first in range(1, 4001, 200)  # each sample in two batches
    ]
    barrier = threading.Barrier(2)
    stored: list[int] = []

    def writer(order: list[SampleBatch]) -> None:
        engine = db.make_engine(acme_pg.url.render_as_string(hide_password=False))
        ingestor = Ingestor(engine, metrics=IngestMetrics())
        barrier.wait()
        for start in range(0, len(order), 4):
            for result in ingestor.store_many(order[start : start + 4]):
                assert isinstance(result, StoreResult), result
                stored.append(result.stored)
        engine.dispose()

    with ThreadPoolExecutor(2) as pool:
        done = [pool.submit(writer, batches), pool.submit(writer, batches[::-1])]
        for future in done:
            future.result()
    unique = 2 * 4200
    assert sum(stored) == unique
    assert _count(acme_pg, db.samples) == unique
    assert _usage(acme_pg) == unique
    assert _rollups_match_raw_samples(acme_pg) > 0


def test_direct_batches_out_of_time_order_roll_up_like_the_raw_samples(acme_pg: Engine) -> None:
    # live data first, then the backlog behind it (earlier times, rows shuffled, across midnight), then
    # a batch whose text forces the staging path into the same buckets
    midnight = T0_US - T0_US % 86_400_000_000 + 86_400_000_000
    t0 = midnight - 12 * 3_600_000_000  # 3010 samples 30 s apart: 12 h before midnight, 13 h after
    ingestor = Ingestor(acme_pg, metrics=IngestMetrics())
    live = sample_batch(2001, 3000, t0_us=t0, step_us=30_000_000, tags=4)
    backlog = sample_batch(1, 2000, t0_us=t0, step_us=30_000_000, tags=4)
    order = sorted(range(len(backlog)), key=lambda k: (k * 7919) % len(backlog))
    shuffled = replace(
        backlog,
        seq=tuple(backlog.seq[k] for k in order),
        tag=tuple(backlog.tag[k] for k in order),
        ts_us=tuple(backlog.ts_us[k] for k in order),
        value=tuple(-backlog.value[k] if k % 5 == 0 else backlog.value[k] for k in order),
    )
    texts = replace(
        sample_batch(3001, 3010, t0_us=t0, step_us=30_000_000, tags=4),
        text=("x",) + (None,) * 9,
        value=(None, *(float(n) for n in range(9))),
    )
    assert [r.stored for r in (ingestor.store(b) for b in (live, shuffled, texts))] == [1000, 2000, 10]
    assert (ingestor.direct_batches, ingestor.staged_batches) == (2, 1)
    assert _count(acme_pg, db.samples) == 3010
    with acme_pg.connect() as conn:
        days = conn.execute(select(func.count()).where(db.sample_rollups.c.resolution == "day")).scalar_one()
    assert days == 8  # 4 tags x 2 days
    assert _rollups_match_raw_samples(acme_pg) == 8 + 4 * 26
