"""The window's screens, one at a time, each scrolled rather than squeezed when the window is smaller
than it needs.

A panel of 1024 x 768 with the kiosk's larger font is narrower than the machine, history and alarm
screens need (about 1,200 px in Portuguese). A QStackedWidget would squeeze them anyway, and
buttons, gauges and labels would overlap or lose letters. Here each screen sits in a scroll area that
fits it to the window when there is room and shows scroll bars (the theme's, wide enough for a finger
in kiosk mode) when there is not: every control keeps the size it needs. No kinetic scrolling: a drag
on a screen belongs to what is under the finger (a trend pans with it).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QScrollArea, QStackedWidget, QWidget


class ScreenStack(QStackedWidget):
    """A QStackedWidget of screens; ``addWidget``, ``setCurrentWidget`` and ``currentWidget`` take
    and give the screens themselves, not the scroll areas around them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._areas: dict[QWidget, QScrollArea] = {}

    def addWidget(self, screen: QWidget) -> int:
        area = QScrollArea()
        area.setObjectName("ScreenArea")
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setWidgetResizable(True)  # as large as the window when it can be: no scroll bars then
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        area.setWidget(screen)
        self._areas[screen] = area
        return super().addWidget(area)

    def setCurrentWidget(self, screen: QWidget) -> None:
        super().setCurrentWidget(self._areas.get(screen, screen))

    def currentWidget(self) -> QWidget | None:
        area = super().currentWidget()
        return area.widget() if isinstance(area, QScrollArea) else area

    def area_of(self, screen: QWidget) -> QScrollArea:
        return self._areas[screen]

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Tell the screens that arrange themselves by the room they have (``fit_width``) how much there
        is: a screen in a scroll area is never narrower than its minimum, so it cannot see that itself."""
        super().resizeEvent(event)
        for screen, area in self._areas.items():
            # Less a vertical scroll bar's width (wide in kiosk mode): a screen that only just fits
            # would otherwise need a horizontal one as soon as it grows taller than the window.
            room = event.size().width() - area.verticalScrollBar().sizeHint().width()
            fit = getattr(screen, "fit_width", None)
            if callable(fit):
                fit(room)
