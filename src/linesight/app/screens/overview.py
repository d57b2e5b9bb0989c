"""L1, the plant overview: a tile per machine, grouped by line; grey when normal, colour when not.
A tile counts its machine's active alarms, and is framed in the alarm colour while one is
unacknowledged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from PySide6.QtCore import QEvent, QLocale, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QGridLayout, QGroupBox, QScrollArea, QVBoxLayout, QWidget

from linesight.app.bridge import RuntimeBridge
from linesight.domain.alarm_rules import Priority
from linesight.domain.alarm_types import UNACKNOWLEDGED, AlarmState
from linesight.domain.oee import combine
from linesight.domain.plant import PlantConfig
from linesight.runtime.alarms import AlarmSnapshot
from linesight.runtime.health import ConnectionState, MachineHealth
from linesight.runtime.machines import MachineStatus
from linesight.widgets.flow import FlowLayout
from linesight.widgets.palette import Palette
from linesight.widgets.tile import MachineTile

COLUMNS = 4


class OverviewScreen(QWidget):
    machineOpened = Signal(str)

    def __init__(self, bridge: RuntimeBridge, plant: PlantConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("OverviewScreen")
        self._bridge = bridge
        self.tiles: dict[str, MachineTile] = {}
        self._groups: list[tuple[QGroupBox, str, str, tuple[str, ...]]] = []
        self._line_oee: dict[QGroupBox, float | None] = {}
        self._connected: dict[str, bool] = {}
        content = QWidget()
        # Lines side by side, wrapping where the screen ends: a small plant fits without scrolling.
        self.flow = FlowLayout(content, spacing=14)
        self.flow.setContentsMargins(12, 12, 12, 12)
        for site in plant.sites:
            for line in site.lines:
                group = QGroupBox()
                ids = tuple(machine.id for machine in line.machines)
                self._groups.append((group, line.name or line.id, site.name or site.id, ids))
                grid = QGridLayout(group)
                grid.setContentsMargins(10, 16, 10, 10)
                grid.setHorizontalSpacing(12)
                grid.setVerticalSpacing(12)
                for index, machine in enumerate(line.machines):
                    tile = MachineTile(machine.id, machine.title)
                    tile.opened.connect(self.machineOpened)
                    self.tiles[machine.id] = tile
                    grid.addWidget(tile, index // COLUMNS, index % COLUMNS, Qt.AlignmentFlag.AlignLeft)
                self.flow.addWidget(group)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._retranslate()
        bridge.statusChanged.connect(self.show_statuses)
        bridge.healthChanged.connect(self.show_health)
        bridge.alarmsChanged.connect(self.show_alarms)
        if bridge.alarms is not None:
            self.show_alarms(bridge.alarms)

    def show_health(self, health: Sequence[MachineHealth]) -> None:
        self._connected = {item.machine: item.state is ConnectionState.ONLINE for item in health}

    def show_statuses(self, statuses: Sequence[MachineStatus]) -> None:
        now = datetime.now(UTC)
        for status in statuses:
            tile = self.tiles.get(status.machine)
            if tile is not None:
                tile.update_status(status, now=now, connected=self._connected.get(status.machine, True))
        # The line's shift OEE from its machines' summed times and counts (not an average of tiles).
        by_machine = {status.machine: status.oee for status in statuses}
        changed = False
        for group, _line, _site, ids in self._groups:
            results = [result for m in ids if (result := by_machine.get(m)) is not None]
            combined = combine(results)
            value = None if combined is None or combined.oee is None else round(100 * combined.oee)
            if self._line_oee.get(group) != value:
                self._line_oee[group] = value
                changed = True
        if changed:
            self._retranslate()

    def show_alarms(self, snapshot: AlarmSnapshot) -> None:
        """Each tile's active alarms (condition present, annunciated) and its unacknowledged ones."""
        active: dict[str, list[Priority]] = {}
        unacked: dict[str, list[Priority]] = {}
        for alarm in snapshot.alarms:
            if alarm.state in (AlarmState.UNACK, AlarmState.ACKED):
                active.setdefault(alarm.machine, []).append(alarm.priority)
            if alarm.state in UNACKNOWLEDGED:
                unacked.setdefault(alarm.machine, []).append(alarm.priority)
        for machine, tile in self.tiles.items():
            mine = active.get(machine, [])
            waiting = unacked.get(machine, [])
            tile.set_alarms(
                len(mine),
                priority=min(mine, key=lambda p: p.rank) if mine else None,
                unacknowledged=min(waiting, key=lambda p: p.rank) if waiting else None,
            )

    def apply_palette(self, palette: Palette) -> None:
        for tile in self.tiles.values():
            tile.apply_palette(palette)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def _retranslate(self) -> None:
        for group, line, site, _ids in self._groups:
            oee = self._line_oee.get(group)
            if oee is None:
                title = self.tr("%1 — %2").replace("%1", line).replace("%2", site)
            else:
                title = (
                    self.tr("%1 — %2 · OEE %3 %")
                    .replace("%1", line)
                    .replace("%2", site)
                    .replace("%3", QLocale().toString(oee))
                )
            group.setTitle(title)
            # A line with one machine is narrower than its title: the box grows so the title is never cut.
            bold = QFont(group.font())
            bold.setBold(True)
            group.setMinimumWidth(QFontMetrics(bold).horizontalAdvance(title) + 48)
