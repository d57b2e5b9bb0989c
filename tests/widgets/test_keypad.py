"""The touch keypad and keyboard: typing by key and by physical keyboard, locale, range checks, sizes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QLocale, Qt, QTimer, QTranslator
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from linesight.widgets.keypad import (
    KEY_SIZE,
    MIN_TOUCH_SIZE,
    NumericKeypad,
    OnScreenKeyboard,
    style_sheet,
)
from linesight.widgets.palette import DARK, LIGHT, PALETTES, Palette, contrast, ink

pytestmark = pytest.mark.gui

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "widgets"


@pytest.fixture(autouse=True)
def use_locale() -> Iterator[Callable[[str], None]]:
    """Every test starts in en_US (not the machine's locale) and leaves the default as it found it."""
    saved = QLocale()

    def use(name: str) -> None:
        QLocale.setDefault(QLocale(name))

    use("en_US")
    yield use
    QLocale.setDefault(saved)


def keypad(qtbot: QtBot, **options: object) -> NumericKeypad:
    dialog = NumericKeypad(None, **options)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def keyboard(qtbot: QtBot, **options: object) -> OnScreenKeyboard:
    dialog = OnScreenKeyboard(None, **options)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def press(dialog: NumericKeypad, keys: str) -> None:
    """Touch the keypad's keys: digits, "." for the separator (whatever it shows), "±", "<" for Backspace."""
    for key in keys:
        if key.isdigit():
            dialog.digit_key(int(key)).click()
        elif key == ".":
            dialog.separator_key.click()
        elif key == "±":
            dialog.sign_key.click()
        elif key == "<":
            dialog.backspace_key.click()
        else:
            raise AssertionError(f"no key {key!r} on the keypad")


def type_text(widget: QWidget, text: str) -> None:
    """Type on a physical keyboard, accents included (QTest's keyClicks aborts on non-ASCII)."""
    for char in text:
        # Qt's key codes for Latin-1 letters are their upper-case code points (Key_Ccedilla = 0xC7).
        key = Qt.Key(ord(char.upper()))
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, char))


def answer_modal(qtbot: QtBot, respond: Callable[[QWidget], None]) -> None:
    """Respond to the modal dialog that ``ask`` is about to open, from inside its event loop.

    Polls until the dialog is up, then calls ``respond``; if ``respond`` fails, the dialog is
    rejected anyway so that the test reports the failure instead of hanging in exec().
    """
    tries = 0

    def attempt() -> None:
        nonlocal tries
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            tries += 1
            if tries < 500:
                QTimer.singleShot(10, attempt)
            return
        try:
            respond(dialog)
        finally:
            if dialog.isVisible() and isinstance(dialog, QDialog):
                dialog.reject()

    QTimer.singleShot(0, attempt)


class Portuguese(QTranslator):
    """A translator without a .qm file: enough to see the dialogs retranslate themselves."""

    WORDS: ClassVar[dict[tuple[str, str], str]] = {
        ("NumericKeypad", "Clear"): "Limpar",
        ("NumericKeypad", "Cancel"): "Cancelar",
        ("NumericKeypad", "Between %1 and %2 %3"): "Entre %1 e %2 %3",
        ("NumericKeypad", "Backspace"): "Apagar",
        ("OnScreenKeyboard", "Space"): "Espaço",
        ("OnScreenKeyboard", "Cancel"): "Cancelar",
        ("OnScreenKeyboard", "Caps"): "Fixa",
    }

    def translate(
        self, context: str, source_text: str, disambiguation: str | None = None, n: int = -1
    ) -> str | None:
        return self.WORDS.get((context, source_text))

    def isEmpty(self) -> bool:
        return False


@pytest.fixture
def portuguese() -> Iterator[Callable[[], None]]:
    translator = Portuguese()
    installed = False

    def install() -> None:
        nonlocal installed
        assert QCoreApplication.installTranslator(translator)
        installed = True

    yield install
    if installed:
        QCoreApplication.removeTranslator(translator)


