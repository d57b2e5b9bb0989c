"""One stop as a bar of its parts: coded parts grey with their reason's colour as a stripe, time nobody
has coded yet in the attention colour, and where the operator is about to split it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from linesight.domain.reasons import Stop
from linesight.widgets.palette import LIGHT, Palette


class StopBar(QWidget):
    def __init__(self, parent: QWidget | None = None, *, palette: Palette = LIGHT, height: int = 16) -> None:
        super().__init__(parent)
        self._colours = palette
        self._stop: Stop | None = None
        self._reason_colours: Mapping[str, str] = {}
        self._split: datetime | None = None
        self._height = height
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(height)

    def sizeHint(self) -> QSize:
        return QSize(200, self._height)

    def set_stop(self, stop: Stop | None, reason_colours: Mapping[str, str]) -> None:
        self._stop = stop
        self._reason_colours = reason_colours
        self.update()

    def set_split(self, moment: datetime | None) -> None:
        self._split = moment
        self.update()

    def apply_palette(self, palette: Palette) -> None:
        self._colours = palette
        self.update()

    def _x(self, moment: datetime, rect: QRectF) -> float:
        stop = self._stop
        assert stop is not None
        total = max(stop.seconds, 1e-6)
        return rect.left() + rect.width() * (moment - stop.start).total_seconds() / total

    def paintEvent(self, event: QPaintEvent) -> None:
        stop = self._stop
        painter = QPainter(self)
        rect = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        painter.setPen(QPen(QColor(self._colours.border), 1))
        painter.setBrush(QColor(self._colours.panel_raised))
        painter.drawRect(rect)
        if stop is None or stop.seconds <= 0:
            painter.end()
            return
        stripe = max(3.0, rect.height() * 0.3)
        coded = QColor(self._colours.text_muted)
        coded.setAlphaF(0.35)
        for part in stop.parts:
            left, right = self._x(part.start, rect), self._x(part.end, rect)
            piece = QRectF(left, rect.top(), max(1.0, right - left), rect.height())
            painter.setPen(Qt.PenStyle.NoPen)
            if part.reason is None:
                painter.setBrush(QColor(self._colours.attention))
                painter.drawRect(piece)
                continue
            painter.setBrush(coded)
            painter.drawRect(piece)
            colour = self._reason_colours.get(part.reason, self._colours.text_muted)
            painter.setBrush(QBrush(QColor(colour)))
            painter.drawRect(QRectF(piece.left(), piece.bottom() - stripe, piece.width(), stripe))
        # Where one part ends and the next begins: a thin line of the screen's background.
        painter.setPen(QPen(QColor(self._colours.background), 2))
        for part in stop.parts[1:]:
            x = self._x(part.start, rect)
            painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        if self._split is not None and stop.start < self._split < stop.end:
            x = self._x(self._split, rect)
            painter.setPen(QPen(QColor(self._colours.text), 3))
            painter.drawLine(QPointF(x, 0), QPointF(x, float(self.height())))
        painter.end()
