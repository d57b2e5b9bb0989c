"""``linesight --self-test``: does this installation work? For installers, CI and support.

It opens the main window offscreen on the demo plant (the virtual plant's devices on free loopback
ports, so that a running ``linesight demo`` does not get in the way), waits until a machine tile shows
a live value read through the real drivers, saves a screenshot and exits 0 - within ``--timeout``
seconds of the process start (10 by default). On failure it exits non-zero and says what went wrong
(with the errors the application logged meanwhile).

Nothing of the user's is touched: the historian and the settings live in a temporary folder.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from linesight.runtime.engine import Engine

STARTED = time.monotonic()  # as near to the process start as Python code gets ...
# ... unless the launcher said when it started the process (bench/package.py: the same monotonic clock).
with contextlib.suppress(ValueError):
    STARTED = min(STARTED, float(os.environ.get("LINESIGHT_LAUNCHED_AT", "inf")))

EXIT_OK, EXIT_FAILED = 0, 3
log = logging.getLogger("linesight.selftest")

# The demo plant file's device ports, each replaced by a free one for the test.
_DEMO_PORTS = {"modbus": 15020, "opcua": 48410, "s7": 10102, "mtconnect": 15000}


class SelfTestError(RuntimeError):
    """What went wrong, in words for the person running the installer."""


class _Recorder(logging.Handler):
    """Keeps the warnings and errors logged during the test, to print them if it fails."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.lines.append(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linesight --self-test",
        description="Open the HMI offscreen on the demo plant, wait for a live value, save a screenshot.",
    )
    parser.add_argument("--self-test", action="store_true", required=True, help=argparse.SUPPRESS)
    parser.add_argument(
        "--screenshot",
        type=Path,
        default=None,
        help="where to save the PNG (default: linesight-self-test.png in the temporary folder)",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds from the process start (default 10)"
    )
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    return parser


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    recorder = _Recorder()
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger().addHandler(recorder)
    screenshot: Path | None = args.screenshot
    try:
        with tempfile.TemporaryDirectory(prefix="linesight-self-test-") as folder:
            target = screenshot or Path(tempfile.gettempdir()) / "linesight-self-test.png"
            seconds = run(Path(folder), target, deadline=STARTED + args.timeout)
    except SelfTestError as err:
        print(f"self-test FAILED: {err}", file=sys.stderr)
        if recorder.lines:
            print("logged meanwhile:\n  " + "\n  ".join(recorder.lines[-20:]), file=sys.stderr)
        return EXIT_FAILED
    print(f"self-test OK: first live value after {seconds:.2f} s; screenshot {target}")
    return EXIT_OK


def free_ports(count: int) -> list[int]:
    """Distinct loopback TCP ports nobody listens on (bound together, so that none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            sockets.append(probe)
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def demo_plant_text(ports: dict[str, int]) -> str:
    """The demo plant file with its device ports replaced."""
    from linesight.runtime.plantfile import DEMO_PLANT

    text = DEMO_PLANT.read_text(encoding="utf-8")
    for name, old in _DEMO_PORTS.items():
        text, count = re.subn(rf"(?<![0-9]){old}(?![0-9])", str(ports[name]), text)
        if count == 0:
            raise SelfTestError(f"the demo plant file {DEMO_PLANT} no longer names port {old} ({name})")
    return text


def run(folder: Path, screenshot: Path, *, deadline: float) -> float:
    """The test itself; returns the seconds from the process start to the first live value."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # also on a desktop: the test never shows a window
    # QSettings under the temporary folder: the user's HMI settings stay as they are.
    os.environ["XDG_CONFIG_HOME"] = str(folder / "config")
    try:
        import asyncio

        import qasync
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        from linesight.app.main import build_hmi
        from linesight.app.settings import HmiSettings
        from linesight.domain.plant import PlantFileError
        from linesight.runtime.engine import Engine
        from linesight.runtime.plantfile import load_plant
        from linesight.storage import Historian
        from linesight.virtualplant.plant import Ports, VirtualPlant
        from linesight.widgets.tile import MachineTile
    except ImportError as err:  # a bundle missing a module, or a missing system library for Qt
        raise SelfTestError(f"cannot load a part of LineSight: {err}") from err

    names = list(_DEMO_PORTS)
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    plant_path = folder / "demo_plant.yaml"
    plant_path.write_text(demo_plant_text(ports), encoding="utf-8")
    try:
        plant = load_plant(plant_path)
    except PlantFileError as err:
        raise SelfTestError(f"the demo plant file does not load:\n{err}") from err
    historian = Historian(folder / "self-test.duckdb")
    historian.open()
    virtual_ports = Ports(**ports)
    app = QApplication.instance() or QApplication([sys.argv[0], "-platform", "offscreen"])
    assert isinstance(app, QApplication)
    app.setApplicationName("LineSight")
    outcome: dict[str, float | str] = {}
    try:
        hmi = build_hmi(
            app,
            Engine(plant, historian=historian),
            historian,
            HmiSettings(language="en"),
            around=lambda: VirtualPlant(virtual_ports),
        )
        try:
            loop = qasync.QEventLoop(app)
            asyncio.set_event_loop(loop)
            finished = asyncio.Event()

            def check() -> None:
                if finished.is_set():
                    return
                if not hmi.runtime.running:
                    outcome["error"] = "the runtime stopped (its error is in the log below)"
                    finished.set()
                    return
                live = [tile for tile in hmi.window.findChildren(MachineTile) if not tile.content().no_data]
                late = time.monotonic() > deadline
                if live and late:  # a busy start that never let the check run in time
                    outcome["error"] = (
                        f"no machine tile showed a live value within {deadline - STARTED:.0f} s of the start "
                        f"(the first was seen after {time.monotonic() - STARTED:.1f} s)"
                    )
                    finished.set()
                elif live:
                    outcome["first_value_s"] = time.monotonic() - STARTED
                    # One more frame, so that the picture shows what the test saw.
                    QTimer.singleShot(200, shoot)
                    finished.set()
                elif late:
                    outcome["error"] = (
                        f"no machine tile showed a live value within {deadline - STARTED:.0f} s of the start "
                        f"({_progress(hmi.runtime.started, hmi.engine)})"
                    )
                    finished.set()

            def shoot() -> None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                if not hmi.window.grab().save(str(screenshot), "PNG"):
                    outcome["error"] = f"cannot write the screenshot {screenshot}"
                outcome["shot"] = 1.0
                shot.set()

            shot = asyncio.Event()
            poll = QTimer()
            poll.setInterval(50)
            poll.timeout.connect(check)
            poll.start()
            with loop:
                loop.run_until_complete(finished.wait())
                poll.stop()
                if "error" not in outcome:
                    loop.run_until_complete(shot.wait())
        finally:
            hmi.window.unlock_and_close()
            hmi.stop()
    finally:
        historian.close()
    if "error" in outcome:
        raise SelfTestError(str(outcome["error"]))
    if not screenshot.is_file():
        raise SelfTestError(f"the screenshot {screenshot} was not written")
    return float(outcome["first_value_s"])


def _progress(started: bool, engine: Engine) -> str:
    """How far the start got, for the failure message."""
    if not started:
        return "the runtime and the virtual plant had not finished starting"
    try:  # read from the GUI thread while the runtime runs: good enough for a message
        states = [f"{item.machine} {item.state.value}" for item in engine.health()]
    except RuntimeError:
        return "the runtime was running"
    return "machines: " + ", ".join(states)
