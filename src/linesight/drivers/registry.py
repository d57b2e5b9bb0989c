"""The drivers LineSight knows, by the name a plant file gives in ``driver:``."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import Any

from linesight.domain.plant import ConnectionValidator
from linesight.domain.tags import TagSpec
from linesight.drivers.base import DriverFactory

Location = tuple[str | int, ...]

# Driver name → module exposing FACTORY. A module is imported the first time a plant names its driver,
# so that a plant without S7 machines never loads the S7 library.
_MODULES = {
    "simulator": "linesight.drivers.simulator",
    "modbus": "linesight.drivers.modbus",
    "s7": "linesight.drivers.s7",
    "opcua": "linesight.drivers.opcua",
    "mtconnect": "linesight.drivers.mtconnect",
}


@cache
def factory(name: str) -> DriverFactory:
    """The factory of one driver; KeyError for a name no driver has."""
    found: DriverFactory = importlib.import_module(_MODULES[name]).FACTORY
    return found


class _Factories(Mapping[str, DriverFactory]):
    """Every known driver, each imported only when it is looked up."""

    def __getitem__(self, name: str) -> DriverFactory:
        return factory(name)

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


def factories() -> Mapping[str, DriverFactory]:
    return _Factories()


def validators(chosen: Mapping[str, DriverFactory] | None = None) -> dict[str, ConnectionValidator]:
    """Per driver name, a check of a machine's connection block and tag addresses for the plant loader."""
    known = chosen if chosen is not None else factories()

    def bind(name: str) -> ConnectionValidator:
        def check(
            _machine_id: str, connection: Mapping[str, Any], tags: Sequence[TagSpec]
        ) -> list[tuple[Location, str]]:
            return list(known[name].validate(connection, tags))

        return check

    return {name: bind(name) for name in known}