def visible_buttons(dialog: QWidget) -> list[QPushButton]:
    return [button for button in dialog.findChildren(QPushButton) if button.isVisible()]


# -- numeric keypad ---------------------------------------------------------------------------------


def test_keypad_builds_the_value_from_touched_keys(qtbot: QtBot) -> None:
    dialog = keypad(qtbot, title="Zone 1 setpoint", decimals=1)
    press(dialog, "850.5")
    assert dialog.text() == "850.5"
    assert dialog.value() == 850.5


def test_keypad_decimal_separator_is_a_comma_in_brazilian_portuguese(
    qtbot: QtBot, use_locale: Callable[[str], None]
) -> None:
    use_locale("pt_BR")
    dialog = keypad(qtbot, decimals=2)
    assert dialog.separator_key.text() == ","
    press(dialog, "12.75")
    assert dialog.text() == "12,75"
    assert dialog.value() == 12.75


def test_keypad_decimal_separator_is_a_point_in_english(qtbot: QtBot) -> None:
    dialog = keypad(qtbot, decimals=2)
    assert dialog.separator_key.text() == "."
    press(dialog, "12.75")
    assert dialog.text() == "12.75"
    assert dialog.value() == 12.75


def test_keypad_shows_the_opening_value_in_the_locale(
    qtbot: QtBot, use_locale: Callable[[str], None]
) -> None:
    use_locale("pt_BR")
    dialog = keypad(qtbot, value=850.25, decimals=1)
    assert dialog.text() == "850,2"
    assert dialog.value() == 850.2


def test_first_digit_replaces_the_opening_value_and_backspace_edits_it(qtbot: QtBot) -> None:
    replaced = keypad(qtbot, value=850, decimals=0)
    press(replaced, "9")
    assert replaced.value() == 9.0

    edited = keypad(qtbot, value=850, decimals=0)
    press(edited, "<6")
    assert edited.value() == 856.0


def test_keypad_refuses_more_decimals_than_asked_and_a_second_separator(qtbot: QtBot) -> None:
    dialog = keypad(qtbot, decimals=1)
    press(dialog, "1.25.")
    assert dialog.text() == "1.2"


def test_separator_starts_a_fraction_with_a_zero(qtbot: QtBot) -> None:
    dialog = keypad(qtbot, decimals=2)
    press(dialog, ".5")
    assert dialog.text() == "0.5"


def test_keypad_without_decimals_hides_the_separator(qtbot: QtBot) -> None:
    dialog = keypad(qtbot, decimals=0)
    assert not dialog.separator_key.isVisible()
    QTest.keyClicks(dialog, "1.5")
    assert dialog.text() == "15"


def test_sign_key_only_when_negatives_are_allowed(qtbot: QtBot) -> None:
    positive = keypad(qtbot, minimum=0, maximum=100)
    assert not positive.sign_key.isVisible()

    signed = keypad(qtbot, minimum=-40, maximum=40)
    assert signed.sign_key.isVisible()
    press(signed, "12±")
    assert signed.text() == "-12"
    assert signed.value() == -12.0
    press(signed, "±")
    assert signed.value() == 12.0


def test_no_range_allows_negatives_unless_told_otherwise(qtbot: QtBot) -> None:
    assert keypad(qtbot).sign_key.isVisible()
    assert not keypad(qtbot, allow_negative=False).sign_key.isVisible()


def test_clear_empties_the_value(qtbot: QtBot) -> None:
    dialog = keypad(qtbot, value=12.5)
    dialog.clear_key.click()
    assert dialog.text() == ""
    assert dialog.value() is None


def test_ok_out_of_range_is_refused_with_the_range(qtbot: QtBot) -> None:
    dialog = keypad(qtbot, title="Zone 1 setpoint", minimum=600, maximum=950, decimals=0, unit="°C")
    assert dialog.message() == "Between 600 and 950 °C"
    press(dialog, "1000")
    dialog.ok_key.click()
    assert dialog.isVisible()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.is_refused()
    assert dialog.message() == "Between 600 and 950 °C"
    message = dialog.findChild(QWidget, "keypadMessage")
    assert message is not None
    assert message.property("error") is True

    press(dialog, "<<<<875")
    assert not dialog.is_refused()
    dialog.ok_key.click()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert not dialog.isVisible()
    assert dialog.value() == 875.0


