"""A packaging line as an OPC UA server: one object per machine, variables following simulated machines.

Values carry the simulated machine's time as their source timestamp, and a setpoint written by a
client reaches the simulated sealer, as it would on the real line.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncua
import platformdirs
from asyncua import ua
from asyncua.common.node import Node
from asyncua.server.server import Server

from linesight.drivers.simulator.model import PROFILES, MachineModel
from linesight.virtualplant.device import PeriodicDevice, free_port

log = logging.getLogger(__name__)
# asyncua's server warns that an unsecured demo endpoint is unsecured, at every start.
logging.getLogger("asyncua").setLevel(logging.ERROR)

NAMESPACE = "urn:linesight:demo:packaging"
# signal of the simulated machine → (browse name, OPC UA type)
VARIABLES: dict[str, tuple[str, ua.VariantType]] = {
    "state_code": ("State", ua.VariantType.Int16),
    "running": ("Running", ua.VariantType.Boolean),
    "fault": ("Fault", ua.VariantType.Boolean),
    "part_count": ("PartCount", ua.VariantType.UInt32),
    "reject_count": ("RejectCount", ua.VariantType.UInt32),
    "line_speed": ("LineSpeed", ua.VariantType.Float),
    "film_tension": ("FilmTension", ua.VariantType.Float),
    "sealer_temp": ("SealerTemperature", ua.VariantType.Double),
    "sealer_setpoint": ("SealerSetpoint", ua.VariantType.Double),
    "energy_kwh": ("Energy", ua.VariantType.Double),
    "program": ("Program", ua.VariantType.String),
    "alarm_code": ("AlarmCode", ua.VariantType.UInt16),
    "alarm_text": ("AlarmText", ua.VariantType.String),
}
WRITABLE = {"sealer_setpoint"}


@dataclass(frozen=True, kw_only=True)
class PackagingMachine:
    name: str  # the OPC UA object's name, e.g. Embaladora01
    seed: int
    ideal_cycle_s: float = 0.5


def node_id(machine: str, signal: str) -> str:
    """The node id a client uses for a signal, with the namespace URI (independent of its index)."""
    return f"nsu={NAMESPACE};s={machine}.{VARIABLES[signal][0]}"


class OpcUaPackagingLine(PeriodicDevice):
    """Start with ``async with OpcUaPackagingLine([...], port=0) as line``; ``line.endpoint`` to connect."""

    def __init__(
        self,
        machines: Sequence[PackagingMachine],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        update_interval: float = 0.2,
    ) -> None:
        self.machines = list(machines)
        self.host = host
        self.port = port
        self._interval = update_interval
        self._server: Server | None = None
        self._models: dict[str, MachineModel] = {}
        self._nodes: dict[tuple[str, str], Node] = {}
        self._setpoints: dict[tuple[str, str], float] = {}

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://{self.host}:{self.port}/linesight/packaging/"

    async def start(self) -> None:
        if self.port == 0:
            self.port = free_port(self.host)
        server = await _initialised_server()
        server.set_endpoint(self.endpoint)
        server.set_server_name("LineSight virtual packaging line")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        index = await server.register_namespace(NAMESPACE)
        now = time.time()
        for machine in self.machines:
            model = MachineModel(
                PROFILES["packaging"], seed=machine.seed, start=now, ideal_cycle_s=machine.ideal_cycle_s
            )
            self._models[machine.name] = model
            folder = await server.nodes.objects.add_object(index, machine.name)
            for signal, (name, variant_type) in VARIABLES.items():
                node = await folder.add_variable(
                    ua.NodeId(ua.String(f"{machine.name}.{name}"), ua.Int16(index)),
                    name,
                    ua.Variant(_typed(model.value(signal), variant_type), variant_type),
                )
                if signal in WRITABLE:
                    await node.set_writable()
                    self._setpoints[(machine.name, signal)] = float(model.value(signal))
                self._nodes[(machine.name, signal)] = node
        await server.start()
        self._server = server
        self._begin_updates("virtual-opcua-packaging-line")
        log.info("virtual packaging line: OPC UA on %s", self.endpoint)

    async def _close_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.stop()

    async def _update(self, now: float) -> None:
        server = self._server
        assert server is not None
        moment = datetime.fromtimestamp(now, UTC)
        stamp = ua.DateTime(
            moment.year,
            moment.month,
            moment.day,
            moment.hour,
            moment.minute,
            moment.second,
            moment.microsecond,
            tzinfo=UTC,
        )
        for machine, model in self._models.items():
            # A setpoint a client wrote since the last update goes to the simulated machine first.
            for signal in WRITABLE:
                written = float(await self._nodes[(machine, signal)].read_value())
                if written != self._setpoints[(machine, signal)]:
                    model.write(signal, written)
                    self._setpoints[(machine, signal)] = written
            model.advance_to(now)
            for signal, (_name, variant_type) in VARIABLES.items():
                if signal in WRITABLE:
                    continue
                value = ua.DataValue(
                    ua.Variant(_typed(model.value(signal), variant_type), variant_type), SourceTimestamp=stamp
                )
                await server.write_attribute_value(self._nodes[(machine, signal)].nodeid, value)


def _typed(value: object, variant_type: ua.VariantType) -> object:
    if variant_type is ua.VariantType.Boolean:
        return bool(value)
    if variant_type in (ua.VariantType.Float, ua.VariantType.Double):
        return float(value)  # type: ignore[arg-type]
    if variant_type is ua.VariantType.String:
        return str(value)
    return int(value)  # type: ignore[call-overload]


async def _initialised_server() -> Server:
    """A server with OPC UA's standard address space, from a cache when there is one.

    Building the standard address space takes about a second of CPU, half of the demo's start; asyncua
    can keep it in a shelf and load its nodes lazily from there (0.07 s). The shelf lives in the
    user's cache folder, one per asyncua version; when it cannot be written or read, the server
    builds the address space as before.
    """
    shelf = _address_space_shelf()
    if shelf is not None:
        server = Server()
        try:
            await server.init(shelf)
        except Exception as err:  # noqa: BLE001 - a broken cache must never stop the demo: rebuild
            log.info("the OPC UA address space cache %s is unreadable (%s): building it again", shelf, err)
            _drop_shelf(shelf)
        else:
            _mark_shelf(shelf)
            return server
    server = Server()
    await server.init()
    return server


def _mark_shelf(shelf: Path) -> None:
    # Python's fallback dbm (no gdbm) writes NAME.dat and NAME.dir, but asyncua looks for NAME or
    # NAME.db before it reads a shelf: an empty NAME says the shelf is there.
    if Path(f"{shelf}.dat").is_file() and not shelf.exists():
        with contextlib.suppress(OSError):
            shelf.touch()


def _drop_shelf(shelf: Path) -> None:
    for stale in shelf.parent.glob(shelf.name + "*"):
        with contextlib.suppress(OSError):
            stale.unlink()


def _address_space_shelf() -> Path | None:
    folder = Path(platformdirs.user_cache_dir("linesight")) / "opcua"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder / f"standard-address-space-asyncua-{asyncua.__version__.replace('.', '_')}"
