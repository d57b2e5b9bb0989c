"""`linesight users`: add, change, list and remove the HMI's users; every change is audited."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from linesight.cli import (
    DEMO_USERS,
    EXIT_ERROR,
    EXIT_INVALID,
    EXIT_OK,
    _seed_demo_users,
    _seed_demo_users_beside,
    _with_default_command,
    main,
)
from linesight.domain.users import AuditEntry, Role, verify_secret
from linesight.storage import Historian


def users(db: Path, *args: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["users", *args, "--db", str(db)])


def test_add_change_list_and_remove_a_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.duckdb"
    assert users(db, "add", "ana", "--role", "operator", stdin="2468\n", monkeypatch=monkeypatch) == EXIT_OK
    assert "added ana (operator)" in capsys.readouterr().out
    assert users(db, "add", "ana", "--role", "supervisor", stdin="1357\n", monkeypatch=monkeypatch) == EXIT_OK
    assert "changed ana (supervisor)" in capsys.readouterr().out

    with Historian(db, read_only=True) as historian:
        (ana,) = historian.users()
        assert ana.role is Role.SUPERVISOR
        assert verify_secret("1357", ana.secret) and not verify_secret("2468", ana.secret)
        assert "1357" not in ana.secret  # only the scrypt hash is stored

    assert users(db, "list", monkeypatch=monkeypatch) == EXIT_OK
    assert capsys.readouterr().out.split() == ["ana", "supervisor"]
    assert users(db, "remove", "ana", monkeypatch=monkeypatch) == EXIT_OK
    assert users(db, "remove", "ana", monkeypatch=monkeypatch) == EXIT_ERROR
    assert "no user 'ana'" in capsys.readouterr().err

    with Historian(db, read_only=True) as historian:
        assert historian.users() == []
        trail = [(e.action, e.target, e.old, e.new) for e in reversed(historian.audit_entries())]
    assert trail == [
        ("save_user", "ana", "", "operator"),
        ("save_user", "ana", "operator", "supervisor"),
        ("remove_user", "ana", "", ""),
    ]
    assert users(db, "audit", monkeypatch=monkeypatch) == EXIT_OK
    printed = capsys.readouterr().out.splitlines()
    assert "remove_user ana: done" in printed[0] and "operator -> supervisor" in printed[1]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["bad name!", "--role", "operator"], "2468\n", "user name 'bad name!'"),
        (["ana", "--role", "operator"], "12\n", "a PIN is 4 to 12 digits"),
        (["ana", "--role", "operator"], "7777\n", "one repeated digit"),
        (["ana", "--role", "admin", "--password"], "short\n", "at least 8 characters"),
    ],
)
def test_bad_names_and_weak_secrets_are_refused_by_name(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    stdin: str,
    message: str,
) -> None:
    db = tmp_path / "h.duckdb"
    assert users(db, "add", *args, stdin=stdin, monkeypatch=monkeypatch) == EXIT_INVALID
    assert message in capsys.readouterr().err
    with Historian(db, read_only=True) as historian:
        assert historian.users() == []


def test_an_unknown_role_is_refused_with_the_roles_there_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        users(tmp_path / "h.duckdb", "add", "ana", "--role", "boss", monkeypatch=monkeypatch)
    assert "operator" in capsys.readouterr().err


def test_the_demo_gets_its_documented_users_once(tmp_path: Path) -> None:
    with Historian(tmp_path / "h.duckdb") as historian:
        _seed_demo_users(historian)
        _seed_demo_users(historian)  # a second start keeps what is there (PINs may have been changed)
        stored = {user.name: user for user in historian.users()}
        assert set(stored) == {name for name, _role, _pin in DEMO_USERS}
        for name, role, pin in DEMO_USERS:
            assert stored[name].role is role and verify_secret(pin, stored[name].secret)
        assert [e.action for e in historian.audit_entries()] == ["seed_demo_users"]


def test_the_demo_users_are_created_beside_the_start_while_the_runtime_writes(tmp_path: Path) -> None:
    with Historian(tmp_path / "h.duckdb") as historian:
        seeding = _seed_demo_users_beside(historian)
        for number in range(50):  # the runtime's writes go on meanwhile
            historian.audit(
                AuditEntry(ts_us=number, user="ana", role="operator", action="ack", target=f"a{number}")
            )
        seeding.join(timeout=10)
        assert not seeding.is_alive()
        assert {user.name for user in historian.users()} == {name for name, _role, _pin in DEMO_USERS}
        actions = [e.action for e in historian.audit_entries(limit=100)]
        assert actions.count("seed_demo_users") == 1 and actions.count("ack") == 50


@pytest.mark.expect_log_warnings
def test_a_failing_demo_user_seed_is_logged_and_the_start_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    historian = Historian(tmp_path / "h.duckdb")
    historian.close()  # every write now fails with a HistorianError
    with caplog.at_level(logging.ERROR):
        _seed_demo_users_beside(historian).join(timeout=10)
    assert "could not create the demo users" in caplog.text


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ["demo"]),
        (["--headless"], ["demo", "--headless"]),
        (["--kiosk"], ["demo", "--kiosk"]),
        (["--plant", "p.yaml", "--kiosk"], ["run", "--plant", "p.yaml", "--kiosk"]),
        (["--log-level", "debug", "--plant=p.yaml"], ["--log-level", "debug", "run", "--plant=p.yaml"]),
        (["check", "p.yaml"], ["check", "p.yaml"]),
        (["--version"], ["--version"]),
    ],
)
def test_linesight_without_a_command_opens_the_demo_or_the_given_plant(
    argv: list[str], expected: list[str]
) -> None:
    assert _with_default_command(argv) == expected


def test_the_hmi_remembers_the_plant_file_it_was_started_with(tmp_path: Path) -> None:
    from linesight.app import settings as hmi_settings

    plant = tmp_path / "plant.yaml"
    hmi_settings.save(hmi_settings.HmiSettings(plant=str(plant)))
    try:
        assert _with_default_command(["--kiosk"]) == ["run", "--kiosk"]
        assert _with_default_command(["--headless"]) == ["demo", "--headless"]  # the agent ignores the HMI's
    finally:
        hmi_settings.save(hmi_settings.HmiSettings())
