"""Commands from people: logins, setpoint writes and refusals, all in the audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest

from linesight.domain.alarm_types import AlarmCommandError, AlarmState
from linesight.domain.errors import LineSightError, PermissionDenied
from linesight.domain.users import (
    Permission,
    Role,
    User,
    allowed,
    check_new_secret,
    hash_secret,
    verify_secret,
)
from linesight.runtime.commands import NOBODY, Actor, Commands, LoginFailed
from linesight.runtime.engine import Engine
from linesight.storage import Historian

from .scripted import ScriptedFactory
from .test_coordinator import FAST, machine, plant, wait_for


def test_secrets_are_salted_scrypt_hashes_checked_in_constant_time() -> None:
    stored = hash_secret("4711")
    assert stored.startswith("scrypt$") and "4711" not in stored
    assert stored != hash_secret("4711")  # a new salt each time
    assert verify_secret("4711", stored) and not verify_secret("4712", stored)
    assert not verify_secret("4711", "md5$abc") and not verify_secret("4711", "garbage")
    assert check_new_secret("1111", pin=True) == "a PIN of one repeated digit is too easy to guess"
    assert check_new_secret("12a4", pin=True) == "a PIN is 4 to 12 digits"
    assert check_new_secret("short", pin=False) == "a password needs at least 8 characters"
    assert check_new_secret("2468", pin=True) is None


def test_permissions_are_decided_in_one_table() -> None:
    assert not allowed(Role.OPERATOR, Permission.WRITE_SETPOINT)
    assert allowed(Role.SUPERVISOR, Permission.WRITE_SETPOINT)
    assert allowed(Role.MANAGER, Permission.SWITCH_CLOUD_SYNC) and not allowed(
        Role.SUPERVISOR, Permission.SWITCH_CLOUD_SYNC
    )
    assert allowed(Role.ADMIN, Permission.EXIT_KIOSK) and not allowed(Role.MAINTENANCE, Permission.EXIT_KIOSK)
    assert all(not allowed(None, permission) for permission in Permission)


async def test_an_operator_cannot_write_a_setpoint_and_the_attempt_is_audited(tmp_path: Path) -> None:
    factory = ScriptedFactory()
    tags = [
        {"name": "setpoint", "address": "sp", "scale": 0.1, "writable": True},
        {"name": "parts", "address": "p"},
    ]
    with Historian(tmp_path / "h.duckdb") as historian:
        historian.save_user(User(name="ana", role=Role.OPERATOR, secret=hash_secret("2468")))
        historian.save_user(User(name="bruno", role=Role.SUPERVISOR, secret=hash_secret("1357")))
        engine = Engine(
            plant(machine("oven", tags=tags)),
            historian=historian,
            factories={"scripted": factory},
            backoff=FAST,
        )
        commands = Commands(engine, historian)
        async with engine:
            await wait_for(lambda: "oven" in factory.drivers)
            with pytest.raises(LoginFailed):
                await commands.login("ana", "0000")
            ana = await commands.login("ana", "2468")
            with pytest.raises(PermissionDenied, match="ana \\(operator\\) may not write setpoint"):
                await commands.write_setpoint(ana, "oven", "setpoint", 85.0)
            assert factory.drivers["oven"].values["oven.setpoint"] == 0.0
            bruno = await commands.login("bruno", "1357")
            await commands.write_setpoint(bruno, "oven", "setpoint", 85.0)
            assert factory.drivers["oven"].values["oven.setpoint"] == pytest.approx(850.0)  # raw: 85 / 0.1
            factory.drivers["oven"].values["oven.parts"] = 42
            with pytest.raises(LineSightError, match=r"oven.parts is not writable: .*`writable: true`"):
                await commands.write_setpoint(bruno, "oven", "parts", 0)
            assert factory.drivers["oven"].values["oven.parts"] == 42  # the counter was never touched
        trail = [(e.user, e.action, e.target, e.outcome, e.new) for e in reversed(historian.audit_entries())]
    assert trail == [
        ("ana", "login", "ana", "refused", ""),
        ("ana", "login", "ana", "done", ""),
        ("ana", "write_setpoint", "oven.setpoint", "refused", ""),
        ("bruno", "login", "bruno", "done", ""),
        ("bruno", "write_setpoint", "oven.setpoint", "done", "85.0"),
        ("bruno", "write_setpoint", "oven.parts", "failed", "0"),
    ]


async def test_alarm_actions_are_checked_and_the_privileged_ones_audited_allowed_refused_or_failed(
    tmp_path: Path,
) -> None:
    factory = ScriptedFactory()
    rules = [{"id": "hot", "kind": "limit", "tag": "a", "h": 50}]
    with Historian(tmp_path / "h.duckdb") as historian:
        engine = Engine(
            plant(machine("oven", alarms=rules)),
            historian=historian,
            factories={"scripted": factory},
            backoff=FAST,
        )
        commands = Commands(engine, historian)
        ana, bruno = Actor(name="ana", role=Role.OPERATOR), Actor(name="bruno", role=Role.SUPERVISOR)
        async with engine:
            await wait_for(lambda: "oven" in factory.drivers)
            factory.drivers["oven"].values["oven.a"] = 60.0
            await wait_for(lambda: engine.alarms.status("oven.hot.h").state is AlarmState.UNACK)
            with pytest.raises(PermissionDenied):
                await commands.acknowledge_alarms(NOBODY, ["oven.hot.h"])
            with pytest.raises(PermissionDenied, match="ana \\(operator\\) may not shelve"):
                await commands.shelve_alarm(ana, "oven.hot.h", duration=900)
            assert engine.alarms.status("oven.hot.h").state is AlarmState.UNACK
            events = await commands.acknowledge_alarms(ana, ["oven.hot.h"])
            assert [e.to_state for e in events] == [AlarmState.ACKED]
            await commands.comment_alarm(ana, "oven.hot.h", "on it")
            await commands.shelve_alarm(bruno, "oven.hot.h", duration=None)  # one-shot
            assert engine.alarms.status("oven.hot.h").state is AlarmState.SHELVED
            with pytest.raises(AlarmCommandError):
                await commands.remove_alarm_from_service(bruno, "oven.nothing")
        trail = [
            (e.user, e.action, e.target, e.outcome, e.old, e.new) for e in reversed(historian.audit_entries())
        ]
    assert trail == [
        ("", "acknowledge", "oven.hot.h", "refused", "", ""),
        ("ana", "shelve", "oven.hot.h", "refused", "", ""),
        ("bruno", "shelve_alarm", "oven.hot.h", "done", "acked", "shelved one-shot"),
        ("bruno", "remove_alarm_from_service", "oven.nothing", "failed", "", ""),
    ]
