"""A shift as one horizontal bar of machine states, with its breaks, planned stops and the present moment.

Running is a dark grey and every other state its ISA-101 colour, so that a shift without trouble is
a calm grey bar and each stop stands out where it happened. Hour ticks are in the computer's local
time, which is the time on the wall clock the operator compares them with.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from PySide6.QtCore import QEvent, QLocale, QPointF, QRectF, QSize, Qt, QTime
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QHelpEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from linesight.domain.calendar import Interval, ShiftWindow
from linesight.domain.machine import MachineState
from linesight.domain.oee import StateSpan
from linesight.widgets import texts
from linesight.widgets.palette import LIGHT, Palette

# texts.tr under the name lupdate knows: it reads translate(context, source) as such, but takes
# tr(a, b) for tr(source, comment) and would file every string under the wrong context.
from linesight.widgets.texts import translate

_TICK_PT = 12.0
_EMPTY_PT = 14.0
_MARKER = 6.0  # the "now" marker's reach above and below the bar


class StateTimeline(QWidget):
    """The states of one machine over its current shift; hover a span to read its times."""

    def __init__(self, parent: QWidget | None = None, *, palette: Palette = LIGHT) -> None:
        super().__init__(parent)
        self._colours = palette
        self._shift: ShiftWindow | None = None
        self._spans: tuple[StateSpan, ...] = ()
        self._now: datetime | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._describe()

    # ------------------------------------------------------------------ API

    def set_shift(self, window: ShiftWindow | None) -> None:
        self._shift = window
        self._describe()
        self.update()

    def set_spans(self, spans: Sequence[StateSpan], now: datetime) -> None:
        """The shift's states in time order, the last one up to ``now``, as ``MachineStatus.timeline``."""
        self._spans = tuple(spans)
        self._now = now
        self.update()

    def apply_palette(self, palette: Palette) -> None:
        self._colours = palette
        self.update()

    def state_colour(self, state: MachineState) -> QColor:
        """The fill of a span in ``state``: a dark grey for running, the palette's colour otherwise."""
        colour = self._colours.state_colour(state)
        if colour is not None:
            return QColor(colour)
        # A dark grey between the muted text and the panel, about #666 in both themes: it reads as
        # "the machine ran" without weighing on the screen; on a dark screen a light grey would glare,
        # so the dark theme takes less of its (light) muted text.
        panel = QColor(self._colours.panel)
        share = 0.75 if panel.lightnessF() >= 0.5 else 0.4
        return _mix(QColor(self._colours.text_muted), panel, share)

    def bar_rect(self) -> QRectF:
        """Where the shift's bar is painted, in widget coordinates."""
        ticks = QFontMetricsF(self._font(_TICK_PT))
        side = ticks.horizontalAdvance(_time_text(datetime(2000, 1, 1, 22, 0).astimezone())) / 2 + 4
        top = _MARKER + 4
        bottom = self.height() - ticks.height() - _MARKER - 6
        return QRectF(side, top, max(1.0, self.width() - 2 * side), max(1.0, bottom - top))

    def x_at(self, moment: datetime) -> float:
        """The x coordinate of ``moment`` on the bar (clamped to the shift)."""
        bar = self.bar_rect()
        shift = self._shift
        if shift is None or shift.seconds <= 0:
            return bar.left()
        share = (moment - shift.start).total_seconds() / shift.seconds
        return bar.left() + min(1.0, max(0.0, share)) * bar.width()

    def moment_at(self, x: float) -> datetime | None:
        """The moment under ``x``, or None off the bar or without a shift."""
        bar = self.bar_rect()
        shift = self._shift
        if shift is None or not bar.left() <= x <= bar.right():
            return None
        return shift.start + timedelta(seconds=(x - bar.left()) / bar.width() * shift.seconds)

    def tooltip_at(self, x: float) -> str | None:
        """What hovering at ``x`` tells: the state there with its start, end and length, and any pause."""
        moment = self.moment_at(x)
        shift = self._shift
        if moment is None or shift is None:
            return None
        lines = []
        for span in self._spans:
            if span.start <= moment < span.end:
                lines.append(
                    _fill(
                        translate("StateTimeline", "%1: %2–%3 (%4)"),
                        texts.state_name(span.state),
                        _time_text(span.start),
                        _time_text(span.end),
                        texts.duration_text(span.end - span.start),
                    )
                )
                break
        for pause, kind in self._pauses(shift):
            if pause.start <= moment < pause.end:
                lines.append(
                    _fill(
                        translate("StateTimeline", "%1: %2–%3 (%4)"),
                        kind,
                        _time_text(pause.start),
                        _time_text(pause.end),
                        texts.duration_text(pause.end - pause.start),
                    )
                )
        return "\n".join(lines) or None

    def hour_ticks(self) -> list[datetime]:
        """The full local hours inside the shift, where the bar has its ticks."""
        shift = self._shift
        if shift is None:
            return []
        local = shift.start.astimezone()
        first = local.replace(minute=0, second=0, microsecond=0)
        if first < local:
            first += timedelta(hours=1)
        ticks = []
        moment = first
        # Stepping in absolute time keeps one tick per real hour across a daylight-saving change.
        while moment <= shift.end:
            local_moment = moment.astimezone()
            if local_moment.minute == 0:
                ticks.append(local_moment)
            moment = local_moment + timedelta(hours=1)
        return ticks

    # ------------------------------------------------------------------ Qt

    def sizeHint(self) -> QSize:
        return QSize(640, 88)

    def minimumSizeHint(self) -> QSize:
        return QSize(240, 72)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.LanguageChange, QEvent.Type.LocaleChange):
            self._describe()
            self.update()
        super().changeEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self.tooltip_at(event.pos().x())
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        colours = self._colours
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(colours.panel))
        shift = self._shift
        if shift is None or shift.seconds <= 0:
            painter.setPen(QColor(colours.text_muted))
            painter.setFont(self._font(_EMPTY_PT))
            painter.drawText(
                QRectF(self.rect()),
                Qt.AlignmentFlag.AlignCenter,
                translate("StateTimeline", "No shift running"),
            )
            painter.end()
            return

        bar = self.bar_rect()
        painter.fillRect(bar, QColor(colours.background))
        for span in self._spans:
            left, right = self.x_at(span.start), self.x_at(span.end)
            if right > left:
                painter.fillRect(
                    QRectF(left, bar.top(), right - left, bar.height()), self.state_colour(span.state)
                )

        self._paint_pauses(painter, shift, bar)
        painter.setPen(QPen(QColor(colours.border), 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(bar)
        self._paint_ticks(painter, bar)
        if self._now is not None and shift.start <= self._now <= shift.end:
            self._paint_now(painter, bar, self.x_at(self._now))
        painter.end()

    # ------------------------------------------------------------------ painting

    def _paint_pauses(self, painter: QPainter, shift: ShiftWindow, bar: QRectF) -> None:
        colours = self._colours
        # A wash of the panel's colour first, then hatching: a pause reads as "not production time"
        # over any state colour and over the empty future alike.
        wash = QColor(colours.panel)
        wash.setAlphaF(0.55)
        hatch = QBrush(QColor(colours.text_muted), Qt.BrushStyle.BDiagPattern)
        for pause, _kind in self._pauses(shift):
            left, right = self.x_at(pause.start), self.x_at(pause.end)
            if right <= left:
                continue
            box = QRectF(left, bar.top(), right - left, bar.height())
            painter.fillRect(box, wash)
            painter.fillRect(box, hatch)

    def _paint_ticks(self, painter: QPainter, bar: QRectF) -> None:
        colours = self._colours
        font = self._font(_TICK_PT)
        metrics = QFontMetricsF(font)
        painter.setFont(font)
        ticks = self.hour_ticks()
        # Label every hour when the labels fit, else every second or third hour; ticks stay hourly.
        label_w = max((metrics.horizontalAdvance(_time_text(t)) for t in ticks), default=0.0) + 10
        hour_w = bar.width() / max(1.0, (self._shift.seconds / 3600) if self._shift else 1.0)
        every = next((n for n in (1, 2, 3, 4, 6, 12) if n * hour_w >= label_w), 24)
        top = bar.bottom()
        for tick in ticks:
            x = self.x_at(tick)
            labelled = tick.hour % every == 0
            painter.setPen(QPen(QColor(colours.text_muted), 1.0))
            painter.drawLine(QPointF(x, top), QPointF(x, top + (_MARKER if labelled else _MARKER / 2)))
            if labelled:
                text = _time_text(tick)
                width = metrics.horizontalAdvance(text)
                painter.setPen(QColor(colours.text))
                painter.drawText(
                    QRectF(x - width / 2 - 2, top + _MARKER + 2, width + 4, metrics.height()),
                    Qt.AlignmentFlag.AlignCenter,
                    text,
                )

    def _paint_now(self, painter: QPainter, bar: QRectF, x: float) -> None:
        colours = self._colours
        # On whole pixels and without antialiasing: a crisp line, not a smudge between two columns.
        x = float(round(x))
        top, bottom = QPointF(x, bar.top() - _MARKER), QPointF(x, bar.bottom() + _MARKER)
        # A panel-coloured halo keeps the line visible over a dark running span as over the empty track.
        painter.setPen(QPen(QColor(colours.panel), 6.0))
        painter.drawLine(top, bottom)
        painter.setPen(QPen(QColor(colours.text), 2.0))
        painter.drawLine(top, bottom)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colours.text))
        painter.drawPolygon(
            [
                QPointF(x - _MARKER, bar.top() - _MARKER - 2),
                QPointF(x + _MARKER, bar.top() - _MARKER - 2),
                QPointF(x, bar.top() - 1),
            ]
        )
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    def _pauses(self, shift: ShiftWindow) -> list[tuple[Interval, str]]:
        return [(pause, translate("StateTimeline", "Break")) for pause in shift.breaks] + [
            (stop, translate("StateTimeline", "Planned stop")) for stop in shift.planned_stops
        ]

    def _font(self, points: float) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(points)
        return font

    def _describe(self) -> None:
        shift = self._shift
        if shift is None:
            self.setAccessibleName(translate("StateTimeline", "No shift running"))
        else:
            self.setAccessibleName(
                _fill(
                    translate("StateTimeline", "Shift %1, %2–%3"),
                    shift.name,
                    _time_text(shift.start),
                    _time_text(shift.end),
                )
            )


def _time_text(moment: datetime) -> str:
    """A moment as the plant's clocks show it: local time on the 24-hour clock, in every language
    (the trend axis and the top bar's clock use it too; "10:00 PM" beside "23:30" misleads)."""
    local = moment.astimezone()
    return QLocale().toString(QTime(local.hour, local.minute), "HH:mm")


def _mix(a: QColor, b: QColor, share_a: float) -> QColor:
    share_b = 1.0 - share_a
    return QColor(
        round(a.red() * share_a + b.red() * share_b),
        round(a.green() * share_a + b.green() * share_b),
        round(a.blue() * share_a + b.blue() * share_b),
    )


def _fill(pattern: str, *values: str) -> str:
    """Qt's %1, %2 placeholders filled in one pass (a value that contains "%2" stays as it is)."""

    def value(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return values[index] if 0 <= index < len(values) else match.group(0)

    return re.sub(r"%(\d)", value, pattern)
