"""A message the operator acknowledges, shown without blocking: the window keeps updating behind it.

A blocking ``QMessageBox.warning`` started from a runtime answer would run a nested event loop inside
a signal handler; live values, the login flow and tests driving the window would all wait on it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def notice(parent: QWidget, title: str, text: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("notice")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
