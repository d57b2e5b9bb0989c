"""The demo: the virtual plant and demo_plant.yaml agree, and every driver reads its device end to end."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from linesight.cli import main
from linesight.domain.tags import Quality
from linesight.runtime.engine import Engine
from linesight.runtime.health import ConnectionState
from linesight.runtime.plantfile import DEMO_PLANT, load_plant
from linesight.virtualplant.plant import DEMO_PORTS, Ports, VirtualPlant

from ..runtime.test_coordinator import FAST, wait_for


def free_ports() -> Ports:
    sockets = [socket.socket() for _ in range(4)]
    for probe in sockets:
        probe.bind(("127.0.0.1", 0))
    numbers = [probe.getsockname()[1] for probe in sockets]
    for probe in sockets:
        probe.close()
    return Ports(modbus=numbers[0], opcua=numbers[1], s7=numbers[2], mtconnect=numbers[3])


def demo_plant_on(ports: Ports, folder: Path) -> Path:
    """The shipped demo plant file with the ports moved: the file itself is what is tested."""
    text = DEMO_PLANT.read_text(encoding="utf-8")
    for old, new in (
        (DEMO_PORTS.modbus, ports.modbus),
        (DEMO_PORTS.opcua, ports.opcua),
        (DEMO_PORTS.s7, ports.s7),
        (DEMO_PORTS.mtconnect, ports.mtconnect),
    ):
        assert f":{old}" in text or f"port: {old}" in text
        text = text.replace(f":{old}", f":{new}").replace(f"port: {old}", f"port: {new}")
    path = folder / "demo_plant.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.slow
async def test_every_machine_of_the_demo_plant_reads_every_tag_from_its_virtual_device(
    tmp_path: Path,
) -> None:
    ports = free_ports()
    plant = load_plant(demo_plant_on(ports, tmp_path))
    async with VirtualPlant(ports):
        engine = Engine(plant, historian=None, backoff=FAST)
        async with engine:
            keys = {spec.key for spec in plant.tag_specs()}
            await wait_for(lambda: keys <= set(engine.live.snapshot()), within=30)
            health = {item.machine: item for item in engine.health()}
            snapshot = engine.live.snapshot()
    assert {machine: item.state for machine, item in health.items()} == dict.fromkeys(
        health, ConnectionState.ONLINE
    )
    assert all(not item.tag_errors for item in health.values())
    bad = sorted(key for key in keys if snapshot[key].quality is not Quality.GOOD)
    assert bad == []
    # A few values that prove each protocol's decoding, not only that something arrived.
    assert snapshot["prensa-01.state"].value in range(1, 6)
    assert (
        100 < float(snapshot["prensa-01.hydraulic_pressure"].value or 0) < 250
        or snapshot["prensa-01.state"].value != 1
    )
    assert isinstance(snapshot["forno-01.program"].value, str) and snapshot["forno-01.program"].value
    assert 500 < float(snapshot["forno-01.zone1_temp"].value or 0) < 1000
    assert snapshot["cnc-01.execution"].value in {"ACTIVE", "READY", "STOPPED", "INTERRUPTED"}
    assert snapshot["embaladora-01.program"].value in {"PCT-500G", "PCT-1KG", "FARDO-12X"}


@pytest.mark.slow
async def test_browse_and_probe_print_yaml_a_plant_file_accepts(tmp_path: Path) -> None:
    ports = free_ports()
    async with VirtualPlant(ports):
        commands = {
            "mtconnect": ["browse", f"mtconnect://127.0.0.1:{ports.mtconnect}/", "--machine", "cnc"],
            "opcua": ["browse", f"opcua://127.0.0.1:{ports.opcua}/linesight/packaging/", "--machine", "pack"],
            "modbus": [
                "probe",
                f"modbus://127.0.0.1:{ports.modbus}?unit=2",
                "--range",
                "hr:0-40",
                "--machine",
                "press",
            ],
            "s7": ["probe", f"s7://127.0.0.1:{ports.s7}?rack=0&slot=1", "--machine", "oven"],
        }
        outputs = {}
        for name, args in commands.items():
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "linesight.cli", *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            out, err = await process.communicate()
            assert process.returncode == 0, err.decode()
            outputs[name] = out.decode()
    assert "address: 'cnc01:cnc01_exec'" in outputs["mtconnect"]
    assert "nsu=urn:linesight:demo:packaging;s=Embaladora01.LineSpeed" in outputs["opcua"]
    assert "address: 'hr:40'" in outputs["modbus"] and "device_id: 2" in outputs["modbus"]
    assert "DB500.DBW0" in outputs["s7"] and "DB500 holds 14 bytes" in outputs["s7"]
    # Pasted under machines:, every one of them is a valid plant file.
    for name, text in outputs.items():
        plant = tmp_path / f"{name}.yaml"
        indented = "\n".join(f"        {line}" for line in text.splitlines())
        plant.write_text(
            f"id: found\nsites:\n  - id: s\n    lines:\n      - id: l\n        machines:\n{indented}\n"
        )
        assert main(["check", str(plant)]) == 0, name


def test_the_demo_refuses_to_start_when_a_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(
            OSError
        ):  # taken by someone else already: the demo must refuse it all the same
            squatter.bind(("127.0.0.1", DEMO_PORTS.s7))
            squatter.listen()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "linesight.cli",
                "demo",
                "--headless",
                "--db",
                str(tmp_path / "d.duckdb"),
                "--duration",
                "5",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"needs 127.0.0.1:{DEMO_PORTS.s7}" in result.stderr and "S7 oven" in result.stderr
