"""The alarm banner every screen shows under the top bar: the most urgent unacknowledged alarm and the
counts, one tap from the alarm list.

ISA-101 and ISA-18.2: a calm grey strip while nothing is unacknowledged. An unacknowledged alarm puts
a solid marker in its priority's colour, with the priority's name in it (colour is never the only
cue), and a border in the same colour that blinks once a second until the alarm is acknowledged. The
counts on the right give the standing alarms per priority as small chips in the priority colours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QHideEvent,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QShowEvent,
)
from PySide6.QtWidgets import QAbstractButton, QSizePolicy, QWidget

from linesight.domain.alarm_rules import Priority
from linesight.domain.alarm_types import AlarmCounts, AlarmStatus
from linesight.widgets.palette import LIGHT, Palette, ink
from linesight.widgets.polish import click_on_enter
from linesight.widgets.texts import alarm_message, clock_time, number, priority_name, translate

BLINK_MS = 500  # on half a second, off half a second: 1 Hz, well below what distresses anyone
_PAD = 10.0
_BORDER = 4.0
_GAP = 14.0


@dataclass(frozen=True, kw_only=True)
class BannerContent:
    """What the banner paints now, in the current language."""

    priority: Priority | None  # the shown alarm's priority; None: nothing unacknowledged
    marker: str  # the priority's name in the marker; "" without one
    when: str  # when the shown alarm was raised
    machine: str
    message: str  # the alarm's message, or what the banner says without one
    counts: str  # "Unacknowledged: 3"; the hidden alarms when none stands
    chips: tuple[tuple[Priority, str], ...]  # standing alarms per priority, most urgent first
    blinking: bool  # an alarm waits for acknowledgement


class AlarmBanner(QAbstractButton):
    """The banner; ``clicked`` when tapped (or Enter/Space while focused)."""

    def __init__(self, parent: QWidget | None = None, *, palette: Palette = LIGHT, touch: int = 44) -> None:
        super().__init__(parent)
        self.setObjectName("AlarmBanner")
        self._colours = palette
        self._touch = touch
        self._top: AlarmStatus | None = None
        self._counts: AlarmCounts | None = None
        self._blink_on = True
        self._blink = QTimer(self)
        self._blink.setInterval(BLINK_MS)
        self._blink.timeout.connect(self._toggle_blink)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._describe()

    # ------------------------------------------------------------------ API

    def show_alarms(self, top: AlarmStatus | None, counts: AlarmCounts | None) -> None:
        """Show ``top`` (the most urgent unacknowledged alarm, or None) and the ``counts``."""
        if top == self._top and counts == self._counts:
            return
        self._top = top
        self._counts = counts
        self._follow_blink()
        self._describe()
        self.update()

    def apply_palette(self, palette: Palette) -> None:
        self._colours = palette
        self.update()

    def set_touch(self, touch: int) -> None:
        """The least height (the touch target's size: larger in kiosk mode)."""
        self._touch = touch
        self.updateGeometry()

    @property
    def blinking(self) -> bool:
        """Whether the border blinks: an alarm waits for acknowledgement."""
        return self._top is not None

    def content(self, now: datetime | None = None) -> BannerContent:
        counts = self._counts
        top = self._top
        chips: tuple[tuple[Priority, str], ...] = ()
        if counts is not None:
            chips = tuple(
                (priority, number(counts.by_priority.get(priority, 0)))
                for priority in Priority
                if counts.by_priority.get(priority, 0) > 0
            )
        counts_text = ""
        if counts is not None and counts.standing:
            # The standing alarms per priority are the chips beside it; with none unacknowledged the
            # message says so.
            if counts.unacked:
                counts_text = translate("AlarmBanner", "Unacknowledged: %1").replace(
                    "%1", number(counts.unacked)
                )
        elif counts is not None:
            hidden = []
            if counts.shelved:
                hidden.append(translate("AlarmBanner", "Shelved: %1").replace("%1", number(counts.shelved)))
            if counts.out_of_service:
                hidden.append(
                    translate("AlarmBanner", "Out of service: %1").replace(
                        "%1", number(counts.out_of_service)
                    )
                )
            counts_text = " · ".join(hidden)
        if top is None:
            standing = counts.standing if counts is not None else 0
            message = (
                translate("AlarmBanner", "All alarms acknowledged")
                if standing
                else translate("MainWindow", "No active alarms")
            )
            return BannerContent(
                priority=None,
                marker="",
                when="",
                machine="",
                message=message,
                counts=counts_text,
                chips=chips,
                blinking=False,
            )
        return BannerContent(
            priority=top.priority,
            marker=priority_name(top.priority).upper(),
            when=clock_time(top.raised_at or top.since, now),
            machine=top.machine_name,
            message=alarm_message(top.message, top.machine_name),
            counts=counts_text,
            chips=chips,
            blinking=True,
        )

    # ------------------------------------------------------------------ Qt

    def sizeHint(self) -> QSize:
        return QSize(800, self._height())

    def minimumSizeHint(self) -> QSize:
        return QSize(200, self._height())

    def _height(self) -> int:
        line = QFontMetricsF(self._font(1.35, bold=True)).height()
        return max(self._touch, round(line + 2 * (_PAD + _BORDER)))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not click_on_enter(self, event):
            super().keyPressEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.LanguageChange, QEvent.Type.LocaleChange):
            self._describe()
            self.update()
        elif event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.updateGeometry()  # kiosk mode's larger font makes the banner taller
        super().changeEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        self._follow_blink()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._blink.stop()  # nobody sees it: no wake-ups for nothing
        super().hideEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        colours = self._colours
        content = self.content()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        outer = QRectF(self.rect())
        painter.fillRect(outer, QColor(colours.panel))
        if self.isDown():
            pressed = QColor(colours.text)
            pressed.setAlphaF(0.10)
            painter.fillRect(outer, pressed)
        painter.setPen(QPen(QColor(colours.border), 1.0))
        painter.drawLine(outer.bottomLeft(), outer.bottomRight())
        if content.priority is not None and self._blink_on:
            # The blinking part: the border. The marker stays solid, so a glance between two blinks
            # still finds the priority.
            pen = QPen(QColor(colours.alarm_colour(content.priority)), _BORDER)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            half = _BORDER / 2
            painter.drawRect(outer.adjusted(half, half, -half, -half))

        inner = outer.adjusted(_BORDER + _PAD, _BORDER + 4, -(_BORDER + _PAD), -(_BORDER + 4))
        head = self._font(1.35, bold=True)
        body = self._font(1.35)
        small = self._font(1.1, bold=True)

        # Right: the counts and the chips (laid out from the right edge).
        right = inner.right()
        chip_h = min(inner.height(), QFontMetricsF(small).height() + 8)
        for priority, count in reversed(content.chips):
            width = max(chip_h * 1.4, QFontMetricsF(small).horizontalAdvance(count) + chip_h * 0.8)
            box = QRectF(right - width, inner.center().y() - chip_h / 2, width, chip_h)
            fill = colours.alarm_colour(priority)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(fill))
            painter.drawRoundedRect(box, 4, 4)
            painter.setPen(QColor(ink(fill)))
            painter.setFont(small)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, count)
            right = box.left() - 6
        if content.counts:
            counts_font = self._font(1.1)
            width = QFontMetricsF(counts_font).horizontalAdvance(content.counts)
            gap = _GAP - 6 if content.chips else 0.0
            box = QRectF(right - width - gap, inner.top(), width, inner.height())
            painter.setPen(QColor(colours.text if content.priority is not None else colours.text_muted))
            painter.setFont(counts_font)
            painter.drawText(box, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, content.counts)
            right = box.left() - _GAP

        # Left: the marker, the time, the machine and the message (elided into what is left).
        left = inner.left()
        if content.priority is not None:
            fill = colours.alarm_colour(content.priority)
            width = QFontMetricsF(small).horizontalAdvance(content.marker) + 28
            box = QRectF(left, inner.top(), max(width, 120.0), inner.height())
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(fill))
            painter.drawRoundedRect(box, 4, 4)
            painter.setPen(QColor(ink(fill)))
            painter.setFont(small)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, content.marker)
            left = box.right() + _GAP
            for text, font, colour in (
                (content.when, body, colours.text_muted),
                (content.machine, head, colours.text),
            ):
                width = QFontMetricsF(font).horizontalAdvance(text)
                width = min(width, max(0.0, right - left))
                painter.setFont(font)
                painter.setPen(QColor(colour))
                shown = QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideMiddle, width + 1)
                painter.drawText(
                    QRectF(left, inner.top(), width + 1, inner.height()),
                    Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                    shown,
                )
                left += width + _GAP
            message_colour = colours.text
        else:
            message_colour = colours.text_muted if not content.chips else colours.text
        available = max(0.0, right - left)
        # A long message (kiosk fonts, Portuguese counts) shrinks a little before it loses its end.
        scale = 1.35
        while scale > 1.1 and QFontMetricsF(body).horizontalAdvance(content.message) > available:
            scale -= 0.05
            body = self._font(scale)
        painter.setFont(body)
        painter.setPen(QColor(message_colour))
        shown = QFontMetricsF(body).elidedText(content.message, Qt.TextElideMode.ElideRight, available)
        painter.drawText(
            QRectF(left, inner.top(), available, inner.height()),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            shown,
        )
        if self.hasFocus():
            painter.setPen(QPen(QColor(colours.text), 2.0, Qt.PenStyle.DotLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(outer.adjusted(_BORDER + 2, _BORDER + 2, -_BORDER - 2, -_BORDER - 2))
        painter.end()

    # ------------------------------------------------------------------ inside

    def _font(self, scale: float, *, bold: bool = False) -> QFont:
        font = QFont(self.font())
        size = font.pointSizeF() if font.pointSizeF() > 0 else 11.0
        font.setPointSizeF(size * scale)
        font.setBold(bold)
        return font

    def _follow_blink(self) -> None:
        if self.blinking and self.isVisible():
            if not self._blink.isActive():
                self._blink_on = True
                self._blink.start()
        else:
            self._blink.stop()
            self._blink_on = True

    def _toggle_blink(self) -> None:
        self._blink_on = not self._blink_on
        self.update()

    def _describe(self) -> None:
        content = self.content()
        self.setAccessibleName(translate("AlarmBanner", "Alarms"))
        words = [content.marker, content.when, content.machine, content.message, content.counts]
        words += [f"{priority_name(priority)}: {count}" for priority, count in content.chips]
        self.setAccessibleDescription(", ".join(word for word in words if word))
        self.setToolTip(translate("AlarmBanner", "Open the alarm list"))
