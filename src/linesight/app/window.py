"""The main window: a top bar, the alarm banner every screen shares, and the screens of the ISA-101
hierarchy (L1 overview → L2 machine → history, stop coding; reports; diagnostics), in one stack."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from linesight.app import settings as settings_store
from linesight.app import theme
from linesight.app.bridge import RuntimeBridge
from linesight.app.i18n import Languages
from linesight.app.kiosk import KioskKeys, ScreenAwake
from linesight.app.notice import notice
from linesight.app.rejects import RejectDialog
from linesight.app.reporting import Words
from linesight.app.screen_stack import ScreenStack
from linesight.app.screens.alarms import AlarmsScreen
from linesight.app.screens.diagnostics import DiagnosticsScreen
from linesight.app.screens.downtime import DowntimeScreen
from linesight.app.screens.fleet import FleetScreen, may_see_fleet
from linesight.app.screens.history import HistoryScreen
from linesight.app.screens.machine import MachineScreen
from linesight.app.screens.overview import OverviewScreen
from linesight.app.screens.reports import ReportsScreen
from linesight.app.session import LoginDialog, Session
from linesight.app.settings import HmiSettings
from linesight.domain.calendar import shift_at
from linesight.domain.plant import PlantConfig
from linesight.domain.users import Permission, allowed
from linesight.runtime.alarms import AlarmSnapshot
from linesight.runtime.commands import NOBODY, Actor
from linesight.runtime.plantfile import DEMO_PLANT
from linesight.widgets.alarm_banner import AlarmBanner
from linesight.widgets.palette import PALETTES, Palette
from linesight.widgets.texts import translate


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
        self.diagnostics = DiagnosticsScreen(
            bridge, act_as=self.act_as, plant_path=Path(settings.plant) if settings.plant else DEMO_PLANT
        )
        self.fleet = FleetScreen(bridge, plant)  # managers' view of every plant (the fleet API)
        self.downtime = DowntimeScreen(bridge, plant, self.act_as)
        self.reports = ReportsScreen(bridge, plant)
        self.stack = ScreenStack()
        for screen in (
            self.overview,
            self.machine,
            self.history,
            self.diagnostics,
            self.downtime,
            self.reports,
            self.fleet,
        ):
            self.stack.addWidget(screen)
        self.overview.machineOpened.connect(self.show_machine)
        self.machine.backRequested.connect(self.show_overview)
        self.machine.historyRequested.connect(self.show_history)
        self.machine.writeRequested.connect(self._write)
        self.machine.codeStopsRequested.connect(self.show_downtime)
        self.machine.rejectsRequested.connect(self.open_rejects)
        self.downtime.machineRequested.connect(self.show_machine)
        self.downtime.rejectsRequested.connect(self.open_rejects)
        self.rejects_dialog: RejectDialog | None = None
        # Alarms: the list, the journal and the KPIs; the banner under the top bar opens it.
        self.alarms = AlarmsScreen(bridge, plant, self.act_as, self.session, kiosk=settings.kiosk)
        self.stack.addWidget(self.alarms)
        self.machine.alarmsRequested.connect(self.show_alarms)

        self.title = QLabel(plant.name or plant.id)
        self.title.setProperty("role", "title")
        self.shift = QLabel()
        self.shift.setProperty("role", "muted")
        self.clock = QLabel()
        self.clock.setProperty("role", "subtitle")
        self.nav_overview = self._nav_button(self.show_overview)
        self.nav_history = self._nav_button(lambda: self.show_history([]))
        self.nav_diagnostics = self._nav_button(self.show_diagnostics)
        self.nav_downtime = self._nav_button(lambda: self.show_downtime(None))
        self.nav_reports = self._nav_button(self.show_reports)
        self.nav_alarms = self._nav_button(lambda: self.show_alarms(None))
        self.nav_fleet = self._nav_button(lambda: self._show(self.fleet, self.nav_fleet))
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
        rows = QVBoxLayout(top)
        rows.setContentsMargins(12, 4, 12, 4)
        rows.setSpacing(4)
        # One row: name, navigation, clock, user and switches. Where that does not fit (a 1024 px
        # panel, kiosk fonts, Portuguese) the navigation gets a row of its own (_fit_top_bar), rather
        # than buttons whose labels are cut.
        self._bar = QHBoxLayout()
        self._nav_row = QHBoxLayout()
        rows.addLayout(self._bar)
        rows.addLayout(self._nav_row)
        # The plant's name over the running shift: side by side they took the room of two nav buttons.
        heading = QVBoxLayout()
        heading.setSpacing(0)
        heading.addWidget(self.title)
        heading.addWidget(self.shift)
        self._bar.addLayout(heading)
        self._bar.addStretch(1)
        self._bar.addSpacing(16)
        self._bar.addWidget(self.clock)
        self._bar.addSpacing(8)
        for button in (self.user, self.language, self.theme_button, self.exit_kiosk):
            self._bar.addWidget(button)
        self.nav_on_one_row: bool | None = None  # where the navigation is (None: not placed yet)

        # The alarm banner: on every screen, the highest-priority unacknowledged alarm and the counts;
        # a tap opens the alarm list.
        self.banner = AlarmBanner(touch=56 if settings.kiosk else 44)
        self.banner.clicked.connect(lambda: self.show_alarms(None, reset=True))
        bridge.alarmsChanged.connect(self._show_alarms_in_banner)
        if bridge.alarms is not None:
            self._show_alarms_in_banner(bridge.alarms)

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

    def _one_row_width(self) -> int:
        """How wide the top bar must be to hold everything on one row at its natural size."""
        spacing = max(self._bar.spacing(), 0)
        others = (self.clock, self.user, self.language, self.theme_button, self.exit_kiosk)
        shown = [widget for widget in (*self._nav_buttons(), *others) if not widget.isHidden()]
        heading = max(self.title.sizeHint().width(), self.shift.sizeHint().width())
        margins = 12 + 12 + 16 + 8 + 24  # the bar's margins, the spacings, a little room to breathe
        return heading + sum(w.sizeHint().width() + spacing for w in shown) + margins

    def _fit_top_bar(self, width: int | None = None) -> None:
        """The navigation on the top row when everything fits there (in ``width``, by default the
        window's), else on a row of its own."""
        one_row = self._one_row_width() <= (self.width() if width is None else width)
        if one_row == self.nav_on_one_row:
            return
        self.nav_on_one_row = one_row
        for button in self._nav_buttons():
            self._bar.removeWidget(button)
            self._nav_row.removeWidget(button)
        for index, button in enumerate(self._nav_buttons()):
            if one_row:
                self._bar.insertWidget(2 + index, button)  # after the heading and the stretch
            else:
                self._nav_row.addWidget(button)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_top_bar()

    def _nav_button(self, action: Callable[[], None]) -> QPushButton:
        button = QPushButton()
        button.setProperty("role", "nav")
        button.setCheckable(True)
        button.clicked.connect(action)
        return button

    # ------------------------------------------------------------------ navigation

    def _nav_buttons(self) -> tuple[QPushButton, ...]:
        return (
            self.nav_overview,
            self.nav_alarms,
            self.nav_downtime,
            self.nav_reports,
            self.nav_history,
            self.nav_diagnostics,
            self.nav_fleet,
        )

    def _show(self, screen: QWidget, nav: QPushButton | None) -> None:
        self.stack.setCurrentWidget(screen)
        for button in self._nav_buttons():
            button.setChecked(button is nav)

    def show_overview(self) -> None:
        self._show(self.overview, self.nav_overview)

    def show_machine(self, machine_id: str) -> None:
        self.machine.set_machine(machine_id)
        self._show(self.machine, None)

    def show_alarms(self, machine_id: str | None = None, *, reset: bool = False) -> None:
        """The alarm list as it was left; from a machine screen, that machine's alarms; from the
        banner (``reset``), every standing alarm, so the one the banner showed is in it."""
        if reset or machine_id is not None:
            self.alarms.show_machine_alarms(machine_id)
        self._show(self.alarms, self.nav_alarms)

    def _show_alarms_in_banner(self, snapshot: AlarmSnapshot) -> None:
        self.banner.show_alarms(snapshot.top_unacked, snapshot.counts)

    def show_history(self, keys: list[str]) -> None:
        self._show(self.history, self.nav_history)
        if keys:
            self.history.choose(keys)

    def show_diagnostics(self) -> None:
        self._show(self.diagnostics, self.nav_diagnostics)

    def show_downtime(self, machine_id: str | None = None) -> None:
        """The stop coding of ``machine_id``; from the top bar (None) the machine shown last, else the
        first machine with stops to code, else the first machine."""
        if machine_id is None:
            machine_id = self.downtime.machine_id or self.machine.machine_id
        if machine_id is None:
            statuses = self.bridge.engine.machines.statuses()
            waiting = next((s.machine for s in statuses if any(not stop.coded for stop in s.stops)), None)
            machine_id = waiting or next(m.id for _s, _l, m in self.plant.machines())
        self.downtime.set_machine(machine_id)
        self._show(self.downtime, self.nav_downtime)

    def show_reports(self) -> None:
        self._show(self.reports, self.nav_reports)

    def open_rejects(self, machine_id: str) -> RejectDialog:
        """The reject entry of a machine (a dialog over the window; the window keeps updating)."""
        if self.rejects_dialog is not None:
            self.rejects_dialog.close()
        dialog = RejectDialog(
            self.bridge,
            machine_id,
            self.plant.machine(machine_id).title,
            self.bridge.engine.production.reject_reasons,
            self.act_as,
            Words().language,
            self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.recorded.connect(lambda _entry: self._rejects_recorded(machine_id))
        dialog.destroyed.connect(lambda _object=None: setattr(self, "rejects_dialog", None))
        self.rejects_dialog = dialog
        dialog.open()
        return dialog

    def _rejects_recorded(self, machine_id: str) -> None:
        status = self.bridge.status(machine_id)
        self.machine.show_statuses([status])
        self.downtime.show_statuses([status])

    def act_as(self, title: str, action: Callable[[Actor], None]) -> None:
        """Do ``action`` as the logged-in user; with nobody logged in, after a login (which stays logged
        in). The runtime checks the role (and audits a refusal); this only finds out who it is."""
        if self.session.actor is not NOBODY:
            action(self.session.actor)
            return

        def logged_in(actor: Actor) -> None:
            self.session.set_actor(actor)
            action(actor)

        self.login(title=title, then=logged_in)

    # ------------------------------------------------------------------ users

    def _show_user(self, actor: Actor) -> None:
        self.nav_fleet.setVisible(may_see_fleet(actor.role))
        if not may_see_fleet(actor.role) and self.stack.currentWidget() is self.fleet:
            self.show_overview()  # logged out (or another role) while the fleet showed
        self.diagnostics.set_actor(actor)
        if actor is NOBODY:
            self.user.setText(self.tr("Log in"))
        else:
            self.user.setText(f"{actor.name} ({self._role_name(actor)})")
        self._fit_top_bar()  # the Fleet button and the user's name change what the row needs

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
        for screen in (self.overview, self.machine, self.history, self.downtime, self.reports, self.fleet):
            screen.apply_palette(palette)
        self.diagnostics.apply_palette(palette)
        self.alarms.apply_palette(palette)
        self.banner.apply_palette(palette)

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
        self.nav_downtime.setText(translate("MainWindow", "Stops"))
        self.nav_reports.setText(translate("MainWindow", "Reports"))
        self.language.setText("EN" if self.languages.current == "pt_BR" else "PT")
        self.language.setToolTip(self.tr("Switch the language"))
        self.theme_button.setText(self.tr("Night") if self.settings.theme == "light" else self.tr("Day"))
        self.exit_kiosk.setText(self.tr("Exit"))
        self.nav_alarms.setText(translate("MainWindow", "Alarms"))
        self.nav_fleet.setText(translate("MainWindow", "Fleet"))
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
        self._fit_top_bar()  # the shift's line is part of what the top row must hold
