"""The contract every driver keeps, and the factory shape the runtime uses to build drivers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from linesight.domain.tags import Sample, TagSpec, TagValue

SampleSink = Callable[[Sequence[Sample]], None]


@runtime_checkable
class Driver(Protocol):
    """A connection to one device.

    ``read`` returns raw values (before the tag's scale and offset): the runtime scales them.
    Errors leave a driver only as ``linesight.domain.errors.DriverError`` subclasses.
    """

    async def connect(self) -> None: ...

    async def read(self, tags: Sequence[TagSpec]) -> list[Sample]: ...

    async def write(self, tag: TagSpec, value: TagValue) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class PushDriver(Driver, Protocol):
    """A driver whose device pushes changes (OPC UA subscriptions, MTConnect streams).

    After each connect the runtime asks which tags are pushed, subscribes them, polls the others,
    and calls ``check`` at the machine's poll interval: it raises a ``DriverError`` once the
    connection or the subscription is gone, and the runtime then reconnects and subscribes again.
    ``subscribe`` returns the function that ends the subscription and the tags the device refused
    (key → reason): the runtime marks those bad and polls them, so that they are retried.
    """

    def pushes(self, tag: TagSpec) -> bool: ...

    async def subscribe(
        self, tags: Sequence[TagSpec], sink: SampleSink
    ) -> tuple[Callable[[], Awaitable[None]], Mapping[str, str]]: ...

    async def check(self) -> None: ...


class DriverCounters(Protocol):
    """Counters a driver may keep for the health screen (read with getattr; all optional)."""

    requests: int  # requests sent to the device
    dropped: int  # notifications the device or the client had to drop


class DriverFactory(Protocol):
    """What a protocol package exposes to the registry."""

    name: str

    def validate(
        self, connection: Mapping[str, Any], tags: Sequence[TagSpec]
    ) -> list[tuple[tuple[str | int, ...], str]]:
        """Check a machine's connection block and tag addresses without touching the network.

        Returns ``(location, message)`` pairs; a location starts with ``"connection"`` or
        ``("tags", index, "address")`` so that the plant loader can point at the line.
        """
        ...

    def create(self, machine_id: str, connection: Mapping[str, Any], tags: Sequence[TagSpec]) -> Driver: ...
