"""The bulk path: store decoded messages exactly once, keep rollups, usage and quotas.

At-least-once on the wire becomes exactly-once in the database: samples de-duplicate on
(tenant, edge, seq), events on (tenant, edge, stream, event_id).

PostgreSQL has two paths, both in the group's one transaction. The direct path, for batches of numbers
whose seq range meets nothing this instance stored (a hint kept in memory) and no committed sample (one
probe of the primary key per batch): one binary COPY (rows built with numpy) straight into ``samples``
under a savepoint, and the hourly and daily rollups computed here per (tag, bucket) and upserted in one
statement. The primary key keeps it exact under concurrency: when another instance's transaction
writes the same keys and has not committed yet, the COPY waits for it and then meets the key; the
savepoint rolls back and those batches take the staging path. The staging path (replays, text,
nulls): COPY into a temporary table and one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` whose
inserted rows feed the rollups in the same statement. SQLite uses ``INSERT
OR IGNORE`` through executemany and rolls up in Python. A quota refusal stores nothing.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import Connection, Engine, and_, func, select, text, true, update
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import DBAPIError, OperationalError

from linesight.cloud.backend import db
from linesight.cloud.codec import EventBatch, Message, SampleBatch, Status

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
PAYLOAD_HEAD_BYTES = 512
PLAN_CACHE_SECONDS = 30.0
LAST_SEEN_EVERY_SECONDS = 15.0
STORED_RANGES_KEPT = 64  # seq ranges remembered per edge for choosing the direct COPY
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock, serialization failure


class IngestError(Exception):
    """The root of the bulk path's refusals."""


class QuotaExceeded(IngestError):
    """A batch would take the tenant past its plan's samples per day; nothing of it was stored."""

    def __init__(self, tenant: str, *, used: int, adding: int, limit: int, plan: str) -> None:
        super().__init__(
            f"tenant {tenant!r} is over its daily sample quota: {used} stored today + {adding} in this batch "
            f"> {limit} allowed by plan {plan!r}; the batch was not stored"
        )
        self.tenant = tenant
        self.used = used
        self.adding = adding
        self.limit = limit


class UnknownTenant(IngestError):
    pass


class StoreRefused(IngestError):
    """The database refused the content of a message (not a connection problem)."""


def us_to_datetime(ts_us: int) -> datetime:
    return EPOCH + timedelta(microseconds=ts_us)


# ---------------------------------------------------------------- metrics


