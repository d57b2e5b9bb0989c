"""The historian as the cloud outbox: durable watermarks, reads after them, backlog size and age.

Samples are followed by their sequence number, events by their table's increasing id; the forwarder
moves a watermark only after the broker acknowledged what lies below it, so no second copy is kept.
Events that have no table of their own (machine state changes, shift OEE results, gaps) are kept in
``outbox_events``, with an id that increases per stream.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from linesight.domain.errors import HistorianError

_META = "linesight_meta"  # the historian's META_TABLE (not imported: historian imports this module)
OUTBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_events (
    stream VARCHAR NOT NULL,
    id BIGINT NOT NULL,
    ts_us BIGINT NOT NULL,
    machine VARCHAR,
    data VARCHAR NOT NULL,
    dedupe VARCHAR,
    PRIMARY KEY (stream, id)
);
"""

# Each event stream: the query of its rows after an id, as (id, ts µs, machine, JSON-ready data...).
_AUDIT_COLUMNS = ("user", "role", "action", "target", "old", "new", "outcome", "detail")
_ALARM_COLUMNS = (
    "alarm_id", "rule_id", "tag", "priority", "from_state", "to_state", "action", "value", "message",
    "user", "comment",
)  # fmt: skip
_STREAM_SQL = {
    "alarm": (
        "SELECT id, epoch_us(ts), machine, "
        + ", ".join(f'"{c}"' for c in _ALARM_COLUMNS)
        + ", epoch_us(shelved_until) FROM alarm_events WHERE id > ? ORDER BY id LIMIT ?",
        (*_ALARM_COLUMNS, "shelved_until_us"),
    ),
    "downtime_code": (
        'SELECT id, epoch_us(coded_at), machine, epoch_us(start_ts), epoch_us(end_ts), reason, "user", '
        "comment FROM downtime_codes WHERE id > ? ORDER BY id LIMIT ?",
        ("start_us", "end_us", "reason", "user", "comment"),
    ),
    "reject": (
        'SELECT id, epoch_us(ts), machine, count, reason, "user", comment FROM rejects '
        "WHERE id > ? ORDER BY id LIMIT ?",
        ("count", "reason", "user", "comment"),
    ),
    "audit": (
        "SELECT id, epoch_us(ts), NULL, " + ", ".join(f'"{c}"' for c in _AUDIT_COLUMNS) + " FROM audit "
        "WHERE id > ? ORDER BY id LIMIT ?",
        _AUDIT_COLUMNS,
    ),
}
# Streams kept in outbox_events.
OWN_STREAMS = ("state", "shift_oee", "gap")
EVENT_STREAMS = (*_STREAM_SQL, *OWN_STREAMS)


@dataclass(frozen=True, kw_only=True)
class OutboxSamples:
    """Sample rows after a watermark, in sequence order, as columns.

    ``end`` is the highest sequence number the read covers: every row with a number in (after, end]
    that still exists is in these columns; numbers in that range that are missing were deleted.
    """

    after: int
    end: int
    seq: list[int]
    tag_id: list[int]
    ts_us: list[int]
    value: list[float | None]
    text: list[str | None]
    quality: list[int]

    def __len__(self) -> int:
        return len(self.seq)


@dataclass(frozen=True, kw_only=True)
class OutboxEvent:
    stream: str
    id: int
    ts_us: int
    machine: str | None
    data: dict[str, Any]


