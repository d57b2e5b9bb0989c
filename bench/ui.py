"""HMI responsiveness: live trends, history pan/zoom, and start to the first live value.

Targets:
  live     50 machines x 100 tags at 1 Hz (simulator) in the real runtime thread; the machine screen shows 8
           live trends of 1 h each (3,600 points at 1 Hz): GUI-thread frame time P95 <= 16 ms and GUI-thread
           CPU <= 25 % of one core, over 60 s.
  history  pan and zoom on the 90-day historian of bench/query.py (4 tags, windows of 1 h to 90 d): input
           event to the repaint that shows the re-queried data, P95 <= 100 ms.
  startup  `linesight demo` (the virtual plant in-process): process start to the first live value painted
           on the overview, <= 3 s.

How each figure is measured:
  live     The HMI is wired as run_hmi wires it (runtime on its thread, bridge, MainWindow, qasync loop) with
           the live cache's ring configured to 3,600 points and prefilled with the last hour of the 8
           trended tags (the simulator cannot produce an hour of history in a benchmark). Frame time is
           wall time on the GUI thread from the bridge's trend timer firing (a frame is published) to the
           end of the window's next backing-store paint that repainted the trend (the window's
           UpdateRequest is re-dispatched synchronously inside an event filter, so both ends are exact).
           GUI CPU is time.thread_time() of the GUI thread over the window (psutil's per-thread times
           agree), as % of one core.
  history  Wheel notches and mouse drags are sent to the trend's viewport as QWheelEvent/QMouseEvent; the
           clock starts just before the gesture's first input event (a drag's press, six moves and release
           are sent at once, so all of its steps count) and stops at the end of the first window paint
           after the historian's answer was handed to the plot. The plot waits a short pause
           after the last range change before it queries (its debounce, RANGE_DEBOUNCE_MS): the figure
           is reported with it (what the user waits for) and from the end of the debounce (the query
           and the repaint alone).
  startup  The bench launches a child Python that imports linesight.cli and runs `linesight demo` with a
           fresh historian and settings; an application-wide event filter in the child (nothing in the
           app) stops the clock at the end of the first window paint in which a machine tile showed live
           data: a paint the window's UpdateRequest asks for, or the first one of all, which Qt runs
           inside the window's Expose when it is shown (both are re-dispatched synchronously in the
           filter, so the clock stops when the paint is through). The clock starts in the parent just
           before the child is spawned (CLOCK_MONOTONIC is shared by processes), so interpreter start and
           imports are counted. LineSight's modules are compiled to bytecode first, as an installed
           package or the bundle has them (this sandbox sets PYTHONDONTWRITEBYTECODE, which otherwise
           makes every start compile them again: about 0.3 s).

Run: .venv/bin/python bench/ui.py [live] [history] [startup] [--runs N] [--seconds 60] [--db PATH]
With no part named, all three run. Each run is a fresh process; the figures are the median and the
spread (min-max) over the runs. Offscreen (QT_QPA_PLATFORM=offscreen) unless a platform is set.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

FRAME_P95_MS = 16.0
GUI_CPU_PCT = 25.0
PAN_ZOOM_P95_MS = 100.0
FIRST_VALUE_S = 3.0

LIVE_MACHINES = 50
LIVE_TAGS = 100
LIVE_TRENDS = 8
LIVE_WINDOW_S = 3600  # 1 h at 1 Hz: 3,600 points per trend
HISTORY_TAGS = ("m00.t0", "m01.t1", "m02.t2", "m03.t3")
HISTORY_WINDOWS: tuple[tuple[str, timedelta], ...] = (
    ("1 h", timedelta(hours=1)),
    ("8 h", timedelta(hours=8)),
    ("24 h", timedelta(hours=24)),
    ("7 d", timedelta(days=7)),
    ("30 d", timedelta(days=30)),
    ("90 d", timedelta(days=90)),
)
DEFAULT_DB = BENCH / "out" / "query.duckdb"
RESULT_PREFIX = "@@RESULT "


# ---------------------------------------------------------------------------------------------- helpers


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def verdict(ok: bool) -> str:
    return "pass" if ok else "MISS"


def load_note() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} cores"


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def _emit(result: dict[str, Any]) -> None:
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def _qt_app() -> Any:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    return app


def _paint_meter_class() -> Any:
    """An event filter that times the window's paints exactly: it re-dispatches the top-level window's
    UpdateRequest (which paints every dirty widget into the backing store and flushes it) synchronously
    and notes whether a watched widget was painted inside it."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    class PaintMeter(QObject):
        def __init__(self, window: Any, watched: Any) -> None:
            super().__init__()
            self.window = window
            self.watched = watched
            self.watched_paints = 0
            self.window_paints = 0
            self._inside = False
            self.on_paint: Callable[[float, float, float, bool], None] | None = None
            window.installEventFilter(self)
            watched.installEventFilter(self)

        def eventFilter(self, obj: Any, event: Any) -> bool:
            kind = event.type()
            if kind == QEvent.Type.Paint and obj is self.watched:
                self.watched_paints += 1
                return False
            if kind == QEvent.Type.UpdateRequest and obj is self.window and not self._inside:
                before = self.watched_paints
                start = time.perf_counter()
                self._inside = True
                try:
                    QApplication.sendEvent(obj, event)
                finally:
                    self._inside = False
                end = time.perf_counter()
                self.window_paints += 1
                if self.on_paint is not None:
                    self.on_paint(start, end, time.thread_time(), self.watched_paints > before)
                return True
            return False

    return PaintMeter


