"""Fixtures of the cloud tests: a real Mosquitto per test, historians, cloud configurations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from linesight.domain.cloud import CloudConfig
from linesight.storage.historian import Historian, RetentionPolicy

from .broker import Mosquitto


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A plain Mosquitto (anonymous clients allowed) on a free port."""
    with Mosquitto(tmp_path / "broker") as running:
        yield running


@pytest.fixture
def historian(tmp_path: Path) -> Iterator[Historian]:
    with Historian(tmp_path / "edge.duckdb", retention=RetentionPolicy(raw=None, minute=None)) as opened:
        yield opened


CloudConfigFactory = Callable[..., CloudConfig]


@pytest.fixture
def cloud_config(broker: Mosquitto) -> CloudConfigFactory:
    """``cloud_config(**overrides)``: a ``cloud:`` section pointing at the test broker."""

    def make(**overrides: Any) -> CloudConfig:
        fields: dict[str, Any] = {
            "enabled": True,
            "host": broker.host,
            "port": broker.port,
            "tenant": "acme",
            "site": "plant-1",
            "edge": "edge-01",
            "reconnect": {"initial": 0.2, "cap": 1.0},
        }
        fields.update(overrides)
        return CloudConfig.model_validate(fields)

    return make