def test_range_message_uses_the_locale(qtbot: QtBot, use_locale: Callable[[str], None]) -> None:
    use_locale("pt_BR")
    dialog = keypad(qtbot, minimum=0.5, maximum=2500, decimals=1, unit="bar")
    assert dialog.message() == "Between 0,5 and 2.500 bar"


def test_one_sided_ranges_say_so(qtbot: QtBot) -> None:
    assert keypad(qtbot, minimum=10, unit="s").message() == "At least 10 s"
    assert keypad(qtbot, maximum=99.5, decimals=1).message() == "At most 99.5"
    assert keypad(qtbot).message() == ""


def test_ok_without_a_number_is_refused(qtbot: QtBot) -> None:
    dialog = keypad(qtbot, minimum=-10, maximum=10)
    dialog.ok_key.click()
    assert dialog.isVisible()
    assert dialog.message() == "Enter a number"
    press(dialog, "±")
    dialog.accept()
    assert dialog.isVisible()
    assert dialog.value() is None


def test_keypad_takes_the_physical_keyboard(qtbot: QtBot, use_locale: Callable[[str], None]) -> None:
    use_locale("pt_BR")
    dialog = keypad(qtbot, minimum=-100, maximum=100, decimals=2)
    QTest.keyClicks(dialog, "12,57")
    assert dialog.text() == "12,57"
    QTest.keyClick(dialog, Qt.Key.Key_Backspace)
    QTest.keyClicks(dialog, "-")
    assert dialog.text() == "-12,5"
    QTest.keyClick(dialog, Qt.Key.Key_Delete)
    assert dialog.text() == ""
    # The numeric pad's "." is a decimal separator too, whatever the locale.
    QTest.keyClicks(dialog, "3.5")
    assert dialog.value() == 3.5
    QTest.keyClick(dialog, Qt.Key.Key_Enter)
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_keypad_escape_cancels(qtbot: QtBot) -> None:
    dialog = keypad(qtbot, value=5)
    QTest.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert dialog.result() == QDialog.DialogCode.Rejected


def test_keypad_return_out_of_range_is_refused(qtbot: QtBot) -> None:
    dialog = keypad(qtbot, minimum=1, maximum=9, decimals=0)
    QTest.keyClicks(dialog, "12")
    QTest.keyClick(dialog, Qt.Key.Key_Return)
    assert dialog.isVisible()
    assert dialog.is_refused()


def test_ask_returns_the_number_typed(qtbot: QtBot) -> None:
    def respond(dialog: QWidget) -> None:
        assert isinstance(dialog, NumericKeypad)
        dialog.clear_key.click()
        press(dialog, "875")
        dialog.ok_key.click()

    answer_modal(qtbot, respond)
    value = NumericKeypad.ask(None, title="Zone 1 setpoint", value=850, minimum=600, maximum=950, unit="°C")
    assert value == 875.0


def test_ask_returns_none_on_cancel(qtbot: QtBot) -> None:
    def respond(dialog: QWidget) -> None:
        assert isinstance(dialog, NumericKeypad)
        dialog.cancel_key.click()

    answer_modal(qtbot, respond)
    assert NumericKeypad.ask(None, title="Zone 1 setpoint", value=850) is None


def test_keypad_follows_a_language_change(qtbot: QtBot, portuguese: Callable[[], None]) -> None:
    dialog = keypad(qtbot, minimum=600, maximum=950, decimals=0, unit="°C")
    portuguese()
    qtbot.waitUntil(lambda: dialog.clear_key.text() == "Limpar")
    assert dialog.cancel_key.text() == "Cancelar"
    assert dialog.backspace_key.accessibleName() == "Apagar"
    assert dialog.message() == "Entre 600 e 950 °C"