class IngestMetrics:
    """Prometheus metrics of the consumer and the bulk path, in their own registry (the fleet API's
    /metrics serves it, or ``linesight-cloud consume --metrics-port``)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "ingest_messages", "MQTT messages handled, by kind and result", ["kind", "result"], registry=r
        )
        self.samples = Counter("ingest_samples", "samples newly stored", registry=r)
        self.events = Counter("ingest_events", "events newly stored", registry=r)
        self.lag = Histogram(
            "ingest_lag_ms",
            "receive time minus the edge's sent_at, in milliseconds",
            buckets=(5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, math.inf),
            registry=r,
        )
        self.parse_errors = Counter(
            "parse_error", "messages sent to dead letters, by reason", ["reason"], registry=r
        )
        self.dedupe = Counter("dedupe", "duplicate samples or events dropped, by kind", ["kind"], registry=r)
        self.quota_usage = Gauge(
            "quota_usage_percent",
            "today's stored samples as a percentage of the plan's quota",
            ["tenant"],
            registry=r,
        )
        self.quota_exceeded = Counter(
            "quota_exceeded", "batches refused for the daily sample quota, by tenant", ["tenant"], registry=r
        )


METRICS = IngestMetrics()


@dataclass(frozen=True, kw_only=True)
class StoreResult:
    kind: str
    stored: int = 0
    duplicates: int = 0


@dataclass
class _PlanLimits:
    plan: str
    samples_per_day: int
    fetched_at: float


@dataclass(frozen=True)
class _Rollup:
    count: int
    min: float
    max: float
    sum: float
    first_us: int
    first: float
    last_us: int
    last: float


# ---------------------------------------------------------------- the store


class Ingestor:
    """Stores decoded messages; one per process (it caches tag ids and plan quotas)."""

    def __init__(self, engine: Engine, *, metrics: IngestMetrics | None = None, retries: int = 5) -> None:
        self.engine = engine
        self.metrics = metrics or METRICS
        self.retries = retries
        self._pg = db.is_postgres(engine)
        self._tag_ids: dict[tuple[str, str, str], int] = {}
        self._plans: dict[str, _PlanLimits] = {}
        self._last_seen: dict[tuple[str, str], float] = {}
        # per (tenant, edge): seq ranges this instance stored, merged; a hint for the direct COPY
        self._stored_ranges: dict[tuple[str, str], list[tuple[int, int]]] = {}
        self.direct_batches = 0  # sample batches stored by COPY straight into samples
        self.staged_batches = 0  # ... through staging + ON CONFLICT DO NOTHING
        self.direct_conflicts = 0  # direct COPYs refused (a racing writer) and redone through staging

    # -- entry point

    def store(self, message: Message, *, received_at: datetime | None = None) -> StoreResult:
        """Store one decoded message. Raises QuotaExceeded (nothing stored) or UnknownTenant."""
        received = received_at or datetime.now(UTC)
        if isinstance(message, SampleBatch):
            result = self._retrying(lambda: self._store_samples(message, received))
        elif isinstance(message, EventBatch):
            result = self._retrying(lambda: self._store_events(message))
        else:
            result = self._retrying(lambda: self._store_status(message, received))
        self._account(message, received, result)
        return result

    def store_many(
        self, messages: Sequence[Message], *, received_at: datetime | None = None
    ) -> list[StoreResult | IngestError]:
        """Store several messages; on PostgreSQL their sample batches share one COPY, one INSERT and one
        commit. Returns, per message, its StoreResult or the IngestError that refused it (a refusal of
        one message never refuses the others: the group is then stored message by message)."""
        received = received_at or datetime.now(UTC)
        batches = [m for m in messages if isinstance(m, SampleBatch)]
        if not self._pg or len(batches) < 2:
            return [self._store_catching(m, received) for m in messages]
        results: list[StoreResult | IngestError] = []
        try:
            counts = self._retrying_many(lambda: self._store_samples_group(batches, received))
        except (IngestError, DBAPIError) as err:
            if isinstance(err, OperationalError):
                raise  # the database is away: nothing to single out
            # someone in the group is refused: store message by message to refuse only that one
            return [self._store_catching(m, received) for m in messages]
        stored_by_batch = iter(counts)
        for message in messages:
            if not isinstance(message, SampleBatch):
                results.append(self._store_catching(message, received))
                continue
            stored = next(stored_by_batch)
            result = StoreResult(kind="samples", stored=stored, duplicates=len(message) - stored)
            self.metrics.samples.inc(stored)
            self._account(message, received, result)
            results.append(result)
        return results

    def _store_catching(self, message: Message, received: datetime) -> StoreResult | IngestError:
        try:
            return self.store(message, received_at=received)
        except IngestError as err:
            return err
        except OperationalError:
            raise
        except DBAPIError as err:
            # The database refused this message's content (say, a NUL in a text): set it aside.
            return StoreRefused(f"the database refused the message: {str(err.orig or err)[:2000]}")

    def _account(self, message: Message, received: datetime, result: StoreResult) -> None:
        lag_ms = (received - us_to_datetime(message.sent_at_us)).total_seconds() * 1000.0
        self.metrics.lag.observe(max(lag_ms, 0.0))
        self._touch_edge(message.origin.tenant, message.origin.edge, received)
        self.metrics.messages.labels(message.kind, "stored").inc()
        if result.duplicates:
            self.metrics.dedupe.labels(message.kind).inc(result.duplicates)

    def _retrying_many(self, work: Any) -> list[int]:
        for attempt in range(self.retries + 1):
            try:
                result: list[int] = work()
                return result
            except DBAPIError as err:
                sqlstate = getattr(err.orig, "sqlstate", None)
                if sqlstate not in RETRYABLE_SQLSTATES or attempt == self.retries:
                    raise
                log.info("retrying a group of batches after %s (attempt %d)", sqlstate, attempt + 1)
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def _retrying(self, work: Any) -> StoreResult:
        for attempt in range(self.retries + 1):
            try:
                result: StoreResult = work()
                return result
            except DBAPIError as err:
                sqlstate = getattr(err.orig, "sqlstate", None)
                if sqlstate not in RETRYABLE_SQLSTATES or attempt == self.retries:
                    raise
                log.info("retrying a batch after %s (attempt %d)", sqlstate, attempt + 1)
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    # -- quotas

    def _limits(self, conn: Connection, tenant: str) -> _PlanLimits:
        now = time.monotonic()
        cached = self._plans.get(tenant)
        if cached is not None and now - cached.fetched_at < PLAN_CACHE_SECONDS:
            return cached
        row = conn.execute(
            select(db.plans.c.id, db.plans.c.samples_per_day)
            .select_from(db.tenants.join(db.plans, db.tenants.c.plan == db.plans.c.id))
            .where(db.tenants.c.id == tenant)
        ).first()
        if row is None:
            raise UnknownTenant(f"tenant {tenant!r} is not registered")
        limits = _PlanLimits(plan=row.id, samples_per_day=int(row.samples_per_day), fetched_at=now)
        self._plans[tenant] = limits
        return limits

    def _count_usage(self, conn: Connection, tenant: str, day: date, adding: int) -> None:
        """Add to today's usage and refuse (raise, rolling back the batch) past the quota."""
        limits = self._limits(conn, tenant)
        insert = pg.insert if self._pg else sqlite_dialect.insert
        stmt = insert(db.usage).values(tenant_id=tenant, day=day, samples=adding)
        upsert = stmt.on_conflict_do_update(
            index_elements=[db.usage.c.tenant_id, db.usage.c.day],
            set_={"samples": db.usage.c.samples + stmt.excluded.samples},
        ).returning(db.usage.c.samples)
        total = int(conn.execute(upsert).scalar_one())
        if total > limits.samples_per_day:
            self.metrics.quota_exceeded.labels(tenant).inc()
            self.metrics.quota_usage.labels(tenant).set(
                100.0 * (total - adding) / max(limits.samples_per_day, 1)
            )
            raise QuotaExceeded(
                tenant, used=total - adding, adding=adding, limit=limits.samples_per_day, plan=limits.plan
            )
        self.metrics.quota_usage.labels(tenant).set(100.0 * total / max(limits.samples_per_day, 1))

    def _precheck_quota(self, conn: Connection, tenant: str, day: date, adding: int) -> None:
        # Fail fast, before any work, when the tenant is already over (the exact check is _count_usage).
        limits = self._limits(conn, tenant)
        used = conn.execute(
            select(db.usage.c.samples).where(and_(db.usage.c.tenant_id == tenant, db.usage.c.day == day))
        ).scalar()
        used = int(used or 0)
        if used + adding > limits.samples_per_day and used >= limits.samples_per_day:
            self.metrics.quota_exceeded.labels(tenant).inc()
            raise QuotaExceeded(
                tenant, used=used, adding=adding, limit=limits.samples_per_day, plan=limits.plan
            )

    # -- tags

    def _resolve_tags(self, tenant: str, edge: str, batch: SampleBatch) -> list[int]:
        """Tag ids of the batch's dictionary, creating missing tags in their own short transaction
        (the dictionary is metadata: it may outlive a refused batch)."""
        keys = [(tenant, edge, ref.key) for ref in batch.tags]
        missing = sorted({k for k in keys if k not in self._tag_ids})
        if missing:
            units = {ref.key: ref.unit for ref in batch.tags}
            insert = pg.insert if self._pg else sqlite_dialect.insert
            with self.engine.begin() as conn:
                conn.execute(
                    insert(db.tags).on_conflict_do_nothing(),
                    [
                        {"tenant_id": tenant, "edge_id": edge, "key": k[2], "unit": units[k[2]]}
                        for k in missing
                    ],
                )
                rows = conn.execute(
                    select(db.tags.c.id, db.tags.c.key).where(
                        db.tags.c.tenant_id == tenant,
                        db.tags.c.edge_id == edge,
                        db.tags.c.key.in_([k[2] for k in missing]),
                    )
                )
                for row in rows:
                    self._tag_ids[(tenant, edge, row.key)] = int(row.id)
        return [self._tag_ids[k] for k in keys]

    # -- samples

    def _store_samples(self, batch: SampleBatch, received: datetime) -> StoreResult:
        tenant, edge = batch.origin.tenant, batch.origin.edge
        day = received.astimezone(UTC).date()
        with self.engine.connect() as conn:
            self._precheck_quota(conn, tenant, day, len(batch))
            conn.rollback()
        tag_ids = self._resolve_tags(tenant, edge, batch)
        if self._pg:
            stored = self._samples_pg([batch], [tag_ids], day)[0]
        else:
            stored = self._samples_sqlite(tenant, edge, batch, tag_ids, day)
        self.metrics.samples.inc(stored)
        return StoreResult(kind="samples", stored=stored, duplicates=len(batch) - stored)

    def _store_samples_group(self, batches: Sequence[SampleBatch], received: datetime) -> list[int]:
        day = received.astimezone(UTC).date()
        adding: dict[str, int] = {}
        for batch in batches:
            adding[batch.origin.tenant] = adding.get(batch.origin.tenant, 0) + len(batch)
        with self.engine.connect() as conn:
            for tenant in sorted(adding):
                self._precheck_quota(conn, tenant, day, adding[tenant])
            conn.rollback()
        tag_ids = [self._resolve_tags(b.origin.tenant, b.origin.edge, b) for b in batches]
        return self._samples_pg(batches, tag_ids, day)

    def _ensure_staging(self, conn: Connection) -> None:
        info = conn.connection.info
        if info.get("ls_staging"):
            return
        with conn.begin():
            conn.exec_driver_sql(
                "CREATE TEMPORARY TABLE IF NOT EXISTS ls_stage_samples ("
                " msg integer NOT NULL, tenant_id text NOT NULL, edge_id text NOT NULL,"
                " seq bigint NOT NULL, tag_id bigint NOT NULL, ts_us bigint NOT NULL,"
                " value double precision, text text, quality smallint NOT NULL"
                ") ON COMMIT DELETE ROWS"
            )
        info["ls_staging"] = True

    def _samples_pg(
        self, batches: Sequence[SampleBatch], tag_ids: Sequence[list[int]], day: date
    ) -> list[int]:
        """Insert the batches' new samples in one transaction; returns how many each one added.

        A batch of numbers that overlaps neither what this instance stored nor any committed sample
        goes by binary COPY straight into ``samples`` (its rollups computed here); the primary key stays
        the judge: a unique violation (a writer of the same keys that committed meanwhile) rolls back to
        a savepoint and sends those batches to the staging path, which de-duplicates with ON CONFLICT DO
        NOTHING."""
        stored = [0] * len(batches)
        candidates = {
            i: _Columns.of(b, ids)
            for i, (b, ids) in enumerate(zip(batches, tag_ids, strict=True))
            if self._may_copy_direct(b)
        }
        # in key order, so that instances racing on one edge meet its rows in the same order
        direct = sorted(
            (i for i, c in candidates.items() if c is not None),
            key=lambda i: (batches[i].origin.tenant, batches[i].origin.edge, batches[i].seq[0]),
        )
        staged = sorted(set(range(len(batches))) - set(direct))
        ready = [c for c in (candidates[i] for i in direct) if c is not None]
        with self.engine.connect() as conn:
            self._ensure_staging(conn)
            with conn.begin():
                if direct:
                    # what the other instances stored (committed): one probe of the primary key per batch
                    stored_before = self._overlapping(conn, batches, direct)
                    if stored_before:
                        staged = sorted(set(staged) | stored_before)
                        ready = [c for i, c in zip(direct, ready, strict=True) if i not in stored_before]
                        direct = [i for i in direct if i not in stored_before]
                if direct:
                    if self._copy_direct(conn, _copy_binary(ready)):
                        for i in direct:
                            stored[i] = len(batches[i])
                        self._upsert_rollups(conn, ready)
                        self.direct_batches += len(direct)
                    else:
                        self.direct_conflicts += 1
                        staged = sorted(staged + direct)
                if staged:
                    for i, n in zip(
                        staged, self._stage_and_insert(conn, batches, tag_ids, staged), strict=True
                    ):
                        stored[i] = n
                    self.staged_batches += len(staged)
                per_tenant: dict[str, int] = {}
                for batch, n in zip(batches, stored, strict=True):
                    per_tenant[batch.origin.tenant] = per_tenant.get(batch.origin.tenant, 0) + n
                for tenant in sorted(per_tenant):
                    if per_tenant[tenant]:
                        self._count_usage(conn, tenant, day, per_tenant[tenant])
        for batch in batches:  # committed: remember what this instance stored
            self._remember_stored(batch)
        return stored

    def _overlapping(self, conn: Connection, batches: Sequence[SampleBatch], which: list[int]) -> set[int]:
        """Those of the chosen batches whose seq range holds a stored sample (an index range probe each)."""
        ranges = [(i, batches[i].origin, min(batches[i].seq), max(batches[i].seq)) for i in which]
        params = {
            "i": _array_literal([r[0] for r in ranges]),
            "tenant": _array_literal([r[1].tenant for r in ranges]),
            "edge": _array_literal([r[1].edge for r in ranges]),
            "lo": _array_literal([r[2] for r in ranges]),
            "hi": _array_literal([r[3] for r in ranges]),
        }
        return {int(i) for i in conn.exec_driver_sql(_PG_PROBE_STORED, params).scalars()}

    def _may_copy_direct(self, batch: SampleBatch) -> bool:
        """True when the batch is plain numbers (no text, no nulls: the binary rows have one width) and
        its seq range meets nothing this instance stored (a replay would only fail the COPY)."""
        n = len(batch)
        if n == 0 or batch.text.count(None) != n or None in batch.value:
            return False
        lo, hi = min(batch.seq), max(batch.seq)
        for a, b in self._stored_ranges.get((batch.origin.tenant, batch.origin.edge), ()):
            if a <= hi and lo <= b:
                return False
        return True

    def _remember_stored(self, batch: SampleBatch) -> None:
        # Worker threads share the instance: a lost update here only costs a direct COPY that fails.
        if not len(batch):
            return
        key = (batch.origin.tenant, batch.origin.edge)
        lo, hi = min(batch.seq), max(batch.seq)
        merged: list[tuple[int, int]] = []
        for a, b in sorted([*self._stored_ranges.get(key, ()), (lo, hi)]):
            if merged and a <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        self._stored_ranges[key] = merged[-STORED_RANGES_KEPT:]  # a hint: forgetting one costs a retry

    def _copy_direct(self, conn: Connection, payload: bytes) -> bool:
        """COPY the binary rows into ``samples`` under a savepoint; False (rolled back) when the
        database refused them, e.g. a key already stored."""
        raw: Any = conn.connection.dbapi_connection
        dbapi = self.engine.dialect.loaded_dbapi
        savepoint = conn.begin_nested()
        try:
            with raw.cursor() as cur, cur.copy(_PG_COPY_DIRECT) as copy:
                copy.write(payload)
        except dbapi.Error as err:
            log.debug("direct COPY refused (%s); storing through staging", getattr(err, "sqlstate", err))
            savepoint.rollback()
            return False
        savepoint.commit()
        return True

    def _stage_and_insert(
        self, conn: Connection, batches: Sequence[SampleBatch], tag_ids: Sequence[list[int]], which: list[int]
    ) -> list[int]:
        """COPY the chosen batches into staging and insert their new rows with ON CONFLICT DO NOTHING;
        returns how many each one added (in the order of ``which``)."""
        data = b"".join(_copy_text(k, batches[i], tag_ids[i]) for k, i in enumerate(which))
        raw: Any = conn.connection.dbapi_connection  # psycopg 3: COPY is its own API
        statement = (
            "COPY ls_stage_samples"
            " (msg, tenant_id, edge_id, seq, tag_id, ts_us, value, text, quality) FROM STDIN"
        )
        dbapi = self.engine.dialect.loaded_dbapi
        try:
            with raw.cursor() as cur, cur.copy(statement) as copy:
                copy.write(data)
        except dbapi.Error as err:
            # the driver's own error, outside SQLAlchemy: wrap it as execute() would
            raise DBAPIError.instance(statement, None, err, dbapi.Error) from err
        stored = [0] * len(which)
        for row in conn.execute(_PG_INSERT_SAMPLES):
            stored[int(row.msg)] = int(row.n)
        return stored

    def _upsert_rollups(self, conn: Connection, columns: Sequence[_Columns]) -> None:
        """Fold the batches (all of their rows are new) into the hourly and daily rollups: one row per
        (tag, bucket), computed here, upserted in one statement."""
        params: dict[str, list[Any]] = {k: [] for k in _ROLLUP_COLUMNS}
        for tenant in sorted({c.tenant for c in columns}):
            mine = [c for c in columns if c.tenant == tenant]
            tag = np.concatenate([c.tag_id for c in mine])
            ts = np.concatenate([c.ts_us for c in mine])
            value = np.concatenate([c.value for c in mine])
            for resolution, cols in _rollup_groups(tag, ts, value):
                # names match [a-z0-9_-] and numbers print plainly: nothing needs quoting in the literals
                count = len(cols["tag_id"])
                params["tenant_id"].extend([tenant] * count)
                params["resolution"].extend([resolution] * count)
                for name, column in cols.items():
                    params[name].extend(column.tolist())
        conn.exec_driver_sql(_PG_UPSERT_ROLLUPS, {k: _array_literal(v) for k, v in params.items()})

    def _samples_sqlite(
        self, tenant: str, edge: str, batch: SampleBatch, tag_ids: list[int], day: date
    ) -> int:
        s = db.samples.c
        with self.engine.connect() as conn, conn.begin():
            # Take the write lock first so that the read of existing rows below stays true until commit.
            conn.execute(
                sqlite_dialect.insert(db.usage)
                .values(tenant_id=tenant, day=day, samples=0)
                .on_conflict_do_nothing()
            )
            lo, hi = min(batch.seq), max(batch.seq)
            existing = set(
                conn.execute(
                    select(s.seq).where(s.tenant_id == tenant, s.edge_id == edge, s.seq.between(lo, hi))
                ).scalars()
            )
            rows: list[dict[str, Any]] = []
            fresh: list[tuple[int, int, float | None]] = []
            for seq, tag, ts_us, value, txt, quality in zip(
                batch.seq, batch.tag, batch.ts_us, batch.value, batch.text, batch.quality, strict=True
            ):
                if seq in existing:
                    continue
                existing.add(seq)
                tag_id = tag_ids[tag]
                rows.append(
                    {
                        "tenant_id": tenant,
                        "edge_id": edge,
                        "seq": seq,
                        "tag_id": tag_id,
                        "ts": us_to_datetime(ts_us),
                        "value": value,
                        "text": txt,
                        "quality": quality,
                    }
                )
                fresh.append((tag_id, ts_us, value))
            if not rows:
                return 0
            conn.execute(db.samples.insert().prefix_with("OR IGNORE"), rows)
            self._count_usage(conn, tenant, day, len(rows))
            self._rollups_python(conn, tenant, fresh)
        return len(rows)

    def _rollups_python(
        self, conn: Connection, tenant: str, fresh: Iterable[tuple[int, int, float | None]]
    ) -> None:
        groups: dict[tuple[int, str, int], _Rollup] = {}
        for tag_id, ts_us, value in fresh:
            if value is None:
                continue
            for resolution, width in (("hour", HOUR_US), ("day", DAY_US)):
                key = (tag_id, resolution, ts_us - ts_us % width)
                old = groups.get(key)
                if old is None:
                    groups[key] = _Rollup(1, value, value, value, ts_us, value, ts_us, value)
                else:
                    groups[key] = _Rollup(
                        old.count + 1,
                        min(old.min, value),
                        max(old.max, value),
                        old.sum + value,
                        *((ts_us, value) if ts_us < old.first_us else (old.first_us, old.first)),
                        *((ts_us, value) if ts_us >= old.last_us else (old.last_us, old.last)),
                    )
        if not groups:
            return
        r = db.sample_rollups.c
        stmt = sqlite_dialect.insert(db.sample_rollups)
        ex = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=[r.tenant_id, r.tag_id, r.resolution, r.bucket],
            set_={
                "count": r.count + ex.count,
                "min": func.min(r.min, ex.min),
                "max": func.max(r.max, ex.max),
                "sum": r.sum + ex.sum,
                "first_ts": _case_earlier(ex.first_ts, r.first_ts, ex.first_ts, r.first_ts),
                "first": _case_earlier(ex.first_ts, r.first_ts, ex.first, r.first),
                "last_ts": _case_earlier(r.last_ts, ex.last_ts, ex.last_ts, r.last_ts, inclusive=True),
                "last": _case_earlier(r.last_ts, ex.last_ts, ex.last, r.last, inclusive=True),
            },
        )
        conn.execute(
            stmt,
            [
                {
                    "tenant_id": tenant,
                    "tag_id": tag_id,
                    "resolution": resolution,
                    "bucket": us_to_datetime(bucket),
                    "count": g.count,
                    "min": g.min,
                    "max": g.max,
                    "sum": g.sum,
                    "first_ts": us_to_datetime(g.first_us),
                    "first": g.first,
                    "last_ts": us_to_datetime(g.last_us),
                    "last": g.last,
                }
                for (tag_id, resolution, bucket), g in sorted(groups.items())
            ],
        )

    # -- events

    def _store_events(self, batch: EventBatch) -> StoreResult:
        tenant, edge = batch.origin.tenant, batch.origin.edge
        insert = pg.insert if self._pg else sqlite_dialect.insert
        e = db.events.c
        stored = 0
        with self.engine.connect() as conn, conn.begin():
            self._limits(conn, tenant)  # refuses an unregistered tenant
            new: list[Any] = []
            seen: set[tuple[str, int]] = set()
            unique = []
            for event in batch.events:
                if (event.stream, event.id) not in seen:
                    seen.add((event.stream, event.id))
                    unique.append(event)
            for chunk in _chunks(sorted(unique, key=lambda ev: (ev.stream, ev.id)), 500):
                rows = [
                    {
                        "tenant_id": tenant,
                        "edge_id": edge,
                        "stream": ev.stream,
                        "event_id": ev.id,
                        "ts": us_to_datetime(ev.ts_us),
                        "machine": ev.machine,
                        "data": dict(ev.data),
                    }
                    for ev in chunk
                ]
                inserted = conn.execute(
                    insert(db.events).values(rows).on_conflict_do_nothing().returning(e.stream, e.event_id)
                ).all()
                keys = {(row.stream, int(row.event_id)) for row in inserted}
                new.extend(ev for ev in chunk if (ev.stream, ev.id) in keys)
                stored += len(keys)
            for ev in new:
                if ev.stream == "state" and ev.machine:
                    self._apply_state(conn, tenant, edge, ev.machine, ev.ts_us, ev.data)
                elif ev.stream == "shift_oee" and ev.machine:
                    self._apply_shift(conn, tenant, edge, ev.machine, ev.ts_us, ev.data)
        self.metrics.events.inc(stored)
        return StoreResult(kind="events", stored=stored, duplicates=len(batch.events) - stored)

    def _apply_state(
        self, conn: Connection, tenant: str, edge: str, machine: str, ts_us: int, data: Any
    ) -> None:
        state = data.get("state", data.get("to"))
        if not isinstance(state, str):
            log.warning("state event of %s/%s/%s has no text 'state' field: %r", tenant, edge, machine, data)
            return
        since = _us_field(data, "since_us") or ts_us
        insert = pg.insert if self._pg else sqlite_dialect.insert
        m = db.machine_states.c
        stmt = insert(db.machine_states).values(
            tenant_id=tenant,
            edge_id=edge,
            machine=machine,
            state=state,
            since=us_to_datetime(since),
            updated_at=datetime.now(UTC),
        )
        # A backlog arrives late: an older state change never overwrites a newer one.
        stmt = stmt.on_conflict_do_update(
            index_elements=[m.tenant_id, m.edge_id, m.machine],
            set_={
                "state": stmt.excluded.state,
                "since": stmt.excluded.since,
                "updated_at": stmt.excluded.updated_at,
            },
            where=m.since <= stmt.excluded.since,
        )
        conn.execute(stmt)

    def _apply_shift(
        self, conn: Connection, tenant: str, edge: str, machine: str, ts_us: int, data: Any
    ) -> None:
        start = _us_field(data, "start_us", "shift_start_us")
        end = _us_field(data, "end_us", "shift_end_us") or ts_us
        if start is None:
            log.warning("shift_oee event of %s/%s/%s has no start_us: %r", tenant, edge, machine, data)
            return
        values = {
            "tenant_id": tenant,
            "edge_id": edge,
            "machine": machine,
            "shift": _text_field(data, "shift", "shift_name", "name"),
            "shift_start": us_to_datetime(start),
            "shift_end": us_to_datetime(end),
            "availability": _num_field(data, "availability"),
            "performance": _num_field(data, "performance"),
            "quality": _num_field(data, "quality"),
            "oee": _num_field(data, "oee"),
            "produced": _int_field(data, "produced", "total", "total_count"),
            "good": _int_field(data, "good", "good_count"),
            "rejects": _int_field(data, "rejects", "reject_count", "rejected"),
            "planned_s": _num_field(data, "planned_s", "planned_seconds"),
            "run_s": _num_field(data, "run_s", "run_seconds"),
            "data": dict(data),
        }
        insert = pg.insert if self._pg else sqlite_dialect.insert
        stmt = insert(db.shift_results).values(**values)
        sr = db.shift_results.c
        stmt = stmt.on_conflict_do_update(
            index_elements=[sr.tenant_id, sr.edge_id, sr.machine, sr.shift_start],
            set_={
                k: stmt.excluded[k]
                for k in values
                if k not in ("tenant_id", "edge_id", "machine", "shift_start")
            },
        )
        conn.execute(stmt)

    # -- status

    def _store_status(self, status: Status, received: datetime) -> StoreResult:
        """Apply an edge's status unless a newer one was applied already (``Status.order``): every
        backend instance reads the retained status messages (a shared subscription gets none), and a
        last will can arrive after the birth of the edge's next connection."""
        tenant, edge = status.origin.tenant, status.origin.edge
        insert = pg.insert if self._pg else sqlite_dialect.insert
        ed = db.edges.c
        # An edge of a version before session_us wrote its will before its birth (an earlier sent_at_us):
        # its status messages are applied as they come, as before, and leave no order behind.
        ordered = status.session_us > 0
        newer = ed.status_order.is_(None) | (ed.status_order < status.order) if ordered else true()
        with self.engine.begin() as conn:
            applied = conn.execute(
                update(db.edges)
                .where(ed.tenant_id == tenant, ed.id == edge)
                .where(newer)
                .values(
                    online=status.online,
                    last_seen_at=received,
                    version=status.version or ed.version,
                    status_order=status.order if ordered else None,
                )
            ).rowcount
            if not applied:
                return StoreResult(kind="status", duplicates=1)  # a repeated or older status
            if status.machines:
                stmt = insert(db.machines).values(
                    [
                        {
                            "tenant_id": tenant,
                            "edge_id": edge,
                            "id": m.id,
                            "name": m.name or m.id,
                            "line": m.line or None,
                            "site_id": m.site or status.origin.site,
                        }
                        for m in status.machines
                    ]
                )
                stmt = stmt.on_conflict_do_update(
                    index_elements=[db.machines.c.tenant_id, db.machines.c.edge_id, db.machines.c.id],
                    set_={
                        "name": stmt.excluded.name,
                        "line": stmt.excluded.line,
                        "site_id": stmt.excluded.site_id,
                    },
                )
                conn.execute(stmt)
        return StoreResult(kind="status", stored=1)

    def _touch_edge(self, tenant: str, edge: str, received: datetime) -> None:
        # last_seen_at at most every few seconds per edge: one hot row must not serialise the instances.
        now = time.monotonic()
        if now - self._last_seen.get((tenant, edge), -math.inf) < LAST_SEEN_EVERY_SECONDS:
            return
        self._last_seen[(tenant, edge)] = now
        ed = db.edges.c
        with self.engine.begin() as conn:
            conn.execute(
                update(db.edges)
                .where(ed.tenant_id == tenant, ed.id == edge)
                .where((ed.last_seen_at.is_(None)) | (ed.last_seen_at < received))
                .values(last_seen_at=received)
            )

    # -- dead letters

    def dead_letter(
        self,
        *,
        topic: str,
        reason: str,
        detail: str,
        payload: bytes | None,
        tenant: str | None = None,
        username: str | None = None,
        received_at: datetime | None = None,
    ) -> None:
        """Keep a refused message's reason and first bytes; count it."""
        self.metrics.parse_errors.labels(reason).inc()
        self.metrics.messages.labels(_kind_of(topic), "dead_letter").inc()
        with self.engine.begin() as conn:
            conn.execute(
                db.dead_letters.insert().values(
                    received_at=received_at or datetime.now(UTC),
                    topic=topic[:1000],
                    username=username,
                    tenant_id=tenant,
                    reason=reason,
                    detail=detail[:4000],
                    payload_head=None if payload is None else bytes(payload[:PAYLOAD_HEAD_BYTES]),
                )
            )


