"""Coding stops: one machine's stops of the running shift, newest first, and large buttons to give a
stop (or the part of it before or after a chosen moment) a reason from the plant's reason tree.

Grey is normal; a stop that still has uncoded time is an attention item (amber, never alarm red).
Micro-stops are not listed: they count as a performance loss and are never coded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from PySide6.QtCore import QEvent, QRect, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from linesight.app.bridge import RuntimeBridge
from linesight.app.notice import notice
from linesight.app.reporting import Words, is_micro_stop, micro_stop_thresholds
from linesight.domain.plant import PlantConfig
from linesight.domain.reasons import Reason, ReasonTree, Stop
from linesight.runtime.commands import Actor
from linesight.runtime.machines import MachineStatus
from linesight.widgets.keypad import OnScreenKeyboard
from linesight.widgets.palette import LIGHT, Palette
from linesight.widgets.polish import set_flag
from linesight.widgets.stop_bar import StopBar
from linesight.widgets.texts import duration_text, state_name, translate

# Do ``action`` as the logged-in user (after a login if nobody is): (login title, action).
ActAs = Callable[[str, Callable[[Actor], None]], None]

SPLIT_STEPS_S = (-300, -60, 60, 300)


def codeable(stop: Stop, threshold_s: float) -> bool:
    """Whether the coding screen lists ``stop``: every stop but a finished micro-stop."""
    return not is_micro_stop(stop, threshold_s)


def uncoded_stops(status: MachineStatus, threshold_s: float) -> int:
    """How many listed stops of the shift still have time without a reason (the machine screen's badge)."""
    return sum(1 for stop in status.stops if codeable(stop, threshold_s) and not stop.coded)


def _clock(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M")


def part_summary(stop: Stop, tree: ReasonTree, language: str) -> str:
    """A stop's parts in words: "Breakdown / Mechanical failure 8 min · Not coded 5 min"."""
    words: list[str] = []
    for part in stop.parts:
        span = duration_text(timedelta(seconds=part.seconds))
        if part.reason is None:
            words.append(f"{translate('DowntimeScreen', 'Not coded')} {span}")
        elif part.reason in tree:
            reason = tree[part.reason]
            words.append(f"{reason.category_label(language)} / {reason.label(language)} {span}")
        else:
            words.append(f"{part.reason} {span}")
    return " · ".join(words)


class ReasonButton(QPushButton):
    """A reason's button with the reason's colour as a stripe on its left side: it tells reasons apart
    without turning a button into an alarm-coloured block. Painted, not styled: a style sheet of its
    own per button makes every restyling of the application slower."""

    STRIPE = 12

    def __init__(self, colour: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colour = QColor(colour)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        painter = QPainter(self)
        painter.fillRect(QRect(1, 1, self.STRIPE, self.height() - 2), self.colour)
        painter.end()


class StopRow(QFrame):
    """One stop in the list: when, how long, the state, its parts; a tap selects it."""

    clicked = Signal(object)  # the stop's start (datetime)

    def __init__(self, stop: Stop, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start = stop.start
        self.stop = stop
        self.setProperty("role", "stop")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setMinimumHeight(72)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.when = QLabel()
        self.when.setProperty("role", "figure")
        self.duration = QLabel()
        self.duration.setProperty("role", "subtitle")
        self.state = QLabel()
        self.badge = QLabel()
        self.badge.setProperty("role", "badge")
        self.parts = QLabel()
        self.parts.setProperty("role", "muted")
        self.bar = StopBar(height=12)
        self.parts.setWordWrap(True)
        # When and how long on top, with the badge; the state and the coded parts below: narrow enough
        # for the kiosk's larger text in the left column.
        top = QHBoxLayout()
        top.setSpacing(14)
        top.addWidget(self.when)
        top.addWidget(self.duration)
        top.addStretch(1)
        top.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignVCenter)
        below = QHBoxLayout()
        below.setSpacing(14)
        below.addWidget(self.state, 0, Qt.AlignmentFlag.AlignTop)
        below.addWidget(self.parts, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 8, 10, 8)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        layout.addLayout(below)
        for label in (self.when, self.duration, self.state, self.badge, self.parts):
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)

    def show_stop(self, stop: Stop, tree: ReasonTree, colours: dict[str, str], language: str) -> None:
        self.stop = stop
        if stop.open:
            when = translate("DowntimeScreen", "since %1").replace("%1", _clock(stop.start))
        else:
            when = f"{_clock(stop.start)} – {_clock(stop.end)}"
        texts = (
            (self.when, when),
            (self.duration, duration_text(timedelta(seconds=stop.seconds))),
            (self.state, state_name(stop.state)),
            (self.parts, part_summary(stop, tree, language)),
        )
        for label, text in texts:
            if label.text() != text:
                label.setText(text)
        if stop.coded:
            badge = translate("DowntimeScreen", "Coded")
        elif stop.uncoded_s < stop.seconds:
            badge = translate("DowntimeScreen", "Partly coded")
        else:
            badge = translate("DowntimeScreen", "Not coded")
        if stop.open:
            badge = translate("DowntimeScreen", "Ongoing · %1").replace("%1", badge)
        self.badge.setText(badge)
        set_flag(self.badge, "attention", not stop.coded)
        set_flag(self, "uncoded", not stop.coded)
        self.bar.set_stop(stop, colours)
        # One part says it all in the badge and the line below; the bar shows how a split stop is cut.
        self.bar.setVisible(len(stop.parts) > 1)
        self.parts.setVisible(not (len(stop.parts) == 1 and stop.parts[0].reason is None))

    def set_selected(self, selected: bool) -> None:
        set_flag(self, "selected", selected)

    def apply_palette(self, palette: Palette) -> None:
        self.bar.apply_palette(palette)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit(self.start)
        super().mouseReleaseEvent(event)


class DowntimeScreen(QWidget):
    machineRequested = Signal(str)  # back to the machine screen
    rejectsRequested = Signal(str)  # the reject entry of this machine

    def __init__(
        self, bridge: RuntimeBridge, plant: PlantConfig, act_as: ActAs, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("DowntimeScreen")
        self._bridge = bridge
        self._plant = plant
        self._act_as = act_as
        self._tree = bridge.engine.production.reasons
        self._colours = {reason.id: reason.colour for reason in self._tree.reasons()}
        self._thresholds = micro_stop_thresholds(plant)
        self._palette: Palette = LIGHT
        self._machine: str | None = None
        self._stops: list[Stop] = []  # listed, newest first
        self.rows: dict[datetime, StopRow] = {}
        self._order: list[datetime] = []
        self._selected: datetime | None = None
        self._split_s: float | None = None  # seconds after the stop's start; None: the whole stop
        self._after = False  # in split mode: code the part after the split (else the part before)
        self._sending = False
        self._reason: str | None = None

        # -- header: which machine, back, rejects
        self.back = QPushButton()
        self.back.setProperty("role", "nav")
        self.back.clicked.connect(lambda: self._machine and self.machineRequested.emit(self._machine))
        self.title = QLabel()
        self.title.setProperty("role", "title")
        self.machines = QComboBox()
        for _site, _line, machine in plant.machines():
            self.machines.addItem(machine.title, machine.id)
        self.machines.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.machines.activated.connect(lambda index: self.set_machine(str(self.machines.itemData(index))))
        self.shift = QLabel()
        self.shift.setProperty("role", "muted")
        self.rejects = QPushButton()
        self.rejects.clicked.connect(lambda: self._machine and self.rejectsRequested.emit(self._machine))
        header = QHBoxLayout()
        header.addWidget(self.back)
        header.addSpacing(12)
        header.addWidget(self.title)
        header.addSpacing(12)
        header.addWidget(self.machines)
        header.addSpacing(16)
        header.addWidget(self.shift)
        header.addStretch(1)
        header.addWidget(self.rejects)

        # -- left: the stops
        self.summary = QLabel()
        self.summary.setProperty("role", "subtitle")
        self.list_area = QWidget()
        self.list_layout = QVBoxLayout(self.list_area)
        self.list_layout.setContentsMargins(0, 0, 6, 0)
        self.list_layout.setSpacing(8)
        self.list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.list_area)
        self.empty = QLabel()
        self.empty.setProperty("role", "muted")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.micro = QLabel()
        self.micro.setProperty("role", "muted")
        self.micro.setWordWrap(True)
        left = QVBoxLayout()
        left.addWidget(self.summary)
        left.addWidget(self.empty)
        left.addWidget(scroll, 1)
        left.addWidget(self.micro)

        # -- right: coding the selected stop
        self.panel = QFrame()
        self.panel.setProperty("role", "panel")
        self.hint = QLabel()
        self.hint.setProperty("role", "subtitle")
        self.hint.setWordWrap(True)
        self.stop_title = QLabel()
        self.stop_title.setProperty("role", "title")
        self.stop_bar = StopBar(height=30)
        # Whole stop or split: ordinary (touch-sized) toggles beside the stop's title.
        self.whole = QPushButton()
        self.split = QPushButton()
        for button in (self.whole, self.split):
            button.setCheckable(True)
        modes = QButtonGroup(self)
        modes.setExclusive(True)
        for button in (self.whole, self.split):
            modes.addButton(button)
        self.whole.setChecked(True)
        self.whole.clicked.connect(lambda: self._set_split(None))
        self.split.clicked.connect(lambda: self._set_split(self._default_split()))
        # The stop as a bar, and whether to code all of it or to split it, side by side.
        mode_row = QHBoxLayout()
        mode_row.addWidget(self.stop_bar, 1)
        mode_row.addWidget(self.whole)
        mode_row.addWidget(self.split)

        self.split_box = QWidget()
        self.split_box.setObjectName("splitBox")
        self.before = self._choice(checkable=True)
        self.after = self._choice(checkable=True)
        sides = QButtonGroup(self)
        sides.setExclusive(True)
        sides.addButton(self.before)
        sides.addButton(self.after)
        self.before.setChecked(True)
        self.before.clicked.connect(lambda: self._set_side(False))
        self.after.clicked.connect(lambda: self._set_side(True))
        self.steps: dict[int, QPushButton] = {}
        steps_row = QHBoxLayout()
        for step in SPLIT_STEPS_S:
            button = QPushButton()
            button.setMinimumWidth(96)
            button.clicked.connect(lambda _checked=False, s=step: self._move_split(s))
            self.steps[step] = button
        self.split_at = QLabel()
        self.split_at.setProperty("role", "subtitle")
        self.split_at.setWordWrap(True)
        self.split_at.setAlignment(Qt.AlignmentFlag.AlignCenter)
        steps_row.addWidget(self.steps[-300])
        steps_row.addWidget(self.steps[-60])
        steps_row.addWidget(self.split_at, 1)
        steps_row.addWidget(self.steps[60])
        steps_row.addWidget(self.steps[300])
        sides_row = QHBoxLayout()
        sides_row.addWidget(self.before, 1)
        sides_row.addWidget(self.after, 1)
        split_layout = QVBoxLayout(self.split_box)
        split_layout.setContentsMargins(0, 0, 0, 0)
        split_layout.setSpacing(8)
        split_layout.addLayout(steps_row)
        split_layout.addLayout(sides_row)

        self.category_title = QLabel()
        self.category_title.setProperty("role", "subtitle")
        self.categories: dict[str, QPushButton] = {}
        self._category_group = QButtonGroup(self)
        category_grid = QGridLayout()
        category_grid.setSpacing(8)
        columns = 3 if len(self._tree.categories) > 4 else max(1, len(self._tree.categories))
        for index, category in enumerate(self._tree.categories):
            button = self._choice(checkable=True)
            button.clicked.connect(lambda _checked=False, c=category.id: self.choose_category(c))
            self._category_group.addButton(button)
            self.categories[category.id] = button
            category_grid.addWidget(button, index // columns, index % columns)
        self.reason_title = QLabel()
        self.reason_title.setProperty("role", "subtitle")
        self.reasons: dict[str, QPushButton] = {}
        self._reason_group = QButtonGroup(self)
        self.reason_pages = QStackedWidget()
        self.reason_pages.setObjectName("reasonPages")
        self._pages: dict[str, int] = {}
        blank = QLabel()
        blank.setProperty("role", "muted")
        blank.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._blank = blank
        self.reason_pages.addWidget(blank)
        for category in self._tree.categories:
            page = QWidget()
            page.setObjectName("reasonPage")
            grid = QGridLayout(page)
            grid.setContentsMargins(0, 0, 0, 0)
            grid.setSpacing(8)
            grid.setAlignment(Qt.AlignmentFlag.AlignTop)
            for index, reason in enumerate(self._tree.reasons(category.id)):
                button = ReasonButton(reason.colour)
                button.setProperty("role", "reason")
                button.setCheckable(True)
                button.setMinimumHeight(56)
                button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
                button.setProperty("reason", reason.id)
                button.clicked.connect(lambda _checked=False, r=reason.id: self.choose_reason(r))
                self._reason_group.addButton(button)
                self.reasons[reason.id] = button
                grid.addWidget(button, index // 2, index % 2)
            grid.setColumnStretch(0, 1)
            grid.setColumnStretch(1, 1)
            self._pages[category.id] = self.reason_pages.addWidget(page)

        self.comment = QLineEdit()
        self.comment.setMaxLength(200)
        self.keyboard = QPushButton()
        self.keyboard.clicked.connect(self._keyboard)
        action_row = QHBoxLayout()
        action_row.addWidget(self.comment, 1)
        action_row.addWidget(self.keyboard)
        self.message = QLabel()
        self.message.setProperty("role", "message")
        self.message.setWordWrap(True)
        self.code = QPushButton()
        self.code.setProperty("role", "accept")
        self.code.setMinimumHeight(56)
        self.code.setMinimumWidth(200)
        self.code.clicked.connect(self._code)
        action_row.addSpacing(8)
        action_row.addWidget(self.code)

        self.editor = QWidget()
        self.editor.setObjectName("codingEditor")
        editor = QVBoxLayout(self.editor)
        editor.setContentsMargins(0, 0, 0, 0)
        editor.setSpacing(8)
        editor.addWidget(self.stop_title)
        editor.addLayout(mode_row)
        editor.addWidget(self.split_box)
        editor.addWidget(self.category_title)
        editor.addLayout(category_grid)
        editor.addWidget(self.reason_title)
        editor.addWidget(self.reason_pages)
        editor.addStretch(1)
        editor.addWidget(self.message)
        editor.addLayout(action_row)
        # A plant with a long reason list (or the kiosk's larger sizes) scrolls here rather than making
        # the window taller than the panel.
        editor_scroll = QScrollArea()
        editor_scroll.setObjectName("codingScroll")
        editor_scroll.setWidgetResizable(True)
        editor_scroll.setFrameShape(QFrame.Shape.NoFrame)
        editor_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        editor_scroll.setWidget(self.editor)
        self._editor_scroll = editor_scroll
        panel_layout = QVBoxLayout(self.panel)
        panel_layout.setContentsMargins(14, 12, 14, 12)
        panel_layout.addWidget(self.hint)
        panel_layout.addWidget(editor_scroll, 1)

        body = QHBoxLayout()
        body.setSpacing(14)
        body.addLayout(left, 4)
        body.addWidget(self.panel, 6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 12)
        layout.addLayout(header)
        layout.addLayout(body, 1)
        self._retranslate()
        self._show_selection()
        bridge.statusChanged.connect(self.show_statuses)

    @staticmethod
    def _fit_bold(button: QPushButton, padding: int = 40) -> None:
        """A toggle's width for its text in bold (as it is drawn when checked), so that it is never cut."""
        button.ensurePolished()  # the style sheet's font, not the default one
        bold = QFont(button.font())
        bold.setBold(True)
        button.setMinimumWidth(QFontMetrics(bold).horizontalAdvance(button.text()) + padding)

    def _choice(self, *, checkable: bool, role: str = "choice") -> QPushButton:
        button = QPushButton()
        button.setProperty("role", role)
        button.setCheckable(checkable)
        button.setMinimumHeight(56)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        return button

    # ------------------------------------------------------------------ which machine and stop

    @property
    def machine_id(self) -> str | None:
        return self._machine

    @property
    def selected(self) -> Stop | None:
        return next((stop for stop in self._stops if stop.start == self._selected), None)

    def _language(self) -> str:
        return Words().language

    def _threshold(self) -> float:
        return self._thresholds.get(self._machine or "", 0.0)

    def set_machine(self, machine_id: str) -> None:
        if machine_id != self._machine:
            self._machine = machine_id
            self._selected = None
            self._stops = []
            for row in self.rows.values():
                row.deleteLater()
            self.rows = {}
            self._order = []
            self.comment.clear()
            self._set_message("")
        index = self.machines.findData(machine_id)
        if index >= 0:
            self.machines.setCurrentIndex(index)
        self.title.setText(translate("DowntimeScreen", "Stops"))
        self.refresh()
        if self._selected is None:
            first = next((stop for stop in self._stops if not stop.coded), None)
            if first is not None:
                self.select(first.start)

    def refresh(self) -> None:
        if self._machine is not None:
            self.show_statuses([self._bridge.status(self._machine)])

    def show_statuses(self, statuses: Sequence[MachineStatus]) -> None:
        status = next((s for s in statuses if s.machine == self._machine), None)
        if status is None:
            return
        threshold = self._threshold()
        listed = [stop for stop in status.stops if codeable(stop, threshold)]
        self._stops = list(reversed(listed))  # newest (the open one) on top
        micro = [stop for stop in status.stops if not codeable(stop, threshold)]
        if status.shift is None:
            self.shift.setText(translate("DowntimeScreen", "No shift running"))
        else:
            self.shift.setText(
                translate("DowntimeScreen", "Shift %1, %2 – %3")
                .replace("%1", status.shift.name)
                .replace("%2", _clock(status.shift.start))
                .replace("%3", _clock(status.shift.end))
            )
        self._show_rows()
        uncoded = sum(1 for stop in self._stops if not stop.coded)
        if not self._stops:
            self.summary.setText(translate("DowntimeScreen", "No stops in this shift"))
        elif uncoded:
            summary = translate("DowntimeScreen", "Stops not coded: %1")
            self.summary.setText(summary.replace("%1", str(uncoded)))
        else:
            self.summary.setText(translate("DowntimeScreen", "All stops coded"))
        self.empty.setVisible(not self._stops)
        if micro:
            seconds = sum(stop.seconds for stop in micro)
            text = translate(
                "DowntimeScreen",
                "Micro-stops not listed: %1 (%2 in all); they count as a loss of performance.",
            )
            span = duration_text(timedelta(seconds=seconds))
            self.micro.setText(text.replace("%1", str(len(micro))).replace("%2", span))
        self.micro.setVisible(bool(micro))
        if self._selected is not None and self.selected is None:
            self._selected = None
        self._show_selection()

    def _show_rows(self) -> None:
        order = [stop.start for stop in self._stops]
        language = self._language()
        for start in [start for start in self.rows if start not in order]:
            gone = self.rows.pop(start)
            self.list_layout.removeWidget(gone)
            gone.deleteLater()
        for stop in self._stops:
            row = self.rows.get(stop.start)
            if row is None:
                row = StopRow(stop)
                row.apply_palette(self._palette)
                row.clicked.connect(self.select)
                self.rows[stop.start] = row
            row.show_stop(stop, self._tree, self._colours, language)
            row.set_selected(stop.start == self._selected)
        if order != self._order:
            for start in order:
                self.list_layout.removeWidget(self.rows[start])
            for index, start in enumerate(order):
                self.list_layout.insertWidget(index, self.rows[start])
            self._order = order

    def select(self, start: datetime) -> None:
        if start == self._selected:
            return
        self._selected = start
        self._split_s = None
        self._after = False
        self.whole.setChecked(True)
        self.before.setChecked(True)
        self._clear_reason()
        self.comment.clear()
        self._set_message("")
        for row_start, row in self.rows.items():
            row.set_selected(row_start == start)
        self._show_selection()

    def _clear_reason(self) -> None:
        for group in (self._reason_group, self._category_group):
            group.setExclusive(False)
            for button in group.buttons():
                button.setChecked(False)
            group.setExclusive(True)
        self.reason_pages.setCurrentWidget(self._blank)
        self._reason = None

    def choose_category(self, category: str) -> None:
        self.categories[category].setChecked(True)
        self.reason_pages.setCurrentIndex(self._pages[category])
        reason = self._reason
        if reason is not None and self._tree[reason].category != category:
            self._reason_group.setExclusive(False)
            self.reasons[reason].setChecked(False)
            self._reason_group.setExclusive(True)
            self._reason = None
        self._show_selection()

    def choose_reason(self, reason: str) -> None:
        found: Reason = self._tree[reason]
        if not self.categories[found.category].isChecked():
            self.choose_category(found.category)
        self.reasons[reason].setChecked(True)
        self._reason = reason
        self._show_selection()

    # ------------------------------------------------------------------ splitting

    def _default_split(self) -> float:
        stop = self.selected
        if stop is None:
            return 0.0
        # The middle, on a whole minute from the start where the stop is long enough for one.
        middle = stop.seconds / 2
        return max(1.0, round(middle / 60) * 60.0) if stop.seconds >= 120 else middle

    def _set_split(self, seconds: float | None) -> None:
        self._split_s = seconds
        self._show_selection()

    def _set_side(self, after: bool) -> None:
        self._after = after
        self._show_selection()

    def _move_split(self, step_s: float) -> None:
        if self._split_s is None:
            return
        self._split_s += step_s
        self._show_selection()

    def _split_bounds(self, stop: Stop) -> tuple[float, float]:
        return 1.0, max(1.0, stop.seconds - 1.0)

    def split_moment(self) -> datetime | None:
        stop = self.selected
        if stop is None or self._split_s is None:
            return None
        low, high = self._split_bounds(stop)
        return stop.start + timedelta(seconds=min(high, max(low, self._split_s)))

    def coding_range(self) -> tuple[datetime, datetime | None] | None:
        """What the Code button codes now: [start, end) of the stop or a part; end None: until it ends."""
        stop = self.selected
        if stop is None:
            return None
        end = None if stop.open else stop.end
        split = self.split_moment()
        if split is None:
            return stop.start, end
        return (split, end) if self._after else (stop.start, split)

    # ------------------------------------------------------------------ showing the selection

    def _show_selection(self) -> None:
        stop = self.selected
        self._editor_scroll.setVisible(stop is not None)
        self.hint.setVisible(stop is None)
        if stop is None:
            self.stop_bar.set_stop(None, self._colours)
            return
        if stop.open:
            title = translate("DowntimeScreen", "Stop since %1 (%2, ongoing)")
        else:
            title = translate("DowntimeScreen", "Stop %1 – %3 (%2)")
        self.stop_title.setText(
            title.replace("%1", _clock(stop.start))
            .replace("%3", _clock(stop.end))
            .replace("%2", duration_text(timedelta(seconds=stop.seconds)))
        )
        self.stop_bar.set_stop(stop, self._colours)
        split = self.split_moment()
        self.stop_bar.set_split(split)
        splitting = split is not None
        self.split.setEnabled(stop.seconds >= 2)
        self.split_box.setVisible(splitting)
        if split is not None:
            offset = timedelta(seconds=(split - stop.start).total_seconds())
            self.split_at.setText(
                translate("DowntimeScreen", "at %1 (%2 after the start)")
                .replace("%1", split.astimezone().strftime("%H:%M:%S" if stop.seconds < 120 else "%H:%M"))
                .replace("%2", duration_text(offset))
            )
            self.before.setText(translate("DowntimeScreen", "Part before %1").replace("%1", _clock(split)))
            self.after.setText(translate("DowntimeScreen", "Part from %1").replace("%1", _clock(split)))
            self.before.setChecked(not self._after)
            self.after.setChecked(self._after)
            low, high = self._split_bounds(stop)
            assert self._split_s is not None
            self._split_s = min(high, max(low, self._split_s))
            for step, button in self.steps.items():
                button.setEnabled(self._split_s > low if step < 0 else self._split_s < high)
        self.code.setEnabled(self._reason is not None and not self._sending)
        if splitting:
            self.code.setText(translate("DowntimeScreen", "Code the part"))
        else:
            self.code.setText(translate("DowntimeScreen", "Code the stop"))

    def _set_message(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        set_flag(self.message, "error", error)

    # ------------------------------------------------------------------ coding

    def _keyboard(self) -> None:
        typed = OnScreenKeyboard.ask(
            self, title=translate("DowntimeScreen", "Comment"), text=self.comment.text(), max_length=200
        )
        if typed is not None:
            self.comment.setText(typed)

    def _code(self) -> None:
        stop, reason, machine = self.selected, self._reason, self._machine
        span = self.coding_range()
        if stop is None or reason is None or machine is None or span is None:
            return
        start, end = span
        comment = self.comment.text().strip()
        splitting = self._split_s is not None
        commands = self._bridge.commands

        def send(actor: Actor) -> None:
            self._sending = True
            self._show_selection()
            self._bridge.submit(
                lambda: commands.code_stop(
                    actor, machine, start=start, end=end, reason=reason, comment=comment
                ),
                done=lambda _code: self._coded(stop.start, reason, splitting),
                failed=self._failed,
            )

        self._act_as(translate("DowntimeScreen", "Log in to code the stop"), send)

    def _coded(self, start: datetime, reason: str, splitting: bool) -> None:
        self._sending = False
        found = self._tree[reason]
        self._set_message(
            translate("DowntimeScreen", "Coded: %1").replace(
                "%1", f"{found.category_label(self._language())} / {found.label(self._language())}"
            )
        )
        self.refresh()
        stop = self.selected
        if splitting and stop is not None and not stop.coded:
            # The other part is what is left to code: offer it, with the same split moment.
            self._after = not self._after
            self._clear_reason()
            self.comment.clear()
        elif stop is not None and stop.start == start:
            following = next((s for s in self._stops if not s.coded and s.start != start), None)
            if following is not None:
                message = self.message.text()
                self.select(following.start)
                self._set_message(message)
            else:
                self._clear_reason()
        self._show_selection()

    def _failed(self, message: str) -> None:
        self._sending = False
        self._show_selection()
        self._set_message(message, error=True)
        notice(self, translate("DowntimeScreen", "Not coded"), message)

    # ------------------------------------------------------------------ look and language

    def apply_palette(self, palette: Palette) -> None:
        self._palette = palette
        self.stop_bar.apply_palette(palette)
        for row in self.rows.values():
            row.apply_palette(palette)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit_toggles()  # the theme's font (and the kiosk's larger one) is known by now

    def _fit_toggles(self) -> None:
        for toggle in (self.whole, self.split):
            self._fit_bold(toggle)

    def _retranslate(self) -> None:
        language = self._language()
        self.back.setText(translate("DowntimeScreen", "◀ Machine"))
        self.title.setText(translate("DowntimeScreen", "Stops"))
        self.rejects.setText(translate("DowntimeScreen", "Enter rejects…"))
        self.hint.setText(translate("DowntimeScreen", "Choose a stop on the left to code it."))
        self.empty.setText(translate("DowntimeScreen", "The machine has not stopped in this shift."))
        self.whole.setText(translate("DowntimeScreen", "Whole stop"))
        self.split.setText(translate("DowntimeScreen", "Split…"))
        self._fit_toggles()
        for step, button in self.steps.items():
            minutes = abs(step) // 60
            if step > 0:
                text = translate("DowntimeScreen", "+%1 min")
            else:
                text = translate("DowntimeScreen", "−%1 min")
            button.setText(text.replace("%1", str(minutes)))
        self.category_title.setText(translate("DowntimeScreen", "Category"))
        self.reason_title.setText(translate("DowntimeScreen", "Reason"))
        self._blank.setText(translate("DowntimeScreen", "Choose a category first."))
        for category in self._tree.categories:
            self.categories[category.id].setText(category.label(language))
        for reason_id, button in self.reasons.items():
            button.setText(self._tree[reason_id].label(language))
        self.comment.setPlaceholderText(translate("DowntimeScreen", "Comment (optional)"))
        self.keyboard.setText(translate("DowntimeScreen", "Keyboard"))
        self.refresh()
        self._show_selection()
