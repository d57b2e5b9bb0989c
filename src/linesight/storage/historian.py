"""The DuckDB historian: raw samples with a sequence number, rollups kept current, retention, trends, export.

Every appended sample gets the next number of one monotonically increasing sequence; the cloud
forwarder reads after a watermark in that sequence, so the historian is also the outbox. Rollups at
one minute and one hour (count, sum, min, max, first, last) are merged from each appended batch in
the same transaction, so they are always current and never recomputed from raw.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import duckdb
import numpy as np
import numpy.typing as npt
import platformdirs

from linesight.domain.errors import HistorianError
from linesight.domain.tags import Quality, Sample, TagSpec
from linesight.domain.users import AuditEntry, Role, User
from linesight.storage.alarm_journal import ALARM_SCHEMA, AlarmJournalRecords
from linesight.storage.columns import Columns, as_timestamps, optional, strings
from linesight.storage.outbox import OutboxRecords
from linesight.storage.production import PRODUCTION_SCHEMA, ProductionRecords
from linesight.storage.resolution import US_PER_S, Plan, Resolution, plan_query

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
# DuckDB keeps the blocks it writes cached up to its memory limit. 64 MB keeps a 5,000-tag edge agent
# under 300 MB (bench/memory.py) while trend queries on 90 days of 20 tags stay under 100 ms P95
# (bench/query.py); at 32 MB the rollup merges of a large plant ran out of memory in a long test.
DEFAULT_MEMORY_LIMIT = "64MB"
META_TABLE = "linesight_meta"
# How long close() interrupts a read still running on another thread before it gives up.
CLOSE_WAIT_S = 2.0

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY,
    key VARCHAR NOT NULL UNIQUE,
    machine VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    data_type VARCHAR NOT NULL DEFAULT '',
    unit VARCHAR NOT NULL DEFAULT '',
    description VARCHAR NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS users (
    name VARCHAR PRIMARY KEY,
    role VARCHAR NOT NULL,
    secret VARCHAR NOT NULL,
    display_name VARCHAR NOT NULL DEFAULT ''
);
CREATE SEQUENCE IF NOT EXISTS audit_id;
CREATE TABLE IF NOT EXISTS audit (
    id BIGINT PRIMARY KEY DEFAULT nextval('audit_id'),
    ts TIMESTAMP NOT NULL,
    "user" VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    target VARCHAR NOT NULL,
    old VARCHAR NOT NULL,
    new VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL,
    detail VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    seq BIGINT NOT NULL,
    tag_id INTEGER NOT NULL,
    ts TIMESTAMP NOT NULL,
    value DOUBLE,
    text VARCHAR,
    quality UTINYINT NOT NULL
);
"""
_ROLLUP_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    tag_id INTEGER NOT NULL,
    bucket TIMESTAMP NOT NULL,
    n BIGINT NOT NULL,
    sum DOUBLE NOT NULL,
    min DOUBLE NOT NULL,
    max DOUBLE NOT NULL,
    first DOUBLE NOT NULL,
    first_ts TIMESTAMP NOT NULL,
    last DOUBLE NOT NULL,
    last_ts TIMESTAMP NOT NULL,
    PRIMARY KEY (tag_id, bucket)
);
"""
ROLLUP_TABLES = {Resolution.MINUTE: "rollup_1m", Resolution.HOUR: "rollup_1h"}

# Merge a batch's per-bucket aggregates into a rollup table. In ON CONFLICT's SET, bare column names
# are the stored row and EXCLUDED the new one; every expression sees the stored row as it was.
_MERGE = """
INSERT INTO {table}
SELECT tag_id, time_bucket(INTERVAL '{width}', ts) AS bucket, count(*), sum(value), min(value), max(value),
       arg_min(value, ts), min(ts), arg_max(value, ts), max(ts)
FROM batch
WHERE value IS NOT NULL AND NOT isnan(value) AND quality < {bad}
GROUP BY ALL
ON CONFLICT (tag_id, bucket) DO UPDATE SET
    n = n + EXCLUDED.n,
    sum = sum + EXCLUDED.sum,
    min = least(min, EXCLUDED.min),
    max = greatest(max, EXCLUDED.max),
    first = CASE WHEN EXCLUDED.first_ts < first_ts THEN EXCLUDED.first ELSE first END,
    first_ts = least(first_ts, EXCLUDED.first_ts),
    last = CASE WHEN EXCLUDED.last_ts >= last_ts THEN EXCLUDED.last ELSE last END,
    last_ts = greatest(last_ts, EXCLUDED.last_ts)
