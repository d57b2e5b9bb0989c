"""The plant file schema (sites → lines → machines → tags) and its validation with file:line:field errors."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from linesight.domain.alarm_rules import RULE_KINDS, AlarmOptions, AlarmRule, rule_issues
from linesight.domain.cloud import CloudConfig
from linesight.domain.errors import ConfigError
from linesight.domain.machine import MachineState
from linesight.domain.notifications import (
    NotificationsConfig,
    notification_issues,
    notification_model_at,
    strip_channel_kind,
)
from linesight.domain.reasons import (
    ReasonCategory,
    RejectReasonConfig,
    default_downtime_reasons,
    default_reject_reasons,
    tree_issues,
)
from linesight.domain.schema import (  # noqa: F401  (re-exported: the plant file's vocabulary)
    NAME_HELP,
    NAME_PATTERN,
    WEEKDAYS,
    ConfigModel,
    Name,
    OptionValue,
    Seconds,
    TimeOfDay,
    Weekday,
)
from linesight.domain.tags import DataType, TagSpec
from linesight.domain.yamldoc import Location, parse_yaml

_Model = ConfigModel


class TagConfig(_Model):
    name: Name
    address: Annotated[str, Field(min_length=1)]
    data_type: DataType = Field(default=DataType.FLOAT64, alias="type")
    unit: str = ""
    scale: float = Field(default=1.0, allow_inf_nan=False)
    offset: float = Field(default=0.0, allow_inf_nan=False)
    deadband: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    poll_interval: Seconds | None = Field(default=None, gt=0.0)
    description: str = ""
    # Only a tag marked writable can be written (a setpoint); counters and states are never offered.
    writable: bool = False
    options: dict[str, OptionValue] = Field(default_factory=dict)


# How a machine's state is derived from its tags; OEE and the state timeline use it.
class StateFromCode(_Model):
    source: Literal["state_code"] = Field(alias="from")
    tag: Name
    map: dict[int, MachineState]
    default: MachineState = MachineState.IDLE


class StateFromRunningBit(_Model):
    source: Literal["running_bit"] = Field(alias="from")
    tag: Name
    fault_tag: Name | None = None
    setup_tag: Name | None = None


class StateFromThreshold(_Model):
    source: Literal["threshold"] = Field(alias="from")
    tag: Name
    above: float


class StateFromMTConnect(_Model):
    source: Literal["mtconnect"] = Field(alias="from")
    execution: Name
    controller_mode: Name | None = None


StateRule = Annotated[
    StateFromCode | StateFromRunningBit | StateFromThreshold | StateFromMTConnect,
    Field(discriminator="source"),
]


class OeeConfig(_Model):
    state: StateRule
    part_count: Name | None = None
    reject_count: Name | None = None
    good_count: Name | None = None
    ideal_cycle_time: Seconds = Field(gt=0.0)
    micro_stop_threshold: Seconds = Field(default=120.0, ge=0.0)

    def referenced_tags(self) -> Iterable[tuple[Location, str]]:
        state = self.state
        for field_name in ("tag", "fault_tag", "setup_tag", "execution", "controller_mode"):
            value = getattr(state, field_name, None)
            if value is not None:
                yield ("state", field_name), value
        for field_name in ("part_count", "reject_count", "good_count"):
            value = getattr(self, field_name)
            if value is not None:
                yield (field_name,), value


class MachineConfig(_Model):
    id: Name
    name: str = ""
    driver: Name
    connection: dict[str, Any] = Field(default_factory=dict)
    poll_interval: Seconds = Field(default=1.0, gt=0.0)
    timeout: Seconds = Field(default=2.0, gt=0.0)
    tags: list[TagConfig] = Field(min_length=1)
    oee: OeeConfig | None = None
    calendar: Name | None = None
    # Alarm rules on this machine's tags (docs/alarms.md).
    alarms: list[AlarmRule] = Field(default_factory=list)

    @property
    def title(self) -> str:
        return self.name or self.id

    def tag_specs(self) -> list[TagSpec]:
        return [
            TagSpec(
                machine=self.id,
                name=tag.name,
                address=tag.address,
                data_type=tag.data_type,
                unit=tag.unit,
                scale=tag.scale,
                offset=tag.offset,
                deadband=tag.deadband,
                poll_interval=tag.poll_interval or self.poll_interval,
                description=tag.description,
                writable=tag.writable,
                options=tuple(sorted(tag.options.items())),
            )
            for tag in self.tags
        ]


class Break(_Model):
    name: str = "break"
    start: TimeOfDay
    duration: Seconds = Field(gt=0.0)


class Shift(_Model):
    name: Annotated[str, Field(min_length=1)]
    start: TimeOfDay
    end: TimeOfDay  # an end at or before the start means the shift ends the next day
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    breaks: list[Break] = Field(default_factory=list)

    @property
    def length(self) -> float:
        """Seconds from start to end; an end at or before the start is on the next day."""
        span = _seconds_of_day(self.end) - _seconds_of_day(self.start)
        return span if span > 0 else span + 86400.0

    @model_validator(mode="after")
    def _breaks_inside(self) -> Shift:
        for item in self.breaks:
            offset = (_seconds_of_day(item.start) - _seconds_of_day(self.start)) % 86400.0
            if offset + item.duration > self.length:
                raise ValueError(
                    f"break '{item.name}' at {item.start:%H:%M} for {item.duration / 60:g} min does not fit "
                    f"in shift {self.name} ({self.start:%H:%M}-{self.end:%H:%M})"
                )
        return self


def _seconds_of_day(moment: time) -> float:
    return moment.hour * 3600.0 + moment.minute * 60.0 + moment.second


class PlannedStop(_Model):
    name: Annotated[str, Field(min_length=1)]
    start: TimeOfDay
    duration: Seconds = Field(gt=0.0)
    weekday: Weekday | None = None
    on: date | None = None


class CalendarConfig(_Model):
    shifts: list[Shift] = Field(min_length=1)
    planned_stops: list[PlannedStop] = Field(default_factory=list)
    holidays: list[date] = Field(default_factory=list)


class LineConfig(_Model):
    id: Name
    name: str = ""
    calendar: Name | None = None
    machines: list[MachineConfig] = Field(min_length=1)


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone '{name}': use an IANA name such as America/Sao_Paulo, Europe/Berlin or UTC"
        ) from None
    return name


class SiteConfig(_Model):
    id: Name
    name: str = ""
    # Shifts are in the site's local time; every stored time is UTC.
    timezone: Annotated[str, AfterValidator(_time_zone)] = "UTC"
    calendar: Name | None = None
    lines: list[LineConfig] = Field(min_length=1)


class RetentionConfig(_Model):
    raw: Seconds | None = 30 * 86400.0
    minute: Seconds | None = 365 * 86400.0
    hour: Seconds | None = None


_MEMORY_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)\s*$")


def _memory_size(value: str) -> str:
    if not _MEMORY_SIZE.match(value):
        raise ValueError(f"expected a size such as 64MB, 512MB or 1GB, got {value!r}")
    return value.strip()


class HistorianConfig(_Model):
    path: str | None = None
    # At least once a second: a crash loses at most this much collected data.
    flush_interval: Seconds = Field(default=1.0, gt=0.0, le=1.0)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    # DuckDB's cache; more makes long trend queries faster, less suits small edge boxes.
    memory_limit: Annotated[str, AfterValidator(_memory_size)] = "64MB"


class PlantConfig(_Model):
    version: Literal[1] = 1
    id: Name
    name: str = ""
    sites: list[SiteConfig] = Field(min_length=1)
    calendars: dict[Name, CalendarConfig] = Field(default_factory=dict)
    historian: HistorianConfig = Field(default_factory=HistorianConfig)
    # Thresholds for chattering, flood and stale alarms, shelving and the alarm KPIs (docs/alarms.md).
    alarm_options: AlarmOptions = Field(default_factory=AlarmOptions)
    # Who hears about alarms, how and how often (docs/notifications.md); none without it.
    notifications: NotificationsConfig | None = None
    # The reasons an operator codes a stop with, and rejects with; without them, the built-in ones.
    downtime_reasons: list[ReasonCategory] = Field(default_factory=default_downtime_reasons, min_length=1)
    reject_reasons: list[RejectReasonConfig] = Field(default_factory=default_reject_reasons, min_length=1)
    # Store-and-forward to the cloud over MQTT (docs/cloud/edge.md); none without it.
    cloud: CloudConfig | None = None

    def machines(self) -> Iterable[tuple[SiteConfig, LineConfig, MachineConfig]]:
        for site in self.sites:
            for line in site.lines:
                for machine in line.machines:
                    yield site, line, machine

    def machine(self, machine_id: str) -> MachineConfig:
        for _site, _line, machine in self.machines():
            if machine.id == machine_id:
                return machine
        raise KeyError(machine_id)

    def calendar_for(self, machine_id: str) -> CalendarConfig | None:
        """The machine's calendar, else its line's, else its site's."""
        for site, line, machine in self.machines():
            if machine.id == machine_id:
                name = machine.calendar or line.calendar or site.calendar
                return self.calendars.get(name) if name else None
        raise KeyError(machine_id)

    def tag_specs(self) -> list[TagSpec]:
        return [spec for _s, _l, machine in self.machines() for spec in machine.tag_specs()]