def _gui_thread_times() -> dict[int, float]:
    import psutil

    return {t.id: t.user_time + t.system_time for t in psutil.Process().threads()}


# ---------------------------------------------------------------------------------------------- live


def _prefill(live: Any, keys: list[str], seconds: int, now_s: float) -> None:
    """The last ``seconds`` of each key at 1 Hz, as the runtime writes them: one batch a second."""
    import numpy as np

    from linesight.domain.tags import Sample

    rng = np.random.default_rng(7)
    first = int(now_s) - seconds
    t = np.arange(seconds, dtype=np.float64)
    columns = [
        50 + 10 * index + 8 * np.sin(2 * math.pi * t / (600 + 300 * index)) + rng.normal(0, 0.5, seconds)
        for index in range(len(keys))
    ]
    for step in range(seconds):
        ts_us = (first + step) * 1_000_000
        live.update(
            [Sample(key, ts_us, float(column[step])) for key, column in zip(keys, columns, strict=True)]
        )


def child_live(seconds: float, warmup: float) -> dict[str, Any]:
    app = _qt_app()
    import asyncio

    import qasync
    from PySide6.QtCore import Qt

    import linesight.app.screens.machine as machine_screen
    from _plants import synthetic_plant
    from linesight.app.main import build_hmi
    from linesight.app.settings import HmiSettings
    from linesight.runtime.engine import Engine
    from linesight.runtime.live import RING_POINTS
    from linesight.storage import Historian

    settings = HmiSettings()  # a fresh install's: 10 Hz numbers, 30 fps trends, light theme
    plant = synthetic_plant(LIVE_MACHINES, LIVE_TAGS, 1.0)
    machine = plant.machine("m000")
    keys = [spec.key for spec in machine.tag_specs()][:LIVE_TRENDS]
    ring = max(RING_POINTS, LIVE_WINDOW_S)
    # The screen's live window is a module constant (10 min); the bench shows 1 h.
    machine_screen.LIVE_WINDOW_S = LIVE_WINDOW_S

    with tempfile.TemporaryDirectory() as folder:
        historian = Historian(Path(folder) / "live.duckdb")
        historian.open()
        engine = Engine(plant, historian=historian, ring_capacity=ring)
        _prefill(engine.live, keys, LIVE_WINDOW_S, time.time())
        hmi = build_hmi(app, engine, historian, settings)  # as run_hmi builds it
        window, bridge, runtime = hmi.window, hmi.bridge, hmi.runtime
        screen = window.machine
        screen.trend.set_live_window(LIVE_WINDOW_S)
        window.show_machine("m000")
        for row in range(screen.picker.count()):
            item = screen.picker.item(row)
            if item.data(Qt.ItemDataRole.UserRole) in keys:
                item.setCheckState(Qt.CheckState.Checked)
        shown = [spec.key for spec in screen.trend.series()]
        if shown != keys:
            raise SystemExit(f"the machine screen trends {shown}, expected {keys}")

        frames: list[float] = []  # wall ms, trend timer fired -> end of the paint that shows it
        frame_cpu: list[float] = []  # GUI-thread CPU ms over the same stretch
        tick_ms: list[float] = []  # the trend frame's own work: reading rings, setData (frames only)
        wait_ms: list[float] = []  # from the end of that work to the start of the paint that shows it
        paint_ms: list[float] = []  # the window paints that repainted the trend
        other_paint_ms: list[float] = []
        state: dict[str, Any] = {
            "pending": None,
            "recording": False,
            "coalesced": 0,
            "ticks": 0,
            "idle": 0,
            "changed": False,
        }

        def data_changed(*_args: object) -> None:
            state["changed"] = True

        for key in keys:
            screen.trend.curve(key).sigPlotChanged.connect(data_changed)

        def on_tick() -> None:
            start, cpu = time.perf_counter(), time.thread_time()
            before = bridge._trend_version
            state["changed"] = False
            bridge._publish_trend_frame()
            if not state["recording"] or bridge._trend_version == before:
                return
            state["ticks"] += 1
            if not state["changed"]:
                state["idle"] += 1  # the trends' data had not changed: nothing to repaint, no frame
                return
            if state["pending"] is None:
                worked = time.perf_counter()
                tick_ms.append((worked - start) * 1000)
                state["pending"] = (start, cpu, worked)
            else:
                state["coalesced"] += 1  # a second frame before the first was painted: counted from the first

        def on_paint(start: float, end: float, cpu_end: float, trend_painted: bool) -> None:
            if not state["recording"]:
                return
            if not trend_painted:
                other_paint_ms.append((end - start) * 1000)
                return
            paint_ms.append((end - start) * 1000)
            pending = state["pending"]
            if pending is not None:
                frames.append((end - pending[0]) * 1000)
                frame_cpu.append((cpu_end - pending[1]) * 1000)
                wait_ms.append((start - pending[2]) * 1000)
                state["pending"] = None

        bridge._trends.timeout.disconnect(bridge._publish_trend_frame)
        bridge._trends.timeout.connect(on_tick)
        meter = _paint_meter_class()(window, screen.trend._plot.viewport())
        meter.on_paint = on_paint

        result: dict[str, Any] = {}

        async def measure() -> None:
            await asyncio.sleep(warmup)
            gui_id = threading.get_native_id()
            runtime_id = runtime._thread.native_id
            ps_before = _gui_thread_times()
            process_before = time.process_time()
            samples_before = engine.stats().samples_total
            cpu_before, wall_before = time.thread_time(), time.perf_counter()
            paints_before = meter.watched_paints
            state["recording"] = True
            await asyncio.sleep(seconds)
            state["recording"] = False
            wall = time.perf_counter() - wall_before
            cpu = time.thread_time() - cpu_before
            ps_after = _gui_thread_times()
            result.update(
                wall_s=wall,
                gui_cpu_pct=100 * cpu / wall,
                gui_cpu_psutil_pct=100 * (ps_after[gui_id] - ps_before[gui_id]) / wall,
                runtime_cpu_pct=100 * (ps_after.get(runtime_id, 0) - ps_before.get(runtime_id, 0)) / wall,
                process_cpu_pct=100 * (time.process_time() - process_before) / wall,
                samples_per_s=(engine.stats().samples_total - samples_before) / wall,
                trend_paints=meter.watched_paints - paints_before,
                points=[screen.trend.point_count(key) for key in keys],
                visible_s=(lambda r: (r[1] - r[0]) / 1e6)(screen.trend.visible_range_us()),
            )

        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        try:
            with loop:
                loop.run_until_complete(measure())
        finally:
            window.unlock_and_close()
            bridge.stop()
            runtime.stop()
            historian.close()
    result.update(
        ring=ring,
        prefilled_s=LIVE_WINDOW_S,
        frames=len(frames),
        ticks=state["ticks"],
        idle_ticks=state["idle"],
        coalesced=state["coalesced"],
        frame_p50_ms=percentile(frames, 50),
        frame_p95_ms=percentile(frames, 95),
        frame_max_ms=max(frames, default=math.nan),
        frame_cpu_p95_ms=percentile(frame_cpu, 95),
        tick_p50_ms=percentile(tick_ms, 50),
        tick_p95_ms=percentile(tick_ms, 95),
        wait_p50_ms=percentile(wait_ms, 50),
        wait_p95_ms=percentile(wait_ms, 95),
        paint_p50_ms=percentile(paint_ms, 50),
        paint_p95_ms=percentile(paint_ms, 95),
        other_paints=len(other_paint_ms),
        load=load_note(),
    )
    return result


