"""What a person may ask of the runtime (log in, write a setpoint...), checked against their role and
written to the audit trail, allowed or not. The HMI sends these across to the runtime loop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from linesight.domain.alarm_types import AlarmCommandError, AlarmEvent
from linesight.domain.errors import DriverError, LineSightError, PermissionDenied
from linesight.domain.reasons import DowntimeCode, RejectEntry
from linesight.domain.tags import TagValue
from linesight.domain.users import AuditEntry, Permission, Role, User, allowed, verify_secret
from linesight.runtime.engine import Engine

log = logging.getLogger(__name__)


class AccountStore(Protocol):
    def users(self) -> list[User]: ...

    def audit(self, entry: AuditEntry) -> None: ...


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who asks: a logged-in user, or nobody (name "", role None)."""

    name: str = ""
    role: Role | None = None


NOBODY = Actor()


class LoginFailed(LineSightError):
    """Unknown user or wrong PIN/password (the message does not say which)."""


class Commands:
    """Runs on the runtime loop (``EngineThread.submit``); the store is called in a worker thread."""

    def __init__(
        self, engine: Engine, store: AccountStore | None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.engine = engine
        self._store = store
        self._clock = clock

    async def _audit(self, actor: Actor, action: str, target: str, **fields: str) -> None:
        entry = AuditEntry(
            ts_us=int(self._clock() * 1_000_000),
            user=actor.name,
            role=actor.role.value if actor.role else "",
            action=action,
            target=target,
            **fields,
        )
        log.info(
            "audit: %s %s %s by %s (%s)", entry.outcome, action, target, actor.name or "nobody", entry.detail
        )
        if self._store is not None:
            await asyncio.to_thread(self._store.audit, entry)

    async def users(self) -> Sequence[User]:
        if self._store is None:
            return []
        return await asyncio.to_thread(self._store.users)

    async def login(self, name: str, secret: str) -> Actor:
        users = {user.name: user for user in await self.users()}
        user = users.get(name)
        ok = user is not None and await asyncio.to_thread(verify_secret, secret, user.secret)
        if not ok or user is None:
            await self._audit(Actor(name=name), "login", name, outcome="refused")
            raise LoginFailed("unknown user or wrong PIN")
        actor = Actor(name=user.name, role=user.role)
        await self._audit(actor, "login", name)
        return actor

    async def logout(self, actor: Actor, *, reason: str = "") -> None:
        await self._audit(actor, "logout", actor.name, detail=reason)

    async def check(self, actor: Actor, permission: Permission, target: str) -> None:
        """Refuse (and audit the refusal) unless the actor's role allows ``permission``."""
        if not allowed(actor.role, permission):
            await self._audit(
                actor, permission.value, target, outcome="refused", detail="not allowed for this role"
            )
            raise PermissionDenied(
                f"{actor.name or 'nobody'} ({actor.role.value if actor.role else 'not logged in'}) "
                f"may not {permission.value.replace('_', ' ')}"
            )

    async def write_setpoint(self, actor: Actor, machine_id: str, tag_name: str, value: TagValue) -> None:
        target = f"{machine_id}.{tag_name}"
        await self.check(actor, Permission.WRITE_SETPOINT, target)
        latest = self.engine.live.latest(target)
        old = "" if latest is None else str(latest.value)
        try:
            await self.engine.write(machine_id, tag_name, value)
        except (DriverError, LineSightError) as err:
            await self._audit(
                actor, "write_setpoint", target, old=old, new=str(value), outcome="failed", detail=str(err)
            )
            raise
        await self._audit(actor, "write_setpoint", target, old=old, new=str(value))

    async def code_stop(
        self,
        actor: Actor,
        machine_id: str,
        *,
        start: datetime,
        end: datetime | None,
        reason: str,
        comment: str = "",
    ) -> DowntimeCode:
        """Code [start, end) of a machine's stop (end None: until the stop ends) in the actor's name."""
        await self.check(actor, Permission.CODE_DOWNTIME, machine_id)
        span = f"{reason} {start.isoformat()}/{end.isoformat() if end is not None else 'end of stop'}"
        try:
            code = await self.engine.production.code_stop(
                machine_id, start=start, end=end, reason=reason, user=actor.name, comment=comment
            )
        except LineSightError as err:
            await self._audit(actor, "code_downtime", machine_id, new=span, outcome="failed", detail=str(err))
            raise
        await self._audit(actor, "code_downtime", machine_id, new=span)
        return code

    async def enter_rejects(
        self, actor: Actor, machine_id: str, *, count: int, reason: str, comment: str = ""
    ) -> RejectEntry:
        """Record ``count`` rejects of a machine with their reason, in the actor's name."""
        await self.check(actor, Permission.ENTER_REJECTS, machine_id)
        what = f"{count} {reason}"
        try:
            entry = await self.engine.production.record_rejects(
                machine_id, count=count, reason=reason, user=actor.name, comment=comment
            )
        except LineSightError as err:
            await self._audit(actor, "enter_rejects", machine_id, new=what, outcome="failed", detail=str(err))
            raise
        await self._audit(actor, "enter_rejects", machine_id, new=what)
        return entry

    # ------------------------------------------------------------------ alarms

    async def acknowledge_alarms(
        self, actor: Actor, alarm_ids: Sequence[str], *, comment: str | None = None
    ) -> list[AlarmEvent]:
        """Acknowledge these alarms (one, or all the operator sees) in the actor's name. The alarm
        journal keeps each acknowledgement; the audit trail keeps a refusal."""
        target = ", ".join(alarm_ids) if len(alarm_ids) <= 3 else f"{len(alarm_ids)} alarms"
        await self.check(actor, Permission.ACKNOWLEDGE, target)
        events: list[AlarmEvent] = []
        for alarm_id in alarm_ids:
            events += self.engine.alarms.acknowledge(
                alarm_id, user=actor.name, role=actor.role, comment=comment
            )
        return events

    async def acknowledge_machine_alarms(
        self, actor: Actor, machine_id: str | None, *, comment: str | None = None
    ) -> list[AlarmEvent]:
        """Acknowledge every unacknowledged alarm of a machine (None: of the plant)."""
        await self.check(actor, Permission.ACKNOWLEDGE, machine_id or "all alarms")
        return self.engine.alarms.acknowledge_all(
            user=actor.name, role=actor.role, machine=machine_id, comment=comment
        )

    async def comment_alarm(self, actor: Actor, alarm_id: str, text: str) -> list[AlarmEvent]:
        await self.check(actor, Permission.ACKNOWLEDGE, alarm_id)
        return self.engine.alarms.comment(alarm_id, user=actor.name, role=actor.role, text=text)

    async def shelve_alarm(
        self, actor: Actor, alarm_id: str, *, duration: float | None, comment: str | None = None
    ) -> list[AlarmEvent]:
        """Shelve for ``duration`` seconds, or one-shot (None): audited, allowed, refused or failed."""
        what = "one-shot" if duration is None else f"{duration:g} s"
        service = self.engine.alarms
        return await self._alarm_action(
            actor,
            Permission.SHELVE,
            "shelve_alarm",
            alarm_id,
            what,
            lambda: service.shelve(
                alarm_id, user=actor.name, role=actor.role, duration=duration, comment=comment
            ),
        )

    async def unshelve_alarm(
        self, actor: Actor, alarm_id: str, *, comment: str | None = None
    ) -> list[AlarmEvent]:
        service = self.engine.alarms
        return await self._alarm_action(
            actor,
            Permission.SHELVE,
            "unshelve_alarm",
            alarm_id,
            "",
            lambda: service.unshelve(alarm_id, user=actor.name, role=actor.role, comment=comment),
        )

    async def remove_alarm_from_service(
        self, actor: Actor, alarm_id: str, *, comment: str | None = None
    ) -> list[AlarmEvent]:
        service = self.engine.alarms
        return await self._alarm_action(
            actor,
            Permission.SHELVE,
            "remove_alarm_from_service",
            alarm_id,
            "",
            lambda: service.remove_from_service(alarm_id, user=actor.name, role=actor.role, comment=comment),
        )

    async def return_alarm_to_service(
        self, actor: Actor, alarm_id: str, *, comment: str | None = None
    ) -> list[AlarmEvent]:
        service = self.engine.alarms
        return await self._alarm_action(
            actor,
            Permission.SHELVE,
            "return_alarm_to_service",
            alarm_id,
            "",
            lambda: service.return_to_service(alarm_id, user=actor.name, role=actor.role, comment=comment),
        )

    async def _alarm_action(
        self,
        actor: Actor,
        permission: Permission,
        action: str,
        alarm_id: str,
        new: str,
        run: Callable[[], list[AlarmEvent]],
    ) -> list[AlarmEvent]:
        """A privileged alarm action: the refusal, the failure and the success go to the audit trail
        (the alarm service itself refuses too, but does not audit)."""
        await self.check(actor, permission, alarm_id)
        try:
            old = self.engine.alarms.status(alarm_id).state.value
        except AlarmCommandError:
            old = ""  # an unknown alarm: the action below fails and says so
        try:
            events = run()
        except LineSightError as err:
            await self._audit(actor, action, alarm_id, old=old, new=new, outcome="failed", detail=str(err))
            raise
        to_state = events[-1].to_state.value if events else old
        await self._audit(actor, action, alarm_id, old=old, new=f"{to_state} {new}".strip())
        return events

    async def cloud_sync(self, actor: Actor, on: bool) -> None:
        """Switch cloud sync on or off (manager or admin); the switch, a refusal or a failure is audited."""
        new = "on" if on else "off"
        await self.check(actor, Permission.SWITCH_CLOUD_SYNC, "cloud_sync")
        sync = self.engine.cloud_sync
        if sync is None:
            detail = "the plant file has no cloud: section"
            await self._audit(
                actor, "switch_cloud_sync", "cloud_sync", new=new, outcome="failed", detail=detail
            )
            raise LineSightError(f"cloud sync cannot be switched: {detail}")
        before = await sync.switch(on)
        await self._audit(actor, "switch_cloud_sync", "cloud_sync", old="on" if before else "off", new=new)

    async def record(self, actor: Actor, action: str, target: str, *, old: str = "", new: str = "") -> None:
        """An action the HMI itself carried out (exit kiosk, change a setting): into the audit trail."""
        await self._audit(actor, action, target, old=old, new=new)
