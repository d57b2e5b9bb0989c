"""Kiosk mode: the window cannot be closed or left without an administrator's PIN, and the screen stays on.

Escape and Alt+F4 are swallowed, the window manager's close is refused (see MainWindow.closeEvent),
and the screen saver is held off: through the freedesktop ScreenSaver D-Bus service on Linux desktops,
SetThreadExecutionState on Windows. Where neither exists (a bare cage/Frame kiosk has no screen saver
to hold off) the log says so once.
"""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent

log = logging.getLogger(__name__)


class KioskKeys(QObject):
    """An event filter that swallows the keys that would leave the kiosk."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride) and isinstance(
            event, QKeyEvent
        ):
            key = event.key()
            alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
            if key == Qt.Key.Key_Escape or (alt and key == Qt.Key.Key_F4) or (alt and key == Qt.Key.Key_Tab):
                event.accept()
                return True
        return False


class ScreenAwake:
    """Keeps the display on while held; ``release`` gives it back."""

    def __init__(self) -> None:
        self._cookie: int | None = None
        self._windows = False

    def hold(self) -> bool:
        if sys.platform == "win32":
            import ctypes

            es_continuous, es_display_required, es_system_required = 0x80000000, 0x00000002, 0x00000001
            kernel = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
            kernel.SetThreadExecutionState(es_continuous | es_display_required | es_system_required)
            self._windows = True
            return True
        try:
            from PySide6.QtDBus import QDBusConnection, QDBusInterface, QDBusMessage
        except ImportError:
            log.info("no D-Bus support: the screen saver is not held off")
            return False
        bus = QDBusConnection.sessionBus()
        if not bus.isConnected():
            log.info("no D-Bus session: the screen saver is not held off (a kiosk compositor has none)")
            return False
        saver = QDBusInterface(
            "org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver", "org.freedesktop.ScreenSaver", bus
        )
        reply = saver.call("Inhibit", "LineSight", "kiosk HMI on the plant floor")
        if reply.type() == QDBusMessage.MessageType.ReplyMessage and reply.arguments():
            self._cookie = int(reply.arguments()[0])
            return True
        log.info("the desktop has no screen saver service: nothing to hold off")
        return False

    def release(self) -> None:
        if self._windows:
            import ctypes

            ctypes.windll.kernel32.SetThreadExecutionState(0x80000000)  # type: ignore[attr-defined,unused-ignore]
            self._windows = False
        if self._cookie is not None:
            from PySide6.QtDBus import QDBusConnection, QDBusInterface

            saver = QDBusInterface(
                "org.freedesktop.ScreenSaver",
                "/org/freedesktop/ScreenSaver",
                "org.freedesktop.ScreenSaver",
                QDBusConnection.sessionBus(),
            )
            saver.call("UnInhibit", self._cookie)
            self._cookie = None