# ---------------------------------------------------------------------------------------------- history


def _history_plant() -> Any:
    """Machines m00..m03 with tags t0..t4: the keys of bench/query.py's historian, polled by the simulator."""
    from linesight.domain.plant import PlantConfig

    signals = ("spindle_speed", "spindle_temp", "spindle_load", "feed_rate", "energy_kwh")
    machines = [
        {
            "id": f"m{index:02d}",
            "driver": "simulator",
            "connection": {"profile": "cnc", "seed": index + 1},
            "poll_interval": 1.0,
            "tags": [{"name": f"t{tag}", "address": signals[tag], "type": "float64"} for tag in range(5)],
        }
        for index in range(4)
    ]
    return PlantConfig.model_validate(
        {"id": "bench-history", "sites": [{"id": "site", "lines": [{"id": "line", "machines": machines}]}]}
    )


def child_history(db: Path, rounds: int, seed: int) -> dict[str, Any]:
    app = _qt_app()
    import asyncio
    import random

    import qasync
    from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
    from PySide6.QtGui import QMouseEvent, QWheelEvent
    from PySide6.QtWidgets import QApplication

    from linesight.app.main import build_hmi
    from linesight.app.settings import HmiSettings
    from linesight.runtime.engine import Engine
    from linesight.storage import Historian
    from query import EPOCH

    class QueryOnlyEngine(Engine):
        """The real runtime (simulated devices, live cache) that writes nothing: the bench historian is
        opened read-only, and only the history screen's queries reach it (retention would delete it)."""

        def __init__(self, plant: Any, store: Historian) -> None:
            super().__init__(plant, historian=None)
            self._store = store

        @property
        def historian(self) -> Any:
            return self._store

    settings = HmiSettings()
    plant = _history_plant()
    historian = Historian(db, read_only=True)
    historian.open()
    hmi = build_hmi(app, QueryOnlyEngine(plant, historian), historian, settings)  # as run_hmi builds it
    window, bridge, runtime = hmi.window, hmi.bridge, hmi.runtime
    screen = window.history
    trend = screen.trend
    viewport = trend._plot.viewport()

    state: dict[str, Any] = {"waiting": None, "queried_at": None, "answered_at": None, "first_paint": None}
    queries: list[float] = []

    def on_queried(_start: int, _end: int, _points: int) -> None:
        state["queried_at"] = time.perf_counter()

    def on_answer(*_args: object) -> None:
        # The last series' curve took the answer (the screen hands the series over in order).
        state["answered_at"] = time.perf_counter()

    def on_paint(_start: float, end: float, _cpu: float, trend_painted: bool) -> None:
        if not trend_painted:
            return
        if state["first_paint"] is None:
            state["first_paint"] = end
        waiting = state["waiting"]
        if waiting is not None and state["answered_at"] is not None and not waiting.done():
            waiting.set_result(end)

    screen.queried.connect(on_queried)
    meter = _paint_meter_class()(window, viewport)
    meter.on_paint = on_paint

    def wheel(notches: int) -> None:
        centre = QPointF(viewport.rect().center())
        event = QWheelEvent(
            centre,
            QPointF(viewport.mapToGlobal(centre.toPoint())),
            QPoint(0, 0),
            QPoint(0, 120 * notches),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(viewport, event)

    def mouse(kind: QEvent.Type, at: QPointF, buttons: Qt.MouseButton) -> None:
        button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
        event = QMouseEvent(
            kind,
            at,
            QPointF(viewport.mapToGlobal(at.toPoint())),
            button,
            buttons,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(viewport, event)

    def drag(dx: int) -> None:
        """A drag sent at once: the press, six moves and the release (the clock starts before the press)."""
        centre = QPointF(viewport.rect().center())
        mouse(QEvent.Type.MouseButtonPress, centre, Qt.MouseButton.LeftButton)
        for step in range(1, 7):
            mouse(QEvent.Type.MouseMove, centre + QPointF(dx * step / 6, 0), Qt.MouseButton.LeftButton)
        mouse(QEvent.Type.MouseButtonRelease, centre + QPointF(dx, 0), Qt.MouseButton.NoButton)

    gestures: list[tuple[str, Callable[[], None]]] = [
        ("zoom in", lambda: wheel(1)),
        ("pan back", lambda: drag(160)),
        ("zoom out", lambda: wheel(-1)),
        ("pan on", lambda: drag(-160)),
    ]
    rows: list[dict[str, Any]] = []

    async def repaint_with_answer() -> float:
        waiting: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        state["waiting"] = waiting
        try:
            return await asyncio.wait_for(waiting, 10.0)
        finally:
            state["waiting"] = None

    def arm() -> None:
        state["queried_at"] = state["answered_at"] = state["first_paint"] = None

    async def run() -> None:
        rng = random.Random(seed)
        while not runtime.started:  # noqa: ASYNC110 - the runtime thread has no event to await
            await asyncio.sleep(0.05)
        window.show_history(list(HISTORY_TAGS))
        trend.curve(HISTORY_TAGS[-1]).sigPlotChanged.connect(on_answer)
        await asyncio.sleep(1.0)
        total_s = int(timedelta(days=90).total_seconds())
        for _round in range(rounds):
            for label, span in HISTORY_WINDOWS:
                width_s = int(span.total_seconds())
                offset = rng.randrange(0, total_s - width_s + 1)
                start = EPOCH + timedelta(seconds=offset)
                arm()
                trend.set_range(int(start.timestamp() * 1e6), int((start + span).timestamp() * 1e6))
                await repaint_with_answer()
                await asyncio.sleep(0.1)
                for name, gesture in gestures:
                    arm()
                    before_queries = len(queries)
                    t_input = time.perf_counter()
                    gesture()
                    end = await repaint_with_answer()
                    queried_at, answered_at = state["queried_at"], state["answered_at"]
                    shown = trend.visible_range_us()
                    rows.append(
                        {
                            "window": label,
                            "gesture": name,
                            "span_s": (shown[1] - shown[0]) / 1e6,
                            "total_ms": (end - t_input) * 1000,
                            "after_debounce_ms": (end - queried_at) * 1000,
                            "query_ms": (answered_at - queried_at) * 1000,
                            "first_paint_ms": (state["first_paint"] - t_input) * 1000,
                            "points": min(trend.point_count(key) for key in HISTORY_TAGS),
                            "queries": len(queries) - before_queries,
                        }
                    )
                    await asyncio.sleep(0.1)

    screen.queried.connect(lambda *_args: queries.append(time.perf_counter()))
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            loop.run_until_complete(run())
    finally:
        window.unlock_and_close()
        bridge.stop()
        runtime.stop()
        historian.close()
    if os.environ.get("LINESIGHT_BENCH_ROWS"):
        for row in rows:
            print(json.dumps(row), file=sys.stderr)
    total = [row["total_ms"] for row in rows]
    after = [row["after_debounce_ms"] for row in rows]
    by_window = {
        label: percentile([row["total_ms"] for row in rows if row["window"] == label], 95)
        for label, _span in HISTORY_WINDOWS
    }
    return {
        "gestures": len(rows),
        "total_p50_ms": percentile(total, 50),
        "total_p95_ms": percentile(total, 95),
        "after_debounce_p50_ms": percentile(after, 50),
        "after_debounce_p95_ms": percentile(after, 95),
        "query_p95_ms": percentile([row["query_ms"] for row in rows], 95),
        "first_paint_p95_ms": percentile([row["first_paint_ms"] for row in rows], 95),
        "min_points": min(row["points"] for row in rows),
        "queries_per_gesture": sorted({row["queries"] for row in rows}),
        "p95_by_window_ms": by_window,
        "load": load_note(),
    }


# ---------------------------------------------------------------------------------------------- startup

_STARTUP_CHILD = r"""
import os, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QWindow
from PySide6.QtWidgets import QApplication

app = QApplication([sys.argv[0]])
from linesight.widgets.tile import MachineTile

class FirstValue(QObject):
    live_tile = False
    done = False
    inside = False

    def eventFilter(self, obj, event):
        kind = event.type()
        if self.done:
            return False
        if kind == QEvent.Type.Paint and isinstance(obj, MachineTile) and not obj.content().no_data:
            self.live_tile = True
        elif not self.inside and (
            (kind == QEvent.Type.UpdateRequest and obj.isWidgetType() and obj.isWindow())
            or (kind == QEvent.Type.Expose and isinstance(obj, QWindow))
        ):
            self.inside = True
            try:
                QApplication.sendEvent(obj, event)
            finally:
                self.inside = False
            if self.live_tile:
                self.done = True
                print("@@FIRST", time.monotonic(), flush=True)
                QTimer.singleShot(300, close_main_window)
            return True
        return False

def close_main_window():
    for widget in QApplication.topLevelWidgets():
        if hasattr(widget, "unlock_and_close"):
            widget.unlock_and_close()

watcher = FirstValue()
app.installEventFilter(watcher)
from linesight.cli import main
sys.exit(main(sys.argv[1:]))
"""


def child_startup_once(timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        env = _child_env()
        env["XDG_CONFIG_HOME"] = str(Path(folder) / "config")  # a fresh install's settings
        env["XDG_DATA_HOME"] = str(Path(folder) / "data")
        command = [
            sys.executable,
            "-c",
            _STARTUP_CHILD,
            "--log-level",
            "warning",
            "demo",
            "--db",
            str(Path(folder) / "demo.duckdb"),
            "--duration",
            str(timeout),
        ]
        started = time.monotonic()
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout + 60)
        first = [line for line in done.stdout.splitlines() if line.startswith("@@FIRST")]
        if not first:
            raise SystemExit(
                f"the demo showed no live value within {timeout} s (exit {done.returncode}):\n"
                + done.stderr[-3000:]
            )
        return {"first_value_s": float(first[0].split()[1]) - started, "exit": done.returncode}


# ---------------------------------------------------------------------------------------------- parent


def _run_child(part: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", part, "--seconds", str(args.seconds)]
    command += ["--warmup", str(args.warmup), "--db", str(args.db), "--rounds", str(args.rounds)]
    command += ["--seed", str(args.seed)]
    if args.profile is not None:
        runs = _run_child.__dict__.setdefault("runs", {})
        runs[part] = runs.get(part, 0) + 1
        command += ["--profile", f"{args.profile}.{part}.{runs[part]}.pstats"]
    done = subprocess.run(command, env=_child_env(), capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-5000:])
        raise SystemExit(f"the {part} run failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return result


def _summary(values: list[float], unit: str, digits: int = 1) -> str:
    median = statistics.median(values)
    runs = " ".join(f"{value:.{digits}f}" for value in values)
    return f"median {median:.{digits}f} {unit} (runs: {runs}; spread {max(values) - min(values):.{digits}f})"


def bench_live(args: argparse.Namespace) -> bool:
    print(
        f"\n== live: {LIVE_MACHINES} machines x {LIVE_TAGS} tags at 1 Hz, machine screen with {LIVE_TRENDS} "
        f"trends of {LIVE_WINDOW_S} s, {args.seconds:g} s per run after {args.warmup:g} s warm-up"
    )
    runs = []
    for number in range(args.runs):
        result = _run_child("live", args)
        runs.append(result)
        print(
            f"  run {number + 1}: frames {result['frames']} (trend ticks {result['ticks']}, of them "
            f"{result['idle_ticks']} without new data; coalesced {result['coalesced']})  "
            f"frame P50 {result['frame_p50_ms']:.1f} P95 {result['frame_p95_ms']:.1f} "
            f"max {result['frame_max_ms']:.1f} ms  (frame CPU P95 {result['frame_cpu_p95_ms']:.1f} ms; "
            f"frame's data work P50/P95 {result['tick_p50_ms']:.1f}/{result['tick_p95_ms']:.1f} ms, "
            f"then waiting for the paint {result['wait_p50_ms']:.1f}/{result['wait_p95_ms']:.1f} ms, "
            f"paint {result['paint_p50_ms']:.1f}/{result['paint_p95_ms']:.1f} ms)\n"
            f"         GUI CPU {result['gui_cpu_pct']:.1f} % (psutil {result['gui_cpu_psutil_pct']:.1f} %)  "
            f"runtime thread {result['runtime_cpu_pct']:.1f} %  process {result['process_cpu_pct']:.1f} %  "
            f"samples/s {result['samples_per_s']:.0f}  trend paints {result['trend_paints']} "
            f"(+{result['other_paints']} other window paints)\n"
            f"         points per trend {result['points']}  visible {result['visible_s']:.0f} s  "
            f"ring {result['ring']} points, prefilled with {result['prefilled_s']} s  [{result['load']}]",
            flush=True,
        )
    p95 = [r["frame_p95_ms"] for r in runs]
    cpu = [r["gui_cpu_pct"] for r in runs]
    frame_ok = statistics.median(p95) <= FRAME_P95_MS
    cpu_ok = statistics.median(cpu) <= GUI_CPU_PCT
    print(
        "  live cache ring configured to 3600 points for the bench (the default is 600) and prefilled with "
        "the last hour of the 8 trended tags"
    )
    print(
        f"RESULT live frame time P95  {_summary(p95, 'ms')}  target <= {FRAME_P95_MS:g} ms  "
        f"{verdict(frame_ok)}"
    )
    print(f"RESULT live GUI-thread CPU  {_summary(cpu, '%')}  target <= {GUI_CPU_PCT:g} %  {verdict(cpu_ok)}")
    return frame_ok and cpu_ok


def bench_history(args: argparse.Namespace) -> bool:
    from linesight.widgets.trend import RANGE_DEBOUNCE_MS

    if not args.db.exists():
        from query import build, tag_names

        print(f"building {args.db} (a few minutes; kept for later runs)")
        args.db.parent.mkdir(parents=True, exist_ok=True)
        build(args.db, 90, tag_names(20), None, args.seed)
    print(
        f"\n== history: {len(HISTORY_TAGS)} tags on {args.db}, windows 1 h .. 90 d, "
        f"{args.rounds} rounds of wheel/drag gestures per run"
    )
    runs = []
    for number in range(args.runs):
        result = _run_child("history", args)
        runs.append(result)
        windows = "  ".join(f"{k} {v:.0f}" for k, v in result["p95_by_window_ms"].items())
        print(
            f"  run {number + 1}: {result['gestures']} gestures  "
            f"input->repaint P50 {result['total_p50_ms']:.0f} "
            f"P95 {result['total_p95_ms']:.0f} ms  |  after the {RANGE_DEBOUNCE_MS} ms debounce P50 "
            f"{result['after_debounce_p50_ms']:.0f} P95 {result['after_debounce_p95_ms']:.0f} ms  "
            f"(query P95 {result['query_p95_ms']:.0f} ms; first repaint of the moved view P95 "
            f"{result['first_paint_p95_ms']:.0f} ms)\n"
            f"         P95 by window (with debounce) ms: {windows}  min points {result['min_points']}  "
            f"queries per gesture {result['queries_per_gesture']}  [{result['load']}]",
            flush=True,
        )
    total = [r["total_p95_ms"] for r in runs]
    after = [r["after_debounce_p95_ms"] for r in runs]
    total_ok = statistics.median(total) <= PAN_ZOOM_P95_MS
    after_ok = statistics.median(after) <= PAN_ZOOM_P95_MS
    print(
        f"RESULT history input->repaint P95 incl. {RANGE_DEBOUNCE_MS} ms debounce  "
        f"{_summary(total, 'ms', 0)}  "
        f"target <= {PAN_ZOOM_P95_MS:g} ms  {verdict(total_ok)}"
    )
    print(
        f"RESULT history input->repaint P95 excl. debounce  {_summary(after, 'ms', 0)}  "
        f"target <= {PAN_ZOOM_P95_MS:g} ms  {verdict(after_ok)}"
    )
    return total_ok


def compile_linesight() -> None:
    """Write LineSight's bytecode, as installing the package (or building the bundle) does."""
    import compileall

    import linesight

    folder = Path(linesight.__file__).parent
    if not compileall.compile_dir(str(folder), quiet=1):
        raise SystemExit(f"could not compile {folder}")
    print(f"  bytecode of {folder} written (as an install has it)", flush=True)


def bench_startup(args: argparse.Namespace) -> bool:
    print(f"\n== startup: `linesight demo` to the first live value on the overview, {args.runs + 1} runs")
    compile_linesight()
    values = []
    for number in range(args.runs + 1):
        result = child_startup_once(timeout=30.0)
        values.append(result["first_value_s"])
        print(f"  run {number + 1}: {result['first_value_s']:.2f} s  [{load_note()}]", flush=True)
    ok = statistics.median(values) <= FIRST_VALUE_S
    print(
        f"RESULT startup first live value  {_summary(values, 's', 2)}  target <= {FIRST_VALUE_S:g} s  "
        f"{verdict(ok)}"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("parts", nargs="*", metavar="part", help="live, history, startup (default: all)")
    parser.add_argument("--runs", type=int, default=2, help="fresh processes per figure (startup: one more)")
    parser.add_argument("--seconds", type=float, default=60.0, help="live: measured seconds per run")
    parser.add_argument("--warmup", type=float, default=5.0, help="live: seconds before measuring")
    parser.add_argument("--rounds", type=int, default=3, help="history: passes over the windows per run")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help="the 90-day historian of bench/query.py")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--profile", type=Path, help="cProfile the GUI thread of each run into PATH.<part>.<run>.pstats"
    )
    parser.add_argument("--child", choices=["live", "history"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        run = {"live": lambda: child_live(args.seconds, args.warmup)}
        run["history"] = lambda: child_history(args.db, args.rounds, args.seed)
        if args.profile is None:
            _emit(run[args.child]())
            return
        import cProfile

        profiler = cProfile.Profile()  # the GUI thread only: the runtime thread is not profiled
        result = profiler.runcall(run[args.child])
        profiler.dump_stats(args.profile)
        _emit(result)
        return
    parts = args.parts or ["live", "history", "startup"]
    unknown = sorted(set(parts) - {"live", "history", "startup"})
    if unknown:
        parser.error(f"unknown part(s) {unknown}: choose from live, history, startup")
    print(f"bench/ui.py: {', '.join(parts)}; {load_note()}")
    results = []
    for part in parts:
        results.append({"live": bench_live, "history": bench_history, "startup": bench_startup}[part](args))
    print(f"\nRESULT {'PASS' if all(results) else 'FAIL'}   [{load_note()}]")


if __name__ == "__main__":
    main()