@dataclass(frozen=True, kw_only=True)
class PlantIssue:
    """One thing wrong in a plant file, with where it is."""

    source: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}:{self.column}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class PlantFileError(ConfigError):
    def __init__(self, issues: Sequence[PlantIssue]) -> None:
        self.issues = list(issues)
        count = len(self.issues)
        head = f"{count} problem{'s' if count != 1 else ''} in the plant file"
        super().__init__("\n".join([head, *(str(issue) for issue in self.issues)]))


# A driver's check of its own connection block and addresses: (location in the machine, message) pairs.
ConnectionValidator = Callable[[str, Mapping[str, Any], Sequence[TagSpec]], list[tuple[Location, str]]]


def format_location(location: Location) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    message = str(error["msg"])
    if kind == "extra_forbidden":
        return "unknown field; check the spelling (see docs/plant-file.md for the allowed fields)"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_pattern_mismatch":
        if error.get("loc", ())[-1:] == ("colour",):
            return f"{error.get('input')!r} is not a colour: write it as #rrggbb, e.g. #b03a2e"
        return f"{error.get('input')!r} is not a valid name: use {NAME_HELP}"
    if kind in ("value_error", "assertion_error"):
        return message.removeprefix("Value error, ")
    return message


def validation_problems(
    err: ValidationError, model_at: Callable[[Location], type[BaseModel] | None]
) -> list[tuple[Location, str]]:
    """Pydantic's errors as (location, message) pairs a person can act on.

    ``model_at`` gives the model whose fields sit at a location, so that an unknown field's message
    can list the fields allowed there.
    """
    found: list[tuple[Location, str]] = []
    for error in err.errors():
        location: Location = tuple(error["loc"])
        message = _describe(error)
        if error["type"] == "extra_forbidden":
            model = model_at(location[:-1])
            if model is not None:
                message = f"unknown field '{location[-1]}'; allowed: {_allowed_fields(model)}"
        found.append((_strip_union_tags(location), message))
    return found


