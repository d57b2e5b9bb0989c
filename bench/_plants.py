"""Synthetic plants for the benchmarks: N simulated machines × M tags at a given rate."""

from __future__ import annotations

from typing import Any

from linesight.domain.plant import PlantConfig
from linesight.drivers.simulator.model import PROFILES

PROFILE_CYCLE = ("cnc", "press", "packaging", "oven")


def synthetic_plant(
    machines: int, tags: int, poll_interval: float, *, flush_interval: float = 1.0
) -> PlantConfig:
    """``machines`` simulated machines with ``tags`` numeric tags each, polled every ``poll_interval``.

    Tags cycle through the numeric signals of each machine's profile, so every sample is computed by the
    simulator's model the way the demo plant's are.
    """
    lines: list[dict[str, Any]] = []
    per_line = 10
    for first in range(0, machines, per_line):
        members = []
        for index in range(first, min(machines, first + per_line)):
            profile = PROFILE_CYCLE[index % len(PROFILE_CYCLE)]
            numeric = [name for name, kind in PROFILES[profile].signals().items() if kind is not str]
            members.append(
                {
                    "id": f"m{index:03d}",
                    "driver": "simulator",
                    "connection": {"profile": profile, "seed": index + 1},
                    "poll_interval": poll_interval,
                    "tags": [
                        {"name": f"t{tag:03d}", "address": numeric[tag % len(numeric)], "type": "float64"}
                        for tag in range(tags)
                    ],
                }
            )
        lines.append({"id": f"line{first // per_line:02d}", "machines": members})
    return PlantConfig.model_validate(
        {
            "id": "bench",
            "sites": [{"id": "site", "lines": lines}],
            "historian": {"flush_interval": flush_interval},
        }
    )
