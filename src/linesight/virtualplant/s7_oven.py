"""A continuous oven as a Siemens S7 CPU (snap7's server): the DB500 record, a process DB and setpoints.

DB500 holds the 14-byte production record integrators know from the plant's S7 lines (part and
reject counters as DINT, the state as a WORD, a temperature as REAL); DB510 the process values;
DB520 the zone setpoints, which a client may write and the simulated oven then follows.
"""

from __future__ import annotations

import asyncio
import logging
import time

from snap7 import util
from snap7.server import Server
from snap7.type import SrvArea

from linesight.drivers.simulator.model import PROFILES, MachineModel
from linesight.virtualplant.device import PeriodicDevice, free_port

log = logging.getLogger(__name__)
# The emulator logs every request it cannot serve as a warning; a CPU would not.
logging.getLogger("snap7.server").setLevel(logging.ERROR)

DB_RECORD, DB_PROCESS, DB_SETPOINTS = 500, 510, 520
RECORD_SIZE, PROCESS_SIZE, SETPOINTS_SIZE = 14, 92, 12
ALARM_TEXT_AT, ALARM_TEXT_LENGTH = 28, 40
PROGRAM_AT, PROGRAM_LENGTH = 70, 20
# setpoint signal → byte in DB520
SETPOINTS = {"zone1_setpoint": 0, "zone2_setpoint": 4, "zone3_setpoint": 8}


class S7Oven(PeriodicDevice):
    """Start with ``async with S7Oven(seed=401, port=0) as oven``; ``oven.port`` is the port bound."""

    def __init__(
        self,
        *,
        seed: int,
        ideal_cycle_s: float = 20.0,
        host: str = "127.0.0.1",
        port: int = 0,
        update_interval: float = 0.5,
    ) -> None:
        self.seed = seed
        self.ideal_cycle_s = ideal_cycle_s
        self.host = host
        self.port = port
        self._interval = update_interval
        self._server: Server | None = None
        self._model: MachineModel | None = None
        self._record = bytearray(RECORD_SIZE)
        self._process = bytearray(PROCESS_SIZE)
        self._setpoints = bytearray(SETPOINTS_SIZE)
        self._written: dict[str, float] = {}

    async def start(self) -> None:
        if self.port == 0:
            self.port = free_port(self.host)
        now = time.time()
        self._model = MachineModel(
            PROFILES["oven"], seed=self.seed, start=now, ideal_cycle_s=self.ideal_cycle_s
        )
        for signal, at in SETPOINTS.items():
            value = float(self._model.value(signal))
            util.set_real(self._setpoints, at, value)
            self._written[signal] = value
        server = Server(log=False)
        server.register_area(SrvArea.DB, DB_RECORD, self._record)
        server.register_area(SrvArea.DB, DB_PROCESS, self._process)
        server.register_area(SrvArea.DB, DB_SETPOINTS, self._setpoints)
        self._write_values(now)
        # Starting and stopping wait for the server's own threads: not on the event loop.
        await asyncio.to_thread(server.start_to, self.host, self.port)
        self._server = server
        self._begin_updates("virtual-s7-oven")
        log.info(
            "virtual oven: S7 on %s:%d (rack 0, slot 1), DB%d/%d/%d",
            self.host,
            self.port,
            DB_RECORD,
            DB_PROCESS,
            DB_SETPOINTS,
        )

    async def _close_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(server.stop)

    async def _update(self, now: float) -> None:
        self._write_values(now)

    def _write_values(self, now: float) -> None:
        model = self._model
        assert model is not None
        server = self._server
        if server is not None:
            server.lock_area(SrvArea.DB, DB_SETPOINTS)
        try:
            for signal, at in SETPOINTS.items():
                written = util.get_real(self._setpoints, at)
                if written != self._written[signal]:  # a client wrote a new setpoint
                    model.write(signal, written)
                    self._written[signal] = written
        finally:
            if server is not None:
                server.unlock_area(SrvArea.DB, DB_SETPOINTS)
        model.advance_to(now)
        record, process = bytearray(RECORD_SIZE), bytearray(PROCESS_SIZE)
        util.set_dint(record, 0, int(model.value("part_count")))
        util.set_dint(record, 4, int(model.value("reject_count")))
        util.set_word(record, 8, int(model.value("state_code")))
        util.set_real(record, 10, float(model.value("zone2_temp")))
        for index, zone in enumerate(("zone1_temp", "zone2_temp", "zone3_temp")):
            util.set_real(process, 4 * index, float(model.value(zone)))
        util.set_real(process, 12, float(model.value("conveyor_speed")))
        util.set_lreal(process, 16, float(model.value("energy_kwh")))
        util.set_int(process, 24, int(model.value("alarm_code")))
        util.set_bool(process, 26, 0, bool(model.value("running")))
        util.set_bool(process, 26, 1, bool(model.value("fault")))
        util.set_string(process, ALARM_TEXT_AT, str(model.value("alarm_text")), ALARM_TEXT_LENGTH)
        util.set_string(process, PROGRAM_AT, str(model.value("program")), PROGRAM_LENGTH)
        # Whole blocks at once, under the server's lock, so that a read never sees half an update.
        for number, memory, fresh in (
            (DB_RECORD, self._record, record),
            (DB_PROCESS, self._process, process),
        ):
            if server is not None:
                server.lock_area(SrvArea.DB, number)
            try:
                memory[:] = fresh
            finally:
                if server is not None:
                    server.unlock_area(SrvArea.DB, number)
