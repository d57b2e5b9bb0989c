"""The two ISA-101 themes as one style sheet template filled from a palette, and the kiosk's larger sizes."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from string import Template

from PySide6.QtWidgets import QApplication

from linesight.widgets import keypad
from linesight.widgets.palette import PALETTES, Palette, ink

TEMPLATE = Path(__file__).resolve().parent.parent / "resources" / "themes" / "isa101.qss"


def style_sheet(palette: Palette, *, font_scale: float = 1.0, kiosk: bool = False) -> str:
    """The application's style sheet for ``palette``; kiosk mode makes every touch target bigger."""
    colours = asdict(palette).items()
    values: dict[str, object] = {key: value for key, value in colours if isinstance(value, str)}
    for name in (
        "stopped",
        "waiting",
        "info",
        "bad_quality",
        "attention",
        "alarm_critical",
        "alarm_high",
        "alarm_medium",
        "alarm_low",
    ):
        values[f"on_{name}"] = ink(getattr(palette, name))
    touch = 56 if kiosk else 40  # ISA-101 and touch guidance: 48 px at least on a panel
    values.update(
        font_pt=round(11 * font_scale),
        title_pt=round(18 * font_scale),
        bar_title_pt=round(14 * font_scale),
        subtitle_pt=round(13 * font_scale),
        group_margin=round(14 * font_scale),
        touch=touch,
        field=touch - 8,
        scrollbar=24 if kiosk else 14,
    )
    # The keypad and keyboard last: their large keys and fonts win over the general button rules.
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(values) + keypad.style_sheet(palette)


def apply(app: QApplication, theme: str, *, font_scale: float = 1.0, kiosk: bool = False) -> Palette:
    palette = PALETTES[theme]
    sheet = style_sheet(palette, font_scale=font_scale, kiosk=kiosk)
    # Setting a sheet re-polishes every widget (about 0.3 s with the whole window built): only on a change.
    if app.styleSheet() != sheet:
        app.setStyleSheet(sheet)
    return palette
