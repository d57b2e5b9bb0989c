"""The drivers LineSight knows, by the name a plant file gives in ``driver:``."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from linesight.domain.plant import ConnectionValidator
from linesight.domain.tags import TagSpec
from linesight.drivers.base import DriverFactory

Location = tuple[str | int, ...]

# Driver name → module exposing FACTORY; imported on first use so that a plant without S7
# machines never loads the S7 library.
_MODULES = {
    "simulator": "linesight.drivers.simulator",
}


@cache
def factories() -> Mapping[str, DriverFactory]:
    found: dict[str, DriverFactory] = {}
    for name, module in _MODULES.items():
        factory: DriverFactory = importlib.import_module(module).FACTORY
        found[name] = factory
    return found


def validators(chosen: Mapping[str, DriverFactory] | None = None) -> dict[str, ConnectionValidator]:
    """Per driver name, a check of a machine's connection block and tag addresses for the plant loader."""

    def bind(factory: DriverFactory) -> ConnectionValidator:
        def check(
            _machine_id: str, connection: Mapping[str, Any], tags: Sequence[TagSpec]
        ) -> list[tuple[Location, str]]:
            return list(factory.validate(connection, tags))

        return check

    return {name: bind(factory) for name, factory in (chosen or factories()).items()}
