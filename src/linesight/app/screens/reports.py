"""Reports: a machine, a line or the whole plant over a shift, a day or a week (the site's local time):
OEE and its factors, counts, MTBF and MTTR per machine and in total, the top losses as a Pareto, and
the downtime list; exported to CSV and PDF.

A report replays the historian, which takes a while for a week: it is built in a worker thread while
the screen says so, one at a time, the newest request winning.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from linesight.app.bridge import RuntimeBridge
from linesight.app.report_pdf import write_pdf
from linesight.app.reporting import (
    Period,
    Words,
    downtime_list,
    micro_stop_thresholds,
    period_range,
    scope_calendar,
)
from linesight.domain.oee import OeeResult
from linesight.domain.plant import PlantConfig
from linesight.runtime.reports import Report, Scope, build_report, scope, write_csv
from linesight.storage import Historian
from linesight.widgets.palette import LIGHT, Palette
from linesight.widgets.pareto import ParetoBar, ParetoChart
from linesight.widgets.texts import translate


def _item(text: str, *, right: bool = True, bold: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if bold:
        font = QFont(item.font())
        font.setBold(True)
        item.setFont(font)
    return item


def _table(columns: int) -> QTableWidget:
    table = QTableWidget(0, columns)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


class ReportsScreen(QWidget):
    def __init__(self, bridge: RuntimeBridge, plant: PlantConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReportsScreen")
        self._bridge = bridge
        self._plant = plant
        self._tree = bridge.engine.production.reasons
        self._thresholds = micro_stop_thresholds(plant)
        self._palette: Palette = LIGHT
        self.report: Report | None = None
        self._zone = ZoneInfo(plant.sites[0].timezone)
        self._period = Period.CURRENT_SHIFT
        self._busy = False
        self._again = False
        self._built_once = False

        self.title = QLabel()
        self.title.setProperty("role", "title")
        self.scope = QComboBox()
        self.scope.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.scope.activated.connect(lambda _index: self.build())
        self.export_csv = QPushButton()
        self.export_csv.clicked.connect(lambda: self._ask_path("csv"))
        self.export_pdf = QPushButton()
        self.export_pdf.clicked.connect(lambda: self._ask_path("pdf"))
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addSpacing(16)
        header.addWidget(self.scope)
        header.addStretch(1)
        header.addWidget(self.export_csv)
        header.addWidget(self.export_pdf)

        self.periods: dict[Period, QPushButton] = {}
        group = QButtonGroup(self)
        group.setExclusive(True)
        periods = QHBoxLayout()
        for period in Period:
            button = QPushButton()
            button.setCheckable(True)
            button.clicked.connect(lambda _checked=False, p=period: self.choose_period(p))
            group.addButton(button)
            self.periods[period] = button
            periods.addWidget(button)
        self.periods[self._period].setChecked(True)
        self.update_button = QPushButton()
        self.update_button.clicked.connect(self.build)
        periods.addSpacing(16)
        periods.addWidget(self.update_button)
        periods.addStretch(1)

        self.status = QLabel()
        self.status.setProperty("role", "muted")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # no figure to give: it is busy until the report is there
        self.busy.setTextVisible(False)
        self.busy.setMaximumWidth(220)
        self.busy.setVisible(False)
        status_row = QHBoxLayout()
        status_row.addWidget(self.busy)
        status_row.addWidget(self.status, 1)

        self.machines = _table(11)
        self.machines.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.machines.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self.losses_title = QLabel()
        self.losses_title.setProperty("role", "subtitle")
        self.pareto = ParetoChart(most=8)
        losses_panel = QFrame()
        losses_panel.setProperty("role", "panel")
        losses_layout = QVBoxLayout(losses_panel)
        losses_layout.addWidget(self.losses_title)
        losses_layout.addWidget(self.pareto, 1)
        self.stops_title = QLabel()
        self.stops_title.setProperty("role", "subtitle")
        self.stops = _table(7)
        self.stops.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        self.micro = QLabel()
        self.micro.setProperty("role", "muted")
        self.micro.setWordWrap(True)
        stops_panel = QVBoxLayout()
        stops_panel.addWidget(self.stops_title)
        stops_panel.addWidget(self.stops, 1)
        stops_panel.addWidget(self.micro)
        lower = QHBoxLayout()
        lower.addWidget(losses_panel, 5)
        lower.addLayout(stops_panel, 7)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 12)
        layout.addLayout(header)
        layout.addLayout(periods)
        layout.addLayout(status_row)
        layout.addWidget(self.machines)
        layout.addLayout(lower, 1)
        self._retranslate()
        self._show_report()

    # ------------------------------------------------------------------ what to report

    def _scope_choices(self) -> list[tuple[str, str]]:
        """(what the list shows, "plant:", "line:site/line" or "machine:id")."""
        choices = [(translate("ReportsScreen", "Whole plant"), "plant:")]
        for site in self._plant.sites:
            for line in site.lines:
                name = translate("ReportsScreen", "Line %1").replace("%1", line.name or line.id)
                choices.append((name, f"line:{site.id}/{line.id}"))
                choices.extend((f"    {machine.title}", f"machine:{machine.id}") for machine in line.machines)
        return choices

    def choose_scope(self, kind: str, key: str = "") -> None:
        """Report on the whole plant ("plant"), a line ("line", "site/line") or a machine ("machine", id)."""
        index = self.scope.findData(f"{kind}:{key}")
        if index < 0:
            raise KeyError(f"no {kind} {key} in the plant")
        self.scope.setCurrentIndex(index)
        self.build()

    def choose_period(self, period: Period) -> None:
        self._period = period
        self.periods[period].setChecked(True)
        self.build()

    def _scope(self) -> Scope:
        kind, _colon, key = str(self.scope.currentData() or "plant:").partition(":")
        if kind == "machine":
            return scope(self._plant, machine=key)
        if kind == "line":
            return scope(self._plant, line=key)
        return scope(self._plant)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._built_once:
            self.build()

    # ------------------------------------------------------------------ building (worker thread)

    @property
    def is_busy(self) -> bool:
        return self._busy

    def build(self) -> None:
        """Build the report of the chosen scope and period in a worker thread; one at a time."""
        self._built_once = True
        if self._busy:
            self._again = True  # the newest choice is built once the running one is done
            return
        historian = self._bridge.engine.historian
        if not isinstance(historian, Historian):
            self.status.setText(
                translate("ReportsScreen", "Reports need the historian, which is not running.")
            )
            return
        covered = self._scope()
        calendar, timezone = scope_calendar(self._plant, covered.machines)
        self._zone = ZoneInfo(timezone)
        now = datetime.now(UTC)
        found = period_range(self._period, calendar, timezone, now)
        if found is None:
            self.report = None
            self._show_report()
            self.status.setText(
                translate("ReportsScreen", "No shift calendar for this choice: pick a day or week.")
            )
            return
        start, end = found
        plant = self._plant
        self._set_busy(True)

        async def run() -> Report:
            return await asyncio.to_thread(build_report, plant, historian, covered, start, end, now=now)

        self._bridge.submit(run, done=self._built, failed=self._failed)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy.setVisible(busy)
        for button in (self.export_csv, self.export_pdf):
            button.setEnabled(not busy and self.report is not None)
        if busy:
            self.status.setText(translate("ReportsScreen", "Building the report…"))

    def _built(self, result: object) -> None:
        self._set_busy(False)
        if isinstance(result, Report):
            self.report = result
        self._show_report()
        if self._again:
            self._again = False
            self.build()

    def _failed(self, message: str) -> None:
        self._set_busy(False)
        self.status.setText(translate("ReportsScreen", "The report failed: %1").replace("%1", message))
        if self._again:
            self._again = False
            self.build()

    # ------------------------------------------------------------------ showing

    def _show_report(self) -> None:
        words = Words()
        report = self.report
        for button in (self.export_csv, self.export_pdf):
            button.setEnabled(report is not None and not self._busy)
        self.machines.setRowCount(0)
        self.stops.setRowCount(0)
        if report is None:
            self.pareto.set_bars([])
            self.micro.setVisible(False)
            if not self._busy:
                self.status.setText("")
            return
        zone = self._zone
        self.status.setText(
            translate("ReportsScreen", "%1 · %2: %3 – %4 · built at %5")
            .replace("%1", report.title)
            .replace("%2", words.period(self._period))
            .replace("%3", words.date_time(report.start, zone))
            .replace("%4", words.date_time(report.end, zone))
            .replace("%5", words.time(report.generated, zone))
        )
        rows: list[tuple[str, OeeResult | None, bool]] = [
            (title, oee, False) for _id, title, oee in report.machines
        ]
        rows.append((translate("ReportsScreen", "Total"), report.oee, True))
        rows.extend((self._plant.machine(machine).title, None, False) for machine in report.without_oee)
        self.machines.setRowCount(len(rows))
        for row, (title, result, bold) in enumerate(rows):
            self.machines.setItem(row, 0, _item(title, right=False, bold=bold))
            values = words.oee_figures(result)
            for column, value in enumerate(values, start=1):
                self.machines.setItem(row, column, _item(value, bold=bold))
        self.machines.resizeRowsToContents()
        height = self.machines.horizontalHeader().height() + sum(
            self.machines.rowHeight(row) for row in range(self.machines.rowCount())
        )
        self.machines.setMaximumHeight(height + 2 * self.machines.frameWidth())
        # Every machine and the total in view (a plant of a dozen machines or so); the lists below scroll.
        self.machines.setMinimumHeight(min(height + 2 * self.machines.frameWidth(), 420))

        self.pareto.set_bars(
            [
                ParetoBar(
                    label=words.loss(loss, self._tree),
                    value=loss.seconds,
                    text=words.minutes(loss.seconds),
                    attention=loss.kind == "uncoded",
                )
                for loss in report.losses
            ]
        )
        listed = downtime_list(report, self._thresholds)
        self.stops.setRowCount(len(listed.rows))
        uncoded = QBrush(self._uncoded_tint())
        one_day = report.end - report.start <= timedelta(days=1)
        newest_first = sorted(listed.rows, key=lambda entry: entry.start, reverse=True)
        for row, entry in enumerate(newest_first):  # as on the coding screen
            reason = words.reason(entry.reason, self._tree)
            if entry.comment:
                reason = f"{reason} — {entry.comment}"
            end = translate("ReportsScreen", "ongoing") if entry.open else words.time(entry.end, zone)
            cells = [
                _item(entry.title, right=False),
                _item(words.time(entry.start, zone) if one_day else words.date_time(entry.start, zone)),
                _item(end),
                _item(words.minutes(entry.seconds)),
                _item(words.state(entry.state), right=False),
                _item(reason, right=False),
                _item(entry.user, right=False),
            ]
            if entry.reason is None:
                cells[5].setBackground(uncoded)
            for column, cell in enumerate(cells):
                self.stops.setItem(row, column, cell)
        self.stops.resizeRowsToContents()
        self.micro.setVisible(bool(listed.micro_stops))
        self.micro.setText(
            translate(
                "ReportsScreen",
                "Micro-stops not listed: %1 (%2 in all); they count as a loss of performance.",
            )
            .replace("%1", words.number(listed.micro_stops))
            .replace("%2", words.minutes(listed.micro_stop_s))
        )

    def _uncoded_tint(self) -> QColor:
        """Time nobody coded: a tint of the attention colour behind the normal text (a report lists a
        lot of it; a full amber column would shout)."""
        attention, panel = QColor(self._palette.attention), QColor(self._palette.panel)
        share = 0.45 if panel.lightnessF() >= 0.5 else 0.3
        return QColor.fromRgbF(
            attention.redF() * share + panel.redF() * (1 - share),
            attention.greenF() * share + panel.greenF() * (1 - share),
            attention.blueF() * share + panel.blueF() * (1 - share),
        )

    # ------------------------------------------------------------------ export (worker thread)

    def _ask_path(self, kind: str) -> None:
        if self.report is None:
            return
        stamp = datetime.now().strftime("%Y%m%d-%H%M")
        suggested = f"linesight-report-{stamp}.{kind}"
        title = (
            translate("ReportsScreen", "Export the report as CSV")
            if kind == "csv"
            else translate("ReportsScreen", "Export the report as PDF")
        )
        path, _filter = QFileDialog.getSaveFileName(self, title, suggested)
        if not path:
            return
        if kind == "csv":
            self.save_csv(Path(path))
        else:
            self.save_pdf(Path(path))

    def save_csv(self, path: Path) -> None:
        report, tree = self.report, self._tree
        if report is None:
            return

        async def run() -> None:
            await asyncio.to_thread(write_csv, report, path, tree)

        self._export(run, path)

    def save_pdf(self, path: Path) -> None:
        report, tree = self.report, self._tree
        if report is None:
            return
        words = Words()
        language, plant, zone = words.language, self._plant.name or self._plant.id, self._zone
        period, thresholds = words.period(self._period), dict(self._thresholds)

        async def run() -> None:
            await asyncio.to_thread(
                write_pdf,
                report,
                path,
                tree,
                language,
                plant=plant,
                zone=zone,
                period=period,
                micro_stop_s=thresholds,
            )

        self._export(run, path)

    def _export(self, run: Callable[[], Coroutine[Any, Any, None]], path: Path) -> None:
        self.status.setText(translate("ReportsScreen", "Writing %1…").replace("%1", str(path)))
        self._bridge.submit(
            run,
            done=lambda _result: self.status.setText(
                translate("ReportsScreen", "Saved to %1").replace("%1", str(path))
            ),
            failed=lambda message: self.status.setText(
                translate("ReportsScreen", "Not saved: %1").replace("%1", message)
            ),
        )

    # ------------------------------------------------------------------ look and language

    def apply_palette(self, palette: Palette) -> None:
        self._palette = palette
        self.pareto.apply_palette(palette)
        self._show_report()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def _retranslate(self) -> None:
        words = Words()
        self.title.setText(translate("ReportsScreen", "Reports"))
        current = self.scope.currentData()
        self.scope.clear()
        for name, data in self._scope_choices():
            self.scope.addItem(name, data)
        index = self.scope.findData(current) if current is not None else 0
        self.scope.setCurrentIndex(max(0, index))
        for period, button in self.periods.items():
            button.setText(words.period(period))
            # Room for the bold text of the chosen period: the button must not cut it when checked.
            button.ensurePolished()  # the style sheet's font, not the default one
            bold = QFont(button.font())
            bold.setBold(True)
            button.setMinimumWidth(QFontMetrics(bold).horizontalAdvance(button.text()) + 40)
        self.update_button.setText(translate("ReportsScreen", "Update"))
        self.export_csv.setText(translate("ReportsScreen", "Export CSV…"))
        self.export_pdf.setText(translate("ReportsScreen", "Export PDF…"))
        self.losses_title.setText(translate("ReportsScreen", "Top losses"))
        self.pareto.set_empty_text(translate("ReportsScreen", "No losses in this period."))
        self.stops_title.setText(translate("ReportsScreen", "Downtime"))
        self.machines.setHorizontalHeaderLabels(
            [
                translate("ReportsScreen", "Machine"),
                translate("ReportsScreen", "Availability"),
                translate("ReportsScreen", "Performance"),
                translate("ReportsScreen", "Quality"),
                translate("ReportsScreen", "OEE"),
                translate("ReportsScreen", "Parts"),
                translate("ReportsScreen", "Good"),
                translate("ReportsScreen", "Rejects"),
                translate("ReportsScreen", "Time down"),
                translate("ReportsScreen", "MTBF"),
                translate("ReportsScreen", "MTTR"),
            ]
        )
        self.stops.setHorizontalHeaderLabels(
            [
                translate("ReportsScreen", "Machine"),
                translate("ReportsScreen", "Start"),
                translate("ReportsScreen", "End"),
                translate("ReportsScreen", "Duration"),
                translate("ReportsScreen", "State"),
                translate("ReportsScreen", "Reason"),
                translate("ReportsScreen", "Coded by"),
            ]
        )
        self._show_report()
