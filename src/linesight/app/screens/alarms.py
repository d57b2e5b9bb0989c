"""The alarm screen: the alarms standing now (filter, search, acknowledge, shelve, comment, take out of
service), the journal of a period, and how the alarm system performs (ISA-18.2 KPIs).

Every action goes through the audited command path on the runtime loop, in the logged-in user's name
(a login is asked for first when nobody is). Shelving and out of service need a supervisor,
maintenance, manager or admin: their buttons are disabled for an operator, and the runtime refuses
(and audits) whoever gets past that. The journal is read in a worker thread; the window never waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QEvent, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from linesight.app.bridge import RuntimeBridge
from linesight.app.session import Session
from linesight.domain.alarm_kpis import AlarmKpis
from linesight.domain.alarm_rules import Priority
from linesight.domain.alarm_types import (
    STANDING,
    UNACKNOWLEDGED,
    AlarmAction,
    AlarmEvent,
    AlarmState,
    AlarmStatus,
)
from linesight.domain.plant import PlantConfig
from linesight.domain.users import Permission, allowed
from linesight.runtime.alarms import AlarmSnapshot
from linesight.runtime.commands import NOBODY, Actor
from linesight.widgets import alarm_table
from linesight.widgets.alarm_table import AlarmTableModel, PriorityDelegate, value_text
from linesight.widgets.flow import FlowLayout
from linesight.widgets.keypad import OnScreenKeyboard
from linesight.widgets.palette import LIGHT, Palette
from linesight.widgets.polish import set_flag
from linesight.widgets.texts import (
    alarm_message,
    alarm_state_name,
    clock_time,
    duration_text,
    number,
    priority_name,
    translate,
)

# Do ``action`` as the logged-in user (after a login if nobody is): (login title, action).
ActAs = Callable[[str, Callable[[Actor], None]], None]

SHELVE_CHOICES_S = (15 * 60, 3600, 8 * 3600)
JOURNAL_PRESETS = (
    ("1 h", timedelta(hours=1)),
    ("8 h", timedelta(hours=8)),
    ("24 h", timedelta(hours=24)),
    ("7 d", timedelta(days=7)),
)
JOURNAL_LIMIT = 1000
KPI_REFRESH_MS = 2000

# The state filter: what each choice shows.
STATE_FILTERS: tuple[tuple[str, frozenset[AlarmState]], ...] = (
    ("standing", frozenset(STANDING)),
    ("unacked", frozenset(UNACKNOWLEDGED)),
    ("acked", frozenset({AlarmState.ACKED})),
    ("shelved", frozenset({AlarmState.SHELVED})),
    ("suppressed", frozenset({AlarmState.SUPPRESSED})),
    ("out_of_service", frozenset({AlarmState.OUT_OF_SERVICE})),
    ("all", frozenset(AlarmState) - {AlarmState.NORMAL}),
)


def action_name(action: AlarmAction) -> str:
    names = {
        AlarmAction.RAISE: translate("AlarmAction", "Raised"),
        AlarmAction.CLEAR: translate("AlarmAction", "Cleared"),
        AlarmAction.ACKNOWLEDGE: translate("AlarmAction", "Acknowledged"),
        AlarmAction.SHELVE: translate("AlarmAction", "Shelved"),
        AlarmAction.UNSHELVE: translate("AlarmAction", "Unshelved"),
        AlarmAction.SUPPRESS: translate("AlarmAction", "Suppressed"),
        AlarmAction.UNSUPPRESS: translate("AlarmAction", "Unsuppressed"),
        AlarmAction.REMOVE_FROM_SERVICE: translate("AlarmAction", "Out of service"),
        AlarmAction.RETURN_TO_SERVICE: translate("AlarmAction", "Returned to service"),
        AlarmAction.COMMENT: translate("AlarmAction", "Comment"),
    }
    return names[action]


def shelve_choice_text(seconds: int) -> str:
    if seconds < 3600:
        return translate("AlarmsScreen", "%1 min").replace("%1", str(seconds // 60))
    return translate("AlarmsScreen", "%1 h").replace("%1", str(seconds // 3600))


class ShelveDialog(QDialog):
    """How long to shelve an alarm: until it clears (one-shot), or 15 min, 1 h, 8 h (at most the
    plant's ``max_shelve``). Large buttons; opened without blocking the window."""

    chosen = Signal(object)  # seconds, or None for one-shot

    def __init__(self, alarm: AlarmStatus, max_shelve_s: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ShelveDialog")
        self.setWindowTitle(translate("AlarmsScreen", "Shelve alarm"))
        heading = QLabel(translate("AlarmsScreen", "Shelve alarm"))
        heading.setProperty("role", "subtitle")
        what = QLabel(f"{alarm.machine_name}: {alarm_message(alarm.message, alarm.machine_name)}")
        what.setWordWrap(True)
        note = QLabel(translate("AlarmsScreen", "A shelved alarm is not shown until the shelve ends."))
        note.setProperty("role", "muted")
        note.setWordWrap(True)
        self.one_shot = QPushButton(translate("AlarmsScreen", "Until it clears (one-shot)"))
        self.one_shot.setProperty("role", "choice")
        self.one_shot.setEnabled(alarm.active)  # a one-shot shelve needs an active alarm
        self.one_shot.clicked.connect(lambda: self._choose(None))
        self.timed: dict[int, QPushButton] = {}
        grid = QGridLayout()
        grid.setSpacing(8)
        grid.addWidget(self.one_shot, 0, 0, 1, len(SHELVE_CHOICES_S))
        for column, seconds in enumerate(SHELVE_CHOICES_S):
            button = QPushButton(shelve_choice_text(seconds))
            button.setProperty("role", "choice")
            button.setEnabled(seconds <= max_shelve_s)
            button.clicked.connect(lambda _checked=False, s=seconds: self._choose(s))
            self.timed[seconds] = button
            grid.addWidget(button, 1, column)
        self.cancel = QPushButton(translate("AlarmsScreen", "Cancel"))
        self.cancel.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(12)
        layout.addWidget(heading)
        layout.addWidget(what)
        layout.addWidget(note)
        layout.addLayout(grid)
        layout.addWidget(self.cancel, 0, Qt.AlignmentFlag.AlignRight)
        self.setMinimumWidth(560)

    def _choose(self, seconds: int | None) -> None:
        self.chosen.emit(seconds)
        self.accept()


class AlarmsScreen(QWidget):
    """Active alarms, the journal and the KPIs, one view at a time."""

    def __init__(
        self,
        bridge: RuntimeBridge,
        plant: PlantConfig,
        act_as: ActAs,
        session: Session,
        parent: QWidget | None = None,
        *,
        kiosk: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("AlarmsScreen")
        self._bridge = bridge
        self._plant = plant
        self._act_as = act_as
        self._session = session
        self._colours: Palette = LIGHT
        self._touch = 56 if kiosk else 40
        self._max_shelve_s = float(plant.alarm_options.max_shelve)
        self._machine_names = {machine.id: machine.title for _s, _l, machine in plant.machines()}
        self._snapshot: AlarmSnapshot | None = None
        self._selected_id: str | None = None
        self._journal_ticket = 0
        self.journal_running = False
        self._journal_span = JOURNAL_PRESETS[0][1]
        self._journal_events: list[AlarmEvent] = []
        self._kpis: AlarmKpis | None = None
        self.shelve_dialog: ShelveDialog | None = None
        self.comment_dialog: OnScreenKeyboard | None = None
        self.search_keyboard: OnScreenKeyboard | None = None

        # -- header: the views
        self.title = QLabel()
        self.title.setProperty("role", "title")
        self.view_active = self._view_button()
        self.view_journal = self._view_button()
        self.view_kpis = self._view_button()
        views = QButtonGroup(self)
        views.setExclusive(True)
        for index, button in enumerate((self.view_active, self.view_journal, self.view_kpis)):
            views.addButton(button)
            button.clicked.connect(lambda _checked=False, i=index: self.show_view(i))
        self.flood = QLabel()
        self.flood.setProperty("role", "badge")
        self.flood.setVisible(False)
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addSpacing(16)
        for button in (self.view_active, self.view_journal, self.view_kpis):
            header.addWidget(button)
        header.addSpacing(16)
        header.addWidget(self.flood)
        header.addStretch(1)

        self.views = QStackedWidget()
        self.views.addWidget(self._build_active())
        self.views.addWidget(self._build_journal())
        self.views.addWidget(self._build_kpis())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 12)
        layout.addLayout(header)
        layout.addWidget(self.views, 1)

        self._kpi_timer = QTimer(self)
        self._kpi_timer.setInterval(KPI_REFRESH_MS)
        self._kpi_timer.timeout.connect(self.refresh_kpis)
        self._retranslate()
        self.view_active.setChecked(True)
        bridge.alarmsChanged.connect(self.show_snapshot)
        session.changed.connect(lambda _actor: self._update_actions())
        if bridge.alarms is not None:
            self.show_snapshot(bridge.alarms)
        self._update_actions()

    # ------------------------------------------------------------------ building

    def _view_button(self) -> QPushButton:
        button = QPushButton()
        button.setProperty("role", "nav")
        button.setCheckable(True)
        return button

    def _build_active(self) -> QWidget:
        page = QWidget()
        self.priority_filter = QComboBox()
        self.priority_filter.addItem("", None)
        for priority in Priority:
            self.priority_filter.addItem("", priority.value)  # Qt keeps a str, not the enum
        self.machine_filter = QComboBox()
        self.machine_filter.addItem("", None)
        for machine_id, name in self._machine_names.items():
            self.machine_filter.addItem(name, machine_id)
        self.state_filter = QComboBox()
        for key, _states in STATE_FILTERS:
            self.state_filter.addItem("", key)
        self.search = QLineEdit()
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(220)
        self.search_keys = QPushButton()
        self.search_keys.clicked.connect(self._search_keyboard)
        for combo in (self.priority_filter, self.machine_filter, self.state_filter):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.currentIndexChanged.connect(lambda _index: self._refilter())
        self.search.textChanged.connect(lambda _text: self._refilter())
        filters = FlowLayout(spacing=6, whole_items=True)  # two rows on a narrow panel
        for control in (
            self.priority_filter,
            self.machine_filter,
            self.state_filter,
            self.search,
            self.search_keys,
        ):
            filters.addWidget(control)

        self.model = AlarmTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(alarm_table.PRIORITY, PriorityDelegate(self.table))
        self._touch_table(self.table)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        for column in range(alarm_table.COLUMNS):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(alarm_table.MESSAGE, QHeaderView.ResizeMode.Stretch)
        # A long state ("Cleared, unacknowledged") and the message take two lines of the row rather
        # than the message's room: on a kiosk panel the message is what the operator reads.
        header.setSectionResizeMode(alarm_table.STATE, QHeaderView.ResizeMode.Interactive)
        self.table.setWordWrap(True)
        self.table.selectionModel().selectionChanged.connect(lambda _new, _old: self._selection_changed())
        self.empty = QLabel()
        self.empty.setProperty("role", "muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.acknowledge = QPushButton()
        self.acknowledge.setProperty("role", "accept")
        self.acknowledge.clicked.connect(self.acknowledge_selected)
        self.acknowledge_all = QPushButton()
        self.acknowledge_all.clicked.connect(self.acknowledge_shown)
        self.comment = QPushButton()
        self.comment.clicked.connect(self.comment_selected)
        self.shelve = QPushButton()
        self.shelve.clicked.connect(self.shelve_selected)
        self.unshelve = QPushButton()
        self.unshelve.clicked.connect(lambda: self._privileged("unshelve"))
        self.out_of_service = QPushButton()
        self.out_of_service.clicked.connect(lambda: self._privileged("remove"))
        self.return_to_service = QPushButton()
        self.return_to_service.clicked.connect(lambda: self._privileged("return"))
        self.message = QLabel()
        self.message.setProperty("role", "message")
        self.message.setWordWrap(True)
        # Every label whole: where the row is too narrow (a 1024 px panel) the buttons take two rows.
        actions = FlowLayout(spacing=6, whole_items=True)
        for button in (
            self.acknowledge,
            self.acknowledge_all,
            self.comment,
            self.shelve,
            self.unshelve,
            self.out_of_service,
            self.return_to_service,
        ):
            actions.addWidget(button)

        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addWidget(self.message)
        layout.addLayout(actions)
        return page

    def _build_journal(self) -> QWidget:
        page = QWidget()
        self.journal_presets: list[QPushButton] = []
        presets = QButtonGroup(self)
        presets.setExclusive(True)
        row = FlowLayout(spacing=6, whole_items=True)  # two rows on a narrow panel
        for label, span in JOURNAL_PRESETS:
            button = QPushButton(label)
            button.setCheckable(True)
            button.clicked.connect(lambda _checked=False, s=span: self._journal_preset(s))
            presets.addButton(button)
            self.journal_presets.append(button)
            row.addWidget(button)
        self.journal_presets[0].setChecked(True)
        self.journal_machine = QComboBox()
        self.journal_machine.addItem("", None)
        for machine_id, name in self._machine_names.items():
            self.journal_machine.addItem(name, machine_id)
        self.journal_machine.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.journal_search = QLineEdit()
        self.journal_search.setClearButtonEnabled(True)
        self.journal_search.setMinimumWidth(200)
        self.journal_search.returnPressed.connect(self.query_journal)
        self.journal_keys = QPushButton()
        self.journal_keys.clicked.connect(self._journal_keyboard)
        self.journal_go = QPushButton()
        self.journal_go.setProperty("role", "accept")
        self.journal_go.clicked.connect(self.query_journal)
        row.addWidget(self.journal_machine)
        row.addWidget(self.journal_search)
        row.addWidget(self.journal_keys)
        row.addWidget(self.journal_go)

        self.journal = QTableWidget(0, 8)
        self._touch_table(self.journal)
        self.journal.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.journal.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.journal.horizontalHeader()
        for column in range(8):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)  # the message
        header.setSectionResizeMode(7, QHeaderView.ResizeMode.Stretch)  # and a comment share the rest
        self.journal.setWordWrap(True)
        self.journal_info = QLabel()
        self.journal_info.setProperty("role", "muted")
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.journal, 1)
        layout.addWidget(self.journal_info)
        return page

    def _build_kpis(self) -> QWidget:
        page = QWidget()
        self.kpi_values: dict[str, QLabel] = {}
        self.kpi_captions: dict[str, QLabel] = {}
        self.kpi_notes: dict[str, QLabel] = {}
        self._kpi_grid = grid = QGridLayout()
        self._kpi_cards: list[QFrame] = []
        self._kpi_columns = 3
        self._room: int | None = None  # the width the window has for this screen (fit_width)
        grid.setSpacing(12)
        names = ("per_10min", "last_10min", "flood_pct", "flood", "stale", "chattering")
        for index, name in enumerate(names):
            card = QFrame()
            card.setProperty("role", "panel")
            caption, value, note = QLabel(), QLabel(), QLabel()
            caption.setProperty("role", "subtitle")
            value.setProperty("role", "figure")
            note.setProperty("role", "muted")
            note.setWordWrap(True)
            box = QVBoxLayout(card)
            box.setContentsMargins(14, 10, 14, 10)
            box.addWidget(caption)
            box.addWidget(value, 0, Qt.AlignmentFlag.AlignLeft)  # an amber mark as wide as the figure
            box.addWidget(note)
            box.addStretch(1)
            self.kpi_captions[name], self.kpi_values[name], self.kpi_notes[name] = caption, value, note
            self._kpi_cards.append(card)
            grid.addWidget(card, index // 3, index % 3)
        self.top_title = QLabel()
        self.top_title.setProperty("role", "subtitle")
        self.top = QTableWidget(0, 4)
        self._touch_table(self.top)
        self.top.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.top.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.top.horizontalHeader()
        for column in range(4):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.kpi_window = QLabel()
        self.kpi_window.setProperty("role", "muted")
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(grid)
        layout.addWidget(self.top_title)
        layout.addWidget(self.top, 1)
        layout.addWidget(self.kpi_window)
        return page

    def _touch_table(self, table: QTableView) -> None:
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(max(self._touch, 44))
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        table.setWordWrap(False)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)

    # ------------------------------------------------------------------ views

    def show_view(self, index: int) -> None:
        self.views.setCurrentIndex(index)
        for number_, button in enumerate((self.view_active, self.view_journal, self.view_kpis)):
            button.setChecked(number_ == index)
        if index == 1 and not self._journal_events and not self.journal_running:
            self.query_journal()
        if index == 2:
            self.refresh_kpis()
            self._kpi_timer.start()
        else:
            self._kpi_timer.stop()

    def show_machine_alarms(self, machine_id: str | None) -> None:
        """The active view with every standing alarm of one machine (None: of every machine); the
        other filters and the search are cleared."""
        for combo in (self.priority_filter, self.state_filter):
            combo.setCurrentIndex(0)
        self.search.clear()
        found = self.machine_filter.findData(machine_id)
        self.machine_filter.setCurrentIndex(max(0, found))
        self.show_view(0)

    def _size_state_column(self) -> None:
        """As wide as the longest one-line state (or the heading); longer ones wrap."""
        bold = QFont(self.table.font())
        bold.setBold(True)
        metrics = QFontMetrics(bold)
        one_line = (AlarmState.UNACK, AlarmState.ACKED, AlarmState.SHELVED, AlarmState.OUT_OF_SERVICE)
        width = max(metrics.horizontalAdvance(alarm_state_name(state)) for state in one_line)
        heading = str(self.model.headerData(alarm_table.STATE, Qt.Orientation.Horizontal))
        width = max(width, QFontMetrics(self.table.horizontalHeader().font()).horizontalAdvance(heading))
        self.table.horizontalHeader().resizeSection(alarm_table.STATE, width + 24)

    def showEvent(self, event: QShowEvent) -> None:
        self._size_state_column()  # the style sheet's font is known by now (larger in kiosk mode)
        if self.views.currentIndex() == 2:
            self._kpi_timer.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._kpi_timer.stop()
        super().hideEvent(event)

    # ------------------------------------------------------------------ the active alarms

    def show_snapshot(self, snapshot: AlarmSnapshot) -> None:
        self._snapshot = snapshot
        self._refilter()
        self._show_flood(snapshot.flood)
        self._retitle_views()

    def visible_alarms(self) -> list[AlarmStatus]:
        """The alarms the filters and the search let through, in the service's order."""
        if self._snapshot is None:
            return []
        priority = self.priority_filter.currentData()
        machine = self.machine_filter.currentData()
        key = self.state_filter.currentData()
        states = dict(STATE_FILTERS).get(key, STATE_FILTERS[0][1])
        words = self.search.text().strip().casefold()
        shown = []
        for alarm in self._snapshot.alarms:
            if alarm.state not in states:
                continue
            if priority is not None and alarm.priority.value != priority:
                continue
            if machine is not None and alarm.machine != machine:
                continue
            if words and not any(
                words in text.casefold()
                for text in (
                    alarm.message,
                    alarm.machine_name,
                    alarm.alarm_id,
                    alarm.tag,
                    alarm.comment or "",
                )
            ):
                continue
            shown.append(alarm)
        return shown

    def _refilter(self) -> None:
        keep = self._selected_id
        shown = self.visible_alarms()
        now = self._snapshot.taken_at if self._snapshot is not None else None
        scrolled = self.table.verticalScrollBar().value()
        self.model.set_alarms(shown, now)
        self.table.verticalScrollBar().setValue(scrolled)  # a new snapshot never moves the list
        row = self.model.row_of(keep) if keep is not None else None
        if row is not None:
            self.table.selectionModel().select(
                self.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
            )
        else:
            self._selected_id = None
        filtered = self._snapshot is not None and bool(self._snapshot.alarms)
        self.empty.setVisible(not shown)
        self.empty.setText(
            translate("AlarmsScreen", "No alarm matches the filters.")
            if filtered
            else translate("MainWindow", "No active alarms")
        )
        self._update_actions()

    def _selection_changed(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        self._selected_id = self.model.alarm(rows[0].row()).alarm_id if rows else None
        self._update_actions()

    def select(self, alarm_id: str) -> bool:
        """Select an alarm in the list (as a tap on its row); False if it is not shown."""
        row = self.model.row_of(alarm_id)
        if row is None:
            return False
        self.table.selectRow(row)
        return True

    @property
    def selected(self) -> AlarmStatus | None:
        if self._selected_id is None:
            return None
        row = self.model.row_of(self._selected_id)
        return None if row is None else self.model.alarm(row)

    def may_shelve(self) -> bool:
        """Whether the shelve and service buttons work for who is here (nobody: a login comes first)."""
        actor = self._session.actor
        return actor is NOBODY or allowed(actor.role, Permission.SHELVE)

    def _update_actions(self) -> None:
        alarm = self.selected
        state = alarm.state if alarm is not None else None
        privileged = self.may_shelve()
        unacked = [a for a in self.model.alarms() if a.state in UNACKNOWLEDGED]
        self.acknowledge.setEnabled(state in UNACKNOWLEDGED)
        self.acknowledge_all.setEnabled(bool(unacked))
        self.acknowledge_all.setText(
            translate("AlarmsScreen", "Acknowledge all shown (%1)").replace("%1", number(len(unacked)))
            if unacked
            else translate("AlarmsScreen", "Acknowledge all shown")
        )
        self.comment.setEnabled(alarm is not None)
        self.shelve.setEnabled(
            privileged and state is not None and state not in (AlarmState.SHELVED, AlarmState.OUT_OF_SERVICE)
        )
        self.unshelve.setEnabled(privileged and state is AlarmState.SHELVED)
        self.out_of_service.setEnabled(
            privileged and state is not None and state is not AlarmState.OUT_OF_SERVICE
        )
        self.return_to_service.setEnabled(privileged and state is AlarmState.OUT_OF_SERVICE)
        why = (
            ""
            if privileged
            else translate("AlarmsScreen", "Needs a supervisor, maintenance, manager or administrator.")
        )
        for button in (self.shelve, self.unshelve, self.out_of_service, self.return_to_service):
            button.setToolTip(why)

    def _show_flood(self, flood: bool) -> None:
        self.flood.setVisible(flood)
        set_flag(self.flood, "attention", flood)

    def _retitle_views(self) -> None:
        counts = self._snapshot.counts if self._snapshot is not None else None
        if counts is not None and counts.standing:
            self.view_active.setText(
                translate("AlarmsScreen", "Active (%1)").replace("%1", number(counts.standing))
            )
        else:
            self.view_active.setText(translate("AlarmsScreen", "Active"))

    # ------------------------------------------------------------------ actions

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        set_flag(self.message, "error", error)

    def _failed(self, message: str) -> None:
        self._say(translate("AlarmsScreen", "Not done: %1").replace("%1", message), error=True)

    def _login_title(self) -> str:
        return translate("AlarmsScreen", "Log in to act on alarms")

    def acknowledge_selected(self) -> None:
        alarm = self.selected
        if alarm is None:
            return
        alarm_id = alarm.alarm_id
        commands = self._bridge.commands

        def send(actor: Actor) -> None:
            self._bridge.submit(
                lambda: commands.acknowledge_alarms(actor, [alarm_id]),
                done=lambda _events: self._say(translate("AlarmsScreen", "Acknowledged.")),
                failed=self._failed,
            )

        self._act_as(self._login_title(), send)

    def acknowledge_shown(self) -> None:
        """Acknowledge every unacknowledged alarm the filters show now (not one the operator has not seen)."""
        ids = [alarm.alarm_id for alarm in self.model.alarms() if alarm.state in UNACKNOWLEDGED]
        if not ids:
            return
        commands = self._bridge.commands

        def send(actor: Actor) -> None:
            self._bridge.submit(
                lambda: commands.acknowledge_alarms(actor, ids),
                done=lambda _events: self._say(
                    translate("AlarmsScreen", "Acknowledged: %1").replace("%1", number(len(ids)))
                ),
                failed=self._failed,
            )

        self._act_as(self._login_title(), send)

    def comment_selected(self) -> None:
        alarm = self.selected
        if alarm is None:
            return
        alarm_id = alarm.alarm_id
        dialog = OnScreenKeyboard(
            self, title=translate("AlarmsScreen", "Comment on the alarm"), text="", max_length=200
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        commands = self._bridge.commands

        def typed() -> None:
            text = dialog.text().strip()
            if not text:
                return

            def send(actor: Actor) -> None:
                self._bridge.submit(
                    lambda: commands.comment_alarm(actor, alarm_id, text),
                    done=lambda _events: self._say(translate("AlarmsScreen", "Comment saved.")),
                    failed=self._failed,
                )

            self._act_as(self._login_title(), send)

        dialog.accepted.connect(typed)
        dialog.destroyed.connect(lambda _object=None: setattr(self, "comment_dialog", None))
        self.comment_dialog = dialog
        dialog.open()

    def shelve_selected(self) -> None:
        alarm = self.selected
        if alarm is None:
            return
        dialog = ShelveDialog(alarm, self._max_shelve_s, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        alarm_id = alarm.alarm_id
        dialog.chosen.connect(lambda seconds: self._shelve(alarm_id, seconds))
        dialog.destroyed.connect(lambda _object=None: setattr(self, "shelve_dialog", None))
        self.shelve_dialog = dialog
        dialog.open()

    def _shelve(self, alarm_id: str, seconds: int | None) -> None:
        commands = self._bridge.commands
        duration = None if seconds is None else float(seconds)

        def send(actor: Actor) -> None:
            self._bridge.submit(
                lambda: commands.shelve_alarm(actor, alarm_id, duration=duration),
                done=lambda _events: self._say(translate("AlarmsScreen", "Shelved.")),
                failed=self._failed,
            )

        self._act_as(self._login_title(), send)

    def _privileged(self, what: str) -> None:
        alarm = self.selected
        if alarm is None:
            return
        alarm_id = alarm.alarm_id
        commands = self._bridge.commands
        runs = {
            "unshelve": (commands.unshelve_alarm, translate("AlarmsScreen", "Unshelved.")),
            "remove": (
                commands.remove_alarm_from_service,
                translate("AlarmsScreen", "Taken out of service."),
            ),
            "return": (commands.return_alarm_to_service, translate("AlarmsScreen", "Returned to service.")),
        }
        command, said = runs[what]

        def send(actor: Actor) -> None:
            self._bridge.submit(
                lambda: command(actor, alarm_id),
                done=lambda _events: self._say(said),
                failed=self._failed,
            )

        self._act_as(self._login_title(), send)

    def _search_keyboard(self) -> None:
        dialog = OnScreenKeyboard(self, title=translate("AlarmsScreen", "Search"), text=self.search.text())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.search.setText(dialog.text()))
        self.search_keyboard = dialog
        dialog.open()

    # ------------------------------------------------------------------ the journal

    def _journal_preset(self, span: timedelta) -> None:
        self._journal_span = span
        self.query_journal()

    def _journal_keyboard(self) -> None:
        dialog = OnScreenKeyboard(
            self, title=translate("AlarmsScreen", "Search"), text=self.journal_search.text()
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def typed() -> None:
            self.journal_search.setText(dialog.text())
            self.query_journal()

        dialog.accepted.connect(typed)
        self.search_keyboard = dialog
        dialog.open()

    def query_journal(self) -> None:
        """Ask the historian for the period's journal in a worker thread; the newest question wins."""
        historian = self._bridge.engine.historian
        reader = getattr(historian, "alarm_events", None)
        if reader is None:
            self.journal_info.setText(translate("AlarmsScreen", "No historian: there is no journal to show."))
            return
        end = datetime.now(UTC)
        start = end - self._journal_span
        machine = self.journal_machine.currentData()
        search = self.journal_search.text().strip() or None
        self._journal_ticket += 1
        ticket = self._journal_ticket
        self.journal_running = True
        self.journal_info.setText(translate("AlarmsScreen", "Reading the journal…"))

        async def read() -> list[AlarmEvent]:
            found: list[AlarmEvent] = await asyncio.to_thread(
                reader, start, end, machine=machine, search=search, limit=JOURNAL_LIMIT
            )
            return found

        def done(result: object) -> None:
            if ticket != self._journal_ticket:
                return  # a newer question is on its way
            self.journal_running = False
            self.show_journal(result if isinstance(result, list) else [])

        def failed(message: str) -> None:
            if ticket == self._journal_ticket:
                self.journal_running = False
                self.journal_info.setText(
                    translate("AlarmsScreen", "The journal could not be read: %1").replace("%1", message)
                )

        self._bridge.submit(read, done=done, failed=failed)

    def show_journal(self, events: Sequence[AlarmEvent]) -> None:
        self._journal_events = list(events)
        table = self.journal
        table.setRowCount(len(events))
        now = datetime.now(UTC)
        for row, event in enumerate(events):
            name = self._machine_names.get(event.machine, event.machine)
            cells = (
                clock_time(event.ts, now),
                priority_name(event.priority),
                name,
                alarm_message(event.message, name),
                action_name(event.action),
                alarm_state_name(event.to_state),
                event.user or translate("AlarmsScreen", "system"),
                event.comment or "",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 3:
                    item.setToolTip(f"{event.message}\n{event.alarm_id}\n{value_text(event.value)}")
                table.setItem(row, column, item)
        if len(events) >= JOURNAL_LIMIT:
            info = translate("AlarmsScreen", "The newest %1 events; narrow the period or search.")
            self.journal_info.setText(info.replace("%1", number(len(events))))
        else:
            self.journal_info.setText(
                translate("AlarmsScreen", "Events: %1").replace("%1", number(len(events)))
            )

    # ------------------------------------------------------------------ KPIs

    def refresh_kpis(self) -> None:
        self.show_kpis(self._bridge.engine.alarms.kpis(top_n=10))

    def show_kpis(self, kpis: AlarmKpis) -> None:
        self._kpis = kpis
        values = self.kpi_values
        values["per_10min"].setText(number(kpis.per_10min, 1))
        values["last_10min"].setText(number(kpis.last_10min))
        values["flood_pct"].setText(f"{number(kpis.flood_pct, 1)} %")
        if kpis.flood:
            scopes = ", ".join(kpis.flood_scopes)
            values["flood"].setText(translate("AlarmsScreen", "Yes: %1").replace("%1", scopes))
        else:
            values["flood"].setText(translate("AlarmsScreen", "No"))
        values["stale"].setText(number(kpis.stale))
        values["chattering"].setText(number(kpis.chattering))
        # Amber (attention, not an alarm colour) where ISA-18.2's guidance is exceeded.
        set_flag(values["per_10min"], "attention", kpis.per_10min > 2)
        set_flag(values["flood"], "attention", kpis.flood)
        set_flag(values["stale"], "attention", kpis.stale > 0)
        set_flag(values["chattering"], "attention", kpis.chattering > 0)
        definitions = {d.alarm_id: d for d in self._bridge.engine.alarms.definitions()}
        self.top.setRowCount(len(kpis.top))
        for row, (alarm_id, times) in enumerate(kpis.top):
            found = definitions.get(alarm_id)
            cells = (
                priority_name(found.priority) if found else "",
                found.machine_name if found else "",
                alarm_id.split(".", 1)[1] if found and "." in alarm_id else alarm_id,
                number(times),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.top.setItem(row, column, item)
        self.kpi_window.setText(
            translate("AlarmsScreen", "Over the last %1: %2 alarms raised. Kept in memory since the start.")
            .replace("%1", duration_text(timedelta(seconds=kpis.window_s)))
            .replace("%2", number(kpis.raised))
        )

    # ------------------------------------------------------------------ look and language

    def _refit(self) -> None:
        if getattr(self, "_room", None) is not None:
            self.fit_width(self._room)  # type: ignore[arg-type]

    def fit_width(self, width: int) -> None:
        """Three KPI cards a row where ``width`` (what the window has for the screen) holds them, else
        two, or one."""
        self._room = width
        spacing = self._kpi_grid.spacing()
        card = max(c.minimumSizeHint().width() for c in self._kpi_cards)
        columns = max(1, min(3, (width - 24 + spacing) // (card + spacing)))
        if columns == self._kpi_columns:
            return
        self._kpi_columns = columns
        for card_widget in self._kpi_cards:
            self._kpi_grid.removeWidget(card_widget)
        for index, card_widget in enumerate(self._kpi_cards):
            self._kpi_grid.addWidget(card_widget, index // columns, index % columns)
        page = self._kpi_grid.parentWidget()  # hidden behind another view: recompute its size now
        while page is not None and page is not self:
            if page.layout() is not None:
                page.layout().invalidate()  # type: ignore[union-attr]
            page.updateGeometry()
            page = page.parentWidget()
        self.updateGeometry()

    def apply_palette(self, palette: Palette) -> None:
        self._colours = palette
        self.model.apply_palette(palette)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def _retranslate(self) -> None:
        # The KPI cards' widths follow their texts: fit them again once the texts below have changed.
        QTimer.singleShot(0, self, self._refit)
        self.title.setText(translate("AlarmsScreen", "Alarms"))
        self._retitle_views()
        self.view_journal.setText(translate("AlarmsScreen", "Journal"))
        self.view_kpis.setText(translate("AlarmsScreen", "Performance"))
        self.flood.setText(translate("AlarmsScreen", "Alarm flood"))
        self.priority_filter.setItemText(0, translate("AlarmsScreen", "All priorities"))
        for index, priority in enumerate(Priority, start=1):
            self.priority_filter.setItemText(index, priority_name(priority))
        self.machine_filter.setItemText(0, translate("AlarmsScreen", "All machines"))
        self.journal_machine.setItemText(0, translate("AlarmsScreen", "All machines"))
        state_names = {
            "standing": translate("AlarmsScreen", "Standing"),
            "unacked": translate("AlarmsScreen", "Unacknowledged"),
            "acked": translate("AlarmsScreen", "Acknowledged"),
            "shelved": alarm_state_name(AlarmState.SHELVED),
            "suppressed": alarm_state_name(AlarmState.SUPPRESSED),
            "out_of_service": alarm_state_name(AlarmState.OUT_OF_SERVICE),
            "all": translate("AlarmsScreen", "All states"),
        }
        for index, (key, _states) in enumerate(STATE_FILTERS):
            self.state_filter.setItemText(index, state_names[key])
        self.search.setPlaceholderText(translate("AlarmsScreen", "Search"))
        self.journal_search.setPlaceholderText(translate("AlarmsScreen", "Search"))
        for button in (self.search_keys, self.journal_keys):
            button.setText(translate("AlarmsScreen", "Keyboard"))
        self.acknowledge.setText(translate("AlarmsScreen", "Acknowledge"))
        self.comment.setText(translate("AlarmsScreen", "Comment…"))
        self.shelve.setText(translate("AlarmsScreen", "Shelve…"))
        self.unshelve.setText(translate("AlarmsScreen", "Unshelve"))
        self.out_of_service.setText(translate("AlarmsScreen", "Out of service"))
        self.return_to_service.setText(translate("AlarmsScreen", "Return to service"))
        self.journal_go.setText(translate("AlarmsScreen", "Search"))
        self.journal.setHorizontalHeaderLabels(
            [
                translate("AlarmsScreen", "Time"),
                translate("AlarmsScreen", "Priority"),
                translate("AlarmsScreen", "Machine"),
                translate("AlarmsScreen", "Message"),
                translate("AlarmsScreen", "Event"),
                translate("AlarmsScreen", "State"),
                translate("AlarmsScreen", "User"),
                translate("AlarmsScreen", "Comment"),
            ]
        )
        captions = {
            "per_10min": translate("AlarmsScreen", "Alarms per 10 min (average)"),
            "last_10min": translate("AlarmsScreen", "Alarms in the last 10 min"),
            "flood_pct": translate("AlarmsScreen", "Time in flood"),
            "flood": translate("AlarmsScreen", "Flood now"),
            "stale": translate("AlarmsScreen", "Stale alarms"),
            "chattering": translate("AlarmsScreen", "Chattering alarms"),
        }
        notes = {
            "per_10min": translate("AlarmsScreen", "ISA-18.2: about 1 is manageable, more than 2 demanding."),
            "last_10min": "",
            "flood_pct": translate(
                "AlarmsScreen", "Share of the period with more alarms than anyone can handle."
            ),
            "flood": "",
            "stale": translate("AlarmsScreen", "Active for longer than the plant's stale limit."),
            "chattering": translate("AlarmsScreen", "Raised again and again within a short time."),
        }
        for name, caption in captions.items():
            self.kpi_captions[name].setText(caption)
            self.kpi_notes[name].setText(notes[name])
            self.kpi_notes[name].setVisible(bool(notes[name]))
        self.top_title.setText(translate("AlarmsScreen", "Most frequent alarms"))
        self.top.setHorizontalHeaderLabels(
            [
                translate("AlarmsScreen", "Priority"),
                translate("AlarmsScreen", "Machine"),
                translate("AlarmsScreen", "Alarm"),
                translate("AlarmsScreen", "Times raised"),
            ]
        )
        self.model.retranslate()
        self._size_state_column()
        self._update_actions()
        if self._journal_events:
            self.show_journal(self._journal_events)
        if self._kpis is not None:
            self.show_kpis(self._kpis)
        if self._snapshot is not None:
            self._refilter()
