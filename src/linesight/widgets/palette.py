"""The ISA-101 colours of both themes: greys for everything normal, colour only for what needs attention.

A running machine, a good value, a healthy connection: shades of grey. Colour is kept for abnormal
states and alarms (red for a stop, amber for waiting, blue for information such as setup), and
magenta marks a value that cannot be trusted (bad quality, no data), as ISA-101 suggests. Amber
also marks a task the operator owes that is no alarm (an uncoded stop), never alarm red. Alarms take
the colour of their priority (ISA-18.2): critical red, high orange, medium yellow, low blue. Both
themes keep text at a contrast ratio of at least 7:1 to its background (tests/widgets check it).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor

from linesight.domain.alarm_rules import Priority
from linesight.domain.machine import MachineState


@dataclass(frozen=True, kw_only=True)
class Palette:
    name: str
    background: str  # the screen
    panel: str  # tiles, cards
    panel_raised: str  # buttons, headers
    border: str
    text: str
    text_muted: str
    trend_lines: tuple[str, ...]  # distinguishable but sober
    grid: str
    stopped: str  # unplanned stop: the operator must act
    waiting: str  # idle, waiting for material or an operator
    info: str  # setup, planned stop: known and expected
    bad_quality: str  # no data, communication lost
    attention: str  # a task waiting for the operator that is no alarm: an uncoded stop
    alarm_critical: str
    alarm_high: str
    alarm_medium: str
    alarm_low: str

    def state_colour(self, state: MachineState) -> str | None:
        """The band colour of a machine in ``state``; None for normal (grey) running."""
        return {
            MachineState.RUNNING: None,
            MachineState.IDLE: self.waiting,
            MachineState.STOPPED: self.stopped,
            MachineState.SETUP: self.info,
            MachineState.PLANNED_STOP: self.info,
            MachineState.UNKNOWN: self.bad_quality,
        }[state]

    def alarm_colour(self, priority: Priority) -> str:
        """The ISA-18.2 colour of an alarm of ``priority``: kept for alarms (and the states above)."""
        return {
            Priority.CRITICAL: self.alarm_critical,
            Priority.HIGH: self.alarm_high,
            Priority.MEDIUM: self.alarm_medium,
            Priority.LOW: self.alarm_low,
        }[priority]

    def qcolor(self, value: str) -> QColor:
        return QColor(value)


LIGHT = Palette(
    name="light",
    background="#d4d4d4",
    panel="#e6e6e6",
    panel_raised="#f2f2f2",
    border="#a6a6a6",
    text="#141414",
    text_muted="#3c3c3c",
    trend_lines=("#1f1f1f", "#005a9e", "#6b4c9a", "#1b6e3a", "#8a5a00", "#00707a", "#9c2c6b", "#4d4d4d"),
    grid="#bdbdbd",
    stopped="#c80000",
    waiting="#e69500",
    info="#2b6cb0",
    bad_quality="#b000b0",
    attention="#e69500",
    alarm_critical="#c80000",
    alarm_high="#e65c00",
    alarm_medium="#e6b800",
    alarm_low="#2b6cb0",
)

DARK = Palette(
    name="dark",
    background="#1c1c1c",
    panel="#2a2a2a",
    panel_raised="#363636",
    border="#4d4d4d",
    text="#e8e8e8",
    text_muted="#bdbdbd",
    trend_lines=("#e0e0e0", "#6cb4ee", "#b9a3e3", "#7fcf96", "#e0b35c", "#5fc4cc", "#e38fbf", "#9e9e9e"),
    grid="#3d3d3d",
    stopped="#e03a3a",
    waiting="#f0a830",
    info="#5b9bd5",
    bad_quality="#d05ad0",
    attention="#f0a830",
    alarm_critical="#e03a3a",
    alarm_high="#f07a30",
    alarm_medium="#f0c830",
    alarm_low="#5b9bd5",
)

PALETTES = {palette.name: palette for palette in (LIGHT, DARK)}


def ink(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (text on a coloured band)."""
    return "#000000" if contrast("#000000", background) >= contrast("#ffffff", background) else "#ffffff"


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two colours (1 to 21)."""

    def luminance(value: str) -> float:
        colour = QColor(value)
        channels = []
        for channel in (colour.redF(), colour.greenF(), colour.blueF()):
            channels.append(channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4)
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