def _kind_of(topic: str) -> str:
    tail = topic.rsplit("/", 1)[-1]
    return tail if tail in ("samples", "events", "status") else "unknown"


def _case_earlier(a: Any, b: Any, then: Any, otherwise: Any, *, inclusive: bool = False) -> Any:
    from sqlalchemy import case

    return case((a <= b if inclusive else a < b, then), else_=otherwise)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _us_field(data: Any, *names: str) -> int | None:
    for name in names:
        value = data.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _num_field(data: Any, *names: str) -> float | None:
    for name in names:
        value = data.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _int_field(data: Any, *names: str) -> int | None:
    value = _num_field(data, *names)
    return None if value is None else int(value)


def _text_field(data: Any, *names: str) -> str | None:
    for name in names:
        value = data.get(name)
        if isinstance(value, str):
            return value
    return None


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(msg: int, batch: SampleBatch, tag_ids: list[int]) -> bytes:
    """The batch in COPY's text format (msg, tenant, edge, seq, tag_id, ts_us, value, text, quality)."""
    # tenant and edge names match [a-z0-9_-]: nothing in them needs escaping
    head = f"{msg}\t{batch.origin.tenant}\t{batch.origin.edge}\t"
    lines = []
    for seq, tag, ts_us, value, txt, quality in zip(
        batch.seq, batch.tag, batch.ts_us, batch.value, batch.text, batch.quality, strict=True
    ):
        v = "\\N" if value is None else repr(float(value))
        t = "\\N" if txt is None else txt.translate(_COPY_ESCAPES)
        lines.append(f"{head}{seq}\t{tag_ids[tag]}\t{ts_us}\t{v}\t{t}\t{quality}\n")
    return "".join(lines).encode("utf-8")


