"""The alarm journal in the historian: every field round-trips, queries filter and search, the latest wins."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from linesight.domain.alarm_rules import Priority
from linesight.domain.alarms import AlarmAction, AlarmEvent, AlarmState
from linesight.domain.tags import TagValue
from linesight.storage import Historian

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
def historian(tmp_path: Path) -> Iterator[Historian]:
    with Historian(tmp_path / "h.duckdb") as opened:
        yield opened


def event(
    seconds: float,
    alarm_id: str = "oven.temp.h",
    *,
    to_state: AlarmState = AlarmState.UNACK,
    value: TagValue = 881.5,
    machine: str = "oven",
    message: str = "Oven: temp high at 881.5 °C (limit 880 °C)",
    user: str | None = None,
    comment: str | None = None,
    shelved_until: datetime | None = None,
    action: AlarmAction = AlarmAction.RAISE,
) -> AlarmEvent:
    return AlarmEvent(
        ts=T0 + timedelta(seconds=seconds),
        alarm_id=alarm_id,
        rule_id=alarm_id.split(".")[1],
        machine=machine,
        tag="temp",
        priority=Priority.HIGH,
        from_state=AlarmState.NORMAL,
        to_state=to_state,
        action=action,
        value=value,
        message=message,
        user=user,
        comment=comment,
        shelved_until=shelved_until,
    )


def test_every_field_comes_back_as_it_was_written(historian: Historian) -> None:
    written = [
        event(0.000_001),
        event(1, "oven.fault", value=True, message="fault"),
        event(2, "oven.exec", value="STOPPED", message="stopped"),
        event(3, "oven.count", value=7, message="count"),
        event(4, "oven.stale", value=None, message="stale"),
        event(
            5,
            to_state=AlarmState.SHELVED,
            action=AlarmAction.SHELVE,
            user="sup",
            comment="probe replaced",
            shelved_until=T0 + timedelta(hours=2),
        ),
    ]
    assert historian.record_alarm_events(written) == 6
    read = historian.alarm_events(T0, T0 + timedelta(minutes=1))
    assert read == list(reversed(written))  # newest first
    assert isinstance(read[4].value, bool) and isinstance(read[2].value, int)


def test_queries_filter_by_time_machine_and_text_and_stop_at_the_limit(historian: Historian) -> None:
    historian.record_alarm_events(
        [
            event(0, message="Oven: temp high"),
            event(10, "press.oil.h", machine="press", message="Press: oil 100% hot"),
            event(20, user="Ana", action=AlarmAction.ACKNOWLEDGE, to_state=AlarmState.ACKED),
            event(30, comment="called MAINTENANCE", action=AlarmAction.COMMENT),
        ]
    )
    end = T0 + timedelta(minutes=1)
    assert [e.ts for e in historian.alarm_events(T0 + timedelta(seconds=10), T0 + timedelta(seconds=30))] == [
        T0 + timedelta(seconds=20),
        T0 + timedelta(seconds=10),
    ]
    assert [e.machine for e in historian.alarm_events(T0, end, machine="press")] == ["press"]
    assert [e.user for e in historian.alarm_events(T0, end, search="ana")] == ["Ana"]
    assert [e.comment for e in historian.alarm_events(T0, end, search="maintenance")] == [
        "called MAINTENANCE"
    ]
    assert [e.machine for e in historian.alarm_events(T0, end, search="100%")] == ["press"]
    assert historian.alarm_events(T0, end, search="1_0") == []  # '_' is a character, not a wildcard
    assert len(historian.alarm_events(T0, end, limit=2)) == 2


def test_the_latest_event_of_each_alarm_is_its_state(historian: Historian) -> None:
    historian.record_alarm_events([event(0), event(0, "oven.fault")])
    historian.record_alarm_events(
        [event(0, to_state=AlarmState.ACKED, action=AlarmAction.ACKNOWLEDGE, user="ana")]  # same instant
    )
    latest = {e.alarm_id: e for e in historian.latest_alarm_events()}
    assert (
        latest["oven.temp.h"].to_state is AlarmState.ACKED
        and latest["oven.fault"].to_state is AlarmState.UNACK
    )


def test_the_journal_survives_a_reopen_and_is_added_to_an_older_historian(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with Historian(path) as first:
        first.record_alarm_events([event(0)])
    with Historian(path) as again:
        assert [e.alarm_id for e in again.latest_alarm_events()] == ["oven.temp.h"]
    # A historian written before the journal existed gets the table on its next open.
    older = tmp_path / "older.duckdb"
    with Historian(older):
        pass
    with duckdb.connect(str(older)) as con:
        con.execute("DROP TABLE alarm_events")
    with Historian(older) as upgraded:
        assert upgraded.latest_alarm_events() == []
        assert upgraded.record_alarm_events([event(0)]) == 1
