"""Alarms after ISA-18.2: every rule kind, delays and deadband, the state machine, operator actions, KPIs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linesight.domain.alarm_rules import Priority
from linesight.domain.alarms import (
    AlarmAction,
    AlarmCommandError,
    AlarmEngine,
    AlarmEvent,
    AlarmState,
    latest_per_alarm,
    utc,
)
from linesight.domain.machine import MachineState
from linesight.domain.plant import PlantConfig
from linesight.domain.tags import Quality, Sample

US = 1_000_000
T0 = 1_780_000_000 * US  # a fixed start, so that every time in a test is a plain offset from it


def at(seconds: float) -> int:
    return T0 + int(seconds * US)


TAGS = [
    {"name": "temp", "address": "a", "unit": "°C"},
    {"name": "sp", "address": "b", "unit": "°C"},
    {"name": "fault", "address": "c", "type": "bool"},
    {"name": "state", "address": "d", "type": "int16"},
    {"name": "execution", "address": "e", "type": "string"},
    {"name": "text", "address": "f", "type": "string"},
    {"name": "other", "address": "g"},
]


def plant(*rules: dict[str, Any], options: dict[str, Any] | None = None, machines: int = 1) -> PlantConfig:
    oee = {"state": {"from": "state_code", "tag": "state", "map": {1: "running"}}, "ideal_cycle_time": 1}
    members = [
        {
            "id": "m" if index == 0 else f"m{index}",
            "name": "Oven" if index == 0 else "",
            "driver": "simulator",
            "tags": TAGS,
            "oee": oee,
            "alarms": list(rules),
        }
        for index in range(machines)
    ]
    data: dict[str, Any] = {"id": "p", "sites": [{"id": "s", "lines": [{"id": "l", "machines": members}]}]}
    if options:
        data["alarm_options"] = options
    return PlantConfig.model_validate(data)


def engine_for(*rules: dict[str, Any], **kwargs: Any) -> AlarmEngine:
    return AlarmEngine(plant(*rules, **kwargs), start_us=T0)


def feed(
    engine: AlarmEngine, tag: str, value: Any, seconds: float, quality: Quality = Quality.GOOD
) -> list[AlarmEvent]:
    return engine.update([Sample(f"m.{tag}", at(seconds), value, quality)])


HIGH = {"id": "hot", "kind": "limit", "tag": "temp", "h": 100}
HOT = "m.hot.h"


# ---------------------------------------------------------------------- rule kinds


def test_a_limit_raises_each_level_as_its_own_alarm_with_its_default_priority() -> None:
    engine = engine_for({"id": "t", "kind": "limit", "tag": "temp", "hh": 120, "h": 100, "l": 10, "ll": 0})
    assert feed(engine, "temp", 50, 1) == []
    (high,) = feed(engine, "temp", 105.5, 2)
    assert (high.alarm_id, high.rule_id, high.tag) == ("m.t.h", "t", "temp")
    assert (high.from_state, high.to_state, high.action) == (
        AlarmState.NORMAL,
        AlarmState.UNACK,
        AlarmAction.RAISE,
    )
    assert high.priority is Priority.MEDIUM and high.user is None and high.value == 105.5
    assert high.message == "Oven: temp high at 105.5 °C (limit 100 °C)"
    assert high.ts == utc(at(2))
    (high_high,) = feed(engine, "temp", 130, 3)
    assert high_high.alarm_id == "m.t.hh" and high_high.priority is Priority.HIGH
    events = feed(engine, "temp", -1, 4)
    assert {(e.alarm_id, e.to_state) for e in events} == {
        ("m.t.hh", AlarmState.RTN_UNACK),
        ("m.t.h", AlarmState.RTN_UNACK),
        ("m.t.l", AlarmState.UNACK),
        ("m.t.ll", AlarmState.UNACK),
    }


def test_a_level_may_carry_its_own_priority_and_message() -> None:
    level = {"value": 100, "priority": "critical", "message": "{tag} is {value:.0f}{unit}, over {limit:g}"}
    engine = engine_for({"id": "t", "kind": "limit", "tag": "temp", "h": level})
    (event,) = feed(engine, "temp", 101.4, 1)
    assert event.priority is Priority.CRITICAL
    assert event.message == "temp is 101°C, over 100"


def test_text_and_bad_quality_values_do_not_move_a_limit_alarm() -> None:
    engine = engine_for(HIGH)
    assert feed(engine, "temp", 500, 1, Quality.BAD) == []
    assert feed(engine, "temp", "n/a", 2) == []
    assert feed(engine, "temp", None, 3) == []
    (event,) = feed(engine, "temp", 500, 4, Quality.UNCERTAIN)
    assert event.to_state is AlarmState.UNACK
    assert feed(engine, "temp", 0, 5, Quality.BAD) == []  # a bad value does not clear it either
    assert engine.state_of(HOT) is AlarmState.UNACK


def test_deadband_keeps_an_alarm_active_until_the_value_is_back_past_it() -> None:
    engine = engine_for({**HIGH, "deadband": 5})
    feed(engine, "temp", 101, 1)
    assert feed(engine, "temp", 97, 2) == []  # under the limit, inside the deadband
    assert engine.state_of(HOT) is AlarmState.UNACK
    (cleared,) = feed(engine, "temp", 94.9, 3)
    assert (cleared.to_state, cleared.action) == (AlarmState.RTN_UNACK, AlarmAction.CLEAR)


def test_on_delay_needs_the_condition_to_hold_and_a_short_excursion_raises_nothing() -> None:
    engine = engine_for({**HIGH, "on_delay": "10s"})
    assert feed(engine, "temp", 150, 1) == []
    assert feed(engine, "temp", 50, 5) == []  # gone before 10 s
    assert engine.tick(at(30)) == []
    assert feed(engine, "temp", 150, 40) == []
    assert engine.tick(at(45)) == []
    (raised,) = engine.tick(at(50))
    assert raised.to_state is AlarmState.UNACK and raised.ts == utc(at(50))


def test_on_delay_is_also_met_by_a_later_sample() -> None:
    engine = engine_for({**HIGH, "on_delay": 10})
    feed(engine, "temp", 150, 0)
    (raised,) = feed(engine, "temp", 151, 10)
    assert raised.to_state is AlarmState.UNACK


def test_off_delay_clears_only_after_the_condition_stayed_away() -> None:
    engine = engine_for({**HIGH, "off_delay": "20s"})
    feed(engine, "temp", 150, 0)
    assert feed(engine, "temp", 50, 1) == []
    assert feed(engine, "temp", 150, 10) == []  # back before 20 s: the clearing starts over
    assert feed(engine, "temp", 50, 11) == []
    assert engine.tick(at(30)) == []
    (cleared,) = engine.tick(at(31))
    assert cleared.to_state is AlarmState.RTN_UNACK


def test_deviation_follows_a_setpoint_tag_and_its_changes() -> None:
    engine = engine_for(
        {"id": "dev", "kind": "deviation", "tag": "temp", "setpoint": "sp", "high": 10, "low": 5}
    )
    assert feed(engine, "temp", 900, 1) == []  # no setpoint yet: nothing to compare
    (raised,) = feed(engine, "sp", 850, 2)
    assert raised.to_state is AlarmState.UNACK and raised.message.endswith("(limit 860 °C)")
    (cleared,) = feed(engine, "sp", 895, 3)  # the setpoint moved to the value
    assert cleared.to_state is AlarmState.RTN_UNACK
    (low,) = feed(engine, "temp", 889, 4)
    assert low.to_state is AlarmState.UNACK and "limit 890" in low.message


def test_deviation_from_a_fixed_setpoint() -> None:
    engine = engine_for({"id": "dev", "kind": "deviation", "tag": "temp", "setpoint": 850, "low": 20})
    assert feed(engine, "temp", 1000, 1) == []  # no high band: any amount above is fine
    (event,) = feed(engine, "temp", 829, 2)
    assert event.to_state is AlarmState.UNACK


def test_rate_of_change_measures_over_its_window_and_direction() -> None:
    engine = engine_for(
        {
            "id": "ramp",
            "kind": "rate_of_change",
            "tag": "temp",
            "rate": 2,
            "window": "10s",
            "direction": "rising",
        }
    )
    for second in range(0, 11):
        assert feed(engine, "temp", 100 + second, second) == []  # 1 °C/s
    (raised,) = feed(engine, "temp", 135, 12)  # 35 °C over the last 10-12 s
    assert raised.to_state is AlarmState.UNACK and raised.message.endswith("°C/s (limit 2 °C/s)")
    assert isinstance(raised.value, float) and raised.value > 2
    engine2 = engine_for(
        {
            "id": "ramp",
            "kind": "rate_of_change",
            "tag": "temp",
            "rate": 2,
            "window": "10s",
            "direction": "rising",
        }
    )
    feed(engine2, "temp", 200, 0)
    assert feed(engine2, "temp", 100, 5) == []  # falling fast does not count for a rising rule


def test_discrete_alarm_on_a_fault_bit_and_on_given_values() -> None:
    engine = engine_for(
        {"id": "f", "kind": "discrete", "tag": "fault"},
        {"id": "x", "kind": "discrete", "tag": "execution", "values": ["STOPPED", "interrupted"]},
        {"id": "msg", "kind": "discrete", "tag": "text"},
    )
    (fault,) = feed(engine, "fault", True, 1)
    assert (
        fault.alarm_id == "m.f" and fault.priority is Priority.HIGH and fault.message == "Oven: fault is True"
    )
    assert feed(engine, "execution", "ACTIVE", 1) == []
    (stopped,) = feed(engine, "execution", "Interrupted", 2)
    assert stopped.alarm_id == "m.x"
    assert feed(engine, "text", "", 3) == []
    (text,) = feed(engine, "text", "TC-2 THERMOCOUPLE OPEN", 4)
    assert text.message == "Oven: text is TC-2 THERMOCOUPLE OPEN"


def test_stale_raises_when_no_good_sample_arrives_and_clears_on_the_next() -> None:
    engine = engine_for({"id": "st", "kind": "stale", "tag": "temp", "after": "30s"})
    assert engine.tick(at(30)) == []
    (stale,) = engine.tick(at(31))  # nothing ever arrived since the start
    assert stale.priority is Priority.LOW and stale.message == "Oven: no fresh value of temp for 30 s"
    (fresh,) = feed(engine, "temp", 1, 32)
    assert fresh.to_state is AlarmState.RTN_UNACK
    feed(engine, "temp", 2, 60, Quality.BAD)  # a bad sample is no fresh value
    assert engine.tick(at(62)) == []
    (again,) = engine.tick(at(63))
    assert again.to_state is AlarmState.UNACK


def test_stale_counts_from_arrival_when_the_runtime_gives_it() -> None:
    engine = engine_for({"id": "st", "kind": "stale", "tag": "temp", "after": "30s"})
    engine.update([Sample("m.temp", at(-3600), 1.0)], now_us=at(20))  # an old device timestamp
    assert engine.tick(at(45)) == []


def test_machine_stopped_longer_than_its_time() -> None:
    engine = engine_for({"id": "stop", "kind": "machine_stopped", "after": "5m"})
    assert engine.machine_state("m", MachineState.STOPPED, at(0)) == []
    assert engine.tick(at(299)) == []
    (raised,) = engine.tick(at(300))
    assert raised.tag == "" and raised.value == "stopped" and raised.priority is Priority.MEDIUM
    assert raised.message == "Oven: stopped for 300 s or longer"
    (cleared,) = engine.machine_state("m", MachineState.RUNNING, at(400))
    assert cleared.to_state is AlarmState.RTN_UNACK
    engine.machine_state("m", MachineState.STOPPED, at(500))
    engine.machine_state("m", MachineState.IDLE, at(600))
    assert engine.tick(at(1000)) == []  # idle is not stopped


def test_a_disabled_rule_makes_no_alarm_and_samples_without_rules_are_ignored() -> None:
    engine = engine_for({**HIGH, "enabled": False})
    assert engine.definitions == []
    assert feed(engine, "temp", 1e9, 1) == []
    assert engine.update([Sample("elsewhere.x", at(1), 5.0)]) == []


# ---------------------------------------------------------------------- the state machine


def test_acknowledge_then_clear_goes_normal() -> None:
    engine = engine_for(HIGH)
    feed(engine, "temp", 150, 1)
    (ack,) = engine.acknowledge(HOT, user="ana", ts_us=at(2), comment="seen")
    assert (ack.from_state, ack.to_state, ack.action) == (
        AlarmState.UNACK,
        AlarmState.ACKED,
        AlarmAction.ACKNOWLEDGE,
    )
    assert (ack.user, ack.comment) == ("ana", "seen")
    assert engine.status(HOT, at(2)).acked_by == "ana"
    (normal,) = feed(engine, "temp", 50, 3)
    assert (normal.from_state, normal.to_state) == (AlarmState.ACKED, AlarmState.NORMAL)


def test_clear_then_acknowledge_goes_normal_and_a_return_raises_again() -> None:
    engine = engine_for(HIGH)
    feed(engine, "temp", 150, 1)
    (rtn,) = feed(engine, "temp", 50, 2)
    assert rtn.to_state is AlarmState.RTN_UNACK
    (again,) = feed(engine, "temp", 150, 3)
    assert (again.from_state, again.to_state) == (AlarmState.RTN_UNACK, AlarmState.UNACK)
    feed(engine, "temp", 50, 4)
    (ack,) = engine.acknowledge(HOT, user="ana", ts_us=at(5))
    assert (ack.from_state, ack.to_state) == (AlarmState.RTN_UNACK, AlarmState.NORMAL)


def test_acknowledging_an_alarm_with_nothing_to_acknowledge_changes_nothing() -> None:
    engine = engine_for(HIGH)
    assert engine.acknowledge(HOT, user="ana", ts_us=at(1)) == []
    feed(engine, "temp", 150, 1)
    engine.acknowledge(HOT, user="ana", ts_us=at(2))
    assert engine.acknowledge(HOT, user="bo", ts_us=at(3)) == []
    assert engine.status(HOT, at(3)).acked_by == "ana"


def test_acknowledge_all_takes_every_waiting_alarm_or_one_machines() -> None:
    engine = AlarmEngine(
        plant(HIGH, {"id": "f", "kind": "discrete", "tag": "fault"}, machines=2), start_us=T0
    )
    engine.update(
        [Sample(key, at(1), value) for key, value in [("m.temp", 150), ("m.fault", 1), ("m1.fault", 1)]]
    )
    only_m1 = engine.acknowledge_all(user="ana", ts_us=at(2), machine="m1")
    assert [e.alarm_id for e in only_m1] == ["m1.f"]
    rest = engine.acknowledge_all(user="ana", ts_us=at(3))
    assert sorted(e.alarm_id for e in rest) == ["m.f", HOT]
    assert engine.counts().unacked == 0 and engine.counts().active == 3


def test_an_unknown_alarm_id_is_a_clear_error() -> None:
    engine = engine_for(HIGH)
    with pytest.raises(AlarmCommandError, match=r"no alarm 'm\.cold'"):
        engine.acknowledge("m.cold", user="ana", ts_us=at(1))


def test_one_shot_shelve_ends_when_the_alarm_clears() -> None:
    engine = engine_for(HIGH)
    feed(engine, "temp", 150, 1)
    (shelve,) = engine.shelve(HOT, user="sup", ts_us=at(2), comment="sensor known bad")
    assert (shelve.from_state, shelve.to_state, shelve.action) == (
        AlarmState.UNACK,
        AlarmState.SHELVED,
        AlarmAction.SHELVE,
    )
    assert shelve.shelved_until is None
    assert feed(engine, "temp", 160, 3) == []
    (back,) = feed(engine, "temp", 50, 4)
    assert (back.from_state, back.to_state, back.action, back.user) == (
        AlarmState.SHELVED,
        AlarmState.NORMAL,
        AlarmAction.UNSHELVE,
        None,
    )
    (raised,) = feed(engine, "temp", 150, 5)  # shelved only once
    assert raised.to_state is AlarmState.UNACK


def test_a_one_shot_shelve_needs_an_active_alarm() -> None:
    engine = engine_for(HIGH)
    with pytest.raises(AlarmCommandError, match="one-shot"):
        engine.shelve(HOT, user="sup", ts_us=at(1))


def test_timed_shelve_hides_the_alarm_and_expires_into_its_current_state() -> None:
    engine = engine_for(HIGH)
    (shelve,) = engine.shelve(HOT, user="sup", ts_us=at(0), until_us=at(600))
    assert shelve.shelved_until == utc(at(600))
    assert feed(engine, "temp", 150, 10) == []  # raised while shelved: nobody is bothered
    assert engine.status(HOT, at(10)).active
    assert engine.tick(at(599)) == []
    (expired,) = engine.tick(at(600))
    assert (expired.to_state, expired.action, expired.user) == (AlarmState.UNACK, AlarmAction.UNSHELVE, None)


def test_a_timed_shelve_is_limited_and_must_end_in_the_future() -> None:
    engine = engine_for(HIGH, options={"max_shelve": "1h"})
    with pytest.raises(AlarmCommandError, match="at most 1 h"):
        engine.shelve(HOT, user="sup", ts_us=at(0), until_us=at(3601))
    with pytest.raises(AlarmCommandError, match="future"):
        engine.shelve(HOT, user="sup", ts_us=at(10), until_us=at(10))


def test_unshelve_by_a_person_re_announces_an_active_alarm() -> None:
    engine = engine_for(HIGH)
    feed(engine, "temp", 150, 1)
    engine.acknowledge(HOT, user="ana", ts_us=at(2))
    engine.shelve(HOT, user="sup", ts_us=at(3), until_us=at(100))
    (back,) = engine.unshelve(HOT, user="sup", ts_us=at(4))
    assert (back.to_state, back.user) == (AlarmState.UNACK, "sup")
    assert engine.unshelve(HOT, user="sup", ts_us=at(5)) == []  # not shelved: nothing to do


def test_suppressed_by_design_while_the_machine_does_not_run() -> None:
    engine = engine_for({**HIGH, "suppress_when": ["not_running"]})
    assert engine.machine_state("m", MachineState.RUNNING, at(0)) == []
    (suppressed,) = engine.machine_state("m", MachineState.PLANNED_STOP, at(1))
    assert (suppressed.to_state, suppressed.action) == (AlarmState.SUPPRESSED, AlarmAction.SUPPRESS)
    assert feed(engine, "temp", 150, 2) == []  # cold oven in a planned stop is expected
    assert engine.counts().suppressed == 1 and engine.top_unacknowledged(at(2)) is None
    (back,) = engine.machine_state("m", MachineState.RUNNING, at(3))
    assert (back.to_state, back.action) == (AlarmState.UNACK, AlarmAction.UNSUPPRESS)


def test_suppress_when_names_states() -> None:
    engine = engine_for({**HIGH, "suppress_when": ["setup", "planned_stop"]})
    assert engine.machine_state("m", MachineState.IDLE, at(0)) == []
    (event,) = engine.machine_state("m", MachineState.SETUP, at(1))
    assert event.to_state is AlarmState.SUPPRESSED


def test_out_of_service_ignores_the_process_until_returned() -> None:
    engine = engine_for(HIGH)
    feed(engine, "temp", 150, 1)
    (out,) = engine.remove_from_service(HOT, user="maint", ts_us=at(2), comment="probe replaced")
    assert (out.from_state, out.to_state) == (AlarmState.UNACK, AlarmState.OUT_OF_SERVICE)
    assert feed(engine, "temp", 50, 3) == [] and feed(engine, "temp", 150, 4) == []
    assert engine.acknowledge(HOT, user="ana", ts_us=at(5)) == []
    with pytest.raises(AlarmCommandError, match="out of service"):
        engine.shelve(HOT, user="sup", ts_us=at(5), until_us=at(50))
    assert engine.remove_from_service(HOT, user="maint", ts_us=at(6)) == []
    (back,) = engine.return_to_service(HOT, user="maint", ts_us=at(7))
    assert (back.to_state, back.action) == (AlarmState.UNACK, AlarmAction.RETURN_TO_SERVICE)


def test_out_of_service_ends_a_shelve() -> None:
    engine = engine_for(HIGH)
    engine.shelve(HOT, user="sup", ts_us=at(0), until_us=at(60))
    engine.remove_from_service(HOT, user="maint", ts_us=at(1))
    assert engine.tick(at(61)) == []  # the shelve it ended does not expire later
    (back,) = engine.return_to_service(HOT, user="maint", ts_us=at(62))
    assert back.to_state is AlarmState.NORMAL


def test_a_comment_is_journalled_without_changing_the_state() -> None:
    engine = engine_for(HIGH)
    feed(engine, "temp", 150, 1)
    (note,) = engine.comment(HOT, user="ana", ts_us=at(2), text="  called maintenance ")
    assert (note.from_state, note.to_state, note.action) == (
        AlarmState.UNACK,
        AlarmState.UNACK,
        AlarmAction.COMMENT,
    )
    assert note.comment == "called maintenance" and engine.status(HOT, at(2)).comment == "called maintenance"
    with pytest.raises(AlarmCommandError):
        engine.comment(HOT, user="ana", ts_us=at(3), text=" ")


def test_status_lists_urgent_unacknowledged_first_and_the_banner_shows_the_most_urgent() -> None:
    engine = engine_for(
        {"id": "t", "kind": "limit", "tag": "temp", "hh": 120, "h": 100},
        {"id": "f", "kind": "discrete", "tag": "fault", "priority": "low"},
    )
    feed(engine, "fault", True, 1)
    feed(engine, "temp", 110, 2)
    feed(engine, "temp", 130, 3)
    engine.acknowledge("m.t.hh", user="ana", ts_us=at(4))
    assert [s.alarm_id for s in engine.statuses(at(5))] == ["m.t.h", "m.f", "m.t.hh"]
    top = engine.top_unacknowledged(at(5))
    assert top is not None and top.alarm_id == "m.t.h"
    counts = engine.counts()
    assert counts.by_priority[Priority.HIGH] == 1 and counts.unacked_by_priority[Priority.HIGH] == 0
    assert (counts.standing, counts.active, counts.unacked) == (3, 3, 2)


# ---------------------------------------------------------------------- chattering, flood, stale, KPIs


def test_an_alarm_raised_three_times_within_a_minute_is_chattering() -> None:
    engine = engine_for(HIGH)
    for cycle in range(3):
        feed(engine, "temp", 150, cycle * 20)
        feed(engine, "temp", 50, cycle * 20 + 1)
    assert engine.status(HOT, at(41)).chattering
    assert engine.kpis(at(41)).chattering == 1
    assert not engine.status(HOT, at(61)).chattering  # the first raise left the minute


def test_two_cycles_are_not_chattering() -> None:
    engine = engine_for(HIGH)
    for cycle in range(2):
        feed(engine, "temp", 150, cycle * 5)
        feed(engine, "temp", 50, cycle * 5 + 1)
    assert not engine.status(HOT, at(12)).chattering


def test_more_than_ten_alarms_in_ten_minutes_is_a_flood_and_its_time_is_counted() -> None:
    rules = [{"id": f"a{i}", "kind": "limit", "tag": "temp", "h": i} for i in range(11)]
    engine = engine_for(*rules)
    feed(engine, "temp", 5.5, 0)  # raises a0..a5: 6 alarms
    assert not engine.kpis(at(1)).flood
    feed(engine, "temp", 10.5, 60)  # a6..a10: 11 within ten minutes
    kpis = engine.kpis(at(61))
    assert kpis.flood and kpis.flood_scopes == ("s",) and kpis.raised == 11 and kpis.last_10min == 11
    # The flood ends when the first six leave the ten-minute window, at 600 s.
    after = engine.kpis(at(1200))
    assert not after.flood
    assert after.flood_pct == pytest.approx(100 * 540 / 1200)
    assert after.per_10min == pytest.approx(11 / 2)
    assert after.top[0] == ("m.a0.h", 1) and len(after.top) == 10


def test_ten_alarms_are_not_a_flood_and_the_plant_scope_adds_up_sites() -> None:
    rules = [{"id": f"a{i}", "kind": "limit", "tag": "temp", "h": i} for i in range(10)]
    engine = engine_for(*rules)
    feed(engine, "temp", 100, 0)
    assert not engine.kpis(at(1)).flood
    plant_wide = AlarmEngine(plant(*rules[:6], options={"flood_scope": "plant"}, machines=2), start_us=T0)
    plant_wide.update([Sample("m.temp", at(0), 100.0), Sample("m1.temp", at(0), 100.0)])
    assert plant_wide.kpis(at(1)).flood_scopes == ("plant",)


def test_an_alarm_active_for_more_than_a_day_is_stale() -> None:
    engine = engine_for(HIGH)
    feed(engine, "temp", 150, 0)
    assert engine.kpis(at(86400)).stale == 0
    assert engine.kpis(at(86401)).stale == 1 and engine.status(HOT, at(86401)).stale
    feed(engine, "temp", 50, 86402)
    assert engine.kpis(at(86403)).stale == 0


def test_the_alarm_rate_kpi_is_per_ten_minutes_of_the_window() -> None:
    engine = engine_for(HIGH, options={"kpi_window": "1h"})
    for index in range(12):
        feed(engine, "temp", 150, index * 600)
        feed(engine, "temp", 50, index * 600 + 1)
    kpis = engine.kpis(at(7200))
    assert kpis.window_s == 3600 and kpis.raised == 6 and kpis.per_10min == pytest.approx(1.0)
    assert kpis.top == ((HOT, 6),)


# ---------------------------------------------------------------------- restart


def test_restore_takes_back_active_acknowledged_and_shelved_states() -> None:
    rules = (
        {"id": "a", "kind": "limit", "tag": "temp", "h": 100},
        {"id": "b", "kind": "limit", "tag": "temp", "h": 200},
        {"id": "c", "kind": "discrete", "tag": "fault"},
        {"id": "d", "kind": "limit", "tag": "other", "h": 1},
    )
    before = engine_for(*rules)
    journal = feed(before, "temp", 250, 1) + feed(before, "fault", True, 1)
    journal += before.acknowledge("m.b.h", user="ana", ts_us=at(2))
    journal += before.shelve("m.c", user="sup", ts_us=at(3), until_us=at(100))
    journal += before.remove_from_service("m.d.h", user="maint", ts_us=at(4))
    after = engine_for(*rules)
    assert after.restore(latest_per_alarm(journal)) == 4
    assert [after.state_of(a) for a in ("m.a.h", "m.b.h", "m.c", "m.d.h")] == [
        AlarmState.UNACK,
        AlarmState.ACKED,
        AlarmState.SHELVED,
        AlarmState.OUT_OF_SERVICE,
    ]
    assert after.status("m.b.h", at(5)).acked_by == "ana"
    (cleared,) = feed(after, "temp", 150, 10)  # a: still active, b clears
    assert (cleared.alarm_id, cleared.from_state, cleared.to_state) == (
        "m.b.h",
        AlarmState.ACKED,
        AlarmState.NORMAL,
    )
    (expired,) = after.tick(at(100))
    assert expired.alarm_id == "m.c"


def test_restore_ignores_alarms_the_plant_file_no_longer_has() -> None:
    engine = engine_for(HIGH)
    feed(engine, "temp", 150, 1)
    ghost = engine_for({"id": "other", "kind": "limit", "tag": "temp", "h": 1})
    assert ghost.restore(latest_per_alarm(feed(ghost, "temp", 5, 1))) == 1
    assert engine_for(HIGH).restore(latest_per_alarm(feed(ghost, "temp", 0, 2))) == 0


# ---------------------------------------------------------------------- properties of the state machine

VISIBLE_ACTIVE = {AlarmState.UNACK, AlarmState.ACKED}
VISIBLE_CLEAR = {AlarmState.NORMAL, AlarmState.RTN_UNACK}

operation = st.one_of(
    st.tuples(st.just("value"), st.floats(min_value=0, max_value=200, allow_nan=False)),
    st.tuples(st.just("ack"), st.none()),
    st.tuples(st.just("ack_all"), st.none()),
    st.tuples(st.just("shelve_once"), st.none()),
    st.tuples(st.just("shelve_for"), st.integers(min_value=1, max_value=120)),
    st.tuples(st.just("unshelve"), st.none()),
    st.tuples(st.just("remove"), st.none()),
    st.tuples(st.just("return"), st.none()),
    st.tuples(st.just("machine"), st.sampled_from(list(MachineState))),
    st.tuples(st.just("tick"), st.none()),
    st.tuples(st.just("comment"), st.none()),
)


@settings(max_examples=300, deadline=None)
@given(
    ops=st.lists(st.tuples(operation, st.integers(min_value=0, max_value=40)), max_size=60),
    on_delay=st.sampled_from([0, 5, 30]),
    off_delay=st.sampled_from([0, 5]),
    deadband=st.sampled_from([0.0, 10.0]),
)
def test_any_sequence_of_values_and_actions_keeps_the_state_machine_consistent(
    ops: list[tuple[tuple[str, Any], int]], on_delay: int, off_delay: int, deadband: float
) -> None:
    rule = {
        **HIGH,
        "on_delay": on_delay,
        "off_delay": off_delay,
        "deadband": deadband,
        "suppress_when": ["stopped"],
    }
    engine = engine_for(rule)
    state = AlarmState.NORMAL
    now = 0
    for (kind, arg), step in ops:
        now += step
        ts = at(now)
        before = engine.status(HOT, ts)
        events: list[AlarmEvent] = []
        try:
            if kind == "value":
                events = feed(engine, "temp", arg, now)
            elif kind == "ack":
                events = engine.acknowledge(HOT, user="u", ts_us=ts)
            elif kind == "ack_all":
                events = engine.acknowledge_all(user="u", ts_us=ts)
            elif kind == "shelve_once":
                events = engine.shelve(HOT, user="u", ts_us=ts)
            elif kind == "shelve_for":
                events = engine.shelve(HOT, user="u", ts_us=ts, until_us=ts + arg * US)
            elif kind == "unshelve":
                events = engine.unshelve(HOT, user="u", ts_us=ts)
            elif kind == "remove":
                events = engine.remove_from_service(HOT, user="u", ts_us=ts)
            elif kind == "return":
                events = engine.return_to_service(HOT, user="u", ts_us=ts)
            elif kind == "machine":
                events = engine.machine_state("m", arg, ts)
            elif kind == "tick":
                events = engine.tick(ts)
            else:
                events = engine.comment(HOT, user="u", ts_us=ts, text="note")
        except AlarmCommandError:
            # Refused actions change nothing.
            assert kind in ("shelve_once", "shelve_for")
            assert engine.status(HOT, ts) == before
            continue
        # Every change of state is journalled, as a chain from the state before to the state after.
        for event in events:
            assert event.from_state is state
            assert event.ts == utc(ts)
            state = event.to_state
        after = engine.status(HOT, ts)
        assert after.state is state
        # What the operator sees matches the process condition.
        if after.state in VISIBLE_ACTIVE:
            assert after.active
        if after.state in VISIBLE_CLEAR:
            assert not after.active
        # Acknowledging something with nothing to acknowledge is a no-op.
        if kind in ("ack", "ack_all") and before.state not in (AlarmState.UNACK, AlarmState.RTN_UNACK):
            assert events == []
        if kind in ("ack", "ack_all") and before.state is AlarmState.UNACK:
            assert after.state is AlarmState.ACKED
        # An acknowledged alarm whose condition returns goes to NORMAL, an unacknowledged one waits.
        hidden = {AlarmState.SHELVED, AlarmState.OUT_OF_SERVICE, AlarmState.SUPPRESSED}
        if before.state is AlarmState.ACKED and not after.active and after.state not in hidden:
            assert after.state is AlarmState.NORMAL
        if before.state is AlarmState.UNACK and not after.active and kind in ("value", "tick"):
            assert after.state is AlarmState.RTN_UNACK
        # Leaving a hidden state leaves it for good; a one-shot shelve lasts only while the alarm is active.
        if kind == "unshelve":
            assert after.state is not AlarmState.SHELVED
        if kind == "return":
            assert after.state is not AlarmState.OUT_OF_SERVICE
        if after.state is AlarmState.SHELVED:
            assert after.shelved_until is not None or after.active


def test_an_alarm_shelved_before_it_was_ever_raised_says_its_value_now() -> None:
    engine = engine_for(HIGH)
    assert feed(engine, "temp", 80, 0) == []  # below the limit: nothing raised
    (shelve,) = engine.shelve(HOT, user="sup", ts_us=at(1), until_us=at(600))
    assert "80" in shelve.message and "—" not in shelve.message
    assert engine.status(HOT, at(2)).message == shelve.message
