"""Number and text entry on a touch panel: a numeric keypad and a keyboard sized for a gloved finger.

Both dialogs take their look from the application's style sheet (object names and the ``keyRole``
property of their keys); ``style_sheet(palette)`` is the default ISA-101 look, also set by
``apply_palette``. Without any style sheet they still use large fonts and 64 px keys.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Literal

from PySide6.QtCore import QEvent, QLocale, Qt
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from linesight.widgets.palette import Palette, ink
from linesight.widgets.polish import repolish
from linesight.widgets.texts import number, translate

KEY_SIZE = 64  # the design size of a key: a gloved fingertip with room to spare
MIN_TOUCH_SIZE = 48  # below this a gloved operator hits the neighbouring key
KEY_SPACING = 8  # a gap a finger can feel, so a miss lands on nothing rather than on a neighbour

# More digits than a double holds exactly would be shown but not kept.
_MAX_DIGITS = 15

KeyRole = Literal["char", "function", "modifier", "accept", "reject"]
_Refusal = Literal["not_a_number", "out_of_range"]


def style_sheet(palette: Palette) -> str:
    """The default look of both dialogs in ``palette``: calm greys, colour only for a refused value.

    Text keeps the palette's 7:1 contrast: a latched Shift or Caps is shown by a blue frame, not by
    a blue key under white text (5.4:1 in the light theme).
    """
    p = palette
    return f"""
