"""The Fleet screen, for managers: every machine of every plant of the tenant, read from the fleet API
(the cloud backend's ``/api/v1/fleet``): machines by state, OEE by site, line and machine for the
current shift, today or this week.

The request runs on the runtime's loop (``bridge.submit``), never on the GUI thread; one at a time,
refreshed every 30 s while the screen shows. Where the API is and its key come from the plant file's
``cloud:`` section (``api_url``, ``api_key`` / ``api_key_file`` / ``api_key_env``) or the environment
(``LINESIGHT_FLEET_URL``, ``LINESIGHT_FLEET_KEY``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from PySide6.QtCore import QEvent, QSize, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from linesight.app.bridge import RuntimeBridge
from linesight.domain.machine import MachineState
from linesight.domain.plant import PlantConfig
from linesight.domain.users import Role
from linesight.widgets import texts
from linesight.widgets.palette import LIGHT, Palette

ENV_URL = "LINESIGHT_FLEET_URL"
ENV_KEY = "LINESIGHT_FLEET_KEY"
REFRESH_MS = 30_000
TIMEOUT_S = 10.0
FLEET_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
PERIODS = ("shift", "today", "week")
STATE_ORDER = tuple(MachineState)
COLUMNS = 8  # name, state, for, OEE, availability, performance, quality, good parts


def may_see_fleet(role: Role | None) -> bool:
    """The Fleet screen is for managers (and administrators)."""
    return role in FLEET_ROLES


# ---------------------------------------------------------------------- where the API is


@dataclass(frozen=True, kw_only=True)
class FleetSource:
    """The fleet API's address and the key to it; ``key_file`` is read when a request is made."""

    url: str | None = None
    key: str | None = None
    key_file: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.url) and bool(self.key or self.key_file)


def fleet_source(plant: PlantConfig, environ: Mapping[str, str] | None = None) -> FleetSource:
    """The plant file's ``cloud:`` section first, then the environment."""
    env = os.environ if environ is None else environ
    cloud = plant.cloud
    url = (cloud.api_url if cloud else None) or env.get(ENV_URL) or None
    key = cloud.api_key if cloud else None
    key_env = cloud.api_key_env if cloud else None
    if not key and key_env:
        key = env.get(key_env) or None
    key_file = cloud.api_key_file if cloud else None
    if not key and not key_file:
        key = env.get(ENV_KEY) or None
    return FleetSource(
        url=str(url) if url else None,
        key=str(key) if key else None,
        key_file=str(key_file) if key_file else None,
    )


