"""Render every HMI screen in both themes and both languages to docs/screenshots/hmi/.

Run it with ``make screenshots`` (or ``.venv/bin/python tools/screenshots.py``). It needs no display:
Qt draws offscreen on a 1440x900 panel, and each picture is the real window's ``grab()``.

What the pictures show is the real HMI on the demo plant, wired as ``linesight demo`` wires it: the
virtual plant (Modbus TCP presses, OPC UA packaging, S7 oven, MTConnect machining centres) listens on
loopback inside this process, the runtime reads it through the real drivers on its own thread, and
the window talks to the runtime through the bridge.

The data: the virtual plant's machines are the simulator's seeded models (``MachineModel``), a pure
function of their seed and their start time. To have history without waiting for it, this script
starts every model at the start of the demo calendar's running shift (at least one hour and at most
``--longest`` hours, default 8, before now) and replays it in fast-forward into a fresh historian:
one sample per tag each poll interval of the plant file, each tag's deadband applied, changes only
for the MTConnect machines, as the runtime would have recorded them. The virtual devices then go on
with the very same models, so that live values continue the history without a jump, and the
runtime's start replays the shift's states and counters from it (OEE, timeline). Clocks show the
demo site's time (São Paulo); on a Sunday, or between shifts, the screens say that no shift is
running. Nothing else is made up; run it twice and the machines follow the same sequence of states
(their wall-clock times differ).

Except for the alarm pictures: to show alarms of every priority in every state whatever the models
do at the moment, ``stage_alarms`` makes a few virtual devices read wrong (a hot press, a fault bit, a
controller warning, an oven zone over its limit for a moment) and acts on the alarms as people would
(a supervisor acknowledges, shelves and takes one out of service, an operator comments). Those
readings travel the real way: device, driver, runtime, alarm service, bridge.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots" / "hmi"
SIZE = (1440, 900)
THEMES = ("light", "dark")
LANGUAGES = ("en", "pt_BR")
MACHINE = "embaladora-01"  # the machine screen's machine: OPC UA, with a writable setpoint
SETPOINT = "sealer_setpoint"
HISTORY_TAGS = ("embaladora-01.sealer_temp", "embaladora-01.line_speed", "prensa-01.hydraulic_pressure")
USERS = {"ana": ("operator", "2468"), "bruno": ("supervisor", "1357"), "carla": ("admin", "9753")}

# A tag's name in the demo plant file → the simulator signal behind it, where the two differ.
ALIASES = {
    "state": "state_code",
    "energy": "energy_kwh",
    "mode": "controller_mode",
    "temperature": "zone2_temp",  # the oven's production record carries the middle zone
}


def _offscreen(folder: Path) -> None:
    """Qt's offscreen platform with one 1440x900 screen at 96 dpi (kiosk mode shows full screen)."""
    config = folder / "screen.json"
    width, height = SIZE
    screen = {"name": "panel", "x": 0, "y": 0, "width": width, "height": height}
    screen.update({"logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1})
    config.write_text(json.dumps({"screens": [screen]}), encoding="utf-8")
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"


def _plant_time() -> None:
    """Show the demo site's local time (São Paulo), as a panel in that plant would."""
    from linesight.runtime.plantfile import DEMO_PLANT, load_plant

    os.environ["TZ"] = load_plant(DEMO_PLANT).sites[0].timezone or "UTC"
    time.tzset()


# ---------------------------------------------------------------------- the data


@dataclass(frozen=True)
class Model:
    """Which simulator model the virtual plant runs for one machine of the demo plant."""

    profile: str
    seed: int
    ideal_cycle_s: float


def demo_models() -> dict[str, Model]:
    from linesight.virtualplant.plant import CNCS, OVEN_SEED, PACKAGING, PRESSES
    from linesight.virtualplant.s7_oven import S7Oven

    models = {
        "cnc-01": Model("cnc", CNCS[0][1], CNCS[0][2]),
        "cnc-02": Model("cnc", CNCS[1][1], CNCS[1][2]),
        "torno-01": Model("cnc", CNCS[2][1], CNCS[2][2]),
        "forno-01": Model("oven", OVEN_SEED, S7Oven(seed=OVEN_SEED).ideal_cycle_s),
    }
    for number, press in enumerate(PRESSES, start=1):
        models[f"prensa-0{number}"] = Model("press", press.seed, press.ideal_cycle_s)
    for number, machine in enumerate(PACKAGING, start=1):
        models[f"embaladora-0{number}"] = Model("packaging", machine.seed, machine.ideal_cycle_s)
    return models


def machine_model(model: Model, start: float) -> Any:
    from linesight.drivers.simulator.model import PROFILES, MachineModel

    return MachineModel(
        PROFILES[model.profile], seed=model.seed, start=start, ideal_cycle_s=model.ideal_cycle_s
    )


def _reading(sim: Any, name: str) -> Callable[[], object]:
    """How the driver sees a tag: the signal of the same name (or its alias); an MTConnect alarm
    condition as its level."""
    if name == "alarm":
        return lambda: "FAULT" if sim.value("fault") else "WARNING" if sim.value("alarm_code") else "NORMAL"
    signal = ALIASES.get(name, name)
    return lambda: sim.value(signal)


def prefill(historian: Any, plant: Any, start: float, end: float) -> int:
    """Replay every machine's model from ``start`` to ``end`` into the historian; the samples written.

    One reading per tag each poll interval, as the runtime records a polled device (each tag's deadband
    applied); an MTConnect agent reports changes only, so its machines' tags are written when they change.
    """
    from linesight.domain.tags import DataType, Sample, outside_deadband

    models = demo_models()
    total = 0
    for _site, _line, config in plant.machines():
        sim = machine_model(models[config.id], start)
        changes_only = config.driver == "mtconnect"
        readers = [(spec, _reading(sim, spec.name)) for spec in config.tag_specs()]
        previous: dict[str, Any] = {}
        batch: list[Sample] = []
        step = float(config.poll_interval)
        t = start
        while t < end:
            sim.advance_to(t)
            ts_us = int(t * 1_000_000)
            for spec, read in readers:
                raw = read()
                value: str | bool | int | float
                if spec.data_type is DataType.STRING:
                    value = str(raw)
                elif spec.data_type is DataType.BOOL:
                    value = bool(raw)
                elif spec.data_type.is_integer:
                    value = int(raw)  # type: ignore[call-overload]
                else:
                    value = round(float(raw), 3)  # type: ignore[arg-type]
                if spec.key in previous:
                    last = previous[spec.key]
                    if changes_only and value == last:
                        continue
                    if spec.deadband > 0 and not outside_deadband(last, value, spec.deadband):
                        continue
                previous[spec.key] = value
                batch.append(Sample(spec.key, ts_us, value))
            t += step
        historian.append(batch)
        total += len(batch)
    return total


def history_start(plant: Any, now: float, longest_h: float) -> float:
    """Where the history begins: the start of the running shift (the OEE counts from it), at least an
    hour and at most ``longest_h`` hours back."""
    from datetime import UTC, datetime

    from linesight.domain.calendar import shift_at

    site = plant.sites[0]
    calendar = plant.calendars.get(site.calendar) if site.calendar else None
    window = shift_at(calendar, site.timezone, datetime.fromtimestamp(now, UTC)) if calendar else None
    since = window.start.timestamp() if window is not None else now - 3600
    return max(now - longest_h * 3600, min(now - 3600, since - 300))


class RewoundPlant:
    """The demo's virtual plant whose machines started at ``start`` (the history's first instant)."""

    def __init__(self, start: float) -> None:
        from linesight.virtualplant.mtconnect_agent import MTConnectAgent, SimulatedMachine
        from linesight.virtualplant.plant import CNCS, VirtualPlant

        self.start = start
        self.plant = VirtualPlant()
        models = demo_models()
        by_device = {"cnc01": "cnc-01", "cnc02": "cnc-02", "torno01": "torno-01"}
        cncs = [
            SimulatedMachine(name=name, model=machine_model(models[by_device[name]], start))
            for name, _seed, _cycle in CNCS
        ]
        self.cncs = {by_device[machine.name]: machine.model for machine in cncs}
        self.plant.agent = MTConnectAgent(cncs, host=self.plant.host, port=self.plant.ports.mtconnect)

    async def __aenter__(self) -> RewoundPlant:
        plant = self.plant
        await plant.start()
        # The other devices build their models as they start: give them the ones started in the past,
        # then publish at once, before any driver reads a value of the models they replaced.
        models = demo_models()
        for number, press in enumerate(plant.presses.presses, start=1):
            plant.presses._models[press.unit_id] = machine_model(models[f"prensa-0{number}"], self.start)
        for number, machine in enumerate(plant.packaging.machines, start=1):
            plant.packaging._models[machine.name] = machine_model(models[f"embaladora-0{number}"], self.start)
        plant.oven._model = machine_model(models["forno-01"], self.start)
        now = time.time()
        await plant.presses._update(now)
        await plant.packaging._update(now)
        await plant.oven._update(now)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.plant.stop()


# ---------------------------------------------------------------------- Qt helpers


def settle(milliseconds: int) -> None:
    """Let Qt (and the bridge's timers) run for a while."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(milliseconds, loop.quit)
    loop.exec()


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        settle(100)


def save(widget: Any, name: str, *, over: Any = None) -> Path:
    """The window's picture (with a dialog ``over`` it, where Qt puts it) as ``name``.png."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QColor, QPainter, QPen

    picture = widget.grab()
    if over is not None:
        dialog = over.grab()
        at = over.mapToGlobal(QPoint(0, 0)) - widget.mapToGlobal(QPoint(0, 0))
        inside = picture.rect().adjusted(0, 0, -dialog.width(), -dialog.height())
        if not inside.contains(at):  # no window manager offscreen: centre it as one would
            at = QPoint((picture.width() - dialog.width()) // 2, (picture.height() - dialog.height()) // 2)
        painter = QPainter(picture)
        painter.drawPixmap(at, dialog)
        painter.setPen(QPen(QColor("#7a7a7a"), 2))  # the frame a window manager would draw
        painter.drawRect(at.x() - 1, at.y() - 1, dialog.width() + 1, dialog.height() + 1)
        painter.end()
    path = OUT / f"{name}.png"
    if picture.size().width() != SIZE[0] or picture.size().height() != SIZE[1]:
        raise RuntimeError(f"{name}: the window is {picture.width()}x{picture.height()}, not {SIZE}")
    picture.save(str(path))
    return path


@contextmanager
def hmi(folder: Path, longest_h: float) -> Iterator[tuple[Any, Any, Any, Any]]:
    """The demo plant's runtime (with its history) and a bridge to it; yields (plant, bridge, engine,
    the virtual plant)."""
    from linesight.app.bridge import RuntimeBridge
    from linesight.domain.users import Role, User, hash_secret
    from linesight.runtime.commands import Commands
    from linesight.runtime.engine import Engine
    from linesight.runtime.plantfile import DEMO_PLANT, load_plant
    from linesight.runtime.thread import EngineThread
    from linesight.storage import Historian

    plant = load_plant(DEMO_PLANT)
    historian = Historian(folder / "history.duckdb")
    historian.open()
    for name, (role, pin) in USERS.items():
        historian.save_user(User(name=name, role=Role(role), secret=hash_secret(pin)))
    historian.register_tags(plant.tag_specs())
    end = time.time()
    start = history_start(plant, end, longest_h)
    written = prefill(historian, plant, start, end)
    print(f"history: {written} samples over {(end - start) / 60:.0f} min", file=sys.stderr)
    engine = Engine(plant, historian=historian)
    rewound = RewoundPlant(start)
    runtime = EngineThread(engine, around=lambda: rewound)
    runtime.start(timeout=60)
    bridge = RuntimeBridge(runtime, engine, Commands(engine, historian), numbers_hz=10, trends_fps=10)
    try:
        yield plant, bridge, engine, rewound
    finally:
        bridge.stop()
        runtime.stop()
        historian.close()


# ---------------------------------------------------------------------- alarms on stage


def stage_alarms(engine: Any, rewound: RewoundPlant) -> None:
    """Alarms of every priority in every state: a few virtual devices read wrong, and people act."""
    from linesight.domain.alarm_types import AlarmState
    from linesight.domain.users import Role

    plant = rewound.plant
    presses = {
        f"prensa-0{number}": plant.presses._models[press.unit_id]
        for number, press in enumerate(plant.presses.presses, start=1)
    }
    oven = plant.oven._model
    cnc = rewound.cncs["cnc-02"]

    def read_as(model: Any, signal: str, value: object) -> None:
        model._readers[signal] = lambda: value

    read_as(presses["prensa-01"], "oil_temp", 61.8)  # a hot press: its high and high-high limits
    read_as(presses["prensa-02"], "fault", True)  # a fault bit
    read_as(cnc, "alarm_code", 2001)  # a controller warning (low priority)
    read_as(cnc, "alarm_text", "EX2051 COOLANT LEVEL LOW")
    read_as(cnc, "fault", False)
    zone2 = oven._readers["zone2_temp"]
    read_as(oven, "zone2_temp", 896.0)  # over its limit for a moment
    alarms = engine.alarms

    def states(*wanted: tuple[str, AlarmState]) -> bool:
        return all(alarms.status(alarm_id).state is state for alarm_id, state in wanted)

    raised = (
        ("prensa-01.oil-temp.hh", AlarmState.UNACK),
        ("prensa-02.fault", AlarmState.UNACK),
        ("cnc-02.warning", AlarmState.UNACK),
        ("forno-01.zone2-temp.h", AlarmState.UNACK),
    )
    wait_until(lambda: states(*raised), 20, "the staged alarms")
    oven._readers["zone2_temp"] = zone2
    wait_until(lambda: states(("forno-01.zone2-temp.h", AlarmState.RTN_UNACK)), 20, "the oven to cool")
    supervisor = {"user": "bruno", "role": Role.SUPERVISOR}
    alarms.acknowledge("prensa-02.fault", **supervisor)
    alarms.shelve("embaladora-01.sealer-temp", duration=3600, comment="film trial until 15:00", **supervisor)
    alarms.remove_from_service(
        "prensa-02.hydraulic-pressure.l", comment="pressure transmitter being replaced", **supervisor
    )
    alarms.comment(
        "prensa-01.oil-temp.hh", user="ana", role=Role.OPERATOR, text="cooler fan checked, maintenance called"
    )
    settle(1500)  # the journal is written once a second


def shoot_alarms(window: Any, suffix: str) -> list[Path]:
    """The alarm screen's three views, and the overview and a machine under an unacknowledged alarm's
    banner."""
    from linesight.domain.users import Role
    from linesight.runtime.commands import NOBODY, Actor

    saved: list[Path] = []
    screen = window.alarms
    window.session.set_actor(Actor(name="bruno", role=Role.SUPERVISOR))
    window.show_alarms(None, reset=True)
    screen.state_filter.setCurrentIndex(screen.state_filter.findData("all"))
    screen.select("prensa-01.oil-temp.hh")
    settle(800)
    window.banner._blink_on = True  # the picture with the blinking border on
    saved.append(save(window, f"alarms-{suffix}"))
    screen.show_view(1)
    screen.query_journal()
    wait_until(lambda: not screen.journal_running, 20, "the alarm journal")
    settle(300)
    window.banner._blink_on = True
    saved.append(save(window, f"alarms-journal-{suffix}"))
    screen.show_view(2)
    settle(500)
    window.banner._blink_on = True
    saved.append(save(window, f"alarms-kpis-{suffix}"))
    screen.show_view(0)
    window.session.set_actor(NOBODY)
    window.show_overview()
    settle(1200)
    window.banner._blink_on = True
    saved.append(save(window, f"overview-alarms-{suffix}"))
    window.show_machine("prensa-01")
    settle(1500)
    window.banner._blink_on = True
    saved.append(save(window, f"machine-alarms-{suffix}"))
    return saved


# ---------------------------------------------------------------------- stops, rejects and reports


def stage_production(engine: Any, bridge: Any) -> str:
    """The machine the coding pictures show: the first with two stops to code in this shift, of which
    the older is coded the way an operator would (a reason that fits its state); returns its id."""
    from linesight.app.reporting import micro_stop_thresholds
    from linesight.app.screens.downtime import codeable
    from linesight.domain.machine import MachineState

    thresholds = micro_stop_thresholds(engine.plant)
    listed: dict[str, list[Any]] = {}
    for status in engine.machines.statuses():
        threshold = thresholds.get(status.machine, 0.0)
        listed[status.machine] = [stop for stop in status.stops if codeable(stop, threshold)]
    machine = next((m for m, stops in listed.items() if len(stops) >= 2), None)
    if machine is None:
        machine = max(listed, key=lambda m: len(listed[m]))
    if listed[machine]:
        oldest = listed[machine][0]
        reason = {
            MachineState.SETUP: "changeover",
            MachineState.IDLE: "no_material",
            MachineState.UNKNOWN: "electrical",
        }.get(oldest.state, "mechanical")
        end = None if oldest.open else oldest.end
        coding = engine.production.code_stop(
            machine, start=oldest.start, end=end, reason=reason, user="ana", comment="troca do rolamento"
        )
        bridge.runtime.submit(coding).result(timeout=10)
    return machine


def shoot_production(app: Any, window: Any, machine: str, suffix: str) -> list[Path]:
    """The coding screen (a stop being split and coded, one coded), the reject entry over the machine
    screen, and the report of the running shift."""
    from linesight.app.reporting import Period

    saved: list[Path] = []
    window.show_downtime(machine)
    screen = window.downtime
    uncoded = next((stop for stop in screen._stops if not stop.coded), None)
    if uncoded is not None:
        screen.select(uncoded.start)
        if uncoded.seconds >= 240:
            screen.split.click()
        category = screen.categories.get("breakdown") or next(iter(screen.categories.values()))
        category.click()
        first = next(button for button in screen.reasons.values() if button.isVisible())
        first.click()
    settle(800)
    saved.append(save(window, f"stops-{suffix}"))

    window.show_machine(machine)
    settle(500)
    dialog = window.open_rejects(machine)
    dialog.count.setText("3")
    dialog.reasons[next(iter(dialog.reasons))].click()
    dialog.comment.setText("rebarba na borda")
    settle(400)
    saved.append(save(window, f"rejects-{suffix}", over=dialog))
    dialog.reject()
    settle(100)

    window.show_reports()
    reports = window.reports
    reports.choose_scope("plant")
    reports.choose_period(Period.CURRENT_SHIFT)
    wait_until(lambda: not reports.is_busy and reports.report is not None, 60, "the shift report")
    settle(500)
    saved.append(save(window, f"reports-{suffix}"))
    return saved


# ---------------------------------------------------------------------- the pictures


def shoot(longest_h: float, *, only_alarms: bool = False, only_production: bool = False) -> list[Path]:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QPushButton

    from linesight.app.i18n import Languages
    from linesight.app.session import LoginDialog
    from linesight.app.settings import HmiSettings
    from linesight.app.window import MainWindow
    from linesight.runtime.health import ConnectionState
    from linesight.widgets.keypad import NumericKeypad

    OUT.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="linesight-screens-") as temp:
        folder = Path(temp)
        _offscreen(folder)
        app = QApplication.instance() or QApplication([sys.argv[0]])
        assert isinstance(app, QApplication)
        languages = Languages(app)
        with hmi(folder, longest_h) as (plant, bridge, engine, rewound):
            wait_until(
                lambda: all(item.state is ConnectionState.ONLINE for item in engine.health()),
                40,
                "every machine to connect",
            )

            settings = HmiSettings(language="en", theme="light", idle_logout_s=3600)
            window = MainWindow(bridge, plant, settings, languages, save_settings=lambda _s: None)
            bridge.start()
            window.present()
            window.resize(*SIZE)
            settle(2500)

            for theme in () if only_alarms or only_production else THEMES:
                for language in LANGUAGES:
                    suffix = f"{theme}-{language}"
                    window.set_theme(theme)
                    window.set_language(language)

                    window.show_overview()
                    settle(1500)
                    saved.append(save(window, f"overview-{suffix}"))

                    window.show_machine(MACHINE)
                    settle(2000)
                    saved.append(save(window, f"machine-{suffix}"))

                    # The keypad as the operator opens it: the setpoint's Write… button (a modal dialog).
                    row = next(
                        r
                        for r in range(window.machine.values.rowCount())
                        if (window.machine.values.item(r, 0) or None) is not None
                        and window.machine.values.item(r, 0).text() == SETPOINT
                    )
                    button = window.machine.values.cellWidget(row, 3)
                    assert isinstance(button, QPushButton)

                    def keypad_shot(name: str = f"keypad-{suffix}") -> None:
                        keypads = [w for w in app.topLevelWidgets() if isinstance(w, NumericKeypad)]
                        shown = [w for w in keypads if w.isVisible()]
                        if not shown:
                            QTimer.singleShot(100, lambda: keypad_shot(name))
                            return
                        settle(300)
                        saved.append(save(window, name, over=shown[0]))
                        shown[0].reject()

                    QTimer.singleShot(300, keypad_shot)
                    button.click()  # returns when the keypad closes

                    window.show_history(list(HISTORY_TAGS))
                    window.history.preset_buttons[0].click()  # 1 h
                    wait_until(lambda: bool(window.history.info.text()), 20, "the history query")
                    settle(800)
                    saved.append(save(window, f"history-{suffix}"))

                    window.show_diagnostics()
                    settle(1500)
                    saved.append(save(window, f"diagnostics-{suffix}"))

                    window.show_overview()
                    window.login(title="")
                    wait_until(
                        lambda: any(
                            isinstance(w, LoginDialog) and w.isVisible() for w in app.topLevelWidgets()
                        ),
                        10,
                        "the login dialog",
                    )
                    dialog = next(
                        w for w in app.topLevelWidgets() if isinstance(w, LoginDialog) and w.isVisible()
                    )
                    settle(300)
                    saved.append(save(window, f"login-{suffix}", over=dialog))
                    dialog.reject()
                    settle(100)

            if not only_alarms:
                machine = stage_production(engine, bridge)
                for theme in THEMES:
                    for language in LANGUAGES:
                        window.set_theme(theme)
                        window.set_language(language)
                        saved += shoot_production(app, window, machine, f"{theme}-{language}")
            if only_production:  # and the coding screen in kiosk mode, as below
                window.hide()
                kiosk = MainWindow(
                    bridge, plant, replace(settings, kiosk=True), languages, save_settings=lambda _s: None
                )
                kiosk.present()
                for theme in THEMES:
                    for language in LANGUAGES:
                        kiosk.set_theme(theme)
                        kiosk.set_language(language)
                        kiosk.show_downtime(machine)
                        settle(800)
                        saved.append(save(kiosk, f"kiosk-stops-{theme}-{language}"))
                kiosk.unlock_and_close()
                window.unlock_and_close()
                languages.switch("en")
                return saved

            stage_alarms(engine, rewound)
            for theme in THEMES:
                for language in LANGUAGES:
                    window.set_theme(theme)
                    window.set_language(language)
                    saved += shoot_alarms(window, f"{theme}-{language}")
            window.hide()

            # Kiosk mode: full screen, larger fonts and touch targets.
            kiosk_settings = replace(settings, kiosk=True, font_scale=1.0)
            kiosk = MainWindow(bridge, plant, kiosk_settings, languages, save_settings=lambda _s: None)
            kiosk.present()
            for theme in THEMES:
                for language in LANGUAGES:
                    kiosk.set_theme(theme)
                    kiosk.set_language(language)
                    kiosk.show_overview()
                    settle(1500)
                    kiosk.banner._blink_on = True
                    saved.append(save(kiosk, f"kiosk-{theme}-{language}"))
                    kiosk.show_alarms(None, reset=True)
                    settle(800)
                    kiosk.banner._blink_on = True
                    saved.append(save(kiosk, f"kiosk-alarms-{theme}-{language}"))
                    if not only_alarms:  # coding stops with a gloved finger: the kiosk's sizes
                        kiosk.show_downtime(machine)
                        settle(800)
                        kiosk.banner._blink_on = True
                        saved.append(save(kiosk, f"kiosk-stops-{theme}-{language}"))
            kiosk.unlock_and_close()
            window.unlock_and_close()
            languages.switch("en")
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--longest", type=float, default=8.0, help="hours of history at most (from the shift's start)"
    )
    parser.add_argument(
        "--alarms-only", action="store_true", help="only the alarm pictures and kiosk mode (quicker)"
    )
    parser.add_argument(
        "--production-only",
        action="store_true",
        help="only the pictures of stop coding, rejects and reports (quicker)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    _plant_time()
    saved = shoot(args.longest, only_alarms=args.alarms_only, only_production=args.production_only)
    for path in saved:
        print(path.relative_to(ROOT))
    print(f"{len(saved)} pictures in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
