"""L2, one machine: its state and the shift's timeline, OEE and its factors, counters, live trends of
chosen tags, every tag's current value (with a write for setpoints), and the machine's alarms."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from linesight.app.bridge import RuntimeBridge
from linesight.app.notice import notice
from linesight.app.screens.downtime import uncoded_stops
from linesight.domain.alarm_types import STANDING, UNACKNOWLEDGED
from linesight.domain.machine import MachineState
from linesight.domain.plant import MachineConfig, PlantConfig
from linesight.domain.state import rule_tags
from linesight.domain.tags import DataType, Quality, Sample, TagSpec
from linesight.runtime.alarms import AlarmSnapshot
from linesight.runtime.machines import MachineStatus
from linesight.storage import Historian
from linesight.widgets.flow import FlowLayout
from linesight.widgets.gauge import OeeGauge
from linesight.widgets.keypad import NumericKeypad
from linesight.widgets.palette import LIGHT, Palette
from linesight.widgets.polish import repolish, set_flag
from linesight.widgets.texts import (
    alarm_message,
    alarm_state_name,
    clock_time,
    duration_text,
    number,
    priority_name,
    state_name,
    translate,
)
from linesight.widgets.timeline import StateTimeline
from linesight.widgets.trend import SeriesSpec, TrendPlot

LIVE_WINDOW_S = 600
MAX_TRENDS = 8


class MachineScreen(QWidget):
    backRequested = Signal()
    historyRequested = Signal(list)  # tag keys
    writeRequested = Signal(str, str, float)  # machine id, tag name, value
    codeStopsRequested = Signal(str)  # machine id
    rejectsRequested = Signal(str)  # machine id
    alarmsRequested = Signal(str)  # machine id: the alarm list of this machine

    def __init__(self, bridge: RuntimeBridge, plant: PlantConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MachineScreen")
        self._bridge = bridge
        self._plant = plant
        self._machine: MachineConfig | None = None
        self._specs: list[TagSpec] = []
        self._trended: list[str] = []
        self._rows: dict[str, int] = {}
        self._shown: dict[int, str] = {}  # the text each value cell shows now
        self._trend_newest: tuple[int | None, ...] = ()  # the newest sample of each trended tag, drawn
        # The last minutes of each trended tag from the historian, older than what the live ring holds
        # (the ring fills only from the moment the runtime started): (UTC µs, values).
        self._earlier: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._earlier_ticket = 0

        self.back = QPushButton()
        self.back.setProperty("role", "nav")
        self.back.clicked.connect(self.backRequested)
        self.title = QLabel()
        self.title.setProperty("role", "title")
        self.state = QLabel()
        self.since = QLabel()
        self.since.setProperty("role", "muted")
        self.history = QPushButton()
        self.history.clicked.connect(lambda: self.historyRequested.emit(self._history_tags()))
        # Stops still to code are the operator's to do: the button counts them, amber while any is left.
        self.code_stops = QPushButton()
        self.code_stops.clicked.connect(
            lambda: self._machine and self.codeStopsRequested.emit(self._machine.id)
        )
        self.enter_rejects = QPushButton()
        self.enter_rejects.clicked.connect(
            lambda: self._machine and self.rejectsRequested.emit(self._machine.id)
        )
        self._uncoded = 0
        self._room: int | None = None  # the width the window has for this screen (fit_width)
        identity = QHBoxLayout()
        identity.addWidget(self.back)
        identity.addSpacing(12)
        identity.addWidget(self.title)
        identity.addSpacing(16)
        identity.addWidget(self.state, 0, Qt.AlignmentFlag.AlignVCenter)
        identity.addWidget(self.since, 0, Qt.AlignmentFlag.AlignVCenter)
        identity.addStretch(1)
        # The actions keep their labels: beside the machine's name where there is room, else on a row
        # of their own under it (fit_width), and over two rows if even that is too narrow.
        self._actions = actions = FlowLayout(spacing=6, whole_items=True, align_right=True)
        for button in (self.code_stops, self.enter_rejects, self.history):
            actions.addWidget(button)
        self._header = header = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        header.addLayout(identity, 1)
        header.addLayout(actions)

        self.gauges = {name: OeeGauge() for name in ("oee", "availability", "performance", "quality")}
        gauges = QHBoxLayout()
        for gauge in self.gauges.values():
            gauge.setMinimumSize(150, 150)
            gauges.addWidget(gauge)
        self.counter_labels: dict[str, QLabel] = {}
        self.counter_values: dict[str, QLabel] = {}
        counters = QGridLayout()
        for row, name in enumerate(("parts", "good", "rejects", "micro_stops")):
            caption, value = QLabel(), QLabel()
            caption.setProperty("role", "muted")
            value.setProperty("role", "title")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            counters.addWidget(caption, row, 0)
            counters.addWidget(value, row, 1)
            self.counter_labels[name], self.counter_values[name] = caption, value
        self.timeline = StateTimeline()
        self.timeline.setMinimumHeight(70)
        summary = QFrame()
        summary.setProperty("role", "panel")
        summary_layout = QGridLayout(summary)
        summary_layout.addLayout(gauges, 0, 0)
        summary_layout.addLayout(counters, 0, 1)
        summary_layout.addWidget(self.timeline, 1, 0, 1, 2)
        summary_layout.setColumnStretch(0, 3)
        summary_layout.setColumnStretch(1, 1)

        self.trend = TrendPlot()
        self.trend.set_live_window(LIVE_WINDOW_S)
        self.picker = QListWidget()
        self.picker.setMaximumWidth(240)
        self.picker.itemChanged.connect(self._picked)
        trends = QSplitter()
        trends.addWidget(self.picker)
        trends.addWidget(self.trend)
        trends.setStretchFactor(1, 1)

        self.values = QTableWidget(0, 4)
        self.values.verticalHeader().setVisible(False)
        self.values.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.values.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.values.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):  # a value, its unit and the Write button are never cut
            self.values.horizontalHeader().setSectionResizeMode(
                column, QHeaderView.ResizeMode.ResizeToContents
            )
        # The machine's alarms from the alarm service (most urgent first); a tap opens the alarm list.
        self.alarms = QListWidget()
        self.alarms.setMaximumHeight(200)
        self.alarms.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.alarms.setWordWrap(True)  # two lines an alarm: priority and state, then the message
        self.alarms.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.alarms.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.alarms.itemClicked.connect(lambda _item: self._open_alarms())
        self.alarms_title = QLabel()
        self.alarms_title.setProperty("role", "subtitle")
        self.alarms_open = QPushButton()
        self.alarms_open.clicked.connect(self._open_alarms)
        self._alarm_snapshot: AlarmSnapshot | None = None
        self._alarm_palette: Palette = LIGHT
        alarms_head = QHBoxLayout()
        alarms_head.addWidget(self.alarms_title, 1)
        alarms_head.addWidget(self.alarms_open)
        side = QVBoxLayout()
        side.addWidget(self.values, 1)
        side.addLayout(alarms_head)
        side.addWidget(self.alarms)

        # Side by side where there is room; on a narrow panel the values and alarms go under the trends
        # (fit_width), and the screen scrolls down rather than squeeze the gauges and buttons.
        self._body = body = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self._left = left = QVBoxLayout()
        left.addWidget(summary)
        left.addWidget(trends, 1)
        self._side = side
        body.addLayout(left, 3)
        body.addLayout(side, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 12)
        layout.addLayout(header)
        layout.addLayout(body, 1)
        self._retranslate()
        bridge.valuesChanged.connect(self.show_values)
        bridge.statusChanged.connect(self.show_statuses)
        bridge.trendTick.connect(self.refresh_trends)
        bridge.alarmsChanged.connect(self.show_alarms)

    # ------------------------------------------------------------------ which machine

    @property
    def machine_id(self) -> str | None:
        return self._machine.id if self._machine else None

    def set_machine(self, machine_id: str) -> None:
        self._machine = self._plant.machine(machine_id)
        self._specs = self._machine.tag_specs()
        self.title.setText(self._machine.title)
        self._refit()
        numeric = [spec for spec in self._specs if spec.data_type not in (DataType.STRING, DataType.BOOL)]
        self._trended = [spec.key for spec in default_trends(self._machine, numeric)]
        self.picker.blockSignals(True)
        self.picker.clear()
        for spec in numeric:
            item = QListWidgetItem(f"{spec.name} ({spec.unit})" if spec.unit else spec.name)
            item.setData(Qt.ItemDataRole.UserRole, spec.key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if spec.key in self._trended else Qt.CheckState.Unchecked
            )
            self.picker.addItem(item)
        self.picker.blockSignals(False)
        self._set_series()
        self.values.setRowCount(len(self._specs))
        self._rows = {}
        for row, spec in enumerate(self._specs):
            self._rows[spec.key] = row
            self.values.setItem(row, 0, QTableWidgetItem(spec.name))
            value = QTableWidgetItem("—")
            value.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.values.setItem(row, 1, value)
            self.values.setItem(row, 2, QTableWidgetItem(spec.unit))
            if spec.writable and spec.data_type is not DataType.STRING:
                button = QPushButton(self.tr("Write…"))
                button.setProperty("tag", spec.name)
                button.clicked.connect(lambda _checked=False, s=spec: self._ask_value(s))
                self.values.setCellWidget(row, 3, button)
        self.values.resizeRowsToContents()
        self.show_alarms(self._bridge.alarms)
        self._shown = {}
        self.show_values(self._bridge.engine.live.snapshot())
        self.show_statuses([self._bridge.status(machine_id)])
        self._earlier = {}
        self._load_earlier(self._trended)
        self.refresh_trends(force=True)

    def _history_tags(self) -> list[str]:
        return list(self._trended)

    def _picked(self, item: QListWidgetItem) -> None:
        key = str(item.data(Qt.ItemDataRole.UserRole))
        if item.checkState() == Qt.CheckState.Checked and key not in self._trended:
            if len(self._trended) >= MAX_TRENDS:
                item.setCheckState(Qt.CheckState.Unchecked)
                return
            self._trended.append(key)
            self._load_earlier([key])
        elif item.checkState() != Qt.CheckState.Checked and key in self._trended:
            self._trended.remove(key)
        self._set_series()
        self.refresh_trends(force=True)

    def _set_series(self) -> None:
        specs = {spec.key: spec for spec in self._specs}
        self.trend.set_series(
            [
                SeriesSpec(key=key, label=specs[key].name, unit=specs[key].unit, colour_index=index)
                for index, key in enumerate(self._trended)
            ]
        )

    # ------------------------------------------------------------------ live data

    def _load_earlier(self, keys: Sequence[str]) -> None:
        """Fetch the live window's samples from the historian, so that a trend opened just after a
        start shows the last minutes at once rather than an empty plot that fills slowly."""
        historian = self._bridge.engine.historian
        if not keys or not isinstance(historian, Historian):
            return
        end = datetime.now(UTC)
        start = end - timedelta(seconds=LIVE_WINDOW_S)
        wanted = list(keys)
        self._earlier_ticket += 1
        ticket, machine = self._earlier_ticket, self.machine_id

        async def read() -> list[Sample]:
            return await asyncio.to_thread(historian.samples, wanted, start, end)

        def show(result: object) -> None:
            if machine != self.machine_id or not isinstance(result, list):
                return  # another machine is shown by now
            points: dict[str, list[tuple[int, float]]] = {key: [] for key in wanted}
            for sample in result:  # one pass: the samples of all keys come in time order
                if sample.numeric is not None and sample.tag in points:
                    points[sample.tag].append((sample.ts_us, sample.numeric))
            for key, pairs in points.items():
                self._earlier[key] = (
                    np.array([ts for ts, _value in pairs], dtype=np.int64),
                    np.array([value for _ts, value in pairs], dtype=np.float64),
                )
            if ticket == self._earlier_ticket:
                self.refresh_trends(force=True)

        self._bridge.submit(read, done=show)

    def refresh_trends(self, *, force: bool = False) -> None:
        """Hand the trend the rings of the trended tags; a frame in which none of them got a sample
        (the live cache changes with every tag of the plant) costs a lookup per tag, not a copy."""
        if self._machine is None or not self.isVisible():
            return
        live = self._bridge.engine.live
        newest = tuple(getattr(live.latest(key), "ts_us", None) for key in self._trended)
        if not force and newest == self._trend_newest:
            return
        self._trend_newest = newest
        since = int((time.time() - LIVE_WINDOW_S) * 1_000_000)
        for key in self._trended:
            ts, values = live.trend(key, since_us=since)
            earlier = self._earlier.get(key)
            if earlier is not None and earlier[0].size:
                first = ts[0] if ts.size else np.iinfo(np.int64).max
                keep = (earlier[0] >= since) & (earlier[0] < first)
                ts = np.concatenate((earlier[0][keep], ts))
                values = np.concatenate((earlier[1][keep], values))
            self.trend.show_live(key, ts, values)

    def show_values(self, snapshot: Mapping[str, Sample]) -> None:
        if self._machine is None:
            return
        for key, row in self._rows.items():
            sample = snapshot.get(key)
            item = self.values.item(row, 1)
            if item is None:
                continue
            if sample is None or sample.quality is Quality.BAD or sample.value is None:
                text = self.tr("no data")
            elif isinstance(sample.value, bool):
                text = self.tr("on") if sample.value else self.tr("off")
            elif isinstance(sample.value, str):
                text = sample.value
            else:
                text = number(sample.value, 0 if isinstance(sample.value, int) else 2)
            if self._shown.get(row) != text:  # 10 times a second: only the cells that changed
                self._shown[row] = text
                item.setText(text)

    # ------------------------------------------------------------------ alarms

    def show_alarms(self, snapshot: AlarmSnapshot | None) -> None:
        """The machine's alarms not in normal: priority (its colour and name), time, message, state."""
        self._alarm_snapshot = snapshot
        if self._machine is None:
            return
        machine = self._machine.id
        mine = [a for a in snapshot.alarms if a.machine == machine] if snapshot is not None else []
        self.alarms.clear()
        if not mine:
            empty = QListWidgetItem(translate("MachineScreen", "No active alarms on this machine"))
            empty.setForeground(QColor(self._alarm_palette.text_muted))
            self.alarms.addItem(empty)
            return
        now = snapshot.taken_at if snapshot is not None else None
        for alarm in mine:
            standing = alarm.state in STANDING
            when = clock_time(alarm.raised_at or alarm.since, now)
            head = f"{when}  {priority_name(alarm.priority)} · {alarm_state_name(alarm.state)}"
            text = f"{head}\n{alarm_message(alarm.message, alarm.machine_name)}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, alarm.alarm_id)
            if standing:  # a solid square in the priority's colour; hidden alarms get none
                swatch = QPixmap(18, 18)
                swatch.fill(QColor(self._alarm_palette.alarm_colour(alarm.priority)))
                item.setIcon(QIcon(swatch))
            else:
                item.setForeground(QColor(self._alarm_palette.text_muted))
            if alarm.state in UNACKNOWLEDGED:
                font = QFont(self.alarms.font())
                font.setBold(True)
                item.setFont(font)
            self.alarms.addItem(item)

    def _open_alarms(self) -> None:
        if self._machine is not None:
            self.alarmsRequested.emit(self._machine.id)

    def show_statuses(self, statuses: Sequence[MachineStatus]) -> None:
        status = next((s for s in statuses if s.machine == self.machine_id), None)
        if status is None:
            return
        now = datetime.now(UTC)
        self.state.setText(state_name(status.state))
        self.state.setProperty("state", status.state.value)
        repolish(self.state)
        if status.since is not None and status.state is not MachineState.UNKNOWN:
            self.since.setText(self.tr("for %1").replace("%1", duration_text(now - status.since)))
        else:
            self.since.setText("")
        self._refit()  # "Producing for 59 min" is wider than "Idle for 3 s"
        oee = status.oee
        self.gauges["oee"].set_value(oee.oee if oee else None)
        self.gauges["availability"].set_value(oee.availability if oee else None)
        self.gauges["performance"].set_value(oee.performance if oee else None)
        self.gauges["quality"].set_value(oee.quality if oee else None)
        good = None if status.parts is None else status.parts - (status.rejects or 0)
        self.counter_values["parts"].setText(number(status.parts))
        self.counter_values["good"].setText(number(good))
        self.counter_values["rejects"].setText(number(status.rejects))
        self.counter_values["micro_stops"].setText(number(oee.micro_stops if oee else None))
        self.timeline.set_shift(status.shift)
        self.timeline.set_spans(status.timeline, now)
        threshold = self._machine.oee.micro_stop_threshold if self._machine and self._machine.oee else 0.0
        self._show_uncoded(uncoded_stops(status, threshold))

    def _show_uncoded(self, count: int) -> None:
        self._uncoded = count
        if count:
            self.code_stops.setText(translate("MachineScreen", "Code stops (%1)").replace("%1", str(count)))
        else:
            self.code_stops.setText(translate("MachineScreen", "Code stops"))
        set_flag(self.code_stops, "attention", bool(count))

    # ------------------------------------------------------------------ setpoints

    def _ask_value(self, spec: TagSpec) -> None:
        if self._machine is None:
            return
        latest = self._bridge.engine.live.latest(spec.key)
        current = latest.value if latest is not None and isinstance(latest.value, int | float) else None
        value = NumericKeypad.ask(
            self,
            title=self.tr("New value for %1").replace("%1", spec.name),
            value=None if current is None else float(current),
            decimals=0 if spec.data_type.is_integer or spec.data_type is DataType.BOOL else 2,
            unit=spec.unit,
        )
        if value is not None:
            self.writeRequested.emit(self._machine.id, spec.name, float(value))

    def show_write_result(self, ok: bool, message: str) -> None:
        if not ok:
            notice(self, self.tr("Not written"), message)

    # ------------------------------------------------------------------ look and language

    def apply_palette(self, palette: Palette) -> None:
        for gauge in self.gauges.values():
            gauge.apply_palette(palette)
        self.timeline.apply_palette(palette)
        self.trend.apply_palette(palette)
        self._alarm_palette = palette
        self.show_alarms(self._alarm_snapshot)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def _refit(self) -> None:
        if self._room is not None:  # after a change of texts: the header may need another row now
            self.fit_width(self._room)

    def fit_width(self, width: int) -> None:
        """Values and alarms beside the trends when ``width`` (what the window has for the screen)
        holds both, else under them; the actions beside the machine's name, else under it."""
        self._room = width
        spacing = max(self._body.spacing(), 0)
        outer = self.layout()
        assert outer is not None
        margins = outer.contentsMargins()
        beside = (
            self._left.minimumSize().width()
            + spacing
            + self._side.minimumSize().width()
            + margins.left()
            + margins.right()
        )
        # From the widgets' own hints: the layout's cached one lags behind a text that just changed.
        named = (self.back, self.title, self.state, self.since)
        identity = sum(w.sizeHint().width() for w in named) + 12 + 16 + spacing * len(named)
        one_row = identity + spacing + self._actions.sizeHint().width()
        room = width - margins.left() - margins.right()
        for box, wide in ((self._body, beside <= width), (self._header, one_row <= room)):
            direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
            if box.direction() != direction:
                box.setDirection(direction)

    def _retranslate(self) -> None:
        self._shown = {}  # "no data", "on", numbers: all in the new language on the next update
        self.back.setText(self.tr("◀ Overview"))
        self.history.setText(self.tr("History ▶"))
        self.enter_rejects.setText(translate("MachineScreen", "Enter rejects…"))
        self._show_uncoded(self._uncoded)
        self.gauges["oee"].set_caption(self.tr("OEE"))
        self.gauges["availability"].set_caption(self.tr("Availability"))
        self.gauges["performance"].set_caption(self.tr("Performance"))
        self.gauges["quality"].set_caption(self.tr("Quality"))
        self.counter_labels["parts"].setText(self.tr("Parts this shift"))
        self.counter_labels["good"].setText(self.tr("Good"))
        self.counter_labels["rejects"].setText(self.tr("Rejects"))
        self.counter_labels["micro_stops"].setText(self.tr("Micro-stops"))
        self.values.setHorizontalHeaderLabels([self.tr("Tag"), self.tr("Value"), self.tr("Unit"), ""])
        self.alarms_title.setText(translate("MachineScreen", "Alarms of this machine"))
        self.alarms_open.setText(translate("MachineScreen", "Alarms ▶"))
        self.show_alarms(self._alarm_snapshot)
        for row in range(self.values.rowCount()):
            button = self.values.cellWidget(row, 3)
            if isinstance(button, QPushButton):
                button.setText(self.tr("Write…"))
        self._refit()
        if self._machine is not None:
            self.show_statuses([self._bridge.status(self._machine.id)])


def default_trends(machine: MachineConfig, numeric: Sequence[TagSpec], most: int = 4) -> list[TagSpec]:
    """The tags a machine screen trends at first: process values, not the state code or the counters
    the OEE reads (a part count of 60 000 on one axis with a temperature would flatten it)."""
    bookkeeping: set[str] = set()
    if machine.oee is not None:
        bookkeeping.update(rule_tags(machine.oee.state))
        oee = machine.oee
        bookkeeping.update(name for name in (oee.part_count, oee.reject_count, oee.good_count) if name)
    process = [spec for spec in numeric if spec.name not in bookkeeping and not spec.data_type.is_integer]
    return (process or list(numeric))[:most]
