"""Diagnostics: every connection's state, last error, round trip, rates, drops and refused tags."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from linesight.app.bridge import RuntimeBridge
from linesight.runtime.health import MachineHealth
from linesight.widgets.texts import number

COLUMNS = 9
NUMERIC = {3, 4, 5, 6}  # round trip, samples/s, requests/s, dropped: right-aligned, digits under digits


class DiagnosticsScreen(QWidget):
    def __init__(self, bridge: RuntimeBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DiagnosticsScreen")
        self.title = QLabel()
        self.title.setProperty("role", "title")
        self.table = QTableWidget(0, COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(7, QHeaderView.ResizeMode.Stretch)
        self.errors_title = QLabel()
        self.errors_title.setProperty("role", "subtitle")
        self.no_errors = QLabel()
        self.no_errors.setProperty("role", "muted")
        self.errors = QTableWidget(0, 3)
        self.errors.verticalHeader().setVisible(False)
        self.errors.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.errors.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 12)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.errors_title)
        layout.addWidget(self.no_errors)
        layout.addWidget(self.errors, 1)
        self._retranslate()
        bridge.healthChanged.connect(self.show_health)

    def _phase(self, item: MachineHealth) -> str:
        return {
            "connected": self.tr("connected"),
            "connecting": self.tr("connecting"),
            "backing off": self.tr("backing off"),
            "stopped": self.tr("stopped"),
        }.get(item.phase, item.phase)

    def show_health(self, health: Sequence[MachineHealth]) -> None:
        self.table.setRowCount(len(health))
        refused: list[tuple[str, str, str]] = []
        for row, item in enumerate(health):
            when = (
                datetime.fromtimestamp(item.last_error_at).strftime("%d/%m %H:%M:%S")
                if item.last_error_at
                else ""
            )
            cells = [
                item.machine,
                item.driver,
                self._phase(item),
                "—" if item.round_trip_ms is None else f"{number(item.round_trip_ms, 1)} ms",
                number(item.samples_per_s, 1),
                number(item.requests_per_s, 1),
                number(item.dropped),
                item.last_error or "",
                when,
            ]
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if column in NUMERIC:
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if column == 2 and item.phase != "connected":
                    cell.setForeground(self.palette().brightText())
                self.table.setItem(row, column, cell)
            refused.extend((item.machine, key, reason) for key, reason in item.tag_errors.items())
        self.errors.setRowCount(len(refused))
        # No refused tag is the normal case: a sentence, not an empty table that looks like a failure.
        self.errors.setVisible(bool(refused))
        self.no_errors.setVisible(not refused)
        for row, error in enumerate(refused):
            for column, text in enumerate(error):
                self.errors.setItem(row, column, QTableWidgetItem(text))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def _retranslate(self) -> None:
        self.title.setText(self.tr("Connections"))
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("Machine"),
                self.tr("Driver"),
                self.tr("State"),
                self.tr("Round trip"),
                self.tr("Samples/s"),
                self.tr("Requests/s"),
                self.tr("Dropped"),
                self.tr("Last error"),
                self.tr("At"),
            ]
        )
        self.errors_title.setText(self.tr("Tags the devices refused"))
        self.no_errors.setText(self.tr("None: every device answered for every tag."))
        self.errors.setHorizontalHeaderLabels([self.tr("Machine"), self.tr("Tag"), self.tr("Reason")])