"""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ExportFormat = Literal["parquet", "csv"]


def default_historian_path(plant_id: str) -> Path:
    """``<user data dir>/linesight/historian/<plant id>.duckdb`` (platformdirs decides the data dir)."""
    return platformdirs.user_data_path("linesight", appauthor=False) / "historian" / f"{plant_id}.duckdb"


def to_us(when: datetime) -> int:
    """UTC microseconds since the epoch; a naive datetime is taken as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * US_PER_S + delta.microseconds


@dataclass(frozen=True, kw_only=True)
class RetentionPolicy:
    """How long each resolution is kept; None keeps it forever."""

    raw: timedelta | None = timedelta(days=30)
    minute: timedelta | None = timedelta(days=365)
    hour: timedelta | None = None


@dataclass(frozen=True, kw_only=True)
class RetentionResult:
    deleted: dict[str, int]
    # Raw rows past their retention that were kept because the forwarder has not sent them yet.
    held_back: int = 0


@dataclass(frozen=True, kw_only=True)
class TrendSeries:
    """One tag's trend: per bucket its time, min, max, average and sample count, oldest first.

    ``ts_us`` is the bucket's start, except at raw resolution where it is the time of the bucket's
    first sample (so that a bucket of one sample sits exactly where it was taken).
    """

    tag: str
    resolution: Resolution
    bucket_us: int
    ts_us: IntArray
    min: FloatArray
    max: FloatArray
    avg: FloatArray
    count: IntArray

    def __len__(self) -> int:
        return int(self.ts_us.shape[0])


@dataclass(frozen=True, kw_only=True)
class TagInfo:
    key: str
    machine: str
    name: str
    data_type: str = ""
    unit: str = ""
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class HistorianStats:
    path: str
    raw_rows: int
    minute_rows: int
    hour_rows: int
    tags: int
    last_seq: int
    oldest_us: int | None
    newest_us: int | None
    file_bytes: int


# Highest sequence number that retention may delete (the forwarder's durable watermark), or None when
# everything is still waiting to be forwarded.
RetentionGuard = Callable[[], int | None]


@dataclass(kw_only=True)
class _TagIds:
    by_key: dict[str, int] = field(default_factory=dict)
    next_id: int = 1


