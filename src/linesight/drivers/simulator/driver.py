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
from linesight.domain.tags import DataType, Sample, TagSpec, TagValue
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


def _converter(data_type: DataType) -> Callable[[Value], TagValue] | None:
    """How a simulated value becomes the tag's declared type (None: it already is)."""
    if data_type is DataType.STRING:
        return str
    if data_type is DataType.BOOL:
        return bool
    if data_type.is_integer:
        return lambda value: round(value) if isinstance(value, float) else int(value)
    return float


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
        self._model: MachineModel | None = None
        self._outages: _Outages | None = None
        self._connected = False
        self._convert: dict[str, Callable[[Value], TagValue] | None] = {}
        for spec in tags:
            self._convert[spec.key] = _converter(spec.data_type)

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
        convert = self._convert
        samples = []
        for spec in tags:
            try:
                simulated = model.value(spec.address)
            except KeyError:
                raise BadAddress(
                    f"{self.machine_id}: the simulated {self._profile.name} has no signal '{spec.address}'",
                    tags=(spec.key,),
                ) from None
            conv = convert.get(spec.key)
            value = simulated if conv is None else conv(simulated)
            samples.append(Sample(tag=spec.key, ts_us=ts_us, value=value))
        return samples

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