# How a rollup row takes in more samples of its bucket (the staged path and the direct path alike).
_PG_MERGE_ROLLUP = """ON CONFLICT (tenant_id, tag_id, resolution, bucket) DO UPDATE SET
    count = r.count + excluded.count,
    min = least(r.min, excluded.min),
    max = greatest(r.max, excluded.max),
    sum = r.sum + excluded.sum,
    first_ts = CASE WHEN excluded.first_ts < r.first_ts THEN excluded.first_ts ELSE r.first_ts END,
    first = CASE WHEN excluded.first_ts < r.first_ts THEN excluded.first ELSE r.first END,
    last_ts = CASE WHEN excluded.last_ts >= r.last_ts THEN excluded.last_ts ELSE r.last_ts END,
    last = CASE WHEN excluded.last_ts >= r.last_ts THEN excluded.last ELSE r.last END"""

# One statement: insert the staged rows that are new, fold exactly those into the hourly and daily
# rollups, and say how many each message added (a sample in two messages of the group counts for the
# first). Rows are taken in key order, so that concurrent instances lock rows in the same order.
_PG_INSERT_SAMPLES = text(
    f"""
WITH ins AS (
    INSERT INTO samples (tenant_id, edge_id, seq, tag_id, ts, value, text, quality)
    SELECT tenant_id, edge_id, seq, tag_id, timestamptz 'epoch' + ts_us * interval '1 microsecond',
           value, text, quality
    FROM ls_stage_samples
    ORDER BY tenant_id, edge_id, seq
    ON CONFLICT DO NOTHING
    RETURNING tenant_id, edge_id, seq, tag_id, ts, value
), hourly AS (
    SELECT tenant_id, tag_id, date_trunc('hour', ts, 'UTC') AS bucket, count(*) AS count,
           min(value) AS min, max(value) AS max, sum(value) AS sum,
           min(ts) AS first_ts, (array_agg(value ORDER BY ts))[1] AS first,
           max(ts) AS last_ts, (array_agg(value ORDER BY ts DESC))[1] AS last
    FROM ins WHERE value IS NOT NULL
    GROUP BY tenant_id, tag_id, bucket
), daily AS (
    -- from the hourly groups, not the rows again: a tenth of the work
    SELECT tenant_id, tag_id, date_trunc('day', bucket, 'UTC') AS bucket, sum(count) AS count,
           min(min) AS min, max(max) AS max, sum(sum) AS sum,
           min(first_ts) AS first_ts, (array_agg(first ORDER BY first_ts))[1] AS first,
           max(last_ts) AS last_ts, (array_agg(last ORDER BY last_ts DESC))[1] AS last
    FROM hourly
    GROUP BY tenant_id, tag_id, date_trunc('day', bucket, 'UTC')
), grouped AS (
    SELECT tenant_id, tag_id, 'hour' AS resolution, bucket, count, min, max, sum,
           first_ts, first, last_ts, last
    FROM hourly
    UNION ALL
    SELECT tenant_id, tag_id, 'day', bucket, count, min, max, sum, first_ts, first, last_ts, last
    FROM daily
), rolled AS (
    INSERT INTO sample_rollups AS r
        (tenant_id, tag_id, resolution, bucket, count, min, max, sum, first_ts, first, last_ts, last)
    SELECT tenant_id, tag_id, resolution, bucket, count, min, max, sum, first_ts, first, last_ts, last
    FROM grouped ORDER BY tenant_id, tag_id, resolution, bucket
    {_PG_MERGE_ROLLUP}
), owner AS (
    SELECT DISTINCT ON (tenant_id, edge_id, seq) tenant_id, edge_id, seq, msg
    FROM ls_stage_samples ORDER BY tenant_id, edge_id, seq, msg
)
SELECT owner.msg, count(*) AS n
FROM ins JOIN owner USING (tenant_id, edge_id, seq)
GROUP BY owner.msg
"""
)


