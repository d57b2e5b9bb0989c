"""Reading a plant file from disk and validating it against the schema and the drivers it names."""

from __future__ import annotations

from pathlib import Path

from linesight.domain.plant import PlantConfig, PlantFileError, PlantIssue, parse_plant
from linesight.drivers import registry

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
# The demo job shop read through the real drivers from `linesight demo`'s virtual plant.
DEMO_PLANT = RESOURCES / "demo_plant.yaml"
# The same shop with every machine simulated inside LineSight: runs anywhere, no network.
SIMULATED_PLANT = RESOURCES / "simulator_plant.yaml"


def load_plant(path: str | Path) -> PlantConfig:
    """Load and validate; raise PlantFileError with file:line:field for every problem found."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        reason = err.strerror or str(err)
        raise PlantFileError(
            [PlantIssue(source=source, line=0, column=0, field="", message=f"cannot read: {reason}")]
        ) from err
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise PlantFileError(
            [
                PlantIssue(
                    source=source,
                    line=line,
                    column=1,
                    field="",
                    message="not UTF-8 text; save the file as UTF-8",
                )
            ]
        ) from err
    return parse_plant(text, source, drivers=registry.validators())
