"""Alarm rules in the plant file: good rules load, every mistake names its file, line and field."""

from __future__ import annotations

import pytest

from linesight.domain.alarm_rules import DeviationRule, LimitRule, MachineStoppedRule, Priority, StaleRule
from linesight.domain.machine import MachineState
from linesight.domain.plant import PlantFileError, parse_plant

GOOD = """\
id: plant-a
alarm_options:
  flood_alarms: 20
  max_shelve: 4h
sites:
  - id: s1
    lines:
      - id: l1
        machines:
          - id: oven
            driver: simulator
            tags:
              - {name: temp, address: zone1_temp, unit: °C}
              - {name: setpoint, address: zone1_setpoint, unit: °C}
              - {name: fault, address: fault, type: bool}
              - {name: state, address: state_code, type: int16}
            oee:
              state: {from: state_code, tag: state, map: {1: running, 3: stopped}}
              ideal_cycle_time: 20s
            alarms:
              - id: temp
                kind: limit
                tag: temp
                hh: {value: 900, priority: critical}
                h: 880
                deadband: 2
                on_delay: 5s
                suppress_when: [planned_stop, setup]
              - {id: dev, kind: deviation, tag: temp, setpoint: setpoint, high: 15, low: 15}
              - {id: fault, kind: discrete, tag: fault, message: "{machine}: fault ({value})"}
              - {id: stale, kind: stale, tag: temp, after: 1m}
              - {id: stopped, kind: machine_stopped, after: 10m, states: [stopped, idle]}
"""


def _error(text: str) -> PlantFileError:
    with pytest.raises(PlantFileError) as caught:
        parse_plant(text, "plant.yaml")
    return caught.value


def test_good_rules_load_with_their_kinds_and_units() -> None:
    plant = parse_plant(GOOD, "plant.yaml")
    rules = plant.machine("oven").alarms
    assert [rule.kind for rule in rules] == ["limit", "deviation", "discrete", "stale", "machine_stopped"]
    limit = rules[0]
    assert isinstance(limit, LimitRule)
    assert [(name, level.value, level.priority) for name, level in limit.levels()] == [
        ("hh", 900.0, Priority.CRITICAL),
        ("h", 880.0, None),
    ]
    assert limit.on_delay == 5.0 and limit.suppress_when == ["planned_stop", "setup"]
    deviation = rules[1]
    assert isinstance(deviation, DeviationRule) and deviation.setpoint == "setpoint"
    stale = rules[3]
    assert isinstance(stale, StaleRule) and stale.after == 60.0
    stopped = rules[4]
    assert isinstance(stopped, MachineStoppedRule) and stopped.states == [
        MachineState.STOPPED,
        MachineState.IDLE,
    ]
    assert plant.alarm_options.flood_alarms == 20 and plant.alarm_options.max_shelve == 4 * 3600.0
    assert plant.alarm_options.chattering_cycles == 3  # the ISA-18.2 defaults for the rest


def test_a_rule_on_an_unknown_tag_lists_the_machines_tags() -> None:
    (issue,) = _error(GOOD.replace("kind: stale, tag: temp", "kind: stale, tag: tmp")).issues
    assert (issue.source, issue.line) == ("plant.yaml", 31)
    assert issue.field == "sites[0].lines[0].machines[0].alarms[3].tag"
    assert "no tag 'tmp'" in issue.message and "fault, setpoint, state, temp" in issue.message


def test_a_deviation_setpoint_tag_must_exist() -> None:
    (issue,) = _error(GOOD.replace("setpoint: setpoint", "setpoint: sp")).issues
    assert issue.line == 29 and issue.field.endswith("alarms[1].setpoint") and "no tag 'sp'" in issue.message


def test_duplicate_rule_ids_name_the_first_use() -> None:
    (issue,) = _error(GOOD.replace("{id: stale,", "{id: dev,")).issues
    assert issue.line == 31 and issue.field == "sites[0].lines[0].machines[0].alarms[3].id"
    assert "'dev' is already used by alarms[1]" in issue.message


def test_a_bad_priority_lists_the_priorities() -> None:
    (issue,) = _error(GOOD.replace("priority: critical", "priority: urgent")).issues
    assert issue.line == 24 and issue.field == "sites[0].lines[0].machines[0].alarms[0].hh.priority"
    assert "'critical', 'high', 'medium' or 'low'" in issue.message


def test_an_unknown_kind_lists_the_kinds() -> None:
    (issue,) = _error(GOOD.replace("kind: machine_stopped", "kind: stopped_too_long")).issues
    assert issue.line == 32 and issue.field == "sites[0].lines[0].machines[0].alarms[4]"
    assert "'limit'" in issue.message and "'machine_stopped'" in issue.message


def test_limits_out_of_order_are_refused() -> None:
    (issue,) = _error(GOOD.replace("h: 880", "h: 950")).issues
    assert issue.line == 21 and issue.field == "sites[0].lines[0].machines[0].alarms[0]"
    assert "hh (900) must be above h (950)" in issue.message


def test_an_unknown_placeholder_in_a_message_names_the_allowed_ones() -> None:
    (issue,) = _error(GOOD.replace("fault ({value})", "fault ({code})")).issues
    assert issue.line == 30 and issue.field.endswith("alarms[2].message")
    assert "{code}" in issue.message and "{machine} {tag} {value} {limit} {unit}" in issue.message


def test_a_misspelled_rule_field_is_an_error_at_its_line() -> None:
    (issue,) = _error(GOOD.replace("deadband: 2", "dead_band: 2")).issues
    assert (
        issue.line == 26 and issue.field.endswith("alarms[0].dead_band") and "unknown field" in issue.message
    )


def test_rules_that_need_the_machine_state_need_an_oee_state_rule() -> None:
    lines = GOOD.splitlines(keepends=True)
    start = lines.index("            oee:\n")
    text = "".join(lines[:start] + lines[start + 3 :])
    first, second = _error(text).issues
    assert first.field.endswith("alarms[0].suppress_when") and "oee.state" in first.message
    assert second.field.endswith("alarms[4].kind") and "oee.state" in second.message


def test_plant_alarm_options_are_checked() -> None:
    (issue,) = _error(GOOD.replace("flood_alarms: 20", "flood_alarms: 0")).issues
    assert issue.line == 3 and issue.field == "alarm_options.flood_alarms"
