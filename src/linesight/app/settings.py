"""The HMI's own settings, kept with QSettings (per user and computer): plant file, look, kiosk."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

from PySide6.QtCore import QSettings

LANGUAGES = ("pt_BR", "en")
THEMES = ("light", "dark")


@dataclass(frozen=True, kw_only=True)
class HmiSettings:
    plant: str = ""  # plant file; empty: the demo
    theme: str = "light"
    language: str = "pt_BR"
    kiosk: bool = False
    idle_logout_s: int = 300  # a logged-in user is logged out after this long without input
    numbers_hz: float = 10.0
    trends_fps: float = 30.0
    font_scale: float = 1.0  # kiosk panels read from further away: 1.25


def _store(organisation: str, application: str, path: Path | None) -> QSettings:
    if path is not None:
        return QSettings(str(path), QSettings.Format.IniFormat)
    return QSettings(organisation, application)


def load(path: Path | None = None) -> HmiSettings:
    """The saved settings, each falling back to its default when missing or unreadable."""
    store = _store("LineSight", "LineSight", path)
    defaults = HmiSettings()
    values: dict[str, object] = {}
    for item in fields(HmiSettings):
        default = getattr(defaults, item.name)
        raw = store.value(item.name, default)
        try:
            if isinstance(default, bool):
                value = raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
            else:
                value = type(default)(raw)
        except (TypeError, ValueError):
            value = default
        values[item.name] = value
    settings = HmiSettings(**values)  # type: ignore[arg-type]  # each value has its field's type
    if settings.theme not in THEMES:
        settings = replace(settings, theme=defaults.theme)
    if settings.language not in LANGUAGES:
        settings = replace(settings, language=defaults.language)
    return settings


def save(settings: HmiSettings, path: Path | None = None) -> None:
    store = _store("LineSight", "LineSight", path)
    for item in fields(HmiSettings):
        store.setValue(item.name, getattr(settings, item.name))
    store.sync()
