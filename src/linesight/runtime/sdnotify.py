"""systemd's notify protocol for the headless agent: READY=1, STATUS=..., WATCHDOG=1, STOPPING=1.

With ``Type=notify`` systemd starts dependent units only after READY=1, and with ``WatchdogSec=`` it
kills and restarts the agent when no WATCHDOG=1 arrives in time. The pings come from a task on the
runtime's own event loop, so a loop that hangs (a blocking call, a deadlock) stops them; and they are
sent only while ``healthy()`` says so.

The protocol is one datagram per message to the unix socket named in ``$NOTIFY_SOCKET`` (a path, or
an abstract name written with a leading '@'). Without that variable (not under systemd) every
function here does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

DEFAULT_STATUS_INTERVAL = 10.0  # seconds between STATUS= updates when there is no watchdog


def socket_address(environ: Mapping[str, str] | None = None) -> str | bytes | None:
    """The address in ``$NOTIFY_SOCKET`` as the socket module wants it (abstract names as bytes)."""
    value = (os.environ if environ is None else environ).get("NOTIFY_SOCKET", "")
    if not value:
        return None
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    if not value.startswith("/"):
        log.warning("NOTIFY_SOCKET=%r is neither a path nor an abstract name: not notifying systemd", value)
        return None
    return value


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Half of ``$WATCHDOG_USEC`` in seconds (systemd's advice), when the watchdog is meant for us."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec:
        return None
    if pid and pid != str(os.getpid()):
        return None  # set for another process (a parent that started us)
    try:
        value = int(usec)
    except ValueError:
        log.warning("WATCHDOG_USEC=%r is not a number: no watchdog pings", usec)
        return None
    return value / 2e6 if value > 0 else None


class Notifier:
    """Sends notify messages; a failed send is logged once and never raised."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.address = socket_address(environ)
        self._socket: socket.socket | None = None
        self._failing = False
        if self.address is not None:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._socket.setblocking(False)

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def send(self, *fields: str) -> bool:
        """One datagram of ``NAME=value`` lines; True when it was sent."""
        if self._socket is None or self.address is None:
            return False
        message = "\n".join(item.replace("\n", " ") for item in fields).encode()
        try:
            self._socket.sendto(message, self.address)
        except OSError as err:
            if not self._failing:
                log.warning("cannot notify systemd at %r: %s", self.address, err)
            self._failing = True
            return False
        if self._failing:
            log.info("notifying systemd again")
        self._failing = False
        return True

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


async def keep_alive(
    status: Callable[[], str],
    *,
    healthy: Callable[[], bool] = lambda: True,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Run on the runtime loop for as long as the runtime runs (cancel it to stop).

    READY=1 with the first status, then every watchdog interval WATCHDOG=1 while ``healthy()`` (and a
    STATUS= line each time); STOPPING=1 when cancelled. Returns at once when not under systemd."""
    notifier = Notifier(environ)
    if not notifier.enabled:
        return
    interval = watchdog_interval(environ)
    try:
        notifier.send("READY=1", f"STATUS={_status(status)}", f"MAINPID={os.getpid()}")
        log.info(
            "systemd notified: ready%s",
            f"; watchdog pings every {interval:g} s" if interval is not None else "",
        )
        unhealthy = False
        while True:
            await asyncio.sleep(interval if interval is not None else DEFAULT_STATUS_INTERVAL)
            ok = _healthy(healthy)
            fields = [f"STATUS={_status(status)}"]
            if interval is not None and ok:
                fields.insert(0, "WATCHDOG=1")
            if not ok and not unhealthy:
                log.error("the runtime is not healthy: no more watchdog pings (systemd will restart it)")
            unhealthy = not ok
            notifier.send(*fields)
    finally:
        notifier.send("STOPPING=1", "STATUS=stopping: writing the last samples")
        notifier.close()


def _status(status: Callable[[], str]) -> str:
    try:
        return status()
    except Exception as err:  # noqa: BLE001 - a status line must never stop the pings
        return f"status unavailable: {type(err).__name__}: {err}"


def _healthy(healthy: Callable[[], bool]) -> bool:
    try:
        return bool(healthy())
    except Exception:  # a check that cannot tell counts as unhealthy
        log.exception("the health check for the watchdog failed")
        return False