# ---------------------------------------------------------------- the direct path

_PG_COPY_DIRECT = (
    "COPY samples (tenant_id, edge_id, seq, tag_id, ts, value, text, quality) FROM STDIN (FORMAT binary)"
)
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z, PostgreSQL's zero for binary timestamps
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_COPY_TRAILER = b"\xff\xff"


@dataclass(frozen=True)
class _Columns:
    """A batch of numbers only, as arrays (tag indexes resolved to tag ids)."""

    tenant: str
    edge: str
    seq: NDArray[np.int64]
    tag_id: NDArray[np.int64]
    ts_us: NDArray[np.int64]
    value: NDArray[np.float64]
    quality: NDArray[np.int16]

    @classmethod
    def of(cls, batch: SampleBatch, tag_ids: list[int]) -> _Columns | None:
        """None when a number does not fit its column (the staging path then reports it) or a value is
        not finite (PostgreSQL's min and max order NaN above all numbers: SQL makes those rollups)."""
        try:
            value = np.asarray(batch.value, dtype=np.float64)
            if not np.isfinite(value).all():
                return None
            quality = np.asarray(batch.quality, dtype=np.int64)
            if quality.size and (quality.min() < -(2**15) or quality.max() >= 2**15):
                return None
            return cls(
                tenant=batch.origin.tenant,
                edge=batch.origin.edge,
                seq=np.asarray(batch.seq, dtype=np.int64),
                tag_id=np.asarray(tag_ids, dtype=np.int64)[np.asarray(batch.tag, dtype=np.intp)],
                ts_us=np.asarray(batch.ts_us, dtype=np.int64),
                value=value,
                quality=quality.astype(np.int16),
            )
        except (OverflowError, ValueError, TypeError, IndexError):
            return None


