"""Diagnostics: every connection's state, last error, round trip, rates, drops and refused tags; and
cloud sync's backlog health with its on/off switch (managers and administrators)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from linesight.app.bridge import RuntimeBridge
from linesight.cloud.edge_metrics import BacklogHealth
from linesight.domain.users import Permission, allowed
from linesight.runtime import support
from linesight.runtime.commands import NOBODY, Actor
from linesight.runtime.health import MachineHealth
from linesight.widgets.palette import LIGHT, Palette
from linesight.widgets.texts import duration_text, number

COLUMNS = 9
NUMERIC = {3, 4, 5, 6}  # round trip, samples/s, requests/s, dropped: right-aligned, digits under digits


class CloudSyncView(Protocol):
    """What this screen reads of the runtime's cloud sync (``engine.cloud_sync``, a
    ``runtime.cloud_sync.CloudSync``): a snapshot, cheap enough for the GUI thread once a second."""

    @property
    def enabled(self) -> bool: ...

    def health(self) -> BacklogHealth: ...


ActAs = Callable[[str, Callable[[Actor], None]], None]
# Switches sync on or off as an actor: ``Commands.cloud_sync``, which checks the role and audits.
Switch = Callable[[Actor, bool], Coroutine[Any, Any, Any]]


class CloudPanel(QFrame):
    """Cloud sync at a glance: on or off, connected, the backlog (rows, oldest), publish rate, retries,
    gaps and the last error; the switch for whoever may use it (the runtime checks and audits)."""

    def __init__(
        self,
        bridge: RuntimeBridge,
        cloud: CloudSyncView | None,
        act_as: ActAs | None,
        parent: QWidget | None = None,
        *,
        change: Switch | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("CloudPanel")
        self._bridge = bridge
        self.cloud = cloud
        self._act_as = act_as
        self._change = change if change is not None else bridge.commands.cloud_sync
        self.enabled = False
        self.failure = ""  # why the last switch failed, shown until the next one
        self._actor: Actor = NOBODY
        self._palette = LIGHT
        self.health: BacklogHealth | None = None
        self._switching = False
        self.title = QLabel()
        self.title.setProperty("role", "subtitle")
        self.status = QLabel()
        self.status.setObjectName("CloudStatus")
        self.switch = QPushButton()
        self.switch.setObjectName("CloudSwitch")
        self.switch.clicked.connect(self._switch_clicked)
        self.note = QLabel()
        self.note.setProperty("role", "muted")
        self.note.setWordWrap(True)
        self.labels: dict[str, QLabel] = {}
        self.values: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        for index, name in enumerate(("rows", "oldest", "rate", "retries", "gaps", "unconfirmed", "error")):
            label = QLabel()
            label.setProperty("role", "muted")
            value = QLabel()
            value.setObjectName(f"Cloud_{name}")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.labels[name] = label
            self.values[name] = value
            row, column = divmod(index, 3) if name != "error" else (2, 0)
            grid.addWidget(label, row * 2, column)
            grid.addWidget(value, row * 2 + 1, column, 1, 3 if name == "error" else 1)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addSpacing(12)
        head.addWidget(self.status, 1)
        head.addWidget(self.switch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(head)
        layout.addLayout(grid)
        layout.addWidget(self.note)
        self._retranslate()

    def set_actor(self, actor: Actor) -> None:
        self._actor = actor
        self._show()

    def may_switch(self) -> bool:
        return self._actor is not NOBODY and allowed(self._actor.role, Permission.SWITCH_CLOUD_SYNC)

    def refresh(self) -> None:
        cloud = self.cloud
        self.health = None if cloud is None else cloud.health()
        self.enabled = False if cloud is None else cloud.enabled
        self._show()

    def _switch_clicked(self) -> None:
        if self.cloud is None or self.health is None or self._switching:
            return
        wanted = not self.enabled
        change = self._change

        def switch(actor: Actor) -> None:
            self._switching = True
            self.note.setText(self.tr("Switching cloud sync…"))

            def done(_result: object) -> None:
                self._switching = False
                self.failure = ""
                self.refresh()

            def failed(message: str) -> None:
                self._switching = False
                self.failure = self.tr("Cloud sync was not switched: %1").replace("%1", message)
                self.refresh()

            self._bridge.submit(lambda: change(actor, wanted), done=done, failed=failed)

        title = self.tr("Log in to switch cloud sync")
        if self._act_as is not None:
            self._act_as(title, switch)
        elif self._actor is not NOBODY:
            switch(self._actor)

    def apply_palette(self, palette: Palette) -> None:
        self._palette = palette
        self._show()

    def _show(self) -> None:
        palette = self._palette
        health = self.health
        configured = self.cloud is not None and health is not None
        for name in self.values:
            self.labels[name].setVisible(configured)
            self.values[name].setVisible(configured)
        self.switch.setVisible(configured)
        border = palette.border
        if not configured or health is None:
            self.status.setText(self.tr("Not set up: the plant file has no cloud section."))
            self.note.setText("")
        else:
            if not self.enabled:
                self.status.setText(self.tr("Off: nothing leaves this machine."))
            elif health.connected:
                self.status.setText(self.tr("On, connected to the broker."))
            else:
                self.status.setText(
                    self.tr("On, not connected: retrying; the backlog waits in the historian.")
                )
                border = palette.waiting  # abnormal: data is piling up
            self.values["rows"].setText(number(health.backlog_rows))
            self.values["oldest"].setText(
                "—" if health.oldest_age_s is None else duration_text(timedelta(seconds=health.oldest_age_s))
            )
            self.values["rate"].setText(self.tr("%1 samples/s").replace("%1", number(health.publish_rate, 1)))
            self.values["retries"].setText(number(health.retries))
            self.values["gaps"].setText(number(health.gaps))
            self.values["unconfirmed"].setText(
                self.tr("confirmations off")
                if health.unconfirmed is None
                else self.tr("%1 (%2 sent again)")
                .replace("%1", number(health.unconfirmed))
                .replace("%2", number(health.resent))
            )
            error = health.last_error or self.tr("none")
            if health.last_error and health.last_error_at:
                when = datetime.fromtimestamp(health.last_error_at).strftime("%d/%m %H:%M:%S")
                error = f"{error} ({when})"
            self.values["error"].setText(error)
            self.switch.setText(self.tr("Switch off") if self.enabled else self.tr("Switch on"))
            may = self.may_switch() or (self._actor is NOBODY and self._act_as is not None)
            self.switch.setEnabled(may and not self._switching)
            if self.failure:
                self.note.setText(self.failure)
            elif not self._switching:
                self.note.setText(
                    ""
                    if self.may_switch()
                    else self.tr("Only a manager or an administrator may switch cloud sync (log in first).")
                )
        self.setStyleSheet(
            f"QFrame#CloudPanel {{ border: 1px solid {palette.border}; border-left: 6px solid {border};"
            f" background: {palette.panel}; }}"
        )

    def _retranslate(self) -> None:
        self.title.setText(self.tr("Cloud sync"))
        names = {
            "rows": self.tr("Backlog (samples)"),
            "oldest": self.tr("Oldest unsent"),
            "rate": self.tr("Publish rate"),
            "retries": self.tr("Retries"),
            "gaps": self.tr("Gaps"),
            "unconfirmed": self.tr("Not yet confirmed by the backend"),
            "error": self.tr("Last error"),
        }
        for name, label in self.labels.items():
            label.setText(names[name])
        self._show()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)


class DiagnosticsScreen(QWidget):
    def __init__(
        self,
        bridge: RuntimeBridge,
        parent: QWidget | None = None,
        *,
        act_as: ActAs | None = None,
        cloud: CloudSyncView | None = None,
        plant_path: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("DiagnosticsScreen")
        self._bridge = bridge
        self._plant_path = plant_path  # what the diagnostics bundle takes (secrets removed)
        self.title = QLabel()
        self.title.setProperty("role", "title")
        self.bundle_info = QLabel()
        self.bundle_info.setProperty("role", "muted")
        self.bundle_info.setWordWrap(True)
        self.export_bundle = QPushButton()
        self.export_bundle.clicked.connect(self._ask_bundle_path)
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
        # The runtime's cloud sync when the plant file has a cloud section, else None.
        sync = cloud if cloud is not None else bridge.engine.cloud_sync
        self.cloud = CloudPanel(bridge, sync, act_as)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 12)
        layout.addWidget(self.cloud)
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.bundle_info, 2)
        header.addWidget(self.export_bundle)
        layout.addLayout(header)
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

    def _ask_bundle_path(self) -> None:
        suggested = f"linesight-support-{datetime.now().strftime('%Y%m%d-%H%M')}.zip"
        path, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Export a diagnostics bundle"), suggested, self.tr("Zip archives (*.zip)")
        )
        if path:
            self.write_bundle(Path(path))

    def write_bundle(self, path: Path) -> None:
        """The support zip (logs, plant without secrets, versions, health), written off the GUI thread."""
        engine, plant_path = self._bridge.engine, self._plant_path
        self.export_bundle.setEnabled(False)
        self.bundle_info.setText(self.tr("Writing the diagnostics bundle…"))

        async def make() -> Path:
            health = engine.report()  # on the runtime's loop, where the engine's state lives
            return await asyncio.to_thread(support.write_bundle, path, plant_path=plant_path, health=health)

        def done(written: object) -> None:
            self.export_bundle.setEnabled(True)
            self.bundle_info.setText(self.tr("Diagnostics bundle written to %1").replace("%1", str(written)))

        def failed(error: str) -> None:
            self.export_bundle.setEnabled(True)
            self.bundle_info.setText(
                self.tr("The diagnostics bundle could not be written to %1: %2")
                .replace("%1", str(path))
                .replace("%2", error)
            )

        self._bridge.submit(make, done=done, failed=failed)

    def set_actor(self, actor: Actor) -> None:
        """Who is logged in: the cloud sync switch is for managers and administrators."""
        self.cloud.set_actor(actor)

    def apply_palette(self, palette: Palette) -> None:
        self.cloud.apply_palette(palette)

    def show_health(self, health: Sequence[MachineHealth]) -> None:
        self.cloud.refresh()  # once a second, with the connections
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
        self.export_bundle.setText(self.tr("Export diagnostics bundle…"))
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
