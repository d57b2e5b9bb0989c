"""A 270° arc gauge for one ratio of OEE (OEE, availability, performance or quality), painted with QPainter.

ISA-101: the value arc is a dark grey, never green or red; a good or a bad value is read from the
digits and from the target tick, and colour stays free for what is abnormal elsewhere on the screen.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from linesight.widgets import texts
from linesight.widgets.palette import LIGHT, Palette

_START_DEG = 225.0  # lower left; Qt counts angles counter-clockwise from three o'clock
_SWEEP_DEG = 270.0  # clockwise to the lower right, leaving the gap at the bottom for the caption


class OeeGauge(QWidget):
    """A ratio from 0 to 1 as an arc and as large digits in the locale's format; None shows a dash."""

    def __init__(
        self,
        caption: str = "",
        parent: QWidget | None = None,
        *,
        palette: Palette = LIGHT,
        decimals: int = 1,
    ) -> None:
        super().__init__(parent)
        self._colours = palette
        self._value: float | None = None
        self._target: float | None = None
        self._caption = caption
        self._decimals = decimals
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._describe()

    # ------------------------------------------------------------------ API

    def set_value(self, value: float | None) -> None:
        if value is not None and not math.isfinite(value):
            value = None  # a NaN from a division upstream is no value, not an empty arc
        if value == self._value:
            return
        self._value = value
        self._describe()
        self.update()

    def value(self) -> float | None:
        return self._value

    def set_caption(self, text: str) -> None:
        """The caption under the value, already translated by the caller ("OEE", "Availability"...)."""
        self._caption = text
        self._describe()
        self.update()

    def caption(self) -> str:
        return self._caption

    def set_target(self, value: float | None) -> None:
        self._target = value
        self.update()

    def target(self) -> float | None:
        return self._target

    def set_decimals(self, decimals: int) -> None:
        self._decimals = decimals
        self._describe()
        self.update()

    def apply_palette(self, palette: Palette) -> None:
        self._colours = palette
        self.update()

    def value_text(self) -> str:
        """The text in the centre as painted now: the locale's percentage, or a dash for no value."""
        return texts.percent(self._value, self._decimals)

    # ------------------------------------------------------------------ Qt

    def sizeHint(self) -> QSize:
        return QSize(160, 160)

    def minimumSizeHint(self) -> QSize:
        return QSize(96, 96)

    def changeEvent(self, event: QEvent) -> None:
        # The app switches QLocale's default together with the translator: repaint with the new format.
        if event.type() in (QEvent.Type.LanguageChange, QEvent.Type.LocaleChange):
            self._describe()
            self.update()
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        colours = self._colours
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(colours.panel))

        width, height = float(self.width()), float(self.height())
        side = min(width, height)
        margin = max(3.0, side * 0.03)
        thickness = max(6.0, side * 0.085)
        radius = (side - 2 * margin - thickness) / 2
        if radius <= 4:
            painter.end()
            return
        # The arc's bottom ends leave room below them; centre the arc and the caption as one block.
        centre = QPointF(width / 2, (height - side) / 2 + margin + thickness / 2 + radius)
        ring = QRectF(centre.x() - radius, centre.y() - radius, 2 * radius, 2 * radius)

        track = QPen(QColor(colours.border), thickness)
        track.setCapStyle(Qt.PenCapStyle.FlatCap)
        painter.setPen(track)
        painter.drawArc(ring, int(_START_DEG * 16), int(-_SWEEP_DEG * 16))

        if self._value is not None:
            shown = min(1.0, max(0.0, self._value))
            arc = QPen(QColor(colours.text_muted), thickness)
            arc.setCapStyle(Qt.PenCapStyle.FlatCap)
            painter.setPen(arc)
            painter.drawArc(ring, int(_START_DEG * 16), round(-_SWEEP_DEG * shown * 16))

        if self._target is not None:
            self._paint_target(painter, centre, radius, thickness, margin, side)

        inner = radius - thickness / 2
        self._paint_value(painter, centre, inner, side)
        self._paint_caption(painter, centre, radius, thickness, margin, side)
        painter.end()

    # ------------------------------------------------------------------ painting

    def _paint_target(
        self, painter: QPainter, centre: QPointF, radius: float, thickness: float, margin: float, side: float
    ) -> None:
        assert self._target is not None
        angle = math.radians(_START_DEG - _SWEEP_DEG * min(1.0, max(0.0, self._target)))
        # The tick crosses the whole ring and stands out a little on both sides, so that it reads over
        # the value arc as well as over the track.
        reach = min(margin, thickness * 0.35)
        inner, outer = radius - thickness / 2 - reach, radius + thickness / 2 + reach
        cos, sin = math.cos(angle), -math.sin(angle)
        start = QPointF(centre.x() + inner * cos, centre.y() + inner * sin)
        end = QPointF(centre.x() + outer * cos, centre.y() + outer * sin)
        width = max(2.0, side * 0.018)
        # A halo in the panel's colour keeps the tick apart from a value arc of nearly the same grey.
        halo = QPen(QColor(self._colours.panel), width * 2.6)
        halo.setCapStyle(Qt.PenCapStyle.FlatCap)
        painter.setPen(halo)
        painter.drawLine(start, end)
        pen = QPen(QColor(self._colours.text), width)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        painter.setPen(pen)
        painter.drawLine(start, end)

    def _paint_value(self, painter: QPainter, centre: QPointF, inner: float, side: float) -> None:
        # Large digits with a smaller unit: the digits are what must read from 2 m, and a full-size
        # "%" would cost them a third of the width inside the ring.
        digits, unit = _split_unit(self.value_text())
        big = QFont(self.font())
        big.setBold(True)
        big.setPixelSize(max(8, round(side * 0.27)))
        small = QFont(self.font())
        small.setBold(True)
        small.setPixelSize(max(6, round(big.pixelSize() * 0.55)))
        gap = big.pixelSize() * 0.08 if unit else 0.0
        room = inner * 2 * 0.86
        wide = (
            QFontMetricsF(big).horizontalAdvance(digits) + gap + QFontMetricsF(small).horizontalAdvance(unit)
        )
        if wide > room:
            scale = room / wide
            big.setPixelSize(max(6, math.floor(big.pixelSize() * scale)))
            small.setPixelSize(max(5, math.floor(small.pixelSize() * scale)))
            gap *= scale
        big_metrics, small_metrics = QFontMetricsF(big), QFontMetricsF(small)
        digits_w = big_metrics.horizontalAdvance(digits)
        total = digits_w + gap + small_metrics.horizontalAdvance(unit)
        # Centre the digits' cap height on the ring's centre: the eye centres on the figures, not on
        # the font's ascent and descent.
        baseline = centre.y() + big_metrics.capHeight() / 2
        left = centre.x() - total / 2
        painter.setPen(QColor(self._colours.text))
        painter.setFont(big)
        painter.drawText(QPointF(left, baseline), digits)
        if unit:
            painter.setFont(small)
            painter.drawText(QPointF(left + digits_w + gap, baseline), unit)

    def _paint_caption(
        self, painter: QPainter, centre: QPointF, radius: float, thickness: float, margin: float, side: float
    ) -> None:
        if not self._caption:
            return
        font = QFont(self.font())
        font.setPixelSize(max(7, round(side * 0.105)))
        metrics = QFontMetricsF(font)
        # Below the arc's ends the full width is free; a long caption ("Disponibilidade") shrinks
        # rather than run into the arc.
        top = centre.y() + radius * math.sin(math.radians(45)) + thickness * 0.2
        bottom = centre.y() + radius + thickness / 2 + margin
        room = self.width() - 2 * margin
        wide = metrics.horizontalAdvance(self._caption)
        if wide > room:
            font.setPixelSize(max(6, math.floor(font.pixelSize() * room / wide)))
            metrics = QFontMetricsF(font)
        text = metrics.elidedText(self._caption, Qt.TextElideMode.ElideRight, room)
        painter.setFont(font)
        painter.setPen(QColor(self._colours.text_muted))
        box = QRectF(margin, top, room, max(bottom - top, metrics.height()))
        painter.drawText(box, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, text)

    def _describe(self) -> None:
        # What a screen reader says; the gauge has no words of its own, only the caller's caption.
        self.setAccessibleName(self._caption)
        self.setAccessibleDescription(self.value_text())


def _split_unit(text: str) -> tuple[str, str]:
    """ "87,5 %" → ("87,5", "%"); a dash has no unit."""
    digits, space, unit = text.rpartition(" ")
    return (digits, unit) if space else (text, "")