def _copy_binary(batches: Sequence[_Columns]) -> bytes:
    """The batches as one binary COPY of ``samples`` rows, built as numpy records (every row of a batch
    has the same width: numbers only, text NULL)."""
    parts = [_COPY_HEADER]
    for c in batches:
        tenant, edge = c.tenant.encode(), c.edge.encode()
        layout = np.dtype(
            [
                ("fields", ">i2"),
                ("tenant_len", ">i4"),
                ("tenant", f"S{len(tenant)}"),
                ("edge_len", ">i4"),
                ("edge", f"S{len(edge)}"),
                ("seq_len", ">i4"),
                ("seq", ">i8"),
                ("tag_len", ">i4"),
                ("tag", ">i8"),
                ("ts_len", ">i4"),
                ("ts", ">i8"),
                ("value_len", ">i4"),
                ("value", ">f8"),
                ("text_len", ">i4"),
                ("quality_len", ">i4"),
                ("quality", ">i2"),
            ]
        )
        rows = np.empty(len(c.seq), dtype=layout)
        rows["fields"] = 8
        rows["tenant_len"] = len(tenant)
        rows["tenant"] = tenant
        rows["edge_len"] = len(edge)
        rows["edge"] = edge
        rows["seq_len"] = 8
        rows["seq"] = c.seq
        rows["tag_len"] = 8
        rows["tag"] = c.tag_id
        rows["ts_len"] = 8
        rows["ts"] = c.ts_us - _PG_EPOCH_US
        rows["value_len"] = 8
        rows["value"] = c.value
        rows["text_len"] = -1  # NULL
        rows["quality_len"] = 2
        rows["quality"] = c.quality
        parts.append(rows.tobytes())
    parts.append(_COPY_TRAILER)
    return b"".join(parts)


