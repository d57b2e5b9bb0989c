"""One machine on the plant overview: name, state and its age, shift OEE, parts and active alarms.

The whole tile is one touch target that opens the machine (mouse, touch, Enter or Space). ISA-101:
a running machine is a calm grey panel; only an abnormal state paints a coloured band, an active
alarm shows a badge in its priority's colour (an unacknowledged one also a thick border in it), and a
machine without trustworthy data gets a magenta border and dashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QKeyEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QAbstractButton, QSizePolicy, QWidget

from linesight.domain.alarm_rules import Priority
from linesight.domain.machine import MachineState
from linesight.runtime.machines import MachineStatus
from linesight.widgets import texts
from linesight.widgets.palette import LIGHT, Palette, ink
from linesight.widgets.polish import click_on_enter

# texts.tr under the name lupdate knows: it reads translate(context, source) as such, but takes
# tr(a, b) for tr(source, comment) and would file every string under the wrong context.
from linesight.widgets.texts import translate

_PAD = 10.0
_RADIUS = 6.0
_NAME_PT = 22.0
_STATE_PT = 16.0
_LABEL_PT = 12.0
_VALUE_PT = 20.0
_BADGE_PT = 16.0
_MIN_PT = 12.0  # text shrinks to this before it is elided
_NAME_MIN_PT = 15.0  # the name stays large: the operator finds the machine by it


@dataclass(frozen=True, kw_only=True)
class TileContent:
    """The words and numbers a tile shows, in the current language and locale."""

    name: str
    state: str  # "Stopped for 12 min", or "No data"
    oee: str
    parts: str
    alarms: str | None  # the badge's text; None: no badge
    band: str | None  # the state band's colour; None: the grey panel of a normal state
    no_data: bool
    badge: str | None = None  # the badge's colour: the most urgent active alarm's priority
    alarm_border: str | None = None  # the border's colour while an alarm is unacknowledged


class MachineTile(QAbstractButton):
    """A machine's tile; ``opened`` carries the machine id when the operator taps or activates it."""

    opened = Signal(str)

    def __init__(
        self, machine_id: str, name: str, parent: QWidget | None = None, *, palette: Palette = LIGHT
    ) -> None:
        super().__init__(parent)
        self._machine_id = machine_id
        self._name = name
        self._colours = palette
        self._status: MachineStatus | None = None
        self._now: datetime | None = None
        self._alarms = 0
        self._alarm_priority: Priority | None = None
        self._unacked: Priority | None = None
        self._connected = False  # until the first status arrives there is nothing to show
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.clicked.connect(self._open)
        self._describe()

    # ------------------------------------------------------------------ API

    @property
    def machine_id(self) -> str:
        return self._machine_id

    def set_name(self, name: str) -> None:
        self._name = name
        self._describe()
        self.update()

    def update_status(
        self, status: MachineStatus, *, now: datetime, alarms: int | None = None, connected: bool = True
    ) -> None:
        """Show ``status`` as of ``now`` (the state's age is counted to it); call again to refresh.
        ``alarms`` sets the active alarm count (None keeps what ``set_alarms`` gave)."""
        if status.machine != self._machine_id:
            raise ValueError(f"tile of machine {self._machine_id!r} given the status of {status.machine!r}")
        self._status = status
        self._now = now
        if alarms is not None:
            self._alarms = max(0, alarms)
        self._connected = connected
        self._describe()
        self.update()

    def set_alarms(
        self, active: int, *, priority: Priority | None = None, unacknowledged: Priority | None = None
    ) -> None:
        """The machine's ``active`` alarm count and the most urgent one's ``priority`` (the badge), and
        the most urgent unacknowledged alarm's priority (the border; None: all acknowledged)."""
        changed = (active, priority, unacknowledged) != (self._alarms, self._alarm_priority, self._unacked)
        self._alarms = max(0, active)
        self._alarm_priority = priority
        self._unacked = unacknowledged
        if changed:
            self._describe()
            self.update()

    def apply_palette(self, palette: Palette) -> None:
        self._colours = palette
        self.update()

    def content(self) -> TileContent:
        """What the tile paints now; words are translated at each call, so a language switch shows."""
        status = self._status
        no_data = status is None or not self._connected or status.state is MachineState.UNKNOWN
        alarms = (
            texts.number(self._alarms) if self._alarms > 0 else None
        )  # ISA-101: no alarm, no badge; a "0" would draw the eye for nothing
        badge = (
            self._colours.alarm_colour(self._alarm_priority or Priority.HIGH) if alarms is not None else None
        )
        border = self._colours.alarm_colour(self._unacked) if self._unacked is not None else None
        if no_data or status is None:
            return TileContent(
                name=self._name,
                state=texts.state_name(MachineState.UNKNOWN),
                oee=texts.percent(None),
                parts=texts.number(None),
                alarms=alarms,
                band=None,
                no_data=True,
                badge=badge,
                alarm_border=border,
            )
        state = texts.state_name(status.state)
        if status.since is not None and self._now is not None:
            state = _fill(
                translate("MachineTile", "%1 for %2"), state, texts.duration_text(self._now - status.since)
            )
        return TileContent(
            name=self._name,
            state=state,
            oee=texts.percent(status.oee.oee if status.oee is not None else None),
            parts=texts.number(status.parts),
            alarms=alarms,
            band=self._colours.state_colour(status.state),
            no_data=False,
            badge=badge,
            alarm_border=border,
        )

    # ------------------------------------------------------------------ Qt

    def sizeHint(self) -> QSize:
        return QSize(260, 170)

    def minimumSizeHint(self) -> QSize:
        return QSize(200, 140)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not click_on_enter(self, event):
            super().keyPressEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.LanguageChange, QEvent.Type.LocaleChange):
            self._describe()
            self.update()
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        colours = self._colours
        content = self.content()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        outer = QRectF(self.rect())
        frame = 4.0 if content.no_data or content.alarm_border else 1.0
        shape = QPainterPath()
        shape.addRoundedRect(outer.adjusted(0.5, 0.5, -0.5, -0.5), _RADIUS, _RADIUS)
        painter.fillPath(shape, QColor(colours.panel))
        if self.isDown():
            pressed = QColor(colours.text)
            pressed.setAlphaF(0.12)  # the finger needs to see that the tap landed
            painter.fillPath(shape, pressed)

        name_font = self._font(_NAME_PT, bold=True)
        state_font = self._font(_STATE_PT, bold=True)
        inner_w = outer.width() - 2 * (_PAD + frame)
        name_h = QFontMetricsF(name_font).height()
        state_h = QFontMetricsF(state_font).height()
        band = QRectF(outer.left(), outer.top(), outer.width(), frame + _PAD + name_h + state_h + _PAD * 0.6)

        band_colour = content.band
        if band_colour is not None:
            painter.save()
            painter.setClipPath(shape)
            painter.fillRect(band, QColor(band_colour))
            painter.restore()
            head_ink = QColor(ink(band_colour))
        else:
            head_ink = QColor(colours.text)
            painter.setPen(QPen(QColor(colours.grid), 1.0))
            painter.drawLine(
                band.bottomLeft() + _dx(frame + _PAD / 2), band.bottomRight() - _dx(frame + _PAD / 2)
            )

        left = outer.left() + frame + _PAD
        top = outer.top() + frame + _PAD
        badge_w = self._paint_badge(painter, content, band_colour, top, name_h, outer.right() - frame - _PAD)
        name_w = inner_w - (badge_w + _PAD if badge_w else 0.0)
        painter.setPen(head_ink)
        # A long name loses its middle, not its end: "Injection…ing 04" keeps the number people look for.
        self._draw_fitted(
            painter,
            QRectF(left, top, name_w, name_h),
            content.name,
            _NAME_PT,
            bold=True,
            floor=_NAME_MIN_PT,
            elide=Qt.TextElideMode.ElideMiddle,
        )
        self._draw_fitted(
            painter, QRectF(left, top + name_h, inner_w, state_h), content.state, _STATE_PT, bold=True
        )

        # The figures: two columns, a small muted label over a large value.
        label_font = self._font(_LABEL_PT)
        value_font = self._font(_VALUE_PT, bold=True)
        label_h = QFontMetricsF(label_font).height()
        value_h = QFontMetricsF(value_font).height()
        # The figures sit in the middle of the space under the band, whatever the fonts' heights.
        body_top, body_bottom = band.bottom(), outer.bottom() - frame
        label_top = body_top + (body_bottom - body_top - label_h - value_h) / 2
        value_top = label_top + label_h
        column = (inner_w - _PAD) / 2
        for index, (label, value) in enumerate(
            (
                (translate("MachineTile", "OEE"), content.oee),
                (translate("MachineTile", "Parts"), content.parts),
            )
        ):
            x = left + index * (column + _PAD)
            painter.setPen(QColor(colours.text_muted))
            self._draw_fitted(painter, QRectF(x, label_top, column, label_h), label, _LABEL_PT)
            painter.setPen(QColor(colours.text))
            self._draw_fitted(painter, QRectF(x, value_top, column, value_h), value, _VALUE_PT, bold=True)

        if content.no_data or content.alarm_border:
            # No data wins: an alarm about a machine that is not heard from is told by its badge.
            edge = colours.bad_quality if content.no_data else content.alarm_border
            painter.setPen(QPen(QColor(edge), frame))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(
                outer.adjusted(frame / 2, frame / 2, -frame / 2, -frame / 2), _RADIUS, _RADIUS
            )
        else:
            painter.setPen(QPen(QColor(colours.border), 1.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(shape)
        if self.hasFocus():
            # Inside the (possibly magenta) border, so that focus never hides the no-data mark.
            ring = outer.adjusted(frame + 2.5, frame + 2.5, -frame - 2.5, -frame - 2.5)
            painter.setPen(QPen(QColor(colours.text), 3.0))
            painter.drawRoundedRect(ring, _RADIUS - 2, _RADIUS - 2)
        painter.end()

    # ------------------------------------------------------------------ painting

    def _paint_badge(
        self,
        painter: QPainter,
        content: TileContent,
        band: str | None,
        top: float,
        row_h: float,
        right: float,
    ) -> float:
        """The alarm badge at the top right, as wide as its count; returns the width it took (0: none)."""
        if content.alarms is None:
            return 0.0
        font = self._font(_BADGE_PT, bold=True)
        metrics = QFontMetricsF(font)
        height = min(row_h, metrics.height() + 6)
        width = max(height * 1.3, metrics.horizontalAdvance(content.alarms) + height * 0.8)
        box = QRectF(right - width, top + (row_h - height) / 2, width, height)
        fill = content.badge or self._colours.alarm_high
        # The outline separates the badge from a coloured band (orange on red would blur together).
        outline = ink(band) if band is not None else self._colours.text
        painter.setPen(QPen(QColor(outline), 2.0))
        painter.setBrush(QColor(fill))
        painter.drawRoundedRect(box, height / 2, height / 2)
        painter.setPen(QColor(ink(fill)))
        painter.setFont(font)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, content.alarms)
        return width

    def _draw_fitted(
        self,
        painter: QPainter,
        box: QRectF,
        text: str,
        points: float,
        *,
        bold: bool = False,
        floor: float = _MIN_PT,
        elide: Qt.TextElideMode = Qt.TextElideMode.ElideRight,
    ) -> None:
        """Draw ``text`` left-aligned in ``box``, shrinking it down to ``floor`` before eliding it."""
        font = self._font(points, bold=bold)
        # Text width is not proportional to the point size (hinting), so step down until it fits.
        while font.pointSizeF() > floor and QFontMetricsF(font).horizontalAdvance(text) > box.width():
            font.setPointSizeF(max(floor, font.pointSizeF() - 0.5))
        # Then narrower letters rather than a lost "min": "Parada planejada há 3 h 05 min" is long.
        for stretch in (QFont.Stretch.SemiCondensed, QFont.Stretch.Condensed):
            if QFontMetricsF(font).horizontalAdvance(text) <= box.width():
                break
            font.setStretch(stretch)
        shown = QFontMetricsF(font).elidedText(text, elide, box.width())
        painter.setFont(font)
        painter.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, shown)

    def _font(self, points: float, *, bold: bool = False) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(points)
        font.setBold(bold)
        return font

    def _open(self) -> None:
        self.opened.emit(self._machine_id)

    def _describe(self) -> None:
        content = self.content()
        self.setAccessibleName(content.name)
        parts = [content.state]
        if content.alarms is not None:
            # Two texts, not a numerus form: lupdate's Python reader never marks one as plural.
            if self._alarms == 1:
                parts.append(translate("MachineTile", "1 active alarm"))
            else:
                parts.append(translate("MachineTile", "%n active alarms", None, self._alarms))
        if content.alarm_border is not None:
            parts.append(translate("MachineTile", "an alarm is unacknowledged"))
        self.setAccessibleDescription(", ".join(parts))


def _fill(pattern: str, *values: str) -> str:
    """Qt's %1, %2 placeholders filled in one pass (a value that contains "%2" stays as it is)."""

    def value(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return values[index] if 0 <= index < len(values) else match.group(0)

    return re.sub(r"%(\d)", value, pattern)


def _dx(value: float) -> QPointF:
    return QPointF(value, 0.0)