class FleetError(Exception):
    """Why the fleet could not be shown: ``kind`` is not_configured, refused, unreachable or answer."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def _key(source: FleetSource) -> str:
    if source.key:
        return source.key
    if source.key_file:
        try:
            return Path(source.key_file).expanduser().read_text(encoding="utf-8").strip().splitlines()[0]
        except (OSError, IndexError) as err:
            raise FleetError("not_configured", f"API key file {source.key_file}: {err}") from err
    raise FleetError("not_configured", "no API key")


async def fetch_fleet(source: FleetSource, *, wait_s: float = TIMEOUT_S) -> dict[str, Any]:
    """GET /api/v1/fleet; raises FleetError with what went wrong."""
    if not source.url:
        raise FleetError("not_configured", "no API address")
    key = _key(source)
    url = source.url.rstrip("/") + "/api/v1/fleet"
    try:
        async with httpx.AsyncClient(timeout=wait_s) as client:
            response = await client.get(url, headers={"X-API-Key": key})
    except httpx.HTTPError as err:
        raise FleetError("unreachable", f"{url}: {err or type(err).__name__}") from err
    if response.status_code in (401, 403):
        raise FleetError("refused", f"{url}: HTTP {response.status_code}")
    if response.status_code != 200:
        raise FleetError("unreachable", f"{url}: HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError as err:
        raise FleetError("answer", f"{url}: not JSON") from err
    if not isinstance(body, dict) or not isinstance(body.get("machines"), list):
        raise FleetError("answer", f"{url}: not a fleet summary")
    return body


# ---------------------------------------------------------------------- the screen


def _state(value: object) -> MachineState:
    try:
        return MachineState(str(value))
    except ValueError:
        return MachineState.UNKNOWN


def _since(value: object, now: datetime) -> str:
    if not isinstance(value, str):
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ""
    return texts.duration_text(now - moment)


class FleetScreen(QWidget):
    def __init__(
        self,
        bridge: RuntimeBridge,
        plant: PlantConfig,
        parent: QWidget | None = None,
        *,
        source: FleetSource | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("FleetScreen")
        self._bridge = bridge
        self.source = source if source is not None else fleet_source(plant)
        self.period = "shift"
        self.fleet: dict[str, Any] | None = None  # the latest answer
        self.error: FleetError | None = None
        self._in_flight = False
        self._palette = LIGHT

        self.title = QLabel()
        self.title.setProperty("role", "title")
        self.tenant = QLabel()
        self.tenant.setProperty("role", "muted")
        self.updated = QLabel()
        self.updated.setProperty("role", "muted")
        self.period_buttons: dict[str, QPushButton] = {}
        group = QButtonGroup(self)
        group.setExclusive(True)
        for period in PERIODS:
            button = QPushButton()
            button.setCheckable(True)
            button.setChecked(period == self.period)
            button.clicked.connect(lambda _checked=False, chosen=period: self.set_period(chosen))
            group.addButton(button)
            self.period_buttons[period] = button
        self.refresh_button = QPushButton()
        self.refresh_button.clicked.connect(self.refresh)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("FleetMessage")
        self.chips: dict[MachineState, QLabel] = {}
        chips = QHBoxLayout()
        for state in STATE_ORDER:
            chip = QLabel()
            chip.setObjectName(f"FleetChip_{state.value}")
            chip.setMinimumWidth(130)
            self.chips[state] = chip
            chips.addWidget(chip)
        chips.addStretch(1)
        self.total = QLabel()
        self.total.setProperty("role", "subtitle")
        self.tree = QTreeWidget()
        self.tree.setColumnCount(COLUMNS)
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)

        top = QHBoxLayout()
        heading = QVBoxLayout()
        heading.setSpacing(0)
        heading.addWidget(self.title)
        heading.addWidget(self.tenant)
        top.addLayout(heading)
        top.addStretch(1)
        for button in self.period_buttons.values():
            top.addWidget(button)
        top.addSpacing(12)
        top.addWidget(self.updated)
        top.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 12)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addLayout(chips)
        layout.addWidget(self.total)
        layout.addWidget(self.tree, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._retranslate()
        self._show()

    # ------------------------------------------------------------------ fetching

    def refresh(self) -> None:
        """Ask the fleet API (on the runtime loop); one request at a time."""
        if not self.source.configured:
            self.error = FleetError("not_configured", "")
            self._show()
            return
        if self._in_flight:
            return
        self._in_flight = True
        source = self.source

        async def ask() -> dict[str, Any]:
            return await fetch_fleet(source)

        self._bridge.submit(ask, done=self._arrived, failed=self._failed)

    def _arrived(self, result: object) -> None:
        self._in_flight = False
        if isinstance(result, dict):
            self.fleet = result
            self.error = None
        self._show()

    def _failed(self, message: str) -> None:
        self._in_flight = False
        kind, _sep, detail = message.partition(": ")
        known = kind in ("not_configured", "refused", "unreachable", "answer")
        self.error = FleetError(kind if known else "unreachable", detail if known else message)
        self._show()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit_periods()
        self._timer.start()
        self.refresh()

    def _fit_periods(self) -> None:
        # The chosen period is drawn bold (the theme's :checked): room for the bold text, so it never clips.
        for button in self.period_buttons.values():
            button.ensurePolished()
            font = QFont(button.font())
            font.setWeight(QFont.Weight.Bold)
            button.setMinimumWidth(QFontMetrics(font).horizontalAdvance(button.text()) + 36)

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)

    def set_period(self, period: str) -> None:
        self.period = period
        for name, button in self.period_buttons.items():
            button.setChecked(name == period)
        self._show()

    # ------------------------------------------------------------------ showing

    def _error_text(self, error: FleetError) -> str:
        if error.kind == "not_configured":
            text = self.tr(
                "The fleet view is not set up: give the fleet API's address and key in the plant file "
                "(cloud: api_url, api_key_file) or in %1 and %2."
            )
            text = text.replace("%1", ENV_URL).replace("%2", ENV_KEY)
            return text + (f" ({error.detail})" if error.detail else "")
        if error.kind == "refused":
            return self.tr("The fleet API refused the API key (%1). Ask for a valid key.").replace(
                "%1", error.detail
            )
        if error.kind == "answer":
            return self.tr("The fleet API gave an answer this screen cannot read (%1).").replace(
                "%1", error.detail
            )
        return self.tr("The fleet API cannot be reached (%1). Retrying every 30 s.").replace(
            "%1", error.detail
        )

    def _show(self) -> None:
        error = self.error
        if error is not None and error.kind == "not_configured":
            self.fleet = None
        self.message.setVisible(error is not None)
        if error is not None:
            self.message.setText(self._error_text(error))
            colour = self._palette.waiting if error.kind == "unreachable" else self._palette.stopped
            if error.kind == "not_configured":
                colour = self._palette.border
            self.message.setStyleSheet(
                f"QLabel#FleetMessage {{ border: 1px solid {colour}; border-left: 6px solid {colour};"
                f" padding: 8px; background: {self._palette.panel}; color: {self._palette.text}; }}"
            )
        fleet = self.fleet
        self.tree.clear()
        if fleet is None:
            self.tenant.setText("")
            self.updated.setText("")
            self.total.setText("")
            for state, chip in self.chips.items():
                self._chip(chip, state, None)
            return
        machines = [m for m in fleet.get("machines", []) if isinstance(m, dict)]
        name = fleet.get("tenant_name") or fleet.get("tenant") or ""
        self.tenant.setText(
            self.tr("%1 · %2 machines").replace("%1", str(name)).replace("%2", str(len(machines)))
        )
        generated = fleet.get("generated_at")
        if isinstance(generated, str):
            try:
                moment = datetime.fromisoformat(generated.replace("Z", "+00:00")).astimezone()
                self.updated.setText(self.tr("Updated %1").replace("%1", moment.strftime("%H:%M:%S")))
            except ValueError:
                self.updated.setText("")
        states = fleet.get("states")
        counts: Mapping[str, Any] = states if isinstance(states, dict) else {}
        for state, chip in self.chips.items():
            self._chip(chip, state, int(counts.get(state.value, 0) or 0))
        total = self._period(fleet.get("oee"))
        self.total.setText(self._figures(self.tr("All sites"), total))
        now = datetime.now(UTC)
        for site in fleet.get("sites", []):
            if not isinstance(site, dict):
                continue
            site_item = self._row(
                None, str(site.get("name") or site.get("id") or ""), self._period(site.get("oee"))
            )
            font = site_item.font(0)
            font.setBold(True)
            site_item.setFont(0, font)
            for line in site.get("lines", []):
                if not isinstance(line, dict):
                    continue
                line_name = str(line.get("id") or "") or self.tr("(no line)")
                line_item = self._row(site_item, line_name, self._period(line.get("oee")))
                for machine in machines:
                    if machine.get("site") != site.get("id") or machine.get("line") != line.get("id"):
                        continue
                    self._machine_row(line_item, machine, now)
        self.tree.expandAll()

    def _period(self, oee: object) -> Mapping[str, Any] | None:
        if not isinstance(oee, dict):
            return None
        result = oee.get(self.period)
        return result if isinstance(result, dict) else None

    def _figures(self, title: str, result: Mapping[str, Any] | None) -> str:
        def value(name: str) -> str:
            raw = None if result is None else result.get(name)
            return texts.percent(float(raw)) if isinstance(raw, int | float) else "—"

        names = [self.tr("OEE"), self.tr("Availability"), self.tr("Performance"), self.tr("Quality")]
        keys = ("oee", "availability", "performance", "quality")
        return "    ".join([title, *(f"{name} {value(key)}" for name, key in zip(names, keys, strict=True))])

    def _row(
        self, parent: QTreeWidgetItem | None, title: str, result: Mapping[str, Any] | None
    ) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self.tree if parent is None else parent)
        item.setSizeHint(0, QSize(0, 30))  # rows a finger can tell apart, like the other screens' tables
        item.setText(0, title)
        for column, name in enumerate(("oee", "availability", "performance", "quality"), start=3):
            raw = None if result is None else result.get(name)
            item.setText(column, texts.percent(float(raw)) if isinstance(raw, int | float) else "—")
            item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        good = None if result is None else result.get("good")
        item.setText(7, texts.number(int(good)) if isinstance(good, int | float) else "—")
        item.setTextAlignment(7, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item

    def _machine_row(self, parent: QTreeWidgetItem, machine: Mapping[str, Any], now: datetime) -> None:
        item = self._row(
            parent, str(machine.get("name") or machine.get("machine") or ""), self._period(machine.get("oee"))
        )
        item.setData(0, Qt.ItemDataRole.UserRole, f"{machine.get('edge')}/{machine.get('machine')}")
        state = _state(machine.get("state"))
        text = texts.state_name(state)
        if not machine.get("edge_online", True):
            text += " · " + self.tr("edge offline")
        item.setText(1, text)
        item.setText(2, _since(machine.get("since"), now))
        colour = self._palette.state_colour(state)
        if colour is not None:
            # ISA-101: colour only for what is abnormal; running stays grey.
            background = QColor(colour)
            item.setBackground(1, QBrush(background))
            item.setForeground(1, QBrush(QColor("#ffffff" if background.lightnessF() < 0.6 else "#1f2328")))

    def _chip(self, chip: QLabel, state: MachineState, count: int | None) -> None:
        chip.setText(f"{'—' if count is None else texts.number(count)}  {texts.state_name(state)}")
        palette = self._palette
        colour = palette.state_colour(state)
        edge = colour if colour is not None and count else palette.border
        background = palette.panel
        weight = "bold" if count else "normal"
        text = palette.text if count else palette.text_muted
        chip.setStyleSheet(
            f"QLabel {{ border: 1px solid {palette.border}; border-left: 6px solid {edge};"
            f" background: {background}; color: {text}; padding: 6px 10px; font-weight: {weight}; }}"
        )

    def apply_palette(self, palette: Palette) -> None:
        self._palette = palette
        self._show()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def _retranslate(self) -> None:
        self.title.setText(self.tr("Fleet"))
        names = {"shift": self.tr("Current shift"), "today": self.tr("Today"), "week": self.tr("This week")}
        for period, button in self.period_buttons.items():
            button.setText(names[period])
        self._fit_periods()
        self.refresh_button.setText(self.tr("Refresh"))
        self.tree.setHeaderLabels(
            [
                self.tr("Site / line / machine"),
                self.tr("State"),
                self.tr("For"),
                self.tr("OEE"),
                self.tr("Availability"),
                self.tr("Performance"),
                self.tr("Quality"),
                self.tr("Good parts"),
            ]
        )
        self._show()
