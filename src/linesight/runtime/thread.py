"""The runtime on its own event loop in a worker thread, for a UI thread that must never wait on I/O."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any, TypeVar

from linesight.runtime.engine import Engine

T = TypeVar("T")
log = logging.getLogger(__name__)


class EngineThread:
    """Runs ``engine`` on a private asyncio loop; ``submit`` crosses a coroutine over to it."""

    def __init__(
        self,
        engine: Engine,
        *,
        name: str = "linesight-runtime",
        around: Callable[[], AbstractAsyncContextManager[Any]] | None = None,
    ) -> None:
        """``around`` makes a context that lives on the runtime loop around the engine (the demo's
        virtual plant: its devices must listen before the drivers connect)."""
        self.engine = engine
        self._around = around
        self._stack = AsyncExitStack()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopping = False

    def start(self, timeout: float = 30.0) -> None:
        """Start and wait until the engine runs; its start error is raised here."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the runtime did not start in time")
        if self._error is not None:
            raise self._error

    def start_in_background(self) -> None:
        """Start without waiting (a window shows at once); ``submit`` queues until the loop runs.

        A start error is logged by the runtime thread and leaves the engine stopped."""
        self._thread.start()

    @property
    def started(self) -> bool:
        return self._ready.is_set() and self._error is None

    @property
    def running(self) -> bool:
        """Whether a submitted coroutine will run: started (or starting) and not stopping."""
        return self._thread.is_alive() and not self._stopping and self._error is None

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def stop(self, timeout: float = 30.0) -> None:
        if not self._thread.is_alive():
            return
        self._stopping = True
        self._ready.wait(timeout)  # a stop right after a background start waits for the start
        self.submit(self._shutdown()).result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)

    async def _boot(self) -> None:
        if self._around is not None:
            await self._stack.enter_async_context(self._around())
        await self.engine.start()

    async def _shutdown(self) -> None:
        await self.engine.stop()
        await self._stack.aclose()

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._boot())
        except BaseException as err:  # noqa: BLE001 - handed to the starting thread, which raises it
            log.error("the runtime could not start: %s", err)
            self._error = err
            self._loop.run_until_complete(self._stack.aclose())
            self._ready.set()
            self._loop.close()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            # Commands still running (a history query, a write waiting on a device) are cancelled, so
            # that whoever submitted them hears so; a closed loop would leave their futures pending.
            leftover = asyncio.all_tasks(self._loop)
            for task in leftover:
                task.cancel()
            if leftover:
                self._loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
