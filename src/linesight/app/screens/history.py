"""History: chosen tags over 1 h to 30 d or any window; zoom and pan re-query the historian at screen
resolution, each point with its min/max envelope so that no spike hides; export and snapshot."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QDateTime, QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from linesight.app.bridge import RuntimeBridge
from linesight.domain.plant import PlantConfig
from linesight.domain.tags import DataType
from linesight.storage import Historian, TrendSeries
from linesight.storage.resolution import Resolution
from linesight.widgets import texts
from linesight.widgets.flow import FlowLayout
from linesight.widgets.palette import Palette
from linesight.widgets.trend import SeriesSpec, TrendPlot

PRESETS = (
    ("1 h", timedelta(hours=1)),
    ("8 h", timedelta(hours=8)),
    ("24 h", timedelta(hours=24)),
    ("7 d", timedelta(days=7)),
    ("30 d", timedelta(days=30)),
)
MAX_TAGS = 8


def _python(moment: QDateTime) -> datetime:
    """A QDateTime (local time in the editors) as an aware UTC datetime."""
    return datetime.fromtimestamp(moment.toMSecsSinceEpoch() / 1000, UTC)


class HistoryScreen(QWidget):
    queried = Signal("qlonglong", "qlonglong", int)  # type: ignore[arg-type]  # start µs, end µs, points

    def __init__(self, bridge: RuntimeBridge, plant: PlantConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("HistoryScreen")
        self._bridge = bridge
        self._plant = plant
        self._units = {spec.key: spec.unit for spec in plant.tag_specs()}
        self._chosen: list[str] = []
        self._window = (datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC))
        self._in_flight = False
        self._again: int | None = None  # the plot width of a query asked for while one was running

        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setMinimumWidth(260)
        self.tree.setMaximumWidth(340)
        for _site, _line, machine in plant.machines():
            parent_item = QTreeWidgetItem([machine.title])
            for spec in machine.tag_specs():
                if spec.data_type is DataType.STRING:
                    continue
                child = QTreeWidgetItem([f"{spec.name} ({spec.unit})" if spec.unit else spec.name])
                child.setData(0, Qt.ItemDataRole.UserRole, spec.key)
                child.setFlags(child.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                child.setCheckState(0, Qt.CheckState.Unchecked)
                parent_item.addChild(child)
            self.tree.addTopLevelItem(parent_item)
        self.tree.itemChanged.connect(self._picked)

        self.preset_buttons: list[QPushButton] = []
        presets = FlowLayout(spacing=6, whole_items=True)  # on to a second row where it must
        for label, span in PRESETS:
            button = QPushButton(label)
            button.setCheckable(True)
            button.clicked.connect(lambda _checked=False, s=span, b=button: self._preset(s, b))
            self.preset_buttons.append(button)
            presets.addWidget(button)
        self.start_edit = QDateTimeEdit()
        self.end_edit = QDateTimeEdit()
        for edit in (self.start_edit, self.end_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd/MM/yyyy HH:mm")
        self.apply = QPushButton()
        self.apply.clicked.connect(self._custom)
        presets.addWidget(self.start_edit)
        presets.addWidget(self.end_edit)
        presets.addWidget(self.apply)
        # Exports sit under the trend, beside the line that says what it shows: the row above keeps
        # room for the presets and the range, whose texts must never be cut.
        self.export_csv = QPushButton()
        self.export_csv.clicked.connect(lambda: self._export("csv"))
        self.export_parquet = QPushButton()
        self.export_parquet.clicked.connect(lambda: self._export("parquet"))
        self.snapshot = QPushButton()
        self.snapshot.clicked.connect(self._snapshot)
        self.info = QLabel()
        self.info.setProperty("role", "muted")
        below = QHBoxLayout()
        below.addWidget(self.info, 1)
        below.addWidget(self.export_csv)
        below.addWidget(self.export_parquet)
        below.addWidget(self.snapshot)

        self.trend = TrendPlot()
        self.trend.rangeChanged.connect(self._zoomed)
        split = QSplitter()
        split.addWidget(self.tree)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(presets)
        right_layout.addWidget(self.trend, 1)
        right_layout.addLayout(below)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 12)
        layout.addWidget(split)
        self._retranslate()
        self._show_window()

    # ------------------------------------------------------------------ what and when

    def choose(self, keys: Sequence[str]) -> None:
        """Show these tags (the machine screen's history button): ticks them in the tree and queries."""
        wanted = list(keys)[:MAX_TAGS]
        self.tree.blockSignals(True)
        for index in range(self.tree.topLevelItemCount()):
            machine = self.tree.topLevelItem(index)
            if machine is None:
                continue
            for child_index in range(machine.childCount()):
                child = machine.child(child_index)
                if child is None:
                    continue
                key = child.data(0, Qt.ItemDataRole.UserRole)
                child.setCheckState(0, Qt.CheckState.Checked if key in wanted else Qt.CheckState.Unchecked)
                if key in wanted:
                    machine.setExpanded(True)
        self.tree.blockSignals(False)
        self._chosen = wanted
        self._set_series()
        self.query()

    def _picked(self, item: QTreeWidgetItem, _column: int) -> None:
        key = item.data(0, Qt.ItemDataRole.UserRole)
        if key is None:
            return
        if item.checkState(0) == Qt.CheckState.Checked and key not in self._chosen:
            if len(self._chosen) >= MAX_TAGS:
                item.setCheckState(0, Qt.CheckState.Unchecked)
                return
            self._chosen.append(str(key))
        elif item.checkState(0) != Qt.CheckState.Checked and key in self._chosen:
            self._chosen.remove(str(key))
        self._set_series()
        self.query()

    def _set_series(self) -> None:
        self.trend.set_series(
            [
                SeriesSpec(key=key, label=key, unit=self._units.get(key, ""), colour_index=index)
                for index, key in enumerate(self._chosen)
            ]
        )

    def _preset(self, span: timedelta, pressed: QPushButton) -> None:
        for button in self.preset_buttons:
            button.setChecked(button is pressed)
        end = datetime.now(UTC)
        self._window = (end - span, end)
        self._show_window()
        self.query()

    def _custom(self) -> None:
        start = _python(self.start_edit.dateTime())
        end = _python(self.end_edit.dateTime())
        if end <= start:
            self.info.setText(self.tr("The end must be after the start."))
            return
        for button in self.preset_buttons:
            button.setChecked(False)
        self._window = (start.astimezone(UTC), end.astimezone(UTC))
        self.query()

    def _show_window(self) -> None:
        start, end = self._window
        self.start_edit.setDateTime(QDateTime.fromMSecsSinceEpoch(int(start.timestamp() * 1000)))
        self.end_edit.setDateTime(QDateTime.fromMSecsSinceEpoch(int(end.timestamp() * 1000)))
        self.trend.set_range(int(start.timestamp() * 1e6), int(end.timestamp() * 1e6))

    def _zoomed(self, start_us: int, end_us: int, width: int) -> None:
        self._window = (
            datetime.fromtimestamp(start_us / 1e6, UTC),
            datetime.fromtimestamp(end_us / 1e6, UTC),
        )
        self.query(max_points=width)

    # ------------------------------------------------------------------ the historian

    def _source_name(self, resolution: Resolution) -> str:
        return {
            Resolution.RAW: self.tr("the raw samples"),
            Resolution.MINUTE: self.tr("the 1-minute rollup"),
            Resolution.HOUR: self.tr("the 1-hour rollup"),
        }[resolution]

    @property
    def historian(self) -> Historian | None:
        historian = self._bridge.engine.historian
        return historian if isinstance(historian, Historian) else None

    def query(self, max_points: int | None = None) -> None:
        historian = self.historian
        if historian is None or not self._chosen:
            return
        points = max(100, min(4000, max_points or self.trend.plot_width()))
        if self._in_flight:
            # One query at a time, the newest range wins: a drag asks for many ranges, and queries
            # running side by side on two cores would only slow each other down.
            self._again = points
            return
        self._in_flight = True
        start, end = self._window
        keys = list(self._chosen)
        self.queried.emit(int(start.timestamp() * 1e6), int(end.timestamp() * 1e6), points)

        async def ask() -> Mapping[str, TrendSeries]:
            return await asyncio.to_thread(historian.trend, keys, start, end, points)

        def next_query() -> bool:
            self._in_flight = False
            again, self._again = self._again, None
            if again is not None:
                self.query(again)
            return again is not None

        def failed(message: str) -> None:
            if not next_query():
                self.info.setText(message)

        def show(result: object) -> None:
            if next_query() or not isinstance(result, Mapping):
                return  # the range moved on while this answer was fetched: the newer one is on its way
            self.trend.show_trends(result)
            buckets = 0
            source = ""
            for series in result.values():
                buckets = max(buckets, len(series))
                source = self._source_name(series.resolution)
            summary = self.tr("%1 points per tag, from %2")
            summary = summary.replace("%1", texts.number(buckets)).replace("%2", source)
            self.info.setText(summary if result else "")

        self._bridge.submit(ask, done=show, failed=failed)

    def _export(self, fmt: str) -> None:
        historian = self.historian
        if historian is None or not self._chosen:
            return
        suggested = f"linesight-{datetime.now().strftime('%Y%m%d-%H%M')}.{fmt}"
        path, _filter = QFileDialog.getSaveFileName(self, self.tr("Export the view"), suggested)
        if not path:
            return
        start, end = self._window
        keys = list(self._chosen)

        async def export() -> int:
            return await asyncio.to_thread(historian.export, keys, start, end, Path(path), fmt)  # type: ignore[arg-type]

        self._bridge.submit(
            export,
            done=lambda rows: self.info.setText(
                self.tr("%1 rows written to %2").replace("%1", str(rows)).replace("%2", path)
            ),
            failed=self.info.setText,
        )

    def _snapshot(self) -> None:
        suggested = f"linesight-{datetime.now().strftime('%Y%m%d-%H%M')}.png"
        path, _filter = QFileDialog.getSaveFileName(self, self.tr("Save a picture of the trend"), suggested)
        if path:
            self.trend.save_png(Path(path))
            self.info.setText(self.tr("Saved %1").replace("%1", path))

    # ------------------------------------------------------------------ look and language

    def apply_palette(self, palette: Palette) -> None:
        self.trend.apply_palette(palette)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def _retranslate(self) -> None:
        self.apply.setText(self.tr("Show"))
        self.export_csv.setText(self.tr("Export CSV"))
        self.export_parquet.setText(self.tr("Export Parquet"))
        self.snapshot.setText(self.tr("Picture"))
        self.start_edit.setToolTip(self.tr("From"))
        self.end_edit.setToolTip(self.tr("To"))
