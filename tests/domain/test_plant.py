"""Plant file validation: good files load, every bad one names its file, line and field."""

from __future__ import annotations

from datetime import time

import pytest

from linesight.domain.machine import MachineState
from linesight.domain.plant import PlantFileError, StateFromCode, parse_plant
from linesight.domain.tags import DataType

GOOD = """\
version: 1
id: plant-a
calendars:
  day:
    shifts:
      - name: A
        start: 06:00
        end: 14:30
        breaks:
          - {start: 09:00, duration: 15m}
sites:
  - id: s1
    calendar: day
    lines:
      - id: l1
        machines:
          - id: m1
            driver: simulator
            connection: {profile: cnc}
            poll_interval: 500ms
            tags:
              - name: speed
                address: spindle_speed
                type: float32
                unit: rpm
                scale: 0.1
                offset: 2
                deadband: 5
              - {name: state, address: state_code, type: int16, poll_interval: 2s}
              - {name: parts, address: part_count, type: uint32}
            oee:
              state: {from: state_code, tag: state, map: {1: running, 3: stopped}}
              part_count: parts
              ideal_cycle_time: 45s
"""


def _error(text: str, **kwargs: object) -> PlantFileError:
    with pytest.raises(PlantFileError) as caught:
        parse_plant(text, "plant.yaml", **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_a_good_file_loads_with_units_and_defaults_resolved() -> None:
    plant = parse_plant(GOOD, "plant.yaml")
    machine = plant.machine("m1")
    specs = {spec.name: spec for spec in machine.tag_specs()}
    assert specs["speed"].data_type is DataType.FLOAT32
    assert specs["speed"].poll_interval == 0.5  # the machine's 500ms
    assert specs["state"].poll_interval == 2.0
    assert specs["speed"].key == "m1.speed"
    assert specs["speed"].to_engineering(1000) == pytest.approx(102.0)
    assert machine.oee is not None and isinstance(machine.oee.state, StateFromCode)
    assert machine.oee.state.map[3] is MachineState.STOPPED
    assert machine.oee.ideal_cycle_time == 45.0
    calendar = plant.calendar_for("m1")
    assert calendar is not None
    assert calendar.shifts[0].end == time(14, 30)  # unquoted 14:30 is a time, not the base-60 number 870
    assert calendar.shifts[0].breaks[0].duration == 900.0


def test_a_wrong_data_type_names_line_field_and_the_allowed_types() -> None:
    error = _error(GOOD.replace("type: float32", "type: float33"))
    (issue,) = error.issues
    assert (issue.source, issue.line) == ("plant.yaml", 24)
    assert issue.field == "sites[0].lines[0].machines[0].tags[0].type"
    assert "float64" in issue.message and "int16" in issue.message
    assert str(issue).startswith("plant.yaml:24:17: sites[0].lines[0].machines[0].tags[0].type:")


def test_a_misspelled_field_is_named_with_the_fields_allowed_there() -> None:
    issues = _error(GOOD.replace("address: spindle_speed", "adress: spindle_speed")).issues
    by_field = {issue.field: issue for issue in issues}
    unknown = by_field["sites[0].lines[0].machines[0].tags[0].adress"]
    assert unknown.line == 23 and "unknown field 'adress'; allowed: name, address, type" in unknown.message
    missing = by_field["sites[0].lines[0].machines[0].tags[0].address"]
    assert missing.message == "required field is missing" and missing.line == 22


def test_a_missing_required_field_points_at_its_parent() -> None:
    text = GOOD.replace("            driver: simulator\n", "")
    (issue,) = _error(text).issues
    assert issue.field == "sites[0].lines[0].machines[0].driver"
    assert issue.message == "required field is missing"
    assert issue.line == 17  # the machine's first line


def test_a_yaml_syntax_error_gives_its_line() -> None:
    text = GOOD.replace("connection: {profile: cnc}", "connection: {profile: cnc")
    (issue,) = _error(text).issues
    assert issue.line in (19, 20)
    assert "flow mapping" in issue.message


def test_every_problem_is_reported_at_once_in_line_order() -> None:
    text = GOOD.replace("unit: rpm", "unit: rpm\n                deadband_x: 1").replace(
        "poll_interval: 2s", "poll_interval: soon"
    )
    issues = _error(text).issues
    assert len(issues) == 2
    assert issues[0].line < issues[1].line
    assert "poll_interval" in issues[1].field and "duration" in issues[1].message


def test_duplicate_machine_ids_name_the_first_use() -> None:
    machine = GOOD[GOOD.index("          - id: m1") :]
    text = GOOD + machine
    issues = _error(text).issues
    assert any(
        "machine id 'm1' is already used at sites[0].lines[0].machines[0]" in i.message for i in issues
    )


def test_duplicate_yaml_keys_are_errors_not_silently_overwritten() -> None:
    text = GOOD.replace("unit: rpm", "unit: rpm\n                unit: rps")
    (issue,) = _error(text).issues
    assert "duplicate key 'unit'" in issue.message and issue.line == 26


def test_oee_rule_naming_a_missing_tag_lists_the_machines_tags() -> None:
    (issue,) = _error(GOOD.replace("part_count: parts", "part_count: pieces")).issues
    assert issue.field == "sites[0].lines[0].machines[0].oee.part_count"
    assert "no tag 'pieces'" in issue.message and "parts, speed, state" in issue.message


def test_state_rule_kind_must_be_one_of_the_known_ones() -> None:
    (issue,) = _error(GOOD.replace("from: state_code", "from: magic")).issues
    assert "oee.state" in issue.field
    assert "state_code" in issue.message and "running_bit" in issue.message


def test_unknown_calendar_lists_the_known_ones() -> None:
    (issue,) = _error(GOOD.replace("calendar: day", "calendar: night")).issues
    assert issue.field == "sites[0].calendar" and "known calendars: day" in issue.message


def test_bad_names_say_what_a_name_may_contain() -> None:
    (issue,) = _error(GOOD.replace("- id: m1", "- id: m 1")).issues
    assert issue.field == "sites[0].lines[0].machines[0].id" and "letters, digits" in issue.message


def test_unknown_driver_lists_the_allowed_drivers_when_drivers_are_given() -> None:
    def accept(_machine: str, _connection: object, _tags: object) -> list[tuple[tuple[str | int, ...], str]]:
        return []

    def refuse(_machine: str, _connection: object, _tags: object) -> list[tuple[tuple[str | int, ...], str]]:
        return [(("tags", 1, "address"), "unknown signal")]

    (issue,) = _error(
        GOOD.replace("driver: simulator", "driver: modbuss"), drivers={"simulator": accept, "modbus": accept}
    ).issues
    assert issue.field == "sites[0].lines[0].machines[0].driver"
    assert "allowed: modbus, simulator" in issue.message
    (issue,) = _error(GOOD, drivers={"simulator": refuse}).issues
    assert (issue.field, issue.line) == ("sites[0].lines[0].machines[0].tags[1].address", 29)


def test_a_file_that_is_not_a_mapping_is_refused_clearly() -> None:
    (issue,) = _error("- just\n- a list\n").issues
    assert "YAML mapping" in issue.message


def test_negative_deadband_and_zero_cycle_time_are_refused() -> None:
    text = GOOD.replace("deadband: 5", "deadband: -5").replace("ideal_cycle_time: 45s", "ideal_cycle_time: 0")
    fields = {issue.field for issue in _error(text).issues}
    assert fields == {
        "sites[0].lines[0].machines[0].tags[0].deadband",
        "sites[0].lines[0].machines[0].oee.ideal_cycle_time",
    }


def test_a_break_outside_its_shift_is_refused_with_both_times() -> None:
    (issue,) = _error(
        GOOD.replace("{start: 09:00, duration: 15m}", "{name: lunch, start: 14:20, duration: 30m}")
    ).issues
    assert issue.field == "calendars.day.shifts[0]"
    assert "break 'lunch' at 14:20 for 30 min does not fit in shift A (06:00-14:30)" in issue.message


def test_a_night_shift_may_hold_a_break_after_midnight() -> None:
    text = GOOD.replace("start: 06:00\n        end: 14:30", "start: 22:00\n        end: 06:00").replace(
        "{start: 09:00, duration: 15m}", "{start: 02:00, duration: 30m}"
    )
    shift = parse_plant(text, "plant.yaml").calendars["day"].shifts[0]
    assert shift.length == 8 * 3600


def test_an_unknown_time_zone_is_refused_with_examples() -> None:
    text = GOOD.replace(
        "    calendar: day\n    lines:", "    calendar: day\n    timezone: America/Sao_Paolo\n    lines:"
    )
    (issue,) = _error(text).issues
    assert issue.field == "sites[0].timezone" and "unknown time zone 'America/Sao_Paolo'" in issue.message


def test_a_historian_memory_limit_must_be_a_size() -> None:
    text = GOOD.replace("sites:\n", "historian: {memory_limit: lots}\nsites:\n", 1)
    (issue,) = _error(text).issues
    assert issue.field == "historian.memory_limit" and "such as 64MB" in issue.message
    assert parse_plant(text.replace("lots", "128MB"), "plant.yaml").historian.memory_limit == "128MB"
