"""The integrator guide's worked examples are a plant file that validates: the skeleton with the
Modbus, OPC UA, S7 and MTConnect machines put into it, as the guide says to do."""

from __future__ import annotations

import re
from pathlib import Path

from linesight.runtime.plantfile import load_plant

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integrator-guide.md"


def test_the_guides_skeleton_with_its_four_machines_validates(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    skeleton, machines = blocks[0], blocks[1:5]
    drivers = [re.search(r"driver: (\w+)", block).group(1) for block in machines]  # type: ignore[union-attr]
    assert drivers == ["modbus", "opcua", "s7", "mtconnect"]
    placeholder = "        machines: []                   # the machines below go here\n"
    assert placeholder in skeleton
    indented = "".join(
        "\n".join(f"          {line}" if line else line for line in block.splitlines()) + "\n"
        for block in machines
    )
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(skeleton.replace(placeholder, "        machines:\n" + indented), encoding="utf-8")
    plant = load_plant(plant_file)
    assert [machine.driver for _s, _l, machine in plant.machines()] == drivers