def _allowed_fields(model: type[BaseModel]) -> str:
    names = [field.alias or name for name, field in model.model_fields.items()]
    return ", ".join(names)


def _model_at(location: Location) -> type[BaseModel] | None:
    """The schema model whose fields sit at ``location`` (for 'unknown field' hints)."""
    if location[:1] == ("notifications",):
        return notification_model_at(location[1:])
    model: type[BaseModel] | None = PlantConfig
    steps: dict[tuple[type[BaseModel], str], type[BaseModel]] = {
        (PlantConfig, "sites"): SiteConfig,
        (PlantConfig, "calendars"): CalendarConfig,
        (PlantConfig, "historian"): HistorianConfig,
        (PlantConfig, "alarm_options"): AlarmOptions,
        (HistorianConfig, "retention"): RetentionConfig,
        (SiteConfig, "lines"): LineConfig,
        (LineConfig, "machines"): MachineConfig,
        (MachineConfig, "tags"): TagConfig,
        (MachineConfig, "oee"): OeeConfig,
        (CalendarConfig, "shifts"): Shift,
        (CalendarConfig, "planned_stops"): PlannedStop,
        (Shift, "breaks"): Break,
    }
    skip_next = False
    for part in location:
        if skip_next or isinstance(part, int):
            skip_next = False
            continue
        if model is None:
            return None
        nxt = steps.get((model, part))
        if nxt is None:
            return None
        skip_next = model is PlantConfig and part == "calendars"  # skip the calendar's name
        model = nxt
    return model


