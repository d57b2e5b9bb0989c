"""A real snap7 S7 server on a free loopback port, recording the requests it answers.

Two corrections make snap7 3.3's emulator behave like a CPU where these tests need it: a write of one
bit (transport size BIT) changes that bit only (the emulator stores the whole byte), and stopping drops
the open connections at once (the emulator still answers one more request on each after ``stop()``).
A test can also hold read answers back (a slow PLC) or rewrite them (a confused one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from snap7.datatypes import S7WordLen
from snap7.server import Server
from snap7.type import SrvArea

# The emulator warns about every read of a DB it does not have or beyond an area's end: the tests
# provoke exactly that on purpose, and a CPU would not log it either.
logging.getLogger("snap7.server").setLevel(logging.ERROR)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Variable:
    """One variable of a request as the server saw it: area code, DB number, byte, count, word length."""

    area: int
    db: int
    start: int
    count: int
    word_len: int


class TestPLC(Server):
    """snap7's server with the two corrections, and a record of the requests it answered."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self) -> None:
        super().__init__(log=False)
        self.reads: list[list[Variable]] = []  # per read request, its variables
        self.writes: list[tuple[Variable, bytes]] = []
        self.replies: list[int] = []  # size in bytes of each read answer
        # Seconds each read answer is held back before it is sent. A test whose client gives up meanwhile
        # waits for ``connections == 0`` before the server stops: snap7 logs a send after stop() as an error.
        self.read_delay = 0.0
        self.rewrite: Callable[[bytes], bytes] | None = None  # changes each read answer (its S7 PDU)
        self._sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()

    def db(self, number: int, size: int) -> bytearray:
        """Register DB ``number`` of ``size`` zero bytes and return its memory (shared with the server)."""
        memory = bytearray(size)
        self.register_area(SrvArea.DB, number, memory)
        return memory

    def area(self, area: SrvArea, size: int) -> bytearray:
        memory = bytearray(size)
        self.register_area(area, 0, memory)
        return memory

    @property
    def connections(self) -> int:
        """Client connections open on the server's side."""
        with self._sockets_lock:
            return len(self._sockets)

    # --------------------------------------------------------------- overrides of snap7's server

    def _handle_client(self, client_socket: socket.socket, address: tuple[str, int]) -> None:
        with self._sockets_lock:
            self._sockets.add(client_socket)
        try:
            super()._handle_client(client_socket, address)
        finally:
            with self._sockets_lock:
                self._sockets.discard(client_socket)

    def stop(self) -> int:
        with self._sockets_lock:
            open_sockets = list(self._sockets)
        for client_socket in open_sockets:
            with contextlib.suppress(OSError):
                client_socket.shutdown(socket.SHUT_RDWR)
        return super().stop()

    def _handle_read_area(self, request: dict[str, Any], client_address: tuple[str, int]) -> bytes:
        parameters = request.get("parameters") or {}
        specs = parameters.get("address_specs") or [parameters.get("address_spec") or {}]
        self.reads.append([_variable(spec) for spec in specs])
        reply: bytes = super()._handle_read_area(request, client_address)
        self.replies.append(len(reply))
        if self.rewrite is not None:
            reply = self.rewrite(reply)
        if self.read_delay:
            time.sleep(self.read_delay)
        return reply

    def _handle_write_area(self, request: dict[str, Any], client_address: tuple[str, int]) -> bytes:
        parameters = request.get("parameters") or {}
        raw = request.get("raw_parameters") or b""
        data = bytes((request.get("data") or {}).get("data", b""))
        spec = parameters.get("address_spec") or {}
        if len(raw) >= 14 and raw[5] == S7WordLen.BIT and data:
            bit_address = int.from_bytes(raw[11:14], "big")
            byte, bit = bit_address >> 3, bit_address & 7
            self.writes.append(
                (Variable(int(spec["area"]), int(spec["db_number"]), bit_address, 1, raw[5]), data)
            )
            key = (spec["area"], spec["db_number"])
            if key in self.memory_areas and byte < len(self.memory_areas[key]):
                with self.area_locks[key]:
                    memory = self.memory_areas[key]
                    memory[byte] = (memory[byte] & ~(1 << bit)) | ((data[0] & 1) << bit)
                    # The emulator then stores the whole byte: give it the byte with only that bit changed.
                    request["data"]["data"] = bytes((memory[byte],))
        else:
            self.writes.append((_variable(spec), data))
        reply: bytes = super()._handle_write_area(request, client_address)
        return reply


def _variable(spec: dict[str, Any]) -> Variable:
    return Variable(
        area=int(spec.get("area", 0)),
        db=int(spec.get("db_number", 0)),
        start=int(spec.get("start", 0)),
        count=int(spec.get("count", 0)),
        word_len=int(spec.get("word_len", 0)),
    )


@asynccontextmanager
async def s7_server(port: int | None = None) -> AsyncIterator[tuple[TestPLC, int]]:
    """A started TestPLC on 127.0.0.1 and its port; register its areas with ``db()`` and ``area()``."""
    port = port or free_port()
    plc = TestPLC()
    loop = asyncio.get_running_loop()
    # A thread of its own for starting and stopping (which waits for the server's threads): an Engine
    # that stopped first has shut down the loop's default executor.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="s7-test-server") as pool:
        await loop.run_in_executor(pool, plc.start_to, "127.0.0.1", port)
        try:
            yield plc, port
        finally:
            await loop.run_in_executor(pool, plc.stop)