class Historian(ProductionRecords, AlarmJournalRecords, OutboxRecords):
    """One DuckDB file. Thread-safe: writes are serialised; each query takes its own cursor."""

    def __init__(
        self,
        path: str | Path,
        *,
        retention: RetentionPolicy | None = None,
        read_only: bool = False,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        threads: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.retention = retention or RetentionPolicy()
        self.read_only = read_only
        self._memory_limit = memory_limit
        self._threads = threads
        self._clock = clock
        self._con: duckdb.DuckDBPyConnection | None = None
        # The cursors handed out (each thread reads through its own): close() interrupts the busy ones.
        self._cursors: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()
        self._write_lock = threading.Lock()
        self._tags = _TagIds()
        self._next_seq = 1
        self._guard: RetentionGuard | None = None
        self._held_back_logged = False

    # ------------------------------------------------------------------ life cycle

    def __enter__(self) -> Historian:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def open(self) -> None:
        """Open (creating if needed) the file; refuse clearly, without touching it, if it cannot be used."""
        if self._con is not None:
            return
        if self.read_only and not self.path.exists():
            raise HistorianError(f"historian file {self.path} does not exist")
        if not self.read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise HistorianError(f"cannot create the folder of historian {self.path}: {err}") from err
        config: dict[str, Any] = {"memory_limit": self._memory_limit}
        if self._threads is not None:
            config["threads"] = self._threads
        try:
            con = duckdb.connect(str(self.path), read_only=self.read_only, config=config)
        except duckdb.Error as err:
            raise HistorianError(_explain_open_error(self.path, err)) from err
        try:
            self._check_and_prepare(con)
        except BaseException:
            con.close()
            raise
        self._con = con

    def close(self) -> None:
        """Close the file. A read still running on another thread (a cancelled task's worker thread
        outlives the task) is interrupted: DuckDB will not close a connection while one of its cursors
        is busy. The cursors are interrupted over and over until the close is through, because a read
        that starts just after one interruption does not see it."""
        with self._write_lock:
            con, self._con = self._con, None
            if con is None:
                return
            closed = threading.Event()

            def interrupt_reads() -> None:
                while True:
                    try:
                        cursors = list(self._cursors)
                    except RuntimeError:  # a reader added its cursor meanwhile: next round
                        cursors = []
                    for cursor in cursors:
                        with contextlib.suppress(duckdb.Error):
                            cursor.interrupt()
                    if closed.wait(0.01):
                        return

            interrupter = threading.Thread(target=interrupt_reads, name="historian-close", daemon=True)
            interrupter.start()
            deadline = time.monotonic() + CLOSE_WAIT_S
            try:
                while True:
                    try:
                        con.close()
                        return
                    except duckdb.ConnectionException:
                        return  # already closed: a refused close() closes the connection before it fails
                    except duckdb.ResourceInUseException:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.01)
            finally:
                closed.set()
                interrupter.join(1.0)

    def _check_and_prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        except duckdb.Error as err:
            raise HistorianError(_explain_open_error(self.path, err)) from err
        if tables and META_TABLE not in tables:
            listed = ", ".join(sorted(tables)[:5])
            raise HistorianError(
                f"{self.path} is a DuckDB file but not a LineSight historian (it holds tables: {listed}); "
                "it was left untouched: give another file"
            )
        if META_TABLE in tables:
            row = con.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise HistorianError(
                    f"{self.path} was written by a newer LineSight (historian schema {version}, this version "
                    f"reads up to {SCHEMA_VERSION}); it was left untouched"
                )
        if not self.read_only:
            try:
                con.execute("BEGIN")
                con.execute(_SCHEMA + PRODUCTION_SCHEMA)
                con.execute(ALARM_SCHEMA)
                for table in ROLLUP_TABLES.values():
                    con.execute(_ROLLUP_TABLE.format(table=table))
                con.execute(
                    f"INSERT INTO {META_TABLE} VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                    [str(SCHEMA_VERSION)],
                )
                con.execute("COMMIT")
            except duckdb.Error as err:
                con.execute("ROLLBACK")
                raise HistorianError(f"cannot prepare historian {self.path}: {err}") from err
        if META_TABLE not in tables and self.read_only:
            raise HistorianError(f"{self.path} is an empty DuckDB file, not a LineSight historian")
        for tag_id, key in con.execute("SELECT id, key FROM tags").fetchall():
            self._tags.by_key[key] = tag_id
        self._tags.next_id = max(self._tags.by_key.values(), default=0) + 1
        last = con.execute("SELECT coalesce(max(seq), 0) FROM samples").fetchone()
        recorded = con.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'last_seq'").fetchone()
        self._next_seq = max(int(last[0]) if last else 0, int(recorded[0]) if recorded else 0) + 1

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise HistorianError(f"historian {self.path} is not open")
        cursor = self._con.cursor()
        self._cursors.add(cursor)
        return cursor

    # ------------------------------------------------------------------ tags

    def register_tags(self, specs: Iterable[TagSpec]) -> None:
        """Record the plant's tags with their unit and type; new tags get the next id."""
        rows = [
            (spec.key, spec.machine, spec.name, spec.data_type.value, spec.unit, spec.description)
            for spec in specs
        ]
        with self._write_lock:
            self._upsert_tags(rows)

    def _upsert_tags(self, rows: Sequence[tuple[str, str, str, str, str, str]]) -> None:
        if not rows:
            return
        cursor = self._cursor()
        ids = dict(self._tags.by_key)
        next_id = self._tags.next_id
        for key, *_rest in rows:
            if key not in ids:
                ids[key] = next_id
                next_id += 1
        columns = list(zip(*[(ids[row[0]], *row) for row in rows], strict=True))
        table = {
            name: np.array(values, dtype=np.int32) if name == "id" else strings(values)
            for name, values in zip(
                ("id", "key", "machine", "name", "data_type", "unit", "description"), columns, strict=True
            )
        }
        try:
            cursor.register("new_tags", table)
            cursor.execute(
                "INSERT INTO tags SELECT * FROM new_tags ON CONFLICT (id) DO UPDATE SET "
                "data_type = EXCLUDED.data_type, unit = EXCLUDED.unit, description = EXCLUDED.description"
            )
        except duckdb.Error as err:
            raise HistorianError(f"cannot record tags in {self.path}: {err}") from err
        finally:
            cursor.unregister("new_tags")
            cursor.close()
        self._tags.by_key = ids
        self._tags.next_id = next_id

    def tags(self) -> list[TagInfo]:
        cursor = self._cursor()
        try:
            rows = cursor.execute(
                "SELECT key, machine, name, data_type, unit, description FROM tags ORDER BY key"
            ).fetchall()
        finally:
            cursor.close()
        return [
            TagInfo(key=r[0], machine=r[1], name=r[2], data_type=r[3], unit=r[4], description=r[5])
            for r in rows
        ]

    def _ids_of(self, tags: Sequence[str]) -> dict[str, int]:
        missing = [tag for tag in tags if tag not in self._tags.by_key]
        if missing:
            known = sorted(self._tags.by_key)
            shown = ", ".join(known[:20]) + (f" … ({len(known)} in all)" if len(known) > 20 else "")
            raise HistorianError(
                f"no tag {', '.join(repr(t) for t in missing)} in historian {self.path}; "
                f"tags are named machine.tag; known: {shown or 'none yet'}"
            )
        return {tag: self._tags.by_key[tag] for tag in tags}

    # ------------------------------------------------------------------ ingest

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    def append(self, samples: Sequence[Sample]) -> tuple[int, int] | None:
        """Store a batch in one transaction; return its (first, last) sequence numbers."""
        if not samples:
            return None
        with self._write_lock:
            self._register_unknown({s[0] for s in samples})
            return self._store(_to_columns(samples, self._tags.by_key, self._next_seq))

    def append_columns(self, columns: Mapping[str, Any]) -> tuple[int, int] | None:
        """The bulk path (imports, backfills, benchmarks): store columns of equal length in one transaction.

        Columns (NumPy arrays or sequences): ``tag`` (``machine.tag``), ``ts`` (datetime64 or int64 µs,
        UTC), ``value`` (float64; a masked element is NULL) and optionally ``text`` (str or None) and
        ``quality`` (uint8; 0 good, 1 uncertain, 2 bad).
        """
        missing = {"tag", "ts", "value"}.difference(columns)
        if missing:
            raise HistorianError(
                f"append_columns needs the columns tag, ts and value; missing: {sorted(missing)}"
            )
        tags = np.asarray(columns["tag"], dtype=object)
        rows = len(tags)
        uneven = {name: len(column) for name, column in columns.items() if len(column) != rows}
        if uneven:
            raise HistorianError(f"append_columns: column tag has {rows} rows, but {uneven}")
        if rows == 0:
            return None
        try:
            ts = as_timestamps(columns["ts"])
            value = np.ma.asarray(columns["value"], dtype=np.float64)
            given = np.asarray(columns.get("quality", np.zeros(rows)))
            wrong = given[(given < 0) | (given > max(Quality))] if given.size else given
            if wrong.size:
                raise ValueError(f"column 'quality': 0 good, 1 uncertain or 2 bad, not {wrong[0]}")
            quality = given.astype(np.uint8)
        except (TypeError, ValueError, OverflowError) as err:
            raise HistorianError(f"append_columns: {err}") from err
        text = strings(columns["text"]) if "text" in columns else np.full(rows, None, dtype=object)
        with self._write_lock:
            self._register_unknown(set(tags))
            by_key = self._tags.by_key
            batch: dict[str, npt.NDArray[Any]] = {
                "seq": np.arange(self._next_seq, self._next_seq + rows, dtype=np.int64),
                "tag_id": np.fromiter((by_key[tag] for tag in tags), dtype=np.int32, count=rows),
                "ts": ts,
                "value": value if np.ma.is_masked(value) else value.data,
                "text": text,
                "quality": quality,
            }
            return self._store(batch)

    def _register_unknown(self, keys: set[str]) -> None:
        unknown = keys.difference(self._tags.by_key)
        if unknown:
            self._upsert_tags([(key, *_split_key(key), "", "", "") for key in sorted(unknown)])

    def _store(self, batch: Columns) -> tuple[int, int]:
        """Insert a batch with its sequence numbers and merge it into the rollups, in one transaction.

        The batch's columns are those of the samples table, in its order: seq, tag_id, ts, value, text,
        quality."""
        count = len(batch["seq"])
        cursor = self._cursor()
        try:
            cursor.execute("BEGIN")
            cursor.register("batch", batch)
            cursor.execute("INSERT INTO samples SELECT * FROM batch")
            for resolution, name in ROLLUP_TABLES.items():
                width = "1 minute" if resolution is Resolution.MINUTE else "1 hour"
                cursor.execute(_MERGE.format(table=name, width=width, bad=int(Quality.BAD)))
            cursor.execute("COMMIT")
        except duckdb.Error as err:
            try:
                cursor.execute("ROLLBACK")
            except duckdb.Error:
                log.debug("rollback after a failed append also failed", exc_info=True)
            raise HistorianError(f"cannot write {count} samples to {self.path}: {err}") from err
        finally:
            cursor.unregister("batch")
            cursor.close()
        first = self._next_seq
        self._next_seq += count
        return first, self._next_seq - 1

    # ------------------------------------------------------------------ retention

    def set_retention_guard(self, guard: RetentionGuard | None) -> None:
        """Protect raw rows the forwarder has not sent: only rows at or below ``guard()`` may be deleted."""
        self._guard = guard

    def apply_retention(self, now: datetime | None = None) -> RetentionResult:
        now_us = to_us(now) if now is not None else int(self._clock() * US_PER_S)
        deleted: dict[str, int] = {}
        held_back = 0
        with self._write_lock:
            cursor = self._cursor()
            try:
                cursor.execute("BEGIN")
                # Remember the sequence before rows go, so that it never restarts lower after a reopen.
                cursor.execute(
                    f"INSERT INTO {META_TABLE} VALUES ('last_seq', ?) ON CONFLICT (key) DO UPDATE SET "
                    "value = EXCLUDED.value",
                    [str(self.last_seq)],
                )
                keep = self.retention.raw
                if keep is not None:
                    cutoff = now_us - _span_us(keep)
                    guard = self._guard() if self._guard is not None else self.last_seq
                    limit = -1 if guard is None else guard
                    deleted["raw"] = _count_deleted(
                        cursor,
                        "DELETE FROM samples WHERE ts < make_timestamp(?) AND seq <= ?",
                        [cutoff, limit],
                    )
                    row = cursor.execute(
                        "SELECT count(*) FROM samples WHERE ts < make_timestamp(?)", [cutoff]
                    ).fetchone()
                    held_back = int(row[0]) if row else 0
                    self._set_meta(cursor, "raw_from_us", cutoff)
                for resolution, table in ROLLUP_TABLES.items():
                    span = self.retention.minute if resolution is Resolution.MINUTE else self.retention.hour
                    if span is None:
                        continue
                    cutoff = now_us - _span_us(span)
                    deleted[resolution.value] = _count_deleted(
                        cursor, f"DELETE FROM {table} WHERE bucket < make_timestamp(?)", [cutoff]
                    )
                    self._set_meta(cursor, f"{resolution.value}_from_us", cutoff)
                cursor.execute("COMMIT")
            except duckdb.Error as err:
                cursor.execute("ROLLBACK")
                raise HistorianError(f"retention on {self.path} failed: {err}") from err
            finally:
                cursor.close()
        if held_back and not self._held_back_logged:
            log.warning(
                "historian %s: kept %d raw rows past their retention because they are not forwarded yet",
                self.path,
                held_back,
            )
            self._held_back_logged = True
        elif not held_back:
            self._held_back_logged = False
        return RetentionResult(deleted=deleted, held_back=held_back)

    @staticmethod
    def _set_meta(cursor: duckdb.DuckDBPyConnection, key: str, value: int) -> None:
        cursor.execute(
            f"INSERT INTO {META_TABLE} VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            [key, str(value)],
        )

    def _available_from(self, cursor: duckdb.DuckDBPyConnection) -> dict[str, int]:
        rows = cursor.execute(f"SELECT key, value FROM {META_TABLE} WHERE key LIKE '%_from_us'").fetchall()
        return {key.removesuffix("_from_us"): int(value) for key, value in rows}

    # ------------------------------------------------------------------ queries

    def trend(
        self, tags: Sequence[str], start: datetime, end: datetime, max_points: int = 2000
    ) -> dict[str, TrendSeries]:
        """At most ``max_points`` buckets per tag over [start, end), each with min, max and average.

        The finest resolution that fits is used (raw, then 1-minute, then 1-hour rollups), so a spike
        shows in the bucket's max however far the view is zoomed out. Bad-quality, missing, NaN and text
        values are left out.
        """
        ids = self._ids_of(tags)
        start_us, end_us = to_us(start), to_us(end)
        cursor = self._cursor()
        try:
            available = self._available_from(cursor)
            plan = plan_query(
                start_us,
                end_us,
                max_points,
                raw_from_us=available.get("raw"),
                minute_from_us=available.get(Resolution.MINUTE.value),
            )
            columns = _trend_query(cursor, plan, list(ids.values()), start_us, end_us)
        except duckdb.Error as err:
            raise HistorianError(f"trend query on {self.path} failed: {err}") from err
        finally:
            cursor.close()
        result: dict[str, TrendSeries] = {}
        tag_ids = columns["tag_id"]
        for tag, tag_id in ids.items():
            mask = tag_ids == tag_id
            result[tag] = TrendSeries(
                tag=tag,
                resolution=plan.resolution,
                bucket_us=plan.bucket_us,
                ts_us=columns["t"][mask].astype(np.int64),
                min=columns["lo"][mask].astype(np.float64),
                max=columns["hi"][mask].astype(np.float64),
                avg=columns["mean"][mask].astype(np.float64),
                count=columns["n"][mask].astype(np.int64),
            )
        return result

    def raw(self, tags: Sequence[str], start: datetime, end: datetime) -> dict[str, npt.NDArray[Any]]:
        """Every stored sample of ``tags`` in [start, end), as columns: seq, tag, ts_us (UTC µs), value,
        text, quality (a NULL is a masked element; ``.tolist()`` gives it as None)."""
        ids = self._ids_of(tags)
        cursor = self._cursor()
        try:
            result: dict[str, npt.NDArray[Any]] = cursor.execute(
                _RAW_SELECT + " ORDER BY s.ts, s.seq", [list(ids.values()), to_us(start), to_us(end)]
            ).fetchnumpy()
            return result
        except duckdb.Error as err:
            raise HistorianError(f"reading {self.path} failed: {err}") from err
        finally:
            cursor.close()

    def samples(self, tags: Sequence[str], start: datetime, end: datetime) -> list[Sample]:
        """The stored samples of ``tags`` in [start, end) in time order (numbers come back as floats)."""
        known = [tag for tag in tags if tag in self._tags.by_key]
        if not known:
            return []
        table = self.raw(known, start, end)
        columns = [table[name].tolist() for name in ("tag", "ts_us", "value", "text", "quality")]
        return [
            Sample(tag=tag, ts_us=ts, value=value if text is None else text, quality=Quality(quality))
            for tag, ts, value, text, quality in zip(*columns, strict=True)
        ]

    def export(
        self, tags: Sequence[str], start: datetime, end: datetime, out: str | Path, fmt: ExportFormat
    ) -> int:
        """Write the raw samples of ``tags`` in [start, end) to CSV or Parquet; return the row count.

        The file appears complete or not at all: it is written beside the target and renamed.
        """
        if fmt not in ("parquet", "csv"):
            raise HistorianError(f"unknown export format {fmt!r}; use parquet or csv")
        ids = self._ids_of(tags)
        target = Path(out)
        partial = target.with_name(f".{target.name}.partial")
        options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
        query = (
            "SELECT s.ts::TIMESTAMPTZ AS time, t.key AS tag, s.value, s.text, "
            "CASE s.quality WHEN 0 THEN 'good' WHEN 1 THEN 'uncertain' ELSE 'bad' END AS quality, "
            f"t.unit, s.seq FROM samples s JOIN tags t ON t.id = s.tag_id WHERE {_IN_WINDOW} "
            "ORDER BY s.ts, s.seq"
        )
        cursor = self._cursor()
        try:
            cursor.execute("SET TimeZone = 'UTC'")
            escaped = str(partial).replace("'", "''")
            row = cursor.execute(
                f"COPY ({query}) TO '{escaped}' ({options})", [list(ids.values()), to_us(start), to_us(end)]
            ).fetchone()
            os.replace(partial, target)
        except (duckdb.Error, OSError) as err:
            partial.unlink(missing_ok=True)
            raise HistorianError(f"export from {self.path} to {target} failed: {err}") from err
        finally:
            cursor.close()
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ users and the audit trail

    def save_user(self, user: User) -> None:
        """Add a user or replace one of the same name (role, PIN or password changed)."""
        self._write(
            "INSERT INTO users VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role, "
            "secret = EXCLUDED.secret, display_name = EXCLUDED.display_name",
            [user.name, user.role.value, user.secret, user.display_name],
            f"cannot save user {user.name!r}",
        )

    def remove_user(self, name: str) -> bool:
        row = self._write(
            "DELETE FROM users WHERE name = ? RETURNING name", [name], f"cannot remove {name!r}"
        )
        return bool(row)

    def users(self) -> list[User]:
        cursor = self._cursor()
        try:
            rows = cursor.execute(
                "SELECT name, role, secret, display_name FROM users ORDER BY name"
            ).fetchall()
        finally:
            cursor.close()
        return [User(name=r[0], role=Role(r[1]), secret=r[2], display_name=r[3]) for r in rows]

    def audit(self, entry: AuditEntry) -> None:
        """Record a privileged action; the audit trail is never edited or deleted by LineSight."""
        self._write(
            'INSERT INTO audit (ts, "user", role, action, target, old, new, outcome, detail) '
            "VALUES (make_timestamp(?), ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                entry.ts_us,
                entry.user,
                entry.role,
                entry.action,
                entry.target,
                entry.old,
                entry.new,
                entry.outcome,
                entry.detail,
            ],
            "cannot record an audit entry",
        )

    def audit_entries(self, since: datetime | None = None, limit: int = 1000) -> list[AuditEntry]:
        """The newest audit entries first."""
        cursor = self._cursor()
        try:
            rows = cursor.execute(
                'SELECT epoch_us(ts), "user", role, action, target, old, new, outcome, detail FROM audit '
                "WHERE ts >= make_timestamp(?) ORDER BY id DESC LIMIT ?",
                [to_us(since) if since is not None else 0, limit],
            ).fetchall()
        finally:
            cursor.close()
        return [
            AuditEntry(
                ts_us=r[0],
                user=r[1],
                role=r[2],
                action=r[3],
                target=r[4],
                old=r[5],
                new=r[6],
                outcome=r[7],
                detail=r[8],
            )
            for r in rows
        ]

    def _write(self, sql: str, params: list[Any], what: str) -> list[Any]:
        with self._write_lock:
            cursor = self._cursor()
            try:
                return list(cursor.execute(sql, params).fetchall())
            except duckdb.Error as err:
                raise HistorianError(f"{what} in {self.path}: {err}") from err
            finally:
                cursor.close()

    def stats(self) -> HistorianStats:
        cursor = self._cursor()
        try:
            raw = cursor.execute(
                "SELECT count(*), epoch_us(min(ts)), epoch_us(max(ts)) FROM samples"
            ).fetchone() or (0, None, None)
            minute = cursor.execute("SELECT count(*) FROM rollup_1m").fetchone() or (0,)
            hour = cursor.execute("SELECT count(*) FROM rollup_1h").fetchone() or (0,)
        finally:
            cursor.close()
        try:
            size = self.path.stat().st_size
        except OSError:
            size = 0
        return HistorianStats(
            path=str(self.path),
            raw_rows=int(raw[0]),
            minute_rows=int(minute[0]),
            hour_rows=int(hour[0]),
            tags=len(self._tags.by_key),
            last_seq=self.last_seq,
            oldest_us=raw[1],
            newest_us=raw[2],
            file_bytes=size,
        )

    def rollups(self, resolution: Resolution, tag: str) -> dict[str, npt.NDArray[Any]]:
        """The stored rollup rows of one tag, as columns: bucket_us, n, sum, min, max, first, first_us, last,
        last_us."""
        if resolution is Resolution.RAW:
            raise ValueError("raw rows are read with raw(), not rollups()")
        tag_id = self._ids_of([tag])[tag]
        cursor = self._cursor()
        try:
            result: dict[str, npt.NDArray[Any]] = cursor.execute(
                "SELECT epoch_us(bucket) AS bucket_us, n, sum, min, max, first, "
                "epoch_us(first_ts) AS first_us, last, epoch_us(last_ts) AS last_us "
                f"FROM {ROLLUP_TABLES[resolution]} WHERE tag_id = ? ORDER BY bucket",
                [tag_id],
            ).fetchnumpy()
            return result
        finally:
            cursor.close()