def test_keypad_rejects_an_impossible_range() -> None:
    with pytest.raises(ValueError, match="minimum"):
        NumericKeypad(minimum=10, maximum=1)


# -- on-screen keyboard -----------------------------------------------------------------------------


def test_keyboard_types_touched_letters_with_accents_and_cedilla(qtbot: QtBot) -> None:
    dialog = keyboard(qtbot)
    for char in "manuten":
        dialog.key(char).click()
    dialog.key("ç").click()
    dialog.key("ã").click()
    dialog.key("o").click()
    dialog.space_key.click()
    for char in "áàâéêíóôõú":
        dialog.key(char).click()
    assert dialog.text() == "manutenção áàâéêíóôõú"


def test_shift_capitalises_one_letter_and_caps_stays(qtbot: QtBot) -> None:
    dialog = keyboard(qtbot)
    dialog.shift_key.click()
    assert dialog.key("a").text() == "A"
    assert dialog.key("ç").text() == "Ç"
    dialog.key("ç").click()
    dialog.key("a").click()
    assert dialog.text() == "Ça"
    assert not dialog.shift_key.isChecked()
    assert dialog.key("a").text() == "a"

    dialog.caps_key.click()
    for char in "ão":
        dialog.key(char).click()
    dialog.key("-").click()
    assert dialog.text() == "ÇaÃO_"
    assert dialog.caps_key.isChecked()


def test_keyboard_backspace_key_and_initial_text(qtbot: QtBot) -> None:
    dialog = keyboard(qtbot, text="Lote 12")
    # The cursor is at the end, nothing selected: a key extends the text rather than replacing it.
    dialog.key("3").click()
    assert dialog.text() == "Lote 123"
    dialog.backspace_key.click()
    dialog.backspace_key.click()
    assert dialog.text() == "Lote 1"


def test_password_mode_masks_the_text(qtbot: QtBot) -> None:
    dialog = keyboard(qtbot, title="PIN", password=True)
    for char in "1234":
        dialog.key(char).click()
    assert dialog.text() == "1234"
    assert dialog.display.echoMode() == QLineEdit.EchoMode.Password
    assert "1234" not in dialog.display.displayText()
    assert len(dialog.display.displayText()) == 4


def test_keyboard_stops_at_max_length(qtbot: QtBot) -> None:
    dialog = keyboard(qtbot, max_length=4)
    for char in "123456":
        dialog.key(char).click()
    assert dialog.text() == "1234"


