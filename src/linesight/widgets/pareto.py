"""A loss Pareto: one horizontal bar per loss, largest first, each with its name and how much it cost.

Bars are grey, as everything normal is in ISA-101; a bar the operator can still do something about
(time nobody has coded yet) takes the attention colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from linesight.widgets.palette import LIGHT, Palette

_MIN_ROW = 30.0
_GAP = 10.0


@dataclass(frozen=True, kw_only=True)
class ParetoBar:
    label: str
    value: float  # what the bar's length shows (seconds of loss)
    text: str  # the value as read beside the bar ("42 min")
    attention: bool = False


class ParetoChart(QWidget):
    """The largest ``most`` losses as bars scaled to the largest; a sentence when there are none."""

    def __init__(self, parent: QWidget | None = None, *, palette: Palette = LIGHT, most: int = 8) -> None:
        super().__init__(parent)
        self._colours = palette
        self._most = most
        self._bars: tuple[ParetoBar, ...] = ()
        self._empty = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumHeight(int(2 * _MIN_ROW))

    def set_bars(self, bars: Sequence[ParetoBar]) -> None:
        ranked = sorted((bar for bar in bars if bar.value > 0), key=lambda bar: bar.value, reverse=True)
        self._bars = tuple(ranked[: self._most])
        self.setAccessibleDescription("; ".join(f"{bar.label}: {bar.text}" for bar in self._bars))
        self.updateGeometry()
        self.update()

    def bars(self) -> tuple[ParetoBar, ...]:
        return self._bars

    def set_empty_text(self, text: str) -> None:
        self._empty = text
        self.update()

    def apply_palette(self, palette: Palette) -> None:
        self._colours = palette
        self.update()

    def _row_height(self) -> float:
        return max(_MIN_ROW, QFontMetricsF(self.font()).height() * 1.6)

    def sizeHint(self) -> QSize:
        rows = max(2, len(self._bars))
        return QSize(480, int(rows * self._row_height() + 8))

    def bar_colour(self, bar: ParetoBar) -> QColor:
        if bar.attention:
            return QColor(self._colours.attention)
        # The timeline's dark grey for "ran": a calm bar on either theme's panel.
        panel = QColor(self._colours.panel)
        muted = QColor(self._colours.text_muted)
        share = 0.75 if panel.lightnessF() >= 0.5 else 0.45
        return QColor.fromRgbF(
            muted.redF() * share + panel.redF() * (1 - share),
            muted.greenF() * share + panel.greenF() * (1 - share),
            muted.blueF() * share + panel.blueF() * (1 - share),
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = QColor(self._colours.text)
        font = QFont(self.font())
        painter.setFont(font)
        metrics = QFontMetricsF(font)
        if not self._bars:
            painter.setPen(QColor(self._colours.text_muted))
            painter.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter, self._empty)
            painter.end()
            return
        width = float(self.width())
        row = self._row_height()
        label_w = min(width * 0.42, max(metrics.horizontalAdvance(bar.label) for bar in self._bars) + _GAP)
        value_w = max(metrics.horizontalAdvance(bar.text) for bar in self._bars) + _GAP
        bar_x = label_w + _GAP
        bar_w = max(1.0, width - bar_x - value_w - _GAP)
        largest = self._bars[0].value
        for index, bar in enumerate(self._bars):
            top = index * row
            label = metrics.elidedText(bar.label, Qt.TextElideMode.ElideRight, label_w - _GAP)
            painter.setPen(text)
            painter.drawText(
                QRectF(0, top, label_w - _GAP, row),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                label,
            )
            length = max(2.0, bar_w * bar.value / largest)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self.bar_colour(bar))
            painter.drawRect(QRectF(bar_x, top + row * 0.18, length, row * 0.64))
            painter.setPen(text)
            painter.drawText(
                QRectF(bar_x + length + _GAP, top, value_w, row),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                bar.text,
            )
        painter.end()
