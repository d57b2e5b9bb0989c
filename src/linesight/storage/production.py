"""What operators record about production: stops coded with reasons and rejects, kept in the historian.

Rows are only ever added: a new coding of the same time replaces the old one when the timeline is
read (the newest coding wins), so the history of who coded what stays. Each row has an increasing id,
which is what the cloud forwarder follows, as it follows the samples' sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from linesight.domain.reasons import DowntimeCode, RejectEntry

if TYPE_CHECKING:
    import duckdb

PRODUCTION_SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS downtime_code_id;
CREATE TABLE IF NOT EXISTS downtime_codes (
    id BIGINT PRIMARY KEY DEFAULT nextval('downtime_code_id'),
    machine VARCHAR NOT NULL,
    start_ts TIMESTAMP NOT NULL,
    end_ts TIMESTAMP,
    reason VARCHAR NOT NULL,
    "user" VARCHAR NOT NULL,
    coded_at TIMESTAMP NOT NULL,
    comment VARCHAR NOT NULL DEFAULT ''
);
CREATE SEQUENCE IF NOT EXISTS reject_id;
CREATE TABLE IF NOT EXISTS rejects (
    id BIGINT PRIMARY KEY DEFAULT nextval('reject_id'),
    machine VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    count INTEGER NOT NULL,
    reason VARCHAR NOT NULL,
    "user" VARCHAR NOT NULL,
    comment VARCHAR NOT NULL DEFAULT ''
);
"""


def _us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _utc(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


class ProductionRecords:
    """The historian's downtime codings and rejects (mixed into ``Historian``)."""

    if TYPE_CHECKING:

        def _write(self, sql: str, params: list[Any], what: str) -> list[Any]: ...
        def _cursor(self) -> duckdb.DuckDBPyConnection: ...

    def record_downtime_code(self, code: DowntimeCode) -> int:
        rows = self._write(
            'INSERT INTO downtime_codes (machine, start_ts, end_ts, reason, "user", coded_at, comment) '
            "VALUES (?, make_timestamp(?), make_timestamp(?), ?, ?, make_timestamp(?), ?) RETURNING id",
            [
                code.machine,
                _us(code.start),
                _us(code.end) if code.end is not None else None,
                code.reason,
                code.user,
                _us(code.coded_at),
                code.comment,
            ],
            f"cannot record the downtime coding of {code.machine}",
        )
        return int(rows[0][0])

    def downtime_codes(self, machines: Sequence[str], start: datetime, end: datetime) -> list[DowntimeCode]:
        """The codings of the machines that touch [start, end), in the order they were made."""
        rows = self._read(
            "SELECT machine, epoch_us(start_ts), epoch_us(end_ts), reason, "
            '"user", epoch_us(coded_at), comment FROM downtime_codes'
            " WHERE list_contains(?, machine) AND start_ts < make_timestamp(?) "
            "AND (end_ts IS NULL OR end_ts > make_timestamp(?)) ORDER BY coded_at, id",
            [list(machines), _us(end), _us(start)],
        )
        return [
            DowntimeCode(
                machine=r[0],
                start=_utc(r[1]),
                end=_utc(r[2]) if r[2] is not None else None,
                reason=r[3],
                user=r[4],
                coded_at=_utc(r[5]),
                comment=r[6],
            )
            for r in rows
        ]

    def record_reject(self, entry: RejectEntry) -> int:
        rows = self._write(
            'INSERT INTO rejects (machine, ts, count, reason, "user", comment) '
            "VALUES (?, make_timestamp(?), ?, ?, ?, ?) RETURNING id",
            [entry.machine, _us(entry.ts), entry.count, entry.reason, entry.user, entry.comment],
            f"cannot record rejects of {entry.machine}",
        )
        return int(rows[0][0])

    def rejects(self, machines: Sequence[str], start: datetime, end: datetime) -> list[RejectEntry]:
        rows = self._read(
            'SELECT machine, epoch_us(ts), count, reason, "user", comment FROM rejects '
            "WHERE list_contains(?, machine) AND ts >= make_timestamp(?) AND ts < make_timestamp(?) "
            "ORDER BY ts, id",
            [list(machines), _us(start), _us(end)],
        )
        return [
            RejectEntry(machine=r[0], ts=_utc(r[1]), count=r[2], reason=r[3], user=r[4], comment=r[5])
            for r in rows
        ]

    def _read(self, sql: str, params: list[Any]) -> list[Any]:
        cursor = self._cursor()
        try:
            return list(cursor.execute(sql, params).fetchall())
        finally:
            cursor.close()
