"""Device servers for bench/drivers.py, each in a process of its own so that its cost is not the client's.

The same kinds of servers the tests use (pymodbus's TCP server with the tests' simulated device, an
asyncua server, snap7's server as the virtual oven, the virtual MTConnect agent), started with the
``spawn`` method and driven through a pipe: the child sends what the client needs (port, endpoint...)
once it serves, then answers commands (``stats``, ``start``, ``pause``) until ``stop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psutil

Commands = Mapping[str, Callable[[], Any]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """``with ServerProcess(modbus_main, 1000) as server:`` — ``server.info`` is what the child sent."""

    def __init__(self, target: Callable[..., None], *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=target, args=(child, *args), daemon=True)
        self.info: dict[str, Any] = {}

    def __enter__(self) -> ServerProcess:
        self._process.start()
        if not self._conn.poll(120):
            self._process.kill()
            raise RuntimeError("the server process did not start within 120 s")
        info = self._conn.recv()
        if "error" in info:
            self._process.join(5)
            raise RuntimeError(f"the server process failed: {info['error']}")
        self.info = info
        self._psutil = psutil.Process(self.pid)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        with contextlib.suppress(OSError, EOFError):
            self._conn.send("stop")
        self._process.join(15)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)

    @property
    def pid(self) -> int:
        pid = self._process.pid
        assert pid is not None
        return pid

    def cpu(self) -> float:
        """CPU seconds (user + system, every thread) the server process used so far."""
        times = self._psutil.cpu_times()
        return float(times.user + times.system)

    def call(self, command: str) -> Any:
        self._conn.send(command)
        if not self._conn.poll(30):
            raise RuntimeError(f"the server process did not answer {command!r}")
        return self._conn.recv()


async def _control(conn: Connection, ready: dict[str, Any], commands: Commands) -> None:
    """Tell the parent we serve, then answer its commands until it says stop (or goes away)."""
    conn.send(ready)
    while True:
        try:
            command = await asyncio.to_thread(conn.recv)
        except (EOFError, OSError):
            return
        if command == "stop":
            return
        handler = commands.get(command)
        conn.send(handler() if handler is not None else {"error": f"unknown command {command!r}"})


def _run(conn: Connection, main: Callable[[], Any]) -> None:
    logging.basicConfig(level=logging.ERROR)
    try:
        asyncio.run(main())
    except Exception as err:  # reported to the parent, which raises it
        with contextlib.suppress(OSError):
            conn.send({"error": repr(err)})
        raise


# ---------------------------------------------------------------------- Modbus


def modbus_main(conn: Connection, holding: int) -> None:
    """pymodbus's TCP server with the tests' simulated device (``holding`` holding registers)."""
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    async def main() -> None:
        device = SimDevice(
            1,
            simdata=(
                [SimData(0, count=100, values=False, datatype=DataType.BITS)],
                [SimData(0, count=100, values=False, datatype=DataType.BITS)],
                [SimData(0, count=holding, values=0, datatype=DataType.REGISTERS)],
                [SimData(0, count=100, values=0, datatype=DataType.REGISTERS)],
            ),
        )
        port = free_port()
        server = ModbusTcpServer(context=device, address=("127.0.0.1", port))
        await server.serve_forever(background=True)
        # Non-zero values, so that decoding is not of zeros only.
        await server.async_setValues(1, 3, 0, [(i * 257) & 0xFFFF for i in range(holding)])
        try:
            await _control(conn, {"port": port}, {})
        finally:
            await server.shutdown()

    _run(conn, main)


# ---------------------------------------------------------------------- OPC UA

OPCUA_NAMESPACE = "urn:linesight:bench"


def opcua_main(conn: Connection, nodes: int) -> None:
    """An asyncua server with ``nodes`` Double variables that a writer changes as fast as it can."""
    from asyncua import ua
    from asyncua.server.server import Server

    async def main() -> None:
        # The session of a client that deleted its subscription still has a publish request in flight:
        # the server logs the fault it answers with as an error.
        logging.getLogger("asyncua").setLevel(logging.CRITICAL)
        port = free_port()
        server = Server()
        await server.init()
        endpoint = f"opc.tcp://127.0.0.1:{port}/bench/"
        server.set_endpoint(endpoint)
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        index = await server.register_namespace(OPCUA_NAMESPACE)
        folder = await server.nodes.objects.add_object(index, "Bench")
        ids = []
        for number in range(nodes):
            node = await folder.add_variable(
                ua.NodeId(f"Bench.V{number:04d}", index),
                f"V{number:04d}",
                ua.Variant(0.0, ua.VariantType.Double),
            )
            ids.append(node.nodeid)
        await server.start()
        writes = 0
        running = asyncio.Event()

        async def writer() -> None:
            nonlocal writes
            double, write = ua.VariantType.Double, server.write_attribute_value
            for sweep in itertools.count(1):
                await running.wait()
                stamp = datetime.now(UTC)
                value = float(sweep)
                for nodeid in ids:
                    await write(nodeid, ua.DataValue(ua.Variant(value, double), SourceTimestamp=stamp))
                    writes += 1
                await asyncio.sleep(0)  # let the server publish between two sweeps

        task = asyncio.create_task(writer())
        commands: Commands = {
            "start": lambda: running.set(),
            "pause": lambda: running.clear(),
            "stats": lambda: {"writes": writes},
        }
        try:
            await _control(conn, {"endpoint": endpoint, "namespace": index, "nodes": nodes}, commands)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await server.stop()

    _run(conn, main)


# ---------------------------------------------------------------------- S7


def s7_main(conn: Connection) -> None:
    """The virtual plant's continuous oven: snap7's server with DB500 (record), DB510, DB520."""
    from linesight.virtualplant.s7_oven import S7Oven

    async def main() -> None:
        async with S7Oven(seed=401, port=free_port()) as oven:
            await _control(conn, {"port": oven.port}, {})

    _run(conn, main)


# ---------------------------------------------------------------------- MTConnect

# What the recorder writes, in turn: mostly samples (as a CNC's adapter sends them), some events and
# condition changes. (item name, kind); kind picks how the text is made.
MTCONNECT_PATTERN: tuple[tuple[str, str], ...] = (
    ("spindle_speed", "rpm"),
    ("spindle_load", "percent"),
    ("feed_rate", "feed"),
    ("spindle_temp", "temp"),
    ("coolant_temp", "temp"),
    ("spindle_speed", "rpm"),
    ("spindle_load", "percent"),
    ("feed_rate", "feed"),
    ("part_count", "count"),
    ("spindle_speed", "rpm"),
    ("spindle_load", "percent"),
    ("feed_rate", "feed"),
    ("execution", "execution"),
    ("spindle_temp", "temp"),
    ("coolant_temp", "temp"),
    ("spindle_speed", "rpm"),
    ("spindle_load", "percent"),
    ("system", "condition"),
    ("program", "program"),
    ("controller_mode", "mode"),
)
_WORDS = {
    "execution": ("ACTIVE", "READY", "INTERRUPTED", "STOPPED"),
    "program": ("O1002", "O4410 ROUGH", "O4411 FINISH"),
    "mode": ("AUTOMATIC", "MANUAL", "MANUAL_DATA_INPUT"),
}


def mtconnect_script(length: int) -> list[tuple[str, str, str]]:
    """``length`` observations of the pattern as (item name, text, native code), made once up front so
    that recording costs what the agent's ``record`` costs and no more."""
    pattern = MTCONNECT_PATTERN
    script: list[tuple[str, str, str]] = []
    for n in range(length):
        item, kind = pattern[n % len(pattern)]
        cycle = n // len(pattern)
        code = ""
        if kind == "rpm":
            text = f"{2400 + (n * 7) % 600:.1f}"
        elif kind == "percent":
            text = f"{30 + (n * 13) % 500 / 10:.1f}"
        elif kind == "feed":
            text = f"{(n * 31) % 6000 / 60:.2f}"
        elif kind == "temp":
            text = f"{20 + (n % 4000) / 100:.2f}"
        elif kind == "count":
            text = str(cycle)
        elif kind == "condition":
            text = ("NORMAL", "WARNING", "NORMAL", "FAULT")[cycle % 4]
            code = "" if text == "NORMAL" else str(1000 + cycle % 7)
        else:
            words = _WORDS[kind]
            text = words[cycle % len(words)]
        script.append((item, text, code))
    return script


