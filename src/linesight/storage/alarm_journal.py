"""The alarm journal in the historian: every alarm transition, operator action and comment, never edited.

Rows are only ever added, each with an increasing id; the newest row of an alarm is its state, which
is how a restarted runtime takes its alarms back (``latest_alarm_events``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from linesight.domain.alarm_rules import Priority
from linesight.domain.alarms import AlarmAction, AlarmEvent, AlarmState, to_us, utc
from linesight.domain.errors import HistorianError
from linesight.storage.columns import strings, timestamps_us

ALARM_SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS alarm_event_id;
CREATE TABLE IF NOT EXISTS alarm_events (
    id BIGINT PRIMARY KEY DEFAULT nextval('alarm_event_id'),
    ts TIMESTAMP NOT NULL,
    alarm_id VARCHAR NOT NULL,
    rule_id VARCHAR NOT NULL,
    machine VARCHAR NOT NULL,
    tag VARCHAR NOT NULL,
    priority VARCHAR NOT NULL,
    from_state VARCHAR NOT NULL,
    to_state VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    value VARCHAR,
    message VARCHAR NOT NULL,
    "user" VARCHAR,
    comment VARCHAR,
    shelved_until TIMESTAMP
);
"""
# value: the tag value as JSON, so that a bool, a number and a text come back as what they were.

_COLUMNS = (
    "ts",
    "alarm_id",
    "rule_id",
    "machine",
    "tag",
    "priority",
    "from_state",
    "to_state",
    "action",
    "value",
    "message",
    "user",
    "comment",
    "shelved_until",
)
_SELECT = (
    "SELECT epoch_us(ts), alarm_id, rule_id, machine, tag, priority, from_state, to_state, action, value, "
    'message, "user", comment, epoch_us(shelved_until) FROM alarm_events'
)
DEFAULT_LIMIT = 1000


class AlarmJournalRecords:
    """The historian's alarm journal (mixed into ``Historian``)."""

    if TYPE_CHECKING:
        path: Path
        _write_lock: threading.Lock

        def _cursor(self) -> duckdb.DuckDBPyConnection: ...

    def record_alarm_events(self, events: Sequence[AlarmEvent]) -> int:
        """Append events to the journal in one transaction; returns how many."""
        if not events:
            return 0
        table = {
            "ts": timestamps_us(to_us(e.ts) for e in events),
            "alarm_id": strings(e.alarm_id for e in events),
            "rule_id": strings(e.rule_id for e in events),
            "machine": strings(e.machine for e in events),
            "tag": strings(e.tag for e in events),
            "priority": strings(e.priority.value for e in events),
            "from_state": strings(e.from_state.value for e in events),
            "to_state": strings(e.to_state.value for e in events),
            "action": strings(e.action.value for e in events),
            "value": strings(_dump(e.value) for e in events),
            "message": strings(e.message for e in events),
            "user": strings(e.user for e in events),
            "comment": strings(e.comment for e in events),
            "shelved_until": timestamps_us(
                to_us(e.shelved_until) if e.shelved_until else None for e in events
            ),
        }
        columns = ", ".join(f'"{name}"' for name in _COLUMNS)
        with self._write_lock:
            cursor = self._cursor()
            try:
                cursor.register("new_alarm_events", table)
                cursor.execute(f"INSERT INTO alarm_events ({columns}) SELECT {columns} FROM new_alarm_events")
            except duckdb.Error as err:
                raise HistorianError(
                    f"cannot record {len(events)} alarm events in {self.path}: {err}"
                ) from err
            finally:
                cursor.unregister("new_alarm_events")
                cursor.close()
        return len(events)

    def alarm_events(
        self,
        start: datetime,
        end: datetime,
        *,
        machine: str | None = None,
        search: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> list[AlarmEvent]:
        """Journal events in [start, end), newest first; ``search`` finds text (any case) in the
        message, alarm id, tag, user or comment."""
        where = ["ts >= make_timestamp(?)", "ts < make_timestamp(?)"]
        params: list[Any] = [to_us(start), to_us(end)]
        if machine is not None:
            where.append("machine = ?")
            params.append(machine)
        if search:
            columns = ("message", "alarm_id", "tag", '"user"', "comment")
            where.append("(" + " OR ".join(f"{column} ILIKE ? ESCAPE '\\'" for column in columns) + ")")
            pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params.extend([pattern] * 5)
        sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY ts DESC, id DESC LIMIT ?"
        params.append(limit)
        return [_event(row) for row in self._read_alarm_rows(sql, params)]

    def latest_alarm_events(self) -> list[AlarmEvent]:
        """The newest event of every alarm ever journalled: its state when LineSight last ran."""
        sql = f"{_SELECT} QUALIFY row_number() OVER (PARTITION BY alarm_id ORDER BY id DESC) = 1 ORDER BY id"
        return [_event(row) for row in self._read_alarm_rows(sql, [])]

    def _read_alarm_rows(self, sql: str, params: list[Any]) -> list[Any]:
        cursor = self._cursor()
        try:
            return list(cursor.execute(sql, params).fetchall())
        except duckdb.Error as err:
            raise HistorianError(f"reading the alarm journal of {self.path} failed: {err}") from err
        finally:
            cursor.close()


def _dump(value: object) -> str | None:
    return None if value is None else json.dumps(value)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _event(row: Sequence[Any]) -> AlarmEvent:
    return AlarmEvent(
        ts=utc(row[0]),
        alarm_id=row[1],
        rule_id=row[2],
        machine=row[3],
        tag=row[4],
        priority=Priority(row[5]),
        from_state=AlarmState(row[6]),
        to_state=AlarmState(row[7]),
        action=AlarmAction(row[8]),
        value=_load(row[9]),
        message=row[10],
        user=row[11],
        comment=row[12],
        shelved_until=utc(row[13]) if row[13] is not None else None,
    )