class OutboxRecords:
    """The forwarder's view of the historian (mixed into ``Historian``)."""

    if TYPE_CHECKING:
        path: Path
        _write_lock: threading.Lock

        @property
        def last_seq(self) -> int: ...

        def _cursor(self) -> duckdb.DuckDBPyConnection: ...

    _outbox_ready = False

    def _outbox_prepare(self) -> None:
        if self._outbox_ready:
            return
        with self._write_lock:
            cursor = self._cursor()
            try:
                cursor.execute(OUTBOX_SCHEMA)
            except duckdb.Error as err:
                raise HistorianError(f"cannot prepare the cloud outbox in {self.path}: {err}") from err
            finally:
                cursor.close()
        self._outbox_ready = True

    # ------------------------------------------------------------------ watermarks and settings

    def outbox_meta(self, key: str) -> str | None:
        cursor = self._cursor()
        try:
            row = cursor.execute(f"SELECT value FROM {_META} WHERE key = ?", [key]).fetchone()
        except duckdb.Error as err:
            raise HistorianError(f"cannot read {key} from {self.path}: {err}") from err
        finally:
            cursor.close()
        return None if row is None else str(row[0])

    def set_outbox_meta(self, key: str, value: str) -> None:
        with self._write_lock:
            cursor = self._cursor()
            try:
                cursor.execute(
                    f"INSERT INTO {_META} VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    [key, value],
                )
            except duckdb.Error as err:
                raise HistorianError(f"cannot record {key} in {self.path}: {err}") from err
            finally:
                cursor.close()

    def outbox_watermark(self, stream: str) -> int:
        """The highest sequence number (samples) or id (an event stream) the broker acknowledged."""
        value = self.outbox_meta(f"cloud.watermark.{stream}")
        return int(value) if value is not None else 0

    def set_outbox_watermarks(self, marks: dict[str, int]) -> None:
        """Record watermarks in one transaction; a watermark never moves back."""
        if not marks:
            return
        with self._write_lock:
            cursor = self._cursor()
            try:
                cursor.execute("BEGIN")
                for stream, value in marks.items():
                    cursor.execute(
                        f"INSERT INTO {_META} VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                        "CAST(greatest(CAST(value AS BIGINT), CAST(EXCLUDED.value AS BIGINT)) AS VARCHAR)",
                        [f"cloud.watermark.{stream}", str(int(value))],
                    )
                cursor.execute("COMMIT")
            except duckdb.Error as err:
                cursor.execute("ROLLBACK")
                raise HistorianError(f"cannot record the cloud watermarks in {self.path}: {err}") from err
            finally:
                cursor.close()

    # ------------------------------------------------------------------ samples

    def outbox_samples(self, after: int, *, upto: int | None = None, limit: int = 5000) -> OutboxSamples:
        """At most ``limit`` rows with a sequence number in (after, upto] (upto: the last stored).

        Sequence numbers are contiguous but for rows retention deleted, so the read is a window of
        ``limit`` numbers (a range scan, where ORDER BY ... LIMIT over the whole backlog would sort
        it); an empty window skips ahead to the next row that exists.
        """
        top = self.last_seq if upto is None else min(upto, self.last_seq)
        if top <= after:
            return OutboxSamples(
                after=after, end=after, seq=[], tag_id=[], ts_us=[], value=[], text=[], quality=[]
            )
        cursor = self._cursor()
        try:
            start = after
            end = min(top, after + limit)
            columns = _window(cursor, start, end)
            if len(columns["seq"]) == 0 and end < top:
                row = cursor.execute(
                    "SELECT min(seq) FROM samples WHERE seq > ? AND seq <= ?", [end, top]
                ).fetchone()
                if row is None or row[0] is None:
                    end = top
                else:
                    start = int(row[0]) - 1
                    end = min(top, start + limit)
                    columns = _window(cursor, start, end)
        except duckdb.Error as err:
            raise HistorianError(f"reading samples after {after} from {self.path} failed: {err}") from err
        finally:
            cursor.close()
        return OutboxSamples(
            after=after,
            end=end,
            seq=columns["seq"].tolist(),
            tag_id=columns["tag_id"].tolist(),
            ts_us=columns["ts_us"].tolist(),
            value=columns["value"].tolist(),
            text=columns["text"].tolist(),
            quality=columns["quality"].tolist(),
        )

    def outbox_tags(self) -> dict[int, tuple[str, str]]:
        """Every tag id with its ``machine.tag`` key and unit."""
        cursor = self._cursor()
        try:
            rows = cursor.execute("SELECT id, key, unit FROM tags").fetchall()
        finally:
            cursor.close()
        return {int(r[0]): (str(r[1]), str(r[2])) for r in rows}

    def outbox_first_seq_since(self, after: int, ts_us: int) -> int | None:
        """The lowest sequence number above ``after`` of a sample taken at or after ``ts_us``."""
        row = self._outbox_one(
            "SELECT min(seq) FROM samples WHERE seq > ? AND ts >= make_timestamp(?)", [after, ts_us]
        )
        return None if row is None or row[0] is None else int(row[0])

    def outbox_oldest(self, after: int) -> int | None:
        """The time (UTC µs) of the first sample after ``after``, or None when there is none."""
        row = self._outbox_one("SELECT epoch_us(ts) FROM samples WHERE seq > ? ORDER BY seq LIMIT 1", [after])
        return None if row is None or row[0] is None else int(row[0])

    def outbox_backlog(self, after: int) -> tuple[int, int | None]:
        """How many samples lie after ``after``, and the time (UTC µs) of the oldest."""
        row = self._outbox_one("SELECT count(*), epoch_us(min(ts)) FROM samples WHERE seq > ?", [after])
        if row is None:
            return 0, None
        return int(row[0]), None if row[1] is None else int(row[1])

    def _outbox_one(self, sql: str, params: list[Any]) -> tuple[Any, ...] | None:
        cursor = self._cursor()
        try:
            row = cursor.execute(sql, params).fetchone()
        except duckdb.Error as err:
            raise HistorianError(f"outbox query on {self.path} failed: {err}") from err
        finally:
            cursor.close()
        return None if row is None else tuple(row)

    # ------------------------------------------------------------------ events

    def record_outbox_event(
        self, stream: str, ts_us: int, machine: str | None, data: dict[str, Any], *, dedupe: str | None = None
    ) -> int | None:
        """Keep an event of a stream without a table of its own; returns its id, or None when an event
        with the same ``dedupe`` key is already kept."""
        if stream not in OWN_STREAMS:
            raise HistorianError(
                f"stream {stream!r} has its own table; kept here are {', '.join(OWN_STREAMS)}"
            )
        self._outbox_prepare()
        with self._write_lock:
            cursor = self._cursor()
            try:
                cursor.execute("BEGIN")
                if dedupe is not None:
                    found = cursor.execute(
                        "SELECT id FROM outbox_events WHERE stream = ? AND dedupe = ?", [stream, dedupe]
                    ).fetchone()
                    if found is not None:
                        cursor.execute("COMMIT")
                        return None
                row = cursor.execute(
                    "INSERT INTO outbox_events SELECT ?, coalesce(max(id), 0) + 1, ?, ?, ?, ? "
                    "FROM outbox_events WHERE stream = ? RETURNING id",
                    [stream, ts_us, machine, json.dumps(data), dedupe, stream],
                ).fetchone()
                cursor.execute("COMMIT")
            except duckdb.Error as err:
                cursor.execute("ROLLBACK")
                raise HistorianError(f"cannot record a {stream} event in {self.path}: {err}") from err
            finally:
                cursor.close()
        return int(row[0]) if row else None

    def outbox_events(self, stream: str, after: int, limit: int = 500) -> list[OutboxEvent]:
        """The events of ``stream`` with an id above ``after``, oldest first."""
        if stream in OWN_STREAMS:
            self._outbox_prepare()
            sql = (
                "SELECT id, ts_us, machine, data FROM outbox_events WHERE stream = ? AND id > ? "
                "ORDER BY id LIMIT ?"
            )
            rows = self._outbox_rows(sql, [stream, after, limit])
            return [
                OutboxEvent(stream=stream, id=int(r[0]), ts_us=int(r[1]), machine=r[2], data=json.loads(r[3]))
                for r in rows
            ]
        if stream not in _STREAM_SQL:
            raise HistorianError(f"unknown event stream {stream!r}; known: {', '.join(EVENT_STREAMS)}")
        sql, names = _STREAM_SQL[stream]
        rows = self._outbox_rows(sql, [after, limit])
        return [
            OutboxEvent(
                stream=stream,
                id=int(r[0]),
                ts_us=int(r[1]),
                machine=r[2],
                data=_data(stream, names, r[3:]),
            )
            for r in rows
        ]

    def outbox_event_head(self, stream: str) -> int:
        """The highest id of a stream (0 when it has none)."""
        if stream in OWN_STREAMS:
            self._outbox_prepare()
            row = self._outbox_one(
                "SELECT coalesce(max(id), 0) FROM outbox_events WHERE stream = ?", [stream]
            )
        else:
            table = {"alarm": "alarm_events", "downtime_code": "downtime_codes", "reject": "rejects"}.get(
                stream, stream
            )
            row = self._outbox_one(f"SELECT coalesce(max(id), 0) FROM {table}", [])
        return int(row[0]) if row else 0

    def _outbox_rows(self, sql: str, params: list[Any]) -> Sequence[Any]:
        cursor = self._cursor()
        try:
            return cursor.execute(sql, params).fetchall()
        except duckdb.Error as err:
            raise HistorianError(f"reading events from {self.path} failed: {err}") from err
        finally:
            cursor.close()


def _window(cursor: duckdb.DuckDBPyConnection, after: int, end: int) -> dict[str, Any]:
    columns: dict[str, Any] = cursor.execute(
        "SELECT seq, tag_id, epoch_us(ts) AS ts_us, value, text, quality FROM samples "
        "WHERE seq > ? AND seq <= ? ORDER BY seq",
        [after, end],
    ).fetchnumpy()
    return columns


def _data(stream: str, names: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    data = dict(zip(names, values, strict=True))
    if stream == "alarm" and data.get("value") is not None:
        # The journal keeps the tag value as JSON text; the message carries the value itself.
        data["value"] = json.loads(data["value"])
    return data
