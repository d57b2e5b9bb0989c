"""The simulator driver: simulated machines behind the same contract as a real device connection."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from linesight.domain.errors import BadAddress, ConfigError, DeviceUnreachable
from linesight.domain.plant import validation_problems
from linesight.domain.tags import DataType, Quality, Sample, TagSpec, TagValue
from linesight.domain.units import parse_duration
from linesight.drivers.simulator.model import PROFILES, MachineModel, Value

Location = tuple[str | int, ...]
Seconds = Annotated[float, BeforeValidator(parse_duration)]

# The fastest a simulated tag may be polled: 100 samples per second.
MIN_POLL_INTERVAL_S = 0.01


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CommLoss(_Settings):
    """Simulated communication outages: on average one ``every`` seconds, each lasting ``duration``."""

    every: Seconds = Field(gt=0.0)
    duration: Seconds = Field(gt=0.0)


class SimulatorConnection(_Settings):
    profile: Literal["cnc", "press", "packaging", "oven"]
    seed: int = 0
    ideal_cycle_s: float | None = Field(default=None, gt=0.0)
    reject_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    time_scale: float = Field(default=1.0, gt=0.0, le=3600.0)
    latency: Seconds = Field(default=0.0, ge=0.0, le=10.0)
    comm_loss: CommLoss | None = None


_MODELS_AT: dict[Location, type[BaseModel]] = {(): SimulatorConnection, ("comm_loss",): CommLoss}


def _model_at(location: Location) -> type[BaseModel] | None:
    return _MODELS_AT.get(location)


def _integer(value: Value) -> int:
    return round(value) if isinstance(value, float) else int(value)


def _converter(kind: type, data_type: DataType) -> Callable[[Value], TagValue] | None:
    """How a simulated value of Python type ``kind`` becomes the tag's declared type (None: it is one)."""
    if data_type is DataType.STRING:
        return None if kind is str else str
    if data_type is DataType.BOOL:
        return None if kind is bool else bool
    if data_type.is_integer:
        return None if kind is int else _integer
    return None if kind is float else float


# One tag's read: its key, the model's reader of its address, the conversion to its declared type.
_Step = tuple[str, Callable[[], Value], Callable[[Value], TagValue] | None]


class _Outages:
    """A seeded schedule of communication outages."""

    def __init__(self, spec: CommLoss | None, seed: int, start: float) -> None:
        self._spec = spec
        self._rng = random.Random(f"linesight-sim/comm/{seed}")
        self._next = start + (self._rng.expovariate(1.0 / spec.every) if spec else 0.0)

    def active(self, t: float) -> bool:
        spec = self._spec
        if spec is None:
            return False
        while self._next + spec.duration <= t:
            self._next += spec.duration + self._rng.expovariate(1.0 / spec.every)
        return self._next <= t