def _semantic_issues(plant: PlantConfig) -> list[tuple[Location, str]]:
    """Cross-references pydantic cannot see: unique ids, tags named by OEE rules, calendars."""
    issues: list[tuple[Location, str]] = []
    issues.extend((("downtime_reasons", *where), text) for where, text in tree_issues(plant.downtime_reasons))
    reject_ids: set[str] = set()
    for r, reject in enumerate(plant.reject_reasons):
        if reject.id in reject_ids:
            issues.append((("reject_reasons", r, "id"), f"reject reason '{reject.id}' is listed twice"))
        reject_ids.add(reject.id)
    machine_ids: dict[str, Location] = {}
    for s, site in enumerate(plant.sites):
        if site.calendar and site.calendar not in plant.calendars:
            issues.append((("sites", s, "calendar"), _unknown_calendar(site.calendar, plant)))
        line_ids: set[str] = set()
        for li, line in enumerate(site.lines):
            line_loc: Location = ("sites", s, "lines", li)
            if line.id in line_ids:
                issues.append(((*line_loc, "id"), f"line id '{line.id}' is used twice in site '{site.id}'"))
            line_ids.add(line.id)
            if line.calendar and line.calendar not in plant.calendars:
                issues.append(((*line_loc, "calendar"), _unknown_calendar(line.calendar, plant)))
            for m, machine in enumerate(line.machines):
                loc: Location = (*line_loc, "machines", m)
                if machine.id in machine_ids:
                    first = format_location(machine_ids[machine.id])
                    issues.append(((*loc, "id"), f"machine id '{machine.id}' is already used at {first}"))
                else:
                    machine_ids[machine.id] = loc
                if machine.calendar and machine.calendar not in plant.calendars:
                    issues.append(((*loc, "calendar"), _unknown_calendar(machine.calendar, plant)))
                issues.extend(_machine_issues(machine, loc))
    if plant.notifications is not None:
        issues.extend(
            (("notifications", *where), text) for where, text in notification_issues(plant.notifications)
        )
    return issues


def _machine_issues(machine: MachineConfig, loc: Location) -> list[tuple[Location, str]]:
    issues: list[tuple[Location, str]] = []
    names: dict[str, int] = {}
    for t, tag in enumerate(machine.tags):
        if tag.name in names:
            issues.append(
                (
                    (*loc, "tags", t, "name"),
                    f"tag '{tag.name}' is already declared as tags[{names[tag.name]}]",
                )
            )
        names.setdefault(tag.name, t)
    if machine.oee is not None:
        allowed = ", ".join(sorted(names))
        for sub, tag_name in machine.oee.referenced_tags():
            if tag_name not in names:
                issues.append(
                    (
                        (*loc, "oee", *sub),
                        f"no tag '{tag_name}' on machine '{machine.id}'; its tags are: {allowed}",
                    )
                )
    for sub, message in rule_issues(machine.alarms, names, has_state=machine.oee is not None):
        issues.append(((*loc, "alarms", *sub), message))
    return issues


