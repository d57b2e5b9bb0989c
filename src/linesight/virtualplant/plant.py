"""The demo plant's devices, all at once: a press line on Modbus TCP, a packaging line on OPC UA, an oven
on S7 and machining centres behind an MTConnect agent, each driven by the simulator's machine models.

``resources/demo_plant.yaml`` points the real drivers at these addresses, so that the demo exercises
every driver end to end (tests/virtualplant checks that the two agree).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time
from dataclasses import dataclass
from types import TracebackType

from linesight.drivers.simulator.model import PROFILES, MachineModel
from linesight.virtualplant.modbus_press import ModbusPressLine, Press
from linesight.virtualplant.mtconnect_agent import MTConnectAgent, SimulatedMachine
from linesight.virtualplant.opcua_packaging import OpcUaPackagingLine, PackagingMachine
from linesight.virtualplant.s7_oven import S7Oven

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Ports:
    """Where the demo plant file expects each device (loopback)."""

    modbus: int = 15020
    opcua: int = 48410
    s7: int = 10102
    mtconnect: int = 15000


DEMO_PORTS = Ports()
PRESSES = (Press(unit_id=1, seed=201, ideal_cycle_s=3.0), Press(unit_id=2, seed=202, ideal_cycle_s=2.5))
PACKAGING = (
    PackagingMachine(name="Embaladora01", seed=301, ideal_cycle_s=0.5),
    PackagingMachine(name="Embaladora02", seed=302, ideal_cycle_s=0.6),
)
OVEN_SEED = 401
CNCS = (("cnc01", 101, 45.0), ("cnc02", 102, 60.0), ("torno01", 103, 30.0))


class PortInUse(RuntimeError):
    """A device of the virtual plant cannot listen where the demo plant expects it."""


class VirtualPlant:
    """``async with VirtualPlant() as plant:`` the devices listen on ``plant.ports`` until exit."""

    def __init__(self, ports: Ports = DEMO_PORTS, host: str = "127.0.0.1") -> None:
        self.ports = ports
        self.host = host
        self.presses = ModbusPressLine(PRESSES, host=host, port=ports.modbus)
        self.packaging = OpcUaPackagingLine(PACKAGING, host=host, port=ports.opcua)
        self.oven = S7Oven(seed=OVEN_SEED, host=host, port=ports.s7)
        now = time.time()
        cncs = [
            SimulatedMachine(
                name=name, model=MachineModel(PROFILES["cnc"], seed=seed, start=now, ideal_cycle_s=cycle)
            )
            for name, seed, cycle in CNCS
        ]
        self.agent = MTConnectAgent(cncs, host=host, port=ports.mtconnect)
        self._started: list[str] = []

    async def __aenter__(self) -> VirtualPlant:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        self.check_ports()
        try:
            await self.presses.start()
            self._started.append("presses")
            await self.oven.start()
            self._started.append("oven")
            self.agent.start()
            self._started.append("agent")
            await self.packaging.start()  # the slowest (about two seconds): last
            self._started.append("packaging")
        except BaseException:
            await self.stop()
            raise
        log.info(
            "virtual plant running: Modbus %s:%d, OPC UA %s, S7 %s:%d, MTConnect %s",
            self.host,
            self.ports.modbus,
            self.packaging.endpoint,
            self.host,
            self.ports.s7,
            self.agent.url,
        )

    async def stop(self) -> None:
        while self._started:
            device = self._started.pop()
            if device == "packaging":
                await self.packaging.stop()
            elif device == "agent":
                await asyncio.to_thread(self.agent.stop)  # joins the agent's threads
            elif device == "oven":
                await self.oven.stop()
            else:
                await self.presses.stop()

    def check_ports(self) -> None:
        """Fail before starting anything when a port is taken, naming it and what needs it."""
        for what, port in (
            ("Modbus press line", self.ports.modbus),
            ("OPC UA packaging line", self.ports.opcua),
            ("S7 oven", self.ports.s7),
            ("MTConnect agent", self.ports.mtconnect),
        ):
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((self.host, port))
                except OSError as err:
                    reason = "in use by another program" if err.errno == errno.EADDRINUSE else str(err)
                    raise PortInUse(
                        f"the virtual {what} needs {self.host}:{port}, which is {reason}; "
                        "stop the other program (or another 'linesight demo') and try again"
                    ) from err
