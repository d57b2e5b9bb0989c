"""Who is logged in at this screen, the login dialog, and the automatic log-out after idle time."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from linesight.app.bridge import RuntimeBridge
from linesight.domain.users import Permission, allowed
from linesight.runtime.commands import NOBODY, Actor
from linesight.widgets.keypad import OnScreenKeyboard

_INPUT = {
    QEvent.Type.MouseButtonPress,
    QEvent.Type.KeyPress,
    QEvent.Type.TouchBegin,
    QEvent.Type.Wheel,
}


class Session(QObject):
    """The current user; an application-wide event filter notices input and logs out after idling."""

    changed = Signal(object)  # Actor

    def __init__(self, bridge: RuntimeBridge, idle_logout_s: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self.actor: Actor = NOBODY
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(max(1, idle_logout_s) * 1000)
        self._idle.timeout.connect(lambda: self.logout(reason="idle"))
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _INPUT and self.actor is not NOBODY:
            self._idle.start()  # any input keeps the session alive
        return False

    def may(self, permission: Permission) -> bool:
        return allowed(self.actor.role, permission)

    def set_actor(self, actor: Actor) -> None:
        self.actor = actor
        if actor is NOBODY:
            self._idle.stop()
        else:
            self._idle.start()
        self.changed.emit(actor)

    def logout(self, *, reason: str = "") -> None:
        if self.actor is NOBODY:
            return
        actor = self.actor
        self.set_actor(NOBODY)
        self._bridge.submit(lambda: self._bridge.commands.logout(actor, reason=reason))


class LoginDialog(QDialog):
    """Pick a user and type the PIN or password (a touch keyboard is one tap away)."""

    def __init__(
        self,
        bridge: RuntimeBridge,
        names: list[str],
        parent: QWidget | None = None,
        *,
        on_login: Callable[[Actor], None],
        title: str = "",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("LoginDialog")
        self._bridge = bridge
        self._on_login = on_login
        self.setWindowTitle(title or self.tr("Log in"))
        self.user = QComboBox()
        self.user.addItems(names)
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setMinimumWidth(220)
        self.keyboard = QPushButton(self.tr("Keyboard"))
        self.keyboard.clicked.connect(self._keyboard)
        self.message = QLabel()
        self.message.setProperty("role", "muted")
        secret_row = QHBoxLayout()
        secret_row.addWidget(self.secret, 1)
        secret_row.addWidget(self.keyboard)
        form = QFormLayout()
        # Labels level with their fields (a touch field is taller than a line of text).
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        form.addRow(self.tr("User"), self.user)
        form.addRow(self.tr("PIN or password"), secret_row)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.try_login)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(12)
        # A heading inside the dialog: a kiosk compositor draws no title bar, so the window title alone
        # would leave the operator with two fields and no word of what they are for.
        self.heading = QLabel(title or self.tr("Log in"))
        self.heading.setProperty("role", "subtitle")
        layout.addWidget(self.heading)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    def _keyboard(self) -> None:
        typed = OnScreenKeyboard.ask(self, title=self.tr("PIN or password"), password=True)
        if typed is not None:
            self.secret.setText(typed)

    def try_login(self) -> None:
        name, secret = self.user.currentText(), self.secret.text()
        self.ok.setEnabled(False)
        self.message.setText(self.tr("Checking…"))

        def done(actor: object) -> None:
            self.ok.setEnabled(True)
            if isinstance(actor, Actor):
                self._on_login(actor)
                self.accept()

        def failed(_message: str) -> None:
            self.ok.setEnabled(True)
            self.secret.clear()
            self.message.setText(self.tr("Unknown user or wrong PIN."))

        self._bridge.submit(lambda: self._bridge.commands.login(name, secret), done=done, failed=failed)
