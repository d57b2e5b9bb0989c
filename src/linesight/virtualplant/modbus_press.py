"""A press line behind one Modbus TCP gateway: one unit id per press, registers following simulated presses.

The register map is the one a press integrator would document; the demo plant file reads it with the
real Modbus driver (tests/virtualplant checks that the two agree).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from linesight.domain.tags import DataType, TagSpec
from linesight.drivers.modbus.codec import Point, Table, make_point
from linesight.drivers.simulator.model import PROFILES, MachineModel
from linesight.virtualplant.device import PeriodicDevice, free_port

log = logging.getLogger(__name__)

# signal of the simulated press → (address, type, tag options)
REGISTER_MAP: dict[str, tuple[str, DataType, dict[str, str | int]]] = {
    "state_code": ("hr:0", DataType.INT16, {}),
    "part_count": ("hr:2", DataType.UINT32, {}),
    "reject_count": ("hr:4", DataType.UINT32, {}),
    "alarm_code": ("hr:6", DataType.UINT16, {}),
    "stroke_rate": ("hr:10", DataType.FLOAT32, {}),
    "tonnage": ("hr:12", DataType.FLOAT32, {"word_order": "little"}),  # as many PLCs store REALs
    "hydraulic_pressure": ("hr:14", DataType.INT16, {}),  # bar x 10: the tag scales by 0.1
    "energy_kwh": ("hr:16", DataType.FLOAT64, {}),
    "alarm_text": ("hr:20", DataType.STRING, {"length": 32}),
    "oil_temp": ("ir:0", DataType.INT16, {}),  # °C x 10
    "running": ("co:0", DataType.BOOL, {}),
    "fault": ("di:0", DataType.BOOL, {}),
}
# Signals sent as integers tenfold, as small PLCs do; the demo plant scales them back by 0.1.
TENFOLD = {"hydraulic_pressure", "oil_temp"}
_FUNCTION = {Table.HOLDING_REGISTERS: 3, Table.INPUT_REGISTERS: 4, Table.COILS: 1, Table.DISCRETE_INPUTS: 2}


@dataclass(frozen=True, kw_only=True)
class Press:
    unit_id: int
    seed: int
    ideal_cycle_s: float = 3.0


def _device(unit_id: int) -> SimDevice:
    return SimDevice(
        unit_id,
        simdata=(
            [SimData(0, count=16, values=False, datatype=SimType.BITS)],
            [SimData(0, count=16, values=False, datatype=SimType.BITS)],
            [SimData(0, count=64, values=0, datatype=SimType.REGISTERS)],
            [SimData(0, count=16, values=0, datatype=SimType.REGISTERS)],
        ),
    )


class ModbusPressLine(PeriodicDevice):
    """Start with ``async with ModbusPressLine([...], port=0) as line``; ``line.port`` is the port bound."""

    def __init__(
        self,
        presses: Sequence[Press],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        update_interval: float = 0.2,
    ) -> None:
        self.presses = list(presses)
        self.host = host
        self.port = port
        self._interval = update_interval
        self._server: ModbusTcpServer | None = None
        self._models: dict[int, MachineModel] = {}
        self._points: dict[str, Point] = {
            signal: make_point(
                TagSpec(
                    machine="press",
                    name=signal,
                    address=address,
                    data_type=data_type,
                    options=tuple(options.items()),
                ),
                1,
            )
            for signal, (address, data_type, options) in REGISTER_MAP.items()
        }

    async def start(self) -> None:
        if self.port == 0:
            self.port = free_port(self.host)
        now = time.time()
        self._models = {
            press.unit_id: MachineModel(
                PROFILES["press"], seed=press.seed, start=now, ideal_cycle_s=press.ideal_cycle_s
            )
            for press in self.presses
        }
        self._server = ModbusTcpServer(
            context=[_device(press.unit_id) for press in self.presses], address=(self.host, self.port)
        )
        await self._server.serve_forever(background=True)
        await self._update(now)
        self._begin_updates("virtual-modbus-press-line")
        log.info(
            "virtual press line: Modbus TCP on %s:%d, units %s", self.host, self.port, list(self._models)
        )

    async def _close_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.shutdown()  # type: ignore[no-untyped-call]

    async def _update(self, now: float) -> None:
        server = self._server
        assert server is not None
        for unit_id, model in self._models.items():
            model.advance_to(now)
            for signal, point in self._points.items():
                value = model.value(signal)
                if signal in TENFOLD:
                    value = round(float(value) * 10)
                address = point.address
                await server.async_setValues(
                    unit_id, _FUNCTION[address.table], address.offset, point.encode(value)
                )