# Rows of the tags with the given ids (a list parameter) with a time in [start, end) (two µs parameters).
_IN_WINDOW = "tag_id IN (SELECT unnest(?::INTEGER[])) AND ts >= make_timestamp(?) AND ts < make_timestamp(?)"
_RAW_SELECT = (
    "SELECT s.seq, t.key AS tag, epoch_us(s.ts) AS ts_us, s.value, s.text, s.quality "
    f"FROM samples s JOIN tags t ON t.id = s.tag_id WHERE {_IN_WINDOW}"
)


def _trend_query(
    cursor: duckdb.DuckDBPyConnection, plan: Plan, tag_ids: list[int], start_us: int, end_us: int
) -> dict[str, npt.NDArray[Any]]:
    width = plan.bucket_us
    if plan.resolution is Resolution.RAW:
        sql = (
            "SELECT tag_id, epoch_us(min(ts)) AS t, min(value) AS lo, max(value) AS hi, avg(value) AS mean, "
            f"count(*) AS n FROM samples WHERE {_IN_WINDOW} "
            f"AND value IS NOT NULL AND NOT isnan(value) AND quality < {int(Quality.BAD)} "
            "GROUP BY tag_id, epoch_us(ts) // ? ORDER BY tag_id, t"
        )
        params: list[Any] = [tag_ids, start_us, end_us, width]
    else:
        table = ROLLUP_TABLES[plan.resolution]
        unit = plan.resolution.seconds * US_PER_S
        # Rollup buckets that start before the window but reach into it are included.
        sql = (
            "SELECT tag_id, b * ? AS t, min(min) AS lo, max(max) AS hi, sum(sum) / sum(n) AS mean, "
            "sum(n) AS n "
            f"FROM (SELECT *, epoch_us(bucket) // ? AS b FROM {table} "
            "WHERE tag_id IN (SELECT unnest(?::INTEGER[])) AND bucket >= make_timestamp(?) "
            "AND bucket < make_timestamp(?)) GROUP BY tag_id, b ORDER BY tag_id, t"
        )
        params = [width, width, tag_ids, (start_us // unit) * unit, end_us]
    result: dict[str, npt.NDArray[Any]] = cursor.execute(sql, params).fetchnumpy()
    return result


def _count_deleted(cursor: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> int:
    row = cursor.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def _span_us(span: timedelta) -> int:
    return int(span.total_seconds() * US_PER_S)


def _split_key(key: str) -> tuple[str, str]:
    machine, _dot, name = key.partition(".")
    return machine, name or key


def _to_columns(samples: Sequence[Sample], ids: dict[str, int], first_seq: int) -> Columns:
    # Column by column with comprehensions over tuple positions: the cheapest transpose in Python
    # (zip(*samples) is several times slower for batches this large).
    count = len(samples)
    values = [s[2] for s in samples]
    no_number = [v is None or v.__class__ is str for v in values]
    if any(no_number):  # a text sample (or one without a value) has a NULL value; a number, a NULL text
        value = optional([None if n else v for v, n in zip(values, no_number, strict=True)], np.float64)
        text = strings(v if v.__class__ is str else None for v in values)
    else:
        value = np.array(values, dtype=np.float64)
        text = np.full(count, None, dtype=object)
    return {
        "seq": np.arange(first_seq, first_seq + count, dtype=np.int64),
        "tag_id": np.array([ids[s[0]] for s in samples], dtype=np.int32),
        "ts": np.array([s[1] for s in samples], dtype=np.int64).view("datetime64[us]"),
        "value": value,
        "text": text,
        "quality": np.array([s[3] for s in samples], dtype=np.uint8),
    }


def _explain_open_error(path: Path, err: duckdb.Error) -> str:
    text = str(err)
    if "Conflicting lock" in text or "Could not set lock" in text:
        holder = text.split("Conflicting lock is held in", 1)[-1].split(". See also")[0].strip()
        return (
            f"historian {path} is in use by another process ({holder}); only one LineSight may have it "
            "open: stop the other one, or export from it. The file was not changed."
        )
    if "not a valid DuckDB database file" in text or isinstance(err, duckdb.SerializationException):
        return (
            f"historian {path} is damaged or is not a DuckDB file ({text}). It was left untouched: move it "
            "aside to start a new history, or restore it from a backup."
        )
    return f"cannot open historian {path}: {text}. The file was not changed."