def test_keyboard_takes_the_physical_keyboard(qtbot: QtBot) -> None:
    dialog = keyboard(qtbot)
    type_text(dialog.display, "Ação")
    assert dialog.text() == "Ação"
    QTest.keyClick(dialog.display, Qt.Key.Key_Backspace)
    assert dialog.text() == "Açã"
    QTest.keyClick(dialog.display, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert not dialog.isVisible()


def test_keyboard_takes_keys_sent_to_the_dialog_itself(qtbot: QtBot) -> None:
    # Keys reach the dialog rather than the line when something else has the focus.
    dialog = keyboard(qtbot, text="ab")
    type_text(dialog, "cé")
    QTest.keyClick(dialog, Qt.Key.Key_Backspace)
    assert dialog.text() == "abc"
    QTest.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert not dialog.isVisible()


def test_keyboard_escape_in_the_line_cancels(qtbot: QtBot) -> None:
    dialog = keyboard(qtbot, text="ab")
    QTest.keyClick(dialog.display, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected


def test_keyboard_ask_returns_the_text(qtbot: QtBot) -> None:
    def respond(dialog: QWidget) -> None:
        assert isinstance(dialog, OnScreenKeyboard)
        for char in "olá":
            dialog.key(char).click()
        dialog.ok_key.click()

    answer_modal(qtbot, respond)
    assert OnScreenKeyboard.ask(None, title="Comment", text="") == "olá"


def test_keyboard_ask_returns_none_on_cancel(qtbot: QtBot) -> None:
    def respond(dialog: QWidget) -> None:
        assert isinstance(dialog, OnScreenKeyboard)
        assert dialog.is_password()
        dialog.cancel_key.click()

    answer_modal(qtbot, respond)
    assert OnScreenKeyboard.ask(None, title="Password", password=True) is None


def test_keyboard_follows_a_language_change(qtbot: QtBot, portuguese: Callable[[], None]) -> None:
    dialog = keyboard(qtbot)
    portuguese()
    qtbot.waitUntil(lambda: dialog.space_key.text() == "Espaço")
    assert dialog.cancel_key.text() == "Cancelar"
    assert dialog.caps_key.text() == "Fixa"


# -- both -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("palette_name", [None, "light", "dark"])
def test_every_key_is_big_enough_for_a_gloved_finger(qtbot: QtBot, palette_name: str | None) -> None:
    dialogs: list[QDialog] = [
        keypad(qtbot, title="Zone 1 setpoint", minimum=-10, maximum=950, unit="°C"),
        keyboard(qtbot, title="Comment"),
    ]
    for dialog in dialogs:
        if palette_name is not None:
            dialog.apply_palette(PALETTES[palette_name])  # type: ignore[attr-defined]
        qtbot.wait(1)
        buttons = visible_buttons(dialog)
        assert len(buttons) >= (16 if isinstance(dialog, NumericKeypad) else 58)
        for button in buttons:
            size = button.size()
            assert size.width() >= MIN_TOUCH_SIZE and size.height() >= MIN_TOUCH_SIZE, button.accessibleName()
            assert size.width() >= KEY_SIZE and size.height() >= KEY_SIZE, button.accessibleName()


def test_every_key_has_an_accessible_name_and_no_focus(qtbot: QtBot) -> None:
    for dialog in (keypad(qtbot, minimum=-1, maximum=1), keyboard(qtbot)):
        for button in dialog.findChildren(QPushButton):
            assert button.accessibleName().strip(), button.objectName()
            assert button.focusPolicy() == Qt.FocusPolicy.NoFocus
            assert button.property("keyRole")


def test_style_sheet_names_the_widgets_the_dialogs_use() -> None:
    sheet = style_sheet(DARK)
    for name in ("NumericKeypad", "OnScreenKeyboard", "keypadDisplay", "keypadMessage", "keyboardDisplay"):
        assert f"#{name}" in sheet
    assert DARK.background in sheet
    assert LIGHT.background not in sheet


@pytest.mark.parametrize("palette", [LIGHT, DARK], ids=["light", "dark"])
def test_style_sheet_text_keeps_seven_to_one_contrast(palette: Palette) -> None:
    pairs = {
        "key": (palette.text, palette.panel_raised),
        "function key": (palette.text, palette.panel),
        "OK": (palette.background, palette.text_muted),
        "range hint": (palette.text_muted, palette.background),
        "refusal band": (ink(palette.waiting), palette.waiting),
        "display": (palette.text, palette.panel),
    }
    sheet = style_sheet(palette)
    for name, (foreground, background) in pairs.items():
        assert foreground in sheet and background in sheet, name
        assert contrast(foreground, background) >= 7.0, name


@pytest.mark.parametrize("palette_name", ["light", "dark"])
def test_screenshots(qtbot: QtBot, palette_name: str) -> None:
    """Writes docs/screenshots/widgets/{keypad,keyboard}-{light,dark}.png for the docs and for review."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    palette = PALETTES[palette_name]

    pad = keypad(qtbot, title="Zone 1 setpoint", value=850, minimum=600, maximum=950, decimals=1, unit="°C")
    pad.apply_palette(palette)
    keys = keyboard(qtbot, title="Downtime comment", text="Aguardando manutenção")
    keys.apply_palette(palette)
    qtbot.wait(10)

    for name, dialog in (("keypad", pad), ("keyboard", keys)):
        path = SCREENSHOTS / f"{name}-{palette_name}.png"
        image = dialog.grab()
        assert image.save(str(path))
        assert image.width() >= dialog.minimumSizeHint().width()
        assert path.stat().st_size > 0