class SimulatorDriver:
    """One simulated machine. The machine keeps running while the connection is down."""

    def __init__(
        self,
        machine_id: str,
        settings: SimulatorConnection,
        tags: Sequence[TagSpec],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.machine_id = machine_id
        self.settings = settings
        self._clock = clock
        self._profile = PROFILES[settings.profile]
        self._signals = self._profile.signals()
        self._model: MachineModel | None = None
        self._outages: _Outages | None = None
        self._connected = False
        self._plans: dict[tuple[str, ...], list[_Step]] = {}

    @property
    def model(self) -> MachineModel:
        if self._model is None:
            now = self._clock()
            self._model = MachineModel(
                self._profile,
                seed=self.settings.seed,
                start=now,
                ideal_cycle_s=self.settings.ideal_cycle_s,
                reject_rate=self.settings.reject_rate,
                time_scale=self.settings.time_scale,
            )
            self._outages = _Outages(self.settings.comm_loss, self.settings.seed, now)
        return self._model

    def _check_link(self, now: float) -> None:
        assert self._outages is not None
        if self._outages.active(now):
            self._connected = False
            raise DeviceUnreachable(
                f"{self.machine_id}: no answer from the simulated device (communication loss)"
            )

    async def connect(self) -> None:
        _ = self.model
        if self.settings.latency:
            await asyncio.sleep(self.settings.latency)
        self._check_link(self._clock())
        self._connected = True

    async def read(self, tags: Sequence[TagSpec]) -> list[Sample]:
        if not self._connected:
            raise DeviceUnreachable(f"{self.machine_id}: not connected")
        if self.settings.latency:
            await asyncio.sleep(self.settings.latency)
        now = self._clock()
        self._check_link(now)
        model = self.model
        model.advance_to(now)
        ts_us = int(now * 1_000_000)
        plan = self._plans.get(tuple(spec.key for spec in tags)) or self._plan_tags(tags)
        samples: list[Sample] = []
        add = samples.append
        # This loop runs for every simulated sample: Sample is built the cheapest way a tuple can be.
        new, good = tuple.__new__, Quality.GOOD
        for key, read, convert in plan:
            add(new(Sample, (key, ts_us, read() if convert is None else convert(read()), good)))
        return samples

    def _plan_tags(self, tags: Sequence[TagSpec]) -> list[_Step]:
        """Per tag, the model's reader for its address and the conversion to its type, found once."""
        plan = []
        for spec in tags:
            reader = self.model.reader(spec.address)
            if reader is None:
                raise BadAddress(
                    f"{self.machine_id}: the simulated {self._profile.name} has no signal '{spec.address}'",
                    tags=(spec.key,),
                )
            plan.append((spec.key, reader, _converter(self._signals[spec.address], spec.data_type)))
        if len(self._plans) >= 64:  # read sets are few (one per poll rate); bound it all the same
            self._plans.clear()
        self._plans[tuple(spec.key for spec in tags)] = plan
        return plan

    async def write(self, tag: TagSpec, value: TagValue) -> None:
        if not self._connected:
            raise DeviceUnreachable(f"{self.machine_id}: not connected")
        if isinstance(value, (bool, str)) or value is None:
            raise BadAddress(f"{self.machine_id}: {tag.name} takes a number, got {value!r}", tags=(tag.key,))
        try:
            self.model.write(tag.address, float(value))
        except KeyError:
            writable = ", ".join(self._profile.writable) or "none"
            raise BadAddress(
                f"{self.machine_id}: '{tag.address}' cannot be written; writable signals: {writable}",
                tags=(tag.key,),
            ) from None

    async def close(self) -> None:
        self._connected = False


class SimulatorFactory:
    name = "simulator"

    def parse(self, connection: Mapping[str, Any]) -> SimulatorConnection:
        try:
            return SimulatorConnection.model_validate(dict(connection))
        except ValidationError as err:
            raise ConfigError(str(err)) from None

    def validate(self, connection: Mapping[str, Any], tags: Sequence[TagSpec]) -> list[tuple[Location, str]]:
        try:
            settings = SimulatorConnection.model_validate(dict(connection))
        except ValidationError as err:
            return [(("connection", *loc), message) for loc, message in validation_problems(err, _model_at)]
        problems: list[tuple[Location, str]] = []
        signals = PROFILES[settings.profile].signals()
        for index, spec in enumerate(tags):
            kind = signals.get(spec.address)
            if kind is None:
                allowed = ", ".join(sorted(signals))
                problems.append(
                    (
                        ("tags", index, "address"),
                        f"the simulated {settings.profile} has no signal '{spec.address}'; it has: {allowed}",
                    )
                )
            elif (kind is str) != (spec.data_type is DataType.STRING):
                wanted = "string" if kind is str else "a numeric or bool type"
                problems.append(
                    (
                        ("tags", index, "type"),
                        f"signal '{spec.address}' is {kind.__name__}: declare it as {wanted}",
                    )
                )
            if spec.poll_interval < MIN_POLL_INTERVAL_S:
                problems.append(
                    (
                        ("tags", index, "poll_interval"),
                        f"the simulator samples at most 100 times a second (poll_interval >= 10ms), "
                        f"got {spec.poll_interval:g} s",
                    )
                )
        return problems

    def create(
        self, machine_id: str, connection: Mapping[str, Any], tags: Sequence[TagSpec]
    ) -> SimulatorDriver:
        return SimulatorDriver(machine_id, self.parse(connection), tags)
