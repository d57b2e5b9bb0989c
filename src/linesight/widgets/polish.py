"""Small behaviours the ISA-101 widgets share: style-sheet state flags, and Enter on a panel button."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractButton, QWidget


def repolish(widget: QWidget) -> None:
    """Re-apply the style sheet after a property it selects on (``[abnormal="true"]``) changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)
    widget.update()


def set_flag(widget: QWidget, name: str, value: bool) -> None:
    """Set a boolean property the style sheet selects on, repolishing only when it changes."""
    if widget.property(name) != value:
        widget.setProperty(name, value)
        repolish(widget)


def click_on_enter(button: QAbstractButton, event: QKeyEvent) -> bool:
    """Click ``button`` on Return/Enter: Qt buttons click only on Space; on a panel, people press Enter.

    Returns whether the key was taken; the caller passes the event on otherwise.
    """
    if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.isAutoRepeat():
        button.animateClick()
        event.accept()
        return True
    return False