def _array_literal(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of numbers or names ([a-z0-9_-]: nothing to quote); psycopg would dump
    a list element by element in Python, ten times slower."""
    return "{" + ",".join(map(str, values)) + "}"


# Which of the batches meet a committed sample: a range probe of the primary key each (COLLATE "C" as
# the key's columns, so that the index serves the comparison).
_PG_PROBE_STORED = """
SELECT u.i FROM unnest(%(i)s::int[], %(tenant)s::text[], %(edge)s::text[], %(lo)s::bigint[],
                       %(hi)s::bigint[]) AS u(i, tenant, edge, lo, hi)
WHERE EXISTS (
    SELECT 1 FROM samples s
    WHERE s.tenant_id = u.tenant COLLATE "C" AND s.edge_id = u.edge COLLATE "C"
      AND s.seq BETWEEN u.lo AND u.hi
)
"""

_ROLLUP_COLUMNS = (
    "tenant_id",
    "tag_id",
    "resolution",
    "bucket",
    "count",
    "min",
    "max",
    "sum",
    "first_us",
    "first",
    "last_us",
    "last",
)


def _rollup_groups(
    tag: NDArray[np.int64], ts: NDArray[np.int64], value: NDArray[np.float64]
) -> list[tuple[str, dict[str, NDArray[Any]]]]:
    """Hourly and daily count/min/max/sum/first/last per (tag, bucket) of rows that are all numbers."""
    order = np.lexsort((ts, ts - ts % HOUR_US, tag))  # by tag, hour, time
    tag, ts, value = tag[order], ts[order], value[order]
    hour = ts - ts % HOUR_US
    n = len(tag)
    starts = np.flatnonzero(np.concatenate(([True], (tag[1:] != tag[:-1]) | (hour[1:] != hour[:-1]))))
    ends = np.concatenate((starts[1:], [n])) - 1
    hourly = {
        "tag_id": tag[starts],
        "bucket": hour[starts],
        "count": np.diff(np.concatenate((starts, [n]))),
        "min": np.minimum.reduceat(value, starts),
        "max": np.maximum.reduceat(value, starts),
        "sum": np.add.reduceat(value, starts),
        "first_us": ts[starts],
        "first": value[starts],
        "last_us": ts[ends],
        "last": value[ends],
    }
    # days from the hours: sorted by tag and hour, so each (tag, day) is a run of hourly groups
    h_tag, day = hourly["tag_id"], hourly["bucket"] - hourly["bucket"] % DAY_US
    m = len(h_tag)
    d_starts = np.flatnonzero(np.concatenate(([True], (h_tag[1:] != h_tag[:-1]) | (day[1:] != day[:-1]))))
    d_ends = np.concatenate((d_starts[1:], [m])) - 1
    daily = {
        "tag_id": h_tag[d_starts],
        "bucket": day[d_starts],
        "count": np.add.reduceat(hourly["count"], d_starts),
        "min": np.minimum.reduceat(hourly["min"], d_starts),
        "max": np.maximum.reduceat(hourly["max"], d_starts),
        "sum": np.add.reduceat(hourly["sum"], d_starts),
        "first_us": hourly["first_us"][d_starts],
        "first": hourly["first"][d_starts],
        "last_us": hourly["last_us"][d_ends],
        "last": hourly["last"][d_ends],
    }
    return [("hour", hourly), ("day", daily)]


# The rollup rows of direct batches, as arrays; merged into existing buckets as the SQL path does, in
# key order (concurrent instances lock rollup rows in the same order).
_PG_UPSERT_ROLLUPS = f"""
INSERT INTO sample_rollups AS r
    (tenant_id, tag_id, resolution, bucket, count, min, max, sum, first_ts, first, last_ts, last)
SELECT tenant_id, tag_id, resolution, timestamptz 'epoch' + bucket * interval '1 microsecond', count,
       min, max, sum, timestamptz 'epoch' + first_us * interval '1 microsecond', first,
       timestamptz 'epoch' + last_us * interval '1 microsecond', last
FROM unnest(%(tenant_id)s::text[], %(tag_id)s::bigint[], %(resolution)s::text[], %(bucket)s::bigint[],
            %(count)s::bigint[], %(min)s::float8[], %(max)s::float8[], %(sum)s::float8[],
            %(first_us)s::bigint[], %(first)s::float8[], %(last_us)s::bigint[], %(last)s::float8[])
    AS u(tenant_id, tag_id, resolution, bucket, count, min, max, sum, first_us, first, last_us, last)
ORDER BY tenant_id, tag_id, resolution, bucket
{_PG_MERGE_ROLLUP}
"""
