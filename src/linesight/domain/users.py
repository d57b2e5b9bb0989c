"""Users, roles and what each role may do, decided in this one place; PINs and passwords as scrypt hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    MAINTENANCE = "maintenance"
    MANAGER = "manager"
    ADMIN = "admin"


class Permission(StrEnum):
    ACKNOWLEDGE = "acknowledge"  # alarms
    SHELVE = "shelve"
    CODE_DOWNTIME = "code_downtime"
    ENTER_REJECTS = "enter_rejects"
    WRITE_SETPOINT = "write_setpoint"
    EDIT_CONFIG = "edit_config"
    SWITCH_CLOUD_SYNC = "switch_cloud_sync"
    MANAGE_USERS = "manage_users"
    EXIT_KIOSK = "exit_kiosk"


_OPERATOR = {Permission.ACKNOWLEDGE, Permission.CODE_DOWNTIME, Permission.ENTER_REJECTS}
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: frozenset(_OPERATOR),
    Role.SUPERVISOR: frozenset(_OPERATOR | {Permission.SHELVE, Permission.WRITE_SETPOINT}),
    Role.MAINTENANCE: frozenset(
        _OPERATOR | {Permission.SHELVE, Permission.WRITE_SETPOINT, Permission.EDIT_CONFIG}
    ),
    Role.MANAGER: frozenset(_OPERATOR | {Permission.SHELVE, Permission.SWITCH_CLOUD_SYNC}),
    Role.ADMIN: frozenset(Permission),
}


def allowed(role: Role | None, permission: Permission) -> bool:
    """Whether ``role`` may do ``permission``; nobody logged in may do nothing privileged."""
    return role is not None and permission in PERMISSIONS[role]


@dataclass(frozen=True, kw_only=True)
class User:
    name: str
    role: Role
    secret: str  # "scrypt$n$r$p$salt$hash" (hex), never the PIN or password itself
    display_name: str = ""


# scrypt parameters: 2^14 with r=8 takes ~30 ms and 16 MB here, slow enough to make guessing a 4-digit
# PIN from a stolen historian cost real work, fast enough for a login at the machine.
_N, _R, _P = 2**14, 8, 1


def hash_secret(secret: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Compare in constant time; a malformed stored hash never matches."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        candidate = hashlib.scrypt(
            secret.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


def check_new_secret(secret: str, *, pin: bool) -> str | None:
    """Why a new PIN or password is refused, or None."""
    if pin:
        if not secret.isdigit() or not 4 <= len(secret) <= 12:
            return "a PIN is 4 to 12 digits"
        if len(set(secret)) == 1:
            return "a PIN of one repeated digit is too easy to guess"
        return None
    if len(secret) < 8:
        return "a password needs at least 8 characters"
    return None


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """One privileged action, allowed or refused: who, what, on what, when, old -> new."""

    ts_us: int
    user: str  # "" when nobody was logged in
    role: str
    action: str  # e.g. write_setpoint, login, logout, exit_kiosk, switch_cloud_sync
    target: str  # e.g. forno-01.zone1_setpoint
    old: str = ""
    new: str = ""
    outcome: str = "done"  # done, refused, failed
    detail: str = ""