QDialog#NumericKeypad, QDialog#OnScreenKeyboard {{ background-color: {p.background}; }}
QLabel#keypadTitle, QLabel#keyboardTitle {{ color: {p.text}; font-size: 18pt; font-weight: bold; }}
QFrame#keypadDisplayFrame {{
    background-color: {p.panel}; border: 2px solid {p.border}; border-radius: 4px;
}}
QLabel#keypadDisplay {{ color: {p.text}; font-size: 32pt; font-weight: bold; }}
QLabel#keypadUnit {{ color: {p.text_muted}; font-size: 20pt; }}
QLineEdit#keyboardDisplay {{
    background-color: {p.panel}; color: {p.text}; border: 2px solid {p.border}; border-radius: 4px;
    padding: 4px 12px; font-size: 24pt; selection-background-color: {p.info};
    selection-color: {ink(p.info)};
}}
QLabel#keypadMessage {{ color: {p.text_muted}; font-size: 14pt; padding: 6px 10px; border-radius: 4px; }}
QLabel#keypadMessage[error="true"] {{
    background-color: {p.waiting}; color: {ink(p.waiting)}; font-weight: bold;
}}
QPushButton[keyRole] {{
    background-color: {p.panel_raised}; color: {p.text}; border: 1px solid {p.border};
    border-radius: 6px; font-size: 20pt; padding: 2px;
}}
QPushButton[keyRole="function"], QPushButton[keyRole="modifier"], QPushButton[keyRole="reject"] {{
    background-color: {p.panel}; font-size: 16pt;
}}
QPushButton[keyRole="accept"] {{
    background-color: {p.text_muted}; color: {p.background}; border-color: {p.text_muted};
    font-size: 16pt; font-weight: bold;
}}
QPushButton[keyRole="modifier"] {{ font-size: 14pt; }}
QPushButton#keypadSeparator {{ font-size: 28pt; font-weight: bold; }}
QPushButton#keypadBackspace, QPushButton#keyboardBackspace {{ font-size: 24pt; }}
QPushButton[keyRole]:pressed {{ background-color: {p.border}; }}
QPushButton[keyRole="accept"]:pressed {{ background-color: {p.text}; }}
QPushButton[keyRole]:checked {{ border: 4px solid {p.info}; background-color: {p.panel_raised}; }}
"""


def _font(point_size: float, *, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(point_size)
    font.setBold(bold)
    return font


class _TouchDialog(QDialog):
    """What both dialogs share: key construction, the title and the palette."""

    _backspace_key: QPushButton  # made by each dialog's _build, where its layout puts it

    def __init__(self, parent: QWidget | None, *, title: str) -> None:
        super().__init__(parent)
        # Qt can send a change event while a subclass is still building its keys.
        self._ready = False
        self.setWindowTitle(title)
        self._title = QLabel(title, self)
        self._title.setFont(_font(18, bold=True))
        self._title.setVisible(bool(title))

    def apply_palette(self, palette: Palette) -> None:
        """Style the dialog in ``palette``; an application style sheet can do the same with its own QSS."""
        self.setStyleSheet(style_sheet(palette))

    def _make_key(
        self,
        label: str,
        role: KeyRole,
        object_name: str,
        pressed: Callable[[], None],
        *,
        point_size: float = 20,
        bold: bool = False,
    ) -> QPushButton:
        key = QPushButton(label, self)
        key.setObjectName(object_name)
        key.setProperty("keyRole", role)
        key.setAccessibleName(label)
        key.setMinimumSize(KEY_SIZE, KEY_SIZE)
        key.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        key.setFont(_font(point_size, bold=bold or role == "accept"))
        # Keys never take focus: Enter must reach the dialog instead of pressing the key touched last,
        # and a focus frame on a touch panel is only noise.
        key.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        key.setAutoDefault(False)
        # Through a lambda of no arguments: PySide passes `checked` to any slot that can take it.
        key.clicked.connect(lambda: pressed())
        return key

    def _make_actions(self, prefix: str) -> None:
        """The Cancel and OK keys every touch dialog ends with (labelled by ``_label_actions``)."""
        self._cancel_key = self._make_key("", "reject", f"{prefix}Cancel", self.reject, point_size=16)
        self._ok_key = self._make_key("", "accept", f"{prefix}Ok", self.accept, point_size=16)

    def _label_actions(self, *, backspace: str, cancel: str, ok: str) -> None:
        self._backspace_key.setAccessibleName(backspace)
        for key, text in ((self._cancel_key, cancel), (self._ok_key, ok)):
            key.setText(text)
            key.setAccessibleName(text)

    @property
    def backspace_key(self) -> QPushButton:
        return self._backspace_key

    @property
    def ok_key(self) -> QPushButton:
        return self._ok_key

    @property
    def cancel_key(self) -> QPushButton:
        return self._cancel_key

    def changeEvent(self, event: QEvent) -> None:
        if self._ready and event.type() in (QEvent.Type.LanguageChange, QEvent.Type.LocaleChange):
            self._retranslate()
        super().changeEvent(event)

    def _retranslate(self) -> None:
        raise NotImplementedError


class NumericKeypad(_TouchDialog):
    """A dialog to type one number, with its range checked before OK is taken.

    The value shown at opening is replaced by the first digit typed (as if it were selected); the
    sign key or Backspace edit it instead. Keys and physical keyboard do the same things: digits,
    either ``.`` or ``,`` for the decimal separator, ``-`` for the sign, Backspace, Delete (clear),
    Enter (OK) and Escape (Cancel).
    """

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        title: str = "",
        value: float | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
        decimals: int = 2,
        unit: str = "",
        allow_negative: bool | None = None,
    ) -> None:
        if decimals < 0:
            raise ValueError(f"decimals must be 0 or more, not {decimals}")
        if minimum is not None and maximum is not None and minimum > maximum:
            raise ValueError(f"minimum {minimum} is above maximum {maximum}")
        super().__init__(parent, title=title)
        self.setObjectName("NumericKeypad")
        self._title.setObjectName("keypadTitle")
        self._minimum = minimum
        self._maximum = maximum
        self._decimals = decimals
        self._unit = unit
        self._allow_negative = (
            allow_negative if allow_negative is not None else (minimum is None or minimum < 0)
        )
        self._locale = QLocale()
        # The typed value in a locale-free form ("-12.5"); shown with the locale's separator.
        self._text = ""
        self._replace_on_type = False
        self._refusal: _Refusal | None = None
        self._build()
        if value is not None:
            self.set_value(value)
        self._ready = True
        self._retranslate()

    # -- public API -----------------------------------------------------------------------------

    @classmethod
    def ask(
        cls,
        parent: QWidget | None,
        *,
        title: str,
        value: float | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
        decimals: int = 2,
        unit: str = "",
        allow_negative: bool | None = None,
    ) -> float | None:
        """Ask for a number in a modal keypad; None when the operator cancels."""
        dialog = cls(
            parent,
            title=title,
            value=value,
            minimum=minimum,
            maximum=maximum,
            decimals=decimals,
            unit=unit,
            allow_negative=allow_negative,
        )
        try:
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return None
            return dialog.value()
        finally:
            dialog.deleteLater()

    def value(self) -> float | None:
        """The number typed so far; None while it is not a number (empty, a lone sign)."""
        digits = self._text.lstrip("-").replace(".", "")
        if not digits:
            return None
        # Adding 0.0 turns a typed "-0" into 0.0, which is what an operator means by it.
        return float(self._text) + 0.0

    def set_value(self, value: float | None) -> None:
        """Show ``value`` (rounded to the decimals); the next digit typed replaces it."""
        if value is None:
            self._text = ""
        else:
            self._text = f"{value:.{self._decimals}f}"
            if self._text.lstrip("-").strip("0.") == "":
                self._text = self._text.lstrip("-")
        self._replace_on_type = bool(self._text)
        self._edited()

    def text(self) -> str:
        """The value as the display shows it, with the locale's decimal separator."""
        return self._text.replace(".", self._separator())

    def message(self) -> str:
        """The line under the display: the allowed range, or why OK was refused."""
        return self._message.text()

    def is_refused(self) -> bool:
        """Whether the last OK was refused and the value not changed since."""
        return self._refusal is not None

    def accept(self) -> None:
        refusal = self._check()
        if refusal is not None:
            self._refusal = refusal
            self._show_message()
            return
        super().accept()

    # -- keys -----------------------------------------------------------------------------------

    def digit_key(self, digit: int) -> QPushButton:
        return self._digit_keys[digit]

    @property
    def separator_key(self) -> QPushButton:
        return self._separator_key

    @property
    def sign_key(self) -> QPushButton:
        return self._sign_key

    @property
    def clear_key(self) -> QPushButton:
        return self._clear_key

    # -- construction ---------------------------------------------------------------------------

    def _build(self) -> None:
        self._display = QLabel(self)
        self._display.setObjectName("keypadDisplay")
        self._display.setFont(_font(32, bold=True))
        self._display.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._display.setMinimumWidth(4 * KEY_SIZE)
        self._unit_label = QLabel(self._unit, self)
        self._unit_label.setObjectName("keypadUnit")
        self._unit_label.setFont(_font(20))
        self._unit_label.setVisible(bool(self._unit))

        frame = QFrame(self)
        frame.setObjectName("keypadDisplayFrame")
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        frame.setMinimumHeight(KEY_SIZE + 16)
        frame_layout = QHBoxLayout(frame)
        frame_layout.setContentsMargins(16, 4, 16, 4)
        frame_layout.setSpacing(12)
        frame_layout.addWidget(self._display, 1)
        frame_layout.addWidget(self._unit_label)

        self._message = QLabel(self)
        self._message.setObjectName("keypadMessage")
        self._message.setFont(_font(14))
        self._message.setWordWrap(True)
        self._message.setProperty("error", False)
        # Room for one line always, so that a refusal does not make the keys jump under the finger.
        self._message.setMinimumHeight(self._message.fontMetrics().height() + 12)

        self._digit_keys = [
            self._make_key(str(digit), "char", f"keypadKey{digit}", partial(self._type_digit, str(digit)))
            for digit in range(10)
        ]
        self._separator_key = self._make_key(
            ".", "char", "keypadSeparator", self._type_separator, point_size=28, bold=True
        )
        self._sign_key = self._make_key("±", "function", "keypadSign", self._toggle_sign)
        self._backspace_key = self._make_key(
            "⌫", "function", "keypadBackspace", self._backspace, point_size=24
        )
        self._backspace_key.setAutoRepeat(True)
        self._clear_key = self._make_key("", "function", "keypadClear", self._clear, point_size=16)
        self._make_actions("keypad")

        # Calculator layout: 7-8-9 on top; tall Backspace and Clear on the right; ± 0 , at the bottom
        # (a key not needed is left out and 0 takes its place); Cancel and OK apart, OK on the right.
        grid = QGridLayout()
        grid.setSpacing(KEY_SPACING)
        for row, digits in enumerate(((7, 8, 9), (4, 5, 6), (1, 2, 3))):
            for column, digit in enumerate(digits):
                grid.addWidget(self._digit_keys[digit], row, column)
        grid.addWidget(self._backspace_key, 0, 3, 2, 1)
        grid.addWidget(self._clear_key, 2, 3, 2, 1)
        column = 0
        if self._allow_negative:
            grid.addWidget(self._sign_key, 3, 0)
            column = 1
        else:
            self._sign_key.hide()
        zero_span = 3 - column - (1 if self._decimals > 0 else 0)
        grid.addWidget(self._digit_keys[0], 3, column, 1, zero_span)
        if self._decimals > 0:
            grid.addWidget(self._separator_key, 3, 2)
        else:
            self._separator_key.hide()
        grid.addWidget(self._cancel_key, 4, 0, 1, 2)
        grid.addWidget(self._ok_key, 4, 2, 1, 2)
        for column in range(4):
            grid.setColumnStretch(column, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(12)
        layout.addWidget(self._title)
        layout.addWidget(frame)
        layout.addWidget(self._message)
        layout.addLayout(grid, 1)

    def _retranslate(self) -> None:
        self._locale = QLocale()
        self._separator_key.setText(self._separator())
        self._separator_key.setAccessibleName(translate("NumericKeypad", "Decimal separator"))
        self._sign_key.setAccessibleName(translate("NumericKeypad", "Change sign"))
        self._label_actions(
            backspace=translate("NumericKeypad", "Backspace"),
            cancel=translate("NumericKeypad", "Cancel"),
            ok=translate("NumericKeypad", "OK"),
        )
        self._clear_key.setText(translate("NumericKeypad", "Clear"))
        self._clear_key.setAccessibleName(translate("NumericKeypad", "Clear"))
        self._display.setAccessibleName(translate("NumericKeypad", "Value"))
        self._render()

    # -- editing --------------------------------------------------------------------------------

    def _separator(self) -> str:
        return self._locale.decimalPoint()

    def _fresh_text(self) -> str:
        # The first digit or separator typed replaces the value the dialog opened with.
        if self._replace_on_type:
            self._replace_on_type = False
            return ""
        return self._text

    def _type_digit(self, digit: str) -> None:
        text = self._fresh_text()
        sign, body = ("-", text[1:]) if text.startswith("-") else ("", text)
        if "." in body and len(body.split(".")[1]) >= self._decimals:
            return
        if sum(char.isdigit() for char in body) >= _MAX_DIGITS:
            return
        body = digit if body == "0" else body + digit
        self._text = sign + body
        self._edited()

    def _type_separator(self) -> None:
        if self._decimals == 0:
            return
        text = self._fresh_text()
        if "." in text:
            return
        self._text = text + ("0." if text in ("", "-") else ".")
        self._edited()

    def _toggle_sign(self) -> None:
        if not self._allow_negative:
            return
        self._replace_on_type = False
        self._text = self._text[1:] if self._text.startswith("-") else "-" + self._text
        self._edited()

    def _backspace(self) -> None:
        self._replace_on_type = False
        self._text = self._text[:-1]
        if self._text == "-":
            self._text = ""
        self._edited()

    def _clear(self) -> None:
        self._replace_on_type = False
        self._text = ""
        self._edited()

    def _edited(self) -> None:
        self._refusal = None
        self._render()

    # -- checking and showing -------------------------------------------------------------------

    def _check(self) -> _Refusal | None:
        value = self.value()
        if value is None:
            return "not_a_number"
        if self._minimum is not None and value < self._minimum:
            return "out_of_range"
        if self._maximum is not None and value > self._maximum:
            return "out_of_range"
        return None

    def _bound(self, value: float) -> str:
        # 600 rather than 600.00: a bound reads best with no more decimals than it has.
        if float(value).is_integer():
            return number(int(value))
        text = self._locale.toString(float(value), "f", max(self._decimals, 1))
        return text.rstrip("0").rstrip(self._separator()) if self._separator() in text else text

    def _range_text(self) -> str:
        if self._minimum is not None and self._maximum is not None:
            text = translate("NumericKeypad", "Between %1 and %2 %3")
            text = text.replace("%1", self._bound(self._minimum)).replace("%2", self._bound(self._maximum))
        elif self._minimum is not None:
            text = translate("NumericKeypad", "At least %1 %3").replace("%1", self._bound(self._minimum))
        elif self._maximum is not None:
            text = translate("NumericKeypad", "At most %2 %3").replace("%2", self._bound(self._maximum))
        else:
            return ""
        return text.replace("%3", self._unit).strip()

    def _render(self) -> None:
        self._display.setText(self.text())
        self._show_message()

    def _show_message(self) -> None:
        if self._refusal == "not_a_number":
            text = translate("NumericKeypad", "Enter a number")
        else:
            text = self._range_text()
        self._message.setText(text)
        self._message.setAccessibleDescription(text)
        refused = self._refusal is not None
        if self._message.property("error") != refused:
            self._message.setProperty("error", refused)
            repolish(self._message)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        text = event.text()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept()
        elif key == Qt.Key.Key_Escape:
            self.reject()
        elif key == Qt.Key.Key_Backspace:
            self._backspace()
        elif key == Qt.Key.Key_Delete:
            self._clear()
        elif len(text) == 1 and text.isdigit() and text.isascii():
            self._type_digit(text)
        elif text and text in {".", ",", self._separator()}:
            # Either key is the decimal separator: nothing here types thousands separators, and the
            # numeric pad of a keyboard gives "." or "," depending on its layout, not on the locale.
            self._type_separator()
        elif text == "-":
            self._toggle_sign()
        else:
            super().keyPressEvent(event)
            return
        event.accept()


# Shifted punctuation: the few symbols batch numbers, comments and passwords ask for.
_SHIFTED = {",": ";", ".": ":", "-": "_", "@": "/"}
_ROWS = (
    "1234567890",
    "qwertyuiop-",
    "asdfghjklç",
    "zxcvbnm,.@",
    "áàâãéêíóôõú",  # every Portuguese accented vowel one touch away: no dead keys to learn
)


class OnScreenKeyboard(_TouchDialog):
    """A dialog to type a line of text (a comment, a batch number, a password) on a touch panel.

    QWERTY with ç and the Portuguese accented vowels on their own row. Shift is one-shot; Caps
    stays on. The physical keyboard types into the same line: Enter is OK, Escape is Cancel.
    """

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        title: str = "",
        text: str = "",
        password: bool = False,
        max_length: int | None = None,
    ) -> None:
        super().__init__(parent, title=title)
        self.setObjectName("OnScreenKeyboard")
        self._title.setObjectName("keyboardTitle")
        self._password = password
        self._build()
        if max_length is not None:
            self._display.setMaxLength(max_length)
        self._display.setText(text)
        self._ready = True
        self._retranslate()

    # -- public API -----------------------------------------------------------------------------

    @classmethod
    def ask(
        cls,
        parent: QWidget | None,
        *,
        title: str,
        text: str = "",
        password: bool = False,
        max_length: int | None = None,
    ) -> str | None:
        """Ask for a line of text in a modal keyboard; None when the operator cancels."""
        dialog = cls(parent, title=title, text=text, password=password, max_length=max_length)
        try:
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return None
            return dialog.text()
        finally:
            dialog.deleteLater()

    def text(self) -> str:
        return self._display.text()

    def set_text(self, text: str) -> None:
        self._display.setText(text)

    def is_password(self) -> bool:
        return self._password

    @property
    def display(self) -> QLineEdit:
        return self._display

    def key(self, char: str) -> QPushButton:
        """The key that types ``char`` (its unshifted, lower-case form)."""
        return self._char_keys[char]

    @property
    def shift_key(self) -> QPushButton:
        return self._shift_key

    @property
    def caps_key(self) -> QPushButton:
        return self._caps_key

    @property
    def space_key(self) -> QPushButton:
        return self._space_key

    # -- construction ---------------------------------------------------------------------------

    def _build(self) -> None:
        self._display = QLineEdit(self)
        self._display.setObjectName("keyboardDisplay")
        self._display.setFont(_font(24))
        self._display.setMinimumHeight(KEY_SIZE)
        if self._password:
            self._display.setEchoMode(QLineEdit.EchoMode.Password)
            # No copying a password out of the field, and no suggestions from the platform.
            self._display.setInputMethodHints(
                Qt.InputMethodHint.ImhHiddenText | Qt.InputMethodHint.ImhSensitiveData
            )

        self._char_keys: dict[str, QPushButton] = {}
        for chars in _ROWS:
            for char in chars:
                self._char_keys[char] = self._make_key(char, "char", "keyboardKey", partial(self._type, char))
        self._backspace_key = self._make_key(
            "⌫", "function", "keyboardBackspace", self._backspace, point_size=24
        )
        self._backspace_key.setAutoRepeat(True)
        self._caps_key = self._make_key("", "modifier", "keyboardCaps", lambda: None, point_size=14)
        self._shift_key = self._make_key("", "modifier", "keyboardShift", lambda: None, point_size=14)
        for modifier in (self._caps_key, self._shift_key):
            modifier.setCheckable(True)
            modifier.toggled.connect(self._relabel)
        self._space_key = self._make_key("", "char", "keyboardSpace", lambda: self._type(" "), point_size=16)
        self._make_actions("keyboard")

        # Eleven equal columns, so that every key of the grid has the same size and the rows line up.
        grid = QGridLayout()
        grid.setSpacing(KEY_SPACING)
        rows: list[list[QPushButton]] = [
            [*(self._char_keys[c] for c in _ROWS[0]), self._backspace_key],
            [self._char_keys[c] for c in _ROWS[1]],
            [self._caps_key, *(self._char_keys[c] for c in _ROWS[2])],
            [self._shift_key, *(self._char_keys[c] for c in _ROWS[3])],
            [self._char_keys[c] for c in _ROWS[4]],
        ]
        for row, keys in enumerate(rows):
            for column, key in enumerate(keys):
                grid.addWidget(key, row, column)
        grid.addWidget(self._cancel_key, 5, 0, 1, 3)
        grid.addWidget(self._space_key, 5, 3, 1, 5)
        grid.addWidget(self._ok_key, 5, 8, 1, 3)
        for column in range(11):
            grid.setColumnStretch(column, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(12)
        layout.addWidget(self._title)
        layout.addWidget(self._display)
        layout.addLayout(grid, 1)
        self._display.setFocus()

    def _retranslate(self) -> None:
        self._label_actions(
            backspace=translate("OnScreenKeyboard", "Backspace"),
            cancel=translate("OnScreenKeyboard", "Cancel"),
            ok=translate("OnScreenKeyboard", "OK"),
        )
        # Words rather than the arrow symbols: at key size the symbols are too small to tell apart.
        self._caps_key.setText(translate("OnScreenKeyboard", "Caps"))
        self._caps_key.setAccessibleName(translate("OnScreenKeyboard", "Caps lock"))
        self._shift_key.setText(translate("OnScreenKeyboard", "Shift"))
        self._shift_key.setAccessibleName(translate("OnScreenKeyboard", "Shift"))
        self._space_key.setText(translate("OnScreenKeyboard", "Space"))
        self._space_key.setAccessibleName(translate("OnScreenKeyboard", "Space"))
        if self._password:
            self._display.setAccessibleName(translate("OnScreenKeyboard", "Password"))
        else:
            self._display.setAccessibleName(translate("OnScreenKeyboard", "Text"))

    # -- typing ---------------------------------------------------------------------------------

    def _upper(self) -> bool:
        return self._shift_key.isChecked() or self._caps_key.isChecked()

    def _shifted(self, char: str) -> str:
        if not self._upper():
            return char
        return _SHIFTED.get(char, char.upper())

    def _relabel(self) -> None:
        for char, key in self._char_keys.items():
            key.setText(self._shifted(char))
            key.setAccessibleName(self._shifted(char))

    def _type(self, char: str) -> None:
        self._display.insert(self._shifted(char))
        # Shift holds for one character, as on a phone; Caps is there for a run of capitals.
        self._shift_key.setChecked(False)

    def _backspace(self) -> None:
        self._display.backspace()

    def setVisible(self, visible: bool) -> None:
        super().setVisible(visible)
        # On show, QDialog focuses the line as if by Tab, which selects all of it: the first key would
        # then wipe a comment the operator meant to extend. The cursor goes to the end instead.
        if visible:
            self._display.deselect()
            self._display.end(False)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # The line edit handles typing while it has the focus and passes Enter and Escape up here;
        # the rest arrives here only when something else has the focus, and still goes to the line.
        key = event.key()
        text = event.text()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept()
        elif key == Qt.Key.Key_Escape:
            self.reject()
        elif key == Qt.Key.Key_Backspace:
            self._backspace()
        elif text and text.isprintable():
            self._display.insert(text)
        else:
            super().keyPressEvent(event)
            return
        event.accept()
