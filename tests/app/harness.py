"""The HMI with a real runtime on its own thread, for pytest-qt tests (no qasync loop needed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from linesight.app.bridge import RuntimeBridge
from linesight.app.main import build_hmi
from linesight.app.settings import HmiSettings
from linesight.app.window import MainWindow
from linesight.domain.plant import PlantConfig
from linesight.domain.users import Role, User, hash_secret
from linesight.runtime.backoff import Backoff
from linesight.runtime.engine import Engine
from linesight.runtime.thread import EngineThread
from linesight.storage import Historian

FAST = Backoff(initial=0.05, factor=2.0, cap=0.2, jitter=0.0)
USERS = {"ana": (Role.OPERATOR, "2468"), "bruno": (Role.SUPERVISOR, "1357"), "carla": (Role.ADMIN, "9753")}


def plant(**extra_machine: Any) -> PlantConfig:
    """Two simulated lines (fast polls) with OEE and an all-day shift, like a small plant."""

    def machine(machine_id: str, profile: str, seed: int, cycle: float) -> dict[str, Any]:
        tags = [
            {"name": "state", "address": "state_code", "type": "int16"},
            {"name": "part_count", "address": "part_count", "type": "uint32"},
            {"name": "reject_count", "address": "reject_count", "type": "uint32"},
            {"name": "energy", "address": "energy_kwh", "unit": "kWh"},
            {"name": "alarm_text", "address": "alarm_text", "type": "string"},
        ]
        signals = {"cnc": ["spindle_speed", "spindle_temp"], "oven": ["zone1_temp", "zone1_setpoint"]}[
            profile
        ]
        tags += [
            {
                "name": name,
                "address": name,
                "unit": "rpm" if "speed" in name else "°C",
                "writable": "setpoint" in name,
            }
            for name in signals
        ]
        return {
            "id": machine_id,
            "name": machine_id.replace("-", " ").title(),
            "driver": "simulator",
            "poll_interval": 0.1,
            "connection": {"profile": profile, "seed": seed, "time_scale": 30},
            "tags": tags,
            "oee": {
                "state": {
                    "from": "state_code",
                    "tag": "state",
                    "map": {1: "running", 2: "idle", 3: "stopped", 4: "setup", 5: "planned_stop"},
                },
                "part_count": "part_count",
                "reject_count": "reject_count",
                "ideal_cycle_time": f"{cycle}s",
            },
            **extra_machine,
        }

    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return PlantConfig.model_validate(
        {
            "id": "test-plant",
            "name": "Fábrica de Testes",
            "calendars": {"day": {"shifts": [{"name": "A", "start": "00:00", "end": "00:00", "days": days}]}},
            "sites": [
                {
                    "id": "sp",
                    "name": "São Paulo",
                    "calendar": "day",
                    "lines": [
                        {
                            "id": "usinagem",
                            "name": "Usinagem",
                            "machines": [machine("cnc-01", "cnc", 1, 45), machine("cnc-02", "cnc", 2, 60)],
                        },
                        {
                            "id": "forno",
                            "name": "Tratamento",
                            "machines": [machine("forno-01", "oven", 3, 20)],
                        },
                    ],
                }
            ],
        }
    )


# Alarm rules for alarm_plant(): a critical and a medium limit on each CNC's spindle temperature, a
# medium limit on the oven's zone 1 and a low-priority discrete alarm on its text (scripted values start
# at 0: no alarm stands until a test sets a value).
ALARM_RULES: dict[str, list[dict[str, Any]]] = {
    "cnc": [
        {
            "id": "spindle-temp",
            "kind": "limit",
            "tag": "spindle_temp",
            "h": 80,
            "hh": {"value": 95, "priority": "critical"},
        }
    ],
    "oven": [
        {"id": "zone1-temp", "kind": "limit", "tag": "zone1_temp", "h": 900},
        {"id": "door", "kind": "discrete", "tag": "alarm_text", "values": ["DOOR OPEN"], "priority": "low"},
    ],
}


def alarm_plant() -> PlantConfig:
    """The test plant on scripted drivers (``factories={"scripted": ScriptedFactory()}``) with alarms."""
    data = plant().model_dump(mode="json", exclude_unset=True)
    for site in data["sites"]:
        for line in site["lines"]:
            for machine in line["machines"]:
                machine["driver"] = "scripted"
                machine["connection"] = {}
                machine["alarms"] = ALARM_RULES["oven" if machine["id"].startswith("forno") else "cnc"]
    return PlantConfig.model_validate(data)


@dataclass
class Hmi:
    window: MainWindow
    bridge: RuntimeBridge
    engine: Engine
    historian: Historian
    runtime: EngineThread


@contextmanager
def running_hmi(
    tmp_path: Path,
    *,
    plant_config: PlantConfig | None = None,
    settings: HmiSettings | None = None,
    factories: Any = None,
    historian: Historian | None = None,
) -> Iterator[Hmi]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    settings = settings or HmiSettings(language="en", idle_logout_s=300)
    own_historian = historian is None
    store = historian or Historian(tmp_path / "hmi.duckdb")
    store.open()
    for name, (role, pin) in USERS.items():
        store.save_user(User(name=name, role=role, secret=hash_secret(pin)))
    engine = Engine(
        plant_config or plant(), historian=store, backoff=FAST, factories=factories, flush_interval=0.2
    )
    saved: list[HmiSettings] = []
    # What run_hmi builds, with fast backoff and scripted drivers; the tests start once the runtime runs.
    built = build_hmi(app, engine, store, settings, save_settings=saved.append)
    try:
        deadline = time.monotonic() + 30
        while not built.runtime.started:
            assert time.monotonic() < deadline, "the runtime did not start"
            time.sleep(0.01)
        yield Hmi(
            window=built.window, bridge=built.bridge, engine=engine, historian=store, runtime=built.runtime
        )
    finally:
        built.window.unlock_and_close()
        built.stop()
        built.window.languages.switch("en")
        # The window goes with its test. Connections to lambdas that name the window would otherwise
        # keep it (and every screen in it) alive, to be repolished by each later test's style sheet:
        # the suite got slower with every test.
        built.window.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.setStyleSheet("")  # the widget tests that follow expect Qt's own look
        if own_historian:
            store.close()


def kiosk_settings() -> HmiSettings:
    return replace(HmiSettings(language="en"), kiosk=True)
