"""The runtime on its own loop in a worker thread, as the HMI will run it."""

from __future__ import annotations

import asyncio
import threading
import time

from linesight.runtime.engine import Engine
from linesight.runtime.health import ConnectionState
from linesight.runtime.thread import EngineThread

from .scripted import ScriptedFactory
from .test_coordinator import FAST, machine, plant


def test_the_engine_runs_on_its_own_thread_and_answers_commands_from_another() -> None:
    factory = ScriptedFactory()
    engine = Engine(plant(machine("m")), historian=None, factories={"scripted": factory}, backoff=FAST)
    runner = EngineThread(engine)
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while engine.live.latest("m.a") is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert engine.live.latest("m.a") is not None
        assert threading.current_thread() is threading.main_thread()

        async def write() -> str:
            spec = engine.plant.machine("m").tag_specs()[0]
            await engine.driver("m").write(spec, 7.5)
            return threading.current_thread().name

        assert runner.submit(write()).result(5) == "linesight-runtime"
        while (latest := engine.live.latest("m.a")) is None or latest.value != 7.5:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        runner.stop()
    assert engine.machine_health("m").state is ConnectionState.STOPPED


async def test_the_loop_still_runs_threads_after_an_engine_stopped_on_it() -> None:
    import asyncio

    factory = ScriptedFactory()
    async with Engine(plant(machine("m")), historian=None, factories={"scripted": factory}, backoff=FAST):
        pass
    assert await asyncio.to_thread(lambda: 42) == 42


def test_a_stop_cancels_what_is_still_running_so_that_the_caller_hears_of_it() -> None:
    engine = Engine(
        plant(machine("m")), historian=None, factories={"scripted": ScriptedFactory()}, backoff=FAST
    )
    runner = EngineThread(engine)
    runner.start()
    waiting = runner.submit(asyncio.sleep(3600))
    assert runner.running
    runner.stop()
    assert waiting.cancelled() and not runner.running
