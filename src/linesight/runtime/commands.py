"""What a person may ask of the runtime (log in, write a setpoint...), checked against their role and
written to the audit trail, allowed or not. The HMI sends these across to the runtime loop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from linesight.domain.errors import DriverError, LineSightError, PermissionDenied
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

    async def record(self, actor: Actor, action: str, target: str, *, old: str = "", new: str = "") -> None:
        """An action the HMI itself carried out (exit kiosk, change a setting): into the audit trail."""
        await self._audit(actor, action, target, old=old, new=new)