def mtconnect_record(
    agent: Any, device: str, script: list[tuple[str, str, str]], start: int, count: int
) -> int:
    """Record ``count`` observations of ``script`` from ``start`` on (wrapping); returns where it stopped."""
    record, length = agent.record, len(script)
    for n in range(start, start + count):
        item, text, code = script[n % length]
        record(device, item, text, native_code=code)
    return (start + count) % length


def mtconnect_main(conn: Connection, backlog: int, burst: int) -> None:
    """The virtual MTConnect agent with one CNC, and a recorder that keeps ``backlog`` observations
    ahead of the last ``from`` a client asked for: as fast as the client follows, never out of the buffer."""
    from linesight.virtualplant.mtconnect_agent import MTConnectAgent, SimulatedMachine

    class FollowedAgent(MTConnectAgent):
        asked = 0  # the last /sample?from= asked

        def answer(self, target: str) -> tuple[int, str]:
            found = parse_qs(urlsplit(target).query).get("from")
            if found:
                self.asked = int(found[-1])
            return super().answer(target)

    async def main() -> None:
        machine = SimulatedMachine.from_profile("lathe1", "cnc", seed=3)
        agent = FollowedAgent([machine], sample_every=None)
        recorded = 0
        running = threading.Event()
        stopping = threading.Event()

        def recorder() -> None:
            nonlocal recorded
            index = 0
            script = mtconnect_script(len(MTCONNECT_PATTERN) * 600)
            while not stopping.is_set():
                if not running.is_set() or agent.sequences()[1] - agent.asked >= backlog:
                    time.sleep(0.0005)
                    continue
                index = mtconnect_record(agent, "lathe1", script, index, burst)
                recorded += burst
                time.sleep(0)  # let the HTTP threads have the interpreter between two bursts

        async with agent:
            thread = threading.Thread(target=recorder, name="bench-recorder", daemon=True)
            thread.start()
            commands: Commands = {
                "start": lambda: running.set(),
                "pause": lambda: running.clear(),
                "stats": lambda: {"recorded": recorded, "next": agent.sequences()[1], "asked": agent.asked},
            }
            try:
                await _control(conn, {"url": agent.url, "buffer": agent.buffer_size}, commands)
            finally:
                stopping.set()
                thread.join()

    _run(conn, main)
