"""Rotating JSON log files: one object per line, exceptions included, rotation by size, and a
directory that cannot be written leaves the program running."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from linesight.runtime import logs


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.expect_log_warnings  # the logged error is the behaviour under test
def test_each_record_is_one_json_object_with_time_level_logger_message_and_exception(tmp_path: Path) -> None:
    handler = logs.setup("agent", directory=tmp_path / "log")
    try:
        logging.getLogger("linesight.test").info("pressão %s", "ok")
        try:
            raise ValueError("line one\nline two")
        except ValueError:
            logging.getLogger("linesight.test").exception("it broke")
    finally:
        logs.close(handler)
    first, second = _lines(tmp_path / "log" / "agent.log")
    assert first["level"] == "INFO" and first["logger"] == "linesight.test"
    assert first["message"] == "pressão ok" and first["exception"] is None
    assert str(first["ts"]).endswith("Z") and str(first["ts"])[:4].isdigit()
    assert second["level"] == "ERROR" and second["message"] == "it broke"
    assert "ValueError: line one\nline two" in str(second["exception"])
    assert "Traceback" in str(second["exception"])


def test_files_rotate_by_size_and_keep_the_configured_number(tmp_path: Path) -> None:
    handler = logs.setup("hmi", directory=tmp_path, max_bytes=2_000, backups=2)
    try:
        for number in range(200):
            logging.getLogger("linesight.test").info("message number %d with some padding text", number)
    finally:
        logs.close(handler)
    names = sorted(item.name for item in tmp_path.iterdir())
    assert names == ["hmi.log", "hmi.log.1", "hmi.log.2"]
    for name in names:
        assert (tmp_path / name).stat().st_size <= 2_000
        assert all(line["logger"] == "linesight.test" for line in _lines(tmp_path / name))
    newest = _lines(tmp_path / "hmi.log")
    assert newest[-1]["message"] == "message number 199 with some padding text"
    assert {item.name for item in logs.log_files(tmp_path)} == set(names)


def test_a_second_setup_replaces_the_first_handler_instead_of_doubling_lines(tmp_path: Path) -> None:
    first = logs.setup("agent", directory=tmp_path)
    second = logs.setup("agent", directory=tmp_path)
    try:
        logging.getLogger("linesight.test").info("once")
    finally:
        logs.close(first)
        logs.close(second)
    assert [line["message"] for line in _lines(tmp_path / "agent.log")] == ["once"]
    assert not [
        h for h in logging.getLogger().handlers if isinstance(h, logging.handlers.RotatingFileHandler)
    ]


def test_the_directory_comes_from_the_environment_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(logs.ENV_DIR, str(tmp_path / "var-log"))
    assert logs.log_dir() == tmp_path / "var-log"
    monkeypatch.delenv(logs.ENV_DIR)
    assert logs.log_dir().name.lower() in ("log", "logs")


def test_an_unwritable_log_directory_is_said_on_stderr_and_the_program_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    assert logs.setup("agent", directory=blocker / "log") is None
    assert f"no log file in {blocker / 'log'}" in capsys.readouterr().err
    logging.getLogger("linesight.test").info("still logging")  # no handler left half set up


def test_an_unknown_role_is_refused_with_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="hmi, agent"):
        logs.setup("kiosk")
