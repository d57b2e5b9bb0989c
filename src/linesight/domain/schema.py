"""The building blocks every part of the plant file is written with: names, durations, times of day."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from linesight.domain.units import parse_duration, parse_time_of_day

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$"
NAME_HELP = "letters, digits, '_' and '-', starting with a letter or digit, at most 64 characters"

Seconds = Annotated[float, BeforeValidator(parse_duration)]
TimeOfDay = Annotated[time, BeforeValidator(parse_time_of_day)]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OptionValue = str | int | float | bool


class ConfigModel(BaseModel):
    """A section of the plant file: unknown fields are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