def _unknown_calendar(name: str, plant: PlantConfig) -> str:
    known = ", ".join(sorted(plant.calendars)) or "none are defined under 'calendars:'"
    return f"no calendar named '{name}'; known calendars: {known}"


_PLANT_ADAPTER = TypeAdapter(PlantConfig)


def parse_plant(
    text: str,
    source: str,
    *,
    drivers: Mapping[str, ConnectionValidator] | None = None,
) -> PlantConfig:
    """Validate a plant file's text; raise PlantFileError listing every problem with file:line:column.

    ``drivers`` maps each known driver name to its connection/address check; when given, a machine
    naming another driver is an error and each machine's connection and addresses are checked too.
    """
    document = parse_yaml(text)
    if document.problems:
        raise PlantFileError(
            [
                PlantIssue(
                    source=source, line=p.position.line, column=p.position.column, field="", message=p.message
                )
                for p in document.problems
            ]
        )
    if not isinstance(document.data, dict):
        raise PlantFileError(
            [
                PlantIssue(
                    source=source,
                    line=1,
                    column=1,
                    field="",
                    message="a plant file is a YAML mapping with 'id' and 'sites'",
                )
            ]
        )

    found: list[tuple[Location, str]] = []
    try:
        plant = _PLANT_ADAPTER.validate_python(document.data)
    except ValidationError as err:
        found = validation_problems(err, _model_at)
        raise PlantFileError(_to_issues(found, document.position_of, source)) from None

    found.extend(_semantic_issues(plant))
    if drivers is not None:
        found.extend(_driver_issues(plant, drivers))
    if found:
        raise PlantFileError(_to_issues(found, document.position_of, source))
    return plant


def _driver_issues(
    plant: PlantConfig, drivers: Mapping[str, ConnectionValidator]
) -> list[tuple[Location, str]]:
    issues: list[tuple[Location, str]] = []
    for s, site in enumerate(plant.sites):
        for li, line in enumerate(site.lines):
            for m, machine in enumerate(line.machines):
                loc: Location = ("sites", s, "lines", li, "machines", m)
                validator = drivers.get(machine.driver)
                if validator is None:
                    allowed = ", ".join(sorted(drivers))
                    issues.append(
                        ((*loc, "driver"), f"unknown driver '{machine.driver}'; allowed: {allowed}")
                    )
                    continue
                for sub, message in validator(machine.id, machine.connection, machine.tag_specs()):
                    issues.append(((*loc, *sub), message))
    return issues


def _strip_union_tags(location: Location) -> Location:
    """Pydantic puts the chosen union member (e.g. 'state_code') into the location; people do not."""
    union_tags = {
        "state_code",
        "running_bit",
        "threshold",
        "mtconnect",
        "function-before[parse_duration(), float]",
        *RULE_KINDS,
    }
    if location[:1] == ("notifications",):
        location = ("notifications", *strip_channel_kind(location[1:]))
    return tuple(part for part in location if not (isinstance(part, str) and part in union_tags))


def _to_issues(
    found: Sequence[tuple[Location, str]], position_of: Callable[[Location], Any], source: str
) -> list[PlantIssue]:
    issues = []
    for location, message in found:
        position = position_of(location)
        issues.append(
            PlantIssue(
                source=source,
                line=position.line,
                column=position.column,
                field=format_location(location),
                message=message,
            )
        )
    issues.sort(key=lambda issue: (issue.line, issue.column))
    return issues
