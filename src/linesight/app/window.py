"""The main window: a top bar, the alarm banner every screen shares, and the screens of the ISA-101
hierarchy (L1 overview → L2 machine → history; diagnostics), in one stack."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from linesight.app import settings as settings_store
from linesight.app import theme
from linesight.app.bridge import RuntimeBridge
from linesight.app.i18n import Languages
from linesight.app.kiosk import KioskKeys, ScreenAwake
from linesight.app.notice import notice
from linesight.app.screens.diagnostics import DiagnosticsScreen
from linesight.app.screens.history import HistoryScreen
from linesight.app.screens.machine import MachineScreen
from linesight.app.screens.overview import OverviewScreen
from linesight.app.session import LoginDialog, Session
from linesight.app.settings import HmiSettings
from linesight.domain.calendar import shift_at
from linesight.domain.plant import PlantConfig
from linesight.domain.users import Permission, allowed
from linesight.runtime.commands import NOBODY, Actor
from linesight.widgets.palette import PALETTES, Palette


class MainWindow(QMainWindow):
    def __init__(
        self,
        bridge: RuntimeBridge,
        plant: PlantConfig,
        settings: HmiSettings,
        languages: Languages,
        *,
        save_settings: Callable[[HmiSettings], None] = settings_store.save,
    ) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self.bridge = bridge
        self.plant = plant
        self.settings = settings
        self.languages = languages
        self._save_settings = save_settings
        self._unlocked = not settings.kiosk
        self._screen_awake = ScreenAwake()
        self.session = Session(bridge, settings.idle_logout_s, self)
        self.session.changed.connect(self._show_user)

        self.overview = OverviewScreen(bridge, plant)
        self.machine = MachineScreen(bridge, plant)
        self.history = HistoryScreen(bridge, plant)
        self.diagnostics = DiagnosticsScreen(bridge)
        self.stack = QStackedWidget()
        for screen in (self.overview, self.machine, self.history, self.diagnostics):
            self.stack.addWidget(screen)
        self.overview.machineOpened.connect(self.show_machine)
        self.machine.backRequested.connect(self.show_overview)
        self.machine.historyRequested.connect(self.show_history)
        self.machine.writeRequested.connect(self._write)

        self.title = QLabel(plant.name or plant.id)
        self.title.setProperty("role", "title")
        self.shift = QLabel()
        self.shift.setProperty("role", "muted")
        self.clock = QLabel()
        self.clock.setProperty("role", "subtitle")
        self.nav_overview = self._nav_button(self.show_overview)
        self.nav_history = self._nav_button(lambda: self.show_history([]))
        self.nav_diagnostics = self._nav_button(self.show_diagnostics)
        self.user = QPushButton()
        self.user.clicked.connect(self._user_clicked)
        self.language = QPushButton()
        self.language.clicked.connect(self._toggle_language)
        self.theme_button = QPushButton()
        self.theme_button.clicked.connect(self._toggle_theme)
        self.exit_kiosk = QPushButton()
        self.exit_kiosk.clicked.connect(self._ask_exit_kiosk)
        self.exit_kiosk.setVisible(settings.kiosk)
        top = QFrame()
        top.setObjectName("TopBar")
        bar = QHBoxLayout(top)
        bar.setContentsMargins(12, 6, 12, 6)
        bar.addWidget(self.title)
        bar.addSpacing(16)
        bar.addWidget(self.shift)
        bar.addStretch(1)
        for button in (self.nav_overview, self.nav_history, self.nav_diagnostics):
            bar.addWidget(button)
        bar.addSpacing(16)
        bar.addWidget(self.clock)
        bar.addSpacing(8)
        for button in (self.user, self.language, self.theme_button, self.exit_kiosk):
            bar.addWidget(button)

        # The alarm banner: on every screen, the highest-priority unacknowledged alarm once the alarm
        # engine feeds it; until then it says that nothing is active.
        self.banner = QFrame()
        self.banner.setObjectName("AlarmBanner")
        self.banner_text = QLabel()
        self.banner_text.setProperty("role", "muted")
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.setContentsMargins(12, 4, 12, 4)
        banner_layout.addWidget(self.banner_text)

        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(top)
        column.addWidget(self.banner)
        column.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._update_clock)
        self._tick.start()
        self.palette_in_use: Palette = PALETTES[settings.theme]
        self._apply_palette(self.palette_in_use)
        self._retranslate()
        self._update_clock()
        self.show_overview()
        if settings.kiosk:
            self._enter_kiosk()

    def _nav_button(self, action: Callable[[], None]) -> QPushButton:
        button = QPushButton()
        button.setProperty("role", "nav")
        button.setCheckable(True)
        button.clicked.connect(action)
        return button

    # ------------------------------------------------------------------ navigation

    def _show(self, screen: QWidget, nav: QPushButton | None) -> None:
        self.stack.setCurrentWidget(screen)
        for button in (self.nav_overview, self.nav_history, self.nav_diagnostics):
            button.setChecked(button is nav)

    def show_overview(self) -> None:
        self._show(self.overview, self.nav_overview)

    def show_machine(self, machine_id: str) -> None:
        self.machine.set_machine(machine_id)
        self._show(self.machine, None)

    def show_history(self, keys: list[str]) -> None:
        self._show(self.history, self.nav_history)
        if keys:
            self.history.choose(keys)

    def show_diagnostics(self) -> None:
        self._show(self.diagnostics, self.nav_diagnostics)

    # ------------------------------------------------------------------ users

    def _show_user(self, actor: Actor) -> None:
        if actor is NOBODY:
            self.user.setText(self.tr("Log in"))
        else:
            self.user.setText(f"{actor.name} ({self._role_name(actor)})")

    def _role_name(self, actor: Actor) -> str:
        names = {
            "operator": self.tr("operator"),
            "supervisor": self.tr("supervisor"),
            "maintenance": self.tr("maintenance"),
            "manager": self.tr("manager"),
            "admin": self.tr("admin"),
        }
        return names.get(actor.role.value if actor.role else "", "")

    def _user_clicked(self) -> None:
        if self.session.actor is not NOBODY:
            self.session.logout(reason="by user")
            return
        self.login(title="")

    def login(self, *, title: str, then: Callable[[Actor], None] | None = None) -> None:
        """Open the login dialog (non-blocking); ``then`` receives the actor once logged in."""

        def logged_in(actor: Actor) -> None:
            if then is None:
                self.session.set_actor(actor)
            else:
                then(actor)

        def show(users: object) -> None:
            names = [user.name for user in users] if isinstance(users, list | tuple) else []
            # Parented to the window, which keeps it alive: a login check still on its way may call it
            # back after it was closed, so it is not deleted on close.
            LoginDialog(self.bridge, names, self, on_login=logged_in, title=title).open()

        self.bridge.submit(self.bridge.commands.users, done=show)

    def _write(self, machine_id: str, tag: str, value: float) -> None:
        actor = self.session.actor
        self.bridge.submit(
            lambda: self.bridge.commands.write_setpoint(actor, machine_id, tag, value),
            done=lambda _result: self.machine.show_write_result(True, ""),
            failed=lambda message: self.machine.show_write_result(False, message),
        )

    # ------------------------------------------------------------------ kiosk

    def _enter_kiosk(self) -> None:
        self.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
        self._keys: KioskKeys | None = KioskKeys(self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self._keys)
        self._screen_awake.hold()

    def present(self) -> None:
        """Show the window: full screen and frameless in kiosk mode, a normal window otherwise."""
        if self.settings.kiosk:
            self.showFullScreen()
        else:
            self.resize(1440, 900)
            self.show()

    def _ask_exit_kiosk(self) -> None:
        def leave(actor: Actor) -> None:
            if allowed(actor.role, Permission.EXIT_KIOSK):
                self.bridge.submit(lambda: self.bridge.commands.record(actor, "exit_kiosk", "hmi"))
                self.unlock_and_close()
            else:
                self.bridge.submit(lambda: self.bridge.commands.check(actor, Permission.EXIT_KIOSK, "hmi"))
                notice(self, self.tr("Kiosk"), self.tr("Only an administrator may leave kiosk mode."))

        self.login(title=self.tr("Administrator PIN to leave kiosk mode"), then=leave)

    def unlock_and_close(self) -> None:
        self._unlocked = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._unlocked:
            event.ignore()  # Alt+F4 and the window manager's close: refused in kiosk mode
            return
        self._screen_awake.release()
        keys = getattr(self, "_keys", None)
        app = QApplication.instance()
        if keys is not None and app is not None:
            app.removeEventFilter(keys)  # Esc and Alt+F4 work again in whatever the process shows next
            self._keys = None
        self.bridge.stop()
        event.accept()

    # ------------------------------------------------------------------ look and language

    def _toggle_theme(self) -> None:
        self.set_theme("dark" if self.settings.theme == "light" else "light")

    def set_theme(self, name: str) -> None:
        self.settings = replace(self.settings, theme=name)
        self._save_settings(self.settings)
        self._apply_palette(PALETTES[name])
        self._retranslate()

    def _apply_palette(self, palette: Palette) -> None:
        self.palette_in_use = palette
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply(
                app,
                palette.name,
                font_scale=self.settings.font_scale * (1.25 if self.settings.kiosk else 1.0),
                kiosk=self.settings.kiosk,
            )
        for screen in (self.overview, self.machine, self.history):
            screen.apply_palette(palette)

    def _toggle_language(self) -> None:
        self.set_language("en" if self.languages.current == "pt_BR" else "pt_BR")

    def set_language(self, language: str) -> None:
        self.settings = replace(self.settings, language=language)
        self._save_settings(self.settings)
        self.languages.switch(language)  # every widget receives LanguageChange and relabels itself
        self._retranslate()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def _retranslate(self) -> None:
        self.nav_overview.setText(self.tr("Overview"))
        self.nav_history.setText(self.tr("History"))
        self.nav_diagnostics.setText(self.tr("Diagnostics"))
        self.language.setText("EN" if self.languages.current == "pt_BR" else "PT")
        self.language.setToolTip(self.tr("Switch the language"))
        self.theme_button.setText(self.tr("Night") if self.settings.theme == "light" else self.tr("Day"))
        self.exit_kiosk.setText(self.tr("Exit"))
        self.banner_text.setText(self.tr("No active alarms"))
        self._show_user(self.session.actor)
        self._update_clock()

    def _update_clock(self) -> None:
        now = datetime.now().astimezone()
        self.clock.setText(now.strftime("%H:%M"))
        site = self.plant.sites[0]
        calendar = self.plant.calendars.get(site.calendar) if site.calendar else None
        window = shift_at(calendar, site.timezone, now) if calendar else None
        if window is None:
            self.shift.setText(self.tr("No shift running"))
        else:
            until = window.end.astimezone().strftime("%H:%M")
            self.shift.setText(self.tr("Shift %1 until %2").replace("%1", window.name).replace("%2", until))
