"""Start the HMI: Qt on the main thread (with qasync for the UI's own coroutines), the runtime on a
worker thread with its own asyncio loop, and the bridge between them."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import qasync
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from linesight.app import settings as settings_store
from linesight.app import theme
from linesight.app.bridge import RuntimeBridge
from linesight.app.i18n import Languages
from linesight.app.settings import HmiSettings
from linesight.app.window import MainWindow
from linesight.domain.plant import PlantConfig
from linesight.runtime.commands import Commands
from linesight.runtime.engine import Engine
from linesight.runtime.thread import EngineThread
from linesight.storage import Historian

log = logging.getLogger(__name__)


def settle_heap() -> None:
    """Move what start-up built (modules, widgets, the plant) out of the garbage collector's sight.

    Python's full collections walk every object that ever survived one; in a GUI that is tens of
    thousands of long-lived objects, and a collection landing in a frame cost it up to 10 ms.
    ``gc.freeze`` parks them in a generation that is never scanned; new garbage is collected as before.
    """
    gc.collect()
    gc.freeze()


@dataclass(frozen=True)
class Hmi:
    """A running HMI: the window, the bridge and the runtime behind them."""

    window: MainWindow
    bridge: RuntimeBridge
    engine: Engine
    runtime: EngineThread

    def stop(self) -> None:
        self.bridge.stop()
        self.runtime.stop()  # stops polling, closes connections, writes every collected sample
        gc.unfreeze()  # what settle_heap parked is freed at exit again (or extensions report leaks)


def build_hmi(
    app: QApplication,
    engine: Engine,
    historian: Historian,
    settings: HmiSettings,
    *,
    around: Callable[[], AbstractAsyncContextManager[Any]] | None = None,
    save_settings: Callable[[HmiSettings], None] = lambda _settings: None,
) -> Hmi:
    """Start the runtime on its thread and show the window over it (what run_hmi and bench/ui run).

    The runtime (and the demo's devices) start first, while the window is built: both take about a
    second and a half, and the first live value is wanted within 3 s of the start."""
    runtime = EngineThread(engine, around=around)
    runtime.start_in_background()
    try:
        languages = Languages(app)
        languages.switch(settings.language)
        theme.apply(
            app,
            settings.theme,
            font_scale=settings.font_scale * (1.25 if settings.kiosk else 1.0),
            kiosk=settings.kiosk,
        )
        bridge = RuntimeBridge(
            runtime,
            engine,
            Commands(engine, historian),
            numbers_hz=settings.numbers_hz,
            trends_fps=settings.trends_fps,
        )
        window = MainWindow(bridge, engine.plant, settings, languages, save_settings=save_settings)
        bridge.start()
        window.present()
        settle_heap()
    except BaseException:
        runtime.stop()
        raise
    return Hmi(window=window, bridge=bridge, engine=engine, runtime=runtime)


def run_hmi(
    plant: PlantConfig,
    historian: Historian,
    *,
    around: Callable[[], AbstractAsyncContextManager[Any]] | None = None,
    kiosk: bool | None = None,
    settings_path: Path | None = None,
    duration: float | None = None,
) -> int:
    """Run the window until it is closed (or ``duration`` seconds); returns the exit status."""
    engine = Engine(plant, historian=historian)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("LineSight")
    app.setOrganizationName("LineSight")
    settings = settings_store.load(settings_path)
    if kiosk is not None:
        settings = replace(settings, kiosk=kiosk)
    hmi = build_hmi(
        app,
        engine,
        historian,
        settings,
        around=around,
        save_settings=lambda s: settings_store.save(s, settings_path),
    )
    try:
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        closed = asyncio.Event()
        app.aboutToQuit.connect(closed.set)
        with contextlib.suppress(NotImplementedError):  # SIGTERM from systemd: close like the window's button
            loop.add_signal_handler(signal.SIGTERM, hmi.window.unlock_and_close)
        if duration is not None:
            QTimer.singleShot(int(duration * 1000), hmi.window.unlock_and_close)
        with loop:
            loop.run_until_complete(closed.wait())
    finally:
        hmi.stop()
    return 0
