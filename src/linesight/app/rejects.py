"""Entering rejects by hand: how many (typed or on the touch keypad), why (a large button per reject
reason), an optional comment. A count that is not a whole number from 1 up is refused here, before
anything is sent; the runtime checks again and its refusals are shown in the dialog too."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import QLocale, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from linesight.app.bridge import RuntimeBridge
from linesight.domain.reasons import RejectReasonConfig
from linesight.runtime.commands import Actor
from linesight.runtime.production import MAX_REJECTS_PER_ENTRY
from linesight.widgets.keypad import NumericKeypad, OnScreenKeyboard
from linesight.widgets.polish import repolish
from linesight.widgets.texts import number, translate

ActAs = Callable[[str, Callable[[Actor], None]], None]


def parse_count(text: str) -> int | None:
    """A typed count as a whole number, with or without the language's thousands separator; else None."""
    text = text.strip()
    if not text:
        return None
    value, ok = QLocale().toInt(text)
    if ok:
        return int(value)
    return int(text) if text.isascii() and text.isdigit() else None


class RejectDialog(QDialog):
    """Rejects of one machine; ``recorded`` carries the stored entry (the dialog then closes)."""

    recorded = Signal(object)  # RejectEntry

    def __init__(
        self,
        bridge: RuntimeBridge,
        machine_id: str,
        title: str,
        reasons: Mapping[str, RejectReasonConfig],
        act_as: ActAs,
        language: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("RejectDialog")
        self._bridge = bridge
        self._machine = machine_id
        self._act_as = act_as
        self.setWindowTitle(translate("RejectDialog", "Rejects"))
        self.heading = QLabel(translate("RejectDialog", "Rejects of %1").replace("%1", title))
        self.heading.setProperty("role", "title")

        self.count_label = QLabel(translate("RejectDialog", "How many"))
        self.count_label.setProperty("role", "subtitle")
        self.count = QLineEdit()
        self.count.setObjectName("rejectCount")
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.count.setMinimumHeight(56)
        font = self.count.font()
        font.setPointSizeF(max(font.pointSizeF(), 10) * 1.6)
        self.count.setFont(font)
        self.count.setMaximumWidth(220)
        self.count.textEdited.connect(lambda _text: self._set_message(""))
        self.keypad = QPushButton(translate("RejectDialog", "Keypad"))
        self.keypad.setMinimumHeight(56)
        self.keypad.clicked.connect(self._ask_count)
        count_row = QHBoxLayout()
        count_row.addWidget(self.count, 1)
        count_row.addWidget(self.keypad)
        count_row.addStretch(1)

        self.reason_label = QLabel(translate("RejectDialog", "Reason"))
        self.reason_label.setProperty("role", "subtitle")
        self.reasons: dict[str, QPushButton] = {}
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        grid = QGridLayout()
        grid.setSpacing(8)
        for index, (reason_id, reason) in enumerate(reasons.items()):
            button = QPushButton(reason.label(language))
            button.setProperty("role", "choice")
            button.setCheckable(True)
            button.setMinimumHeight(64)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.clicked.connect(lambda _checked=False: self._set_message(""))
            self._group.addButton(button)
            self.reasons[reason_id] = button
            grid.addWidget(button, index // 2, index % 2)

        self.comment = QLineEdit()
        self.comment.setMaxLength(200)
        self.comment.setPlaceholderText(translate("RejectDialog", "Comment (optional)"))
        self.keyboard = QPushButton(translate("RejectDialog", "Keyboard"))
        self.keyboard.clicked.connect(self._keyboard)
        comment_row = QHBoxLayout()
        comment_row.addWidget(self.comment, 1)
        comment_row.addWidget(self.keyboard)

        self.message = QLabel()
        self.message.setProperty("role", "message")
        self.message.setWordWrap(True)
        self.cancel = QPushButton(translate("RejectDialog", "Cancel"))
        self.cancel.setMinimumHeight(64)
        self.cancel.clicked.connect(self.reject)
        self.save = QPushButton(translate("RejectDialog", "Save"))
        self.save.setProperty("role", "accept")
        self.save.setMinimumHeight(64)
        self.save.setMinimumWidth(180)
        self.save.clicked.connect(self.try_save)
        self.save.setDefault(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel)
        buttons.addStretch(1)
        buttons.addWidget(self.save)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(10)
        layout.addWidget(self.heading)
        layout.addWidget(self.count_label)
        layout.addLayout(count_row)
        layout.addWidget(self.reason_label)
        layout.addLayout(grid)
        layout.addLayout(comment_row)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.setMinimumWidth(640)
        self._set_message("")

    def _set_message(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        if self.message.property("error") != error:
            self.message.setProperty("error", error)
            repolish(self.message)

    def _ask_count(self) -> None:
        current = parse_count(self.count.text())
        value = NumericKeypad.ask(
            self,
            title=translate("RejectDialog", "How many rejects"),
            value=None if current is None else float(current),
            minimum=1,
            maximum=MAX_REJECTS_PER_ENTRY,
            decimals=0,
            allow_negative=False,
        )
        if value is not None:
            self.count.setText(str(int(value)))
            self._set_message("")

    def _keyboard(self) -> None:
        typed = OnScreenKeyboard.ask(
            self, title=translate("RejectDialog", "Comment"), text=self.comment.text(), max_length=200
        )
        if typed is not None:
            self.comment.setText(typed)

    def chosen_reason(self) -> str | None:
        return next((reason for reason, button in self.reasons.items() if button.isChecked()), None)

    def try_save(self) -> None:
        """Check the entry and send it; a wrong count or a missing reason is refused here, nothing sent."""
        count = parse_count(self.count.text())
        if count is None:
            self._set_message(
                translate("RejectDialog", "Enter the number of rejects as a whole number, such as 3."),
                error=True,
            )
            return
        if count < 1:
            self._set_message(
                translate("RejectDialog", "The number of rejects must be at least 1. Nothing was saved."),
                error=True,
            )
            return
        if count > MAX_REJECTS_PER_ENTRY:
            self._set_message(
                translate("RejectDialog", "At most %1 rejects at a time.").replace(
                    "%1", number(MAX_REJECTS_PER_ENTRY)
                ),
                error=True,
            )
            return
        reason = self.chosen_reason()
        if reason is None:
            self._set_message(translate("RejectDialog", "Choose the reason for the rejects."), error=True)
            return
        comment = self.comment.text().strip()
        machine = self._machine
        commands = self._bridge.commands

        def send(actor: Actor) -> None:
            self.save.setEnabled(False)
            self._set_message(translate("RejectDialog", "Saving…"))
            self._bridge.submit(
                lambda: commands.enter_rejects(actor, machine, count=count, reason=reason, comment=comment),
                done=self._saved,
                failed=self._failed,
            )

        self._act_as(translate("RejectDialog", "Log in to enter rejects"), send)

    def _saved(self, entry: object) -> None:
        self.save.setEnabled(True)
        self.recorded.emit(entry)
        self.accept()

    def _failed(self, message: str) -> None:
        self.save.setEnabled(True)
        self._set_message(message, error=True)
