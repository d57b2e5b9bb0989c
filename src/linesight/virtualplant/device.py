"""What every virtual device of the demo shares: a free port, ``async with``, and the task that keeps
its values following its simulated machines."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from types import TracebackType
from typing import Self


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class PeriodicDevice:
    """A protocol server whose values are refreshed from its machine models every ``_interval`` s.

    A device implements ``start`` (serve, then ``_begin_updates``), ``_update`` and ``_close_server``."""

    _interval: float
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close_server()

    async def _update(self, now: float) -> None:
        raise NotImplementedError

    async def _close_server(self) -> None:
        raise NotImplementedError

    def _begin_updates(self, name: str) -> None:
        self._task = asyncio.create_task(self._run(), name=name)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._update(time.time())
