"""The bridge: commands cross to the runtime and their outcome comes back, even when it stops."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from .harness import running_hmi

pytestmark = pytest.mark.gui


def test_a_command_cut_short_by_a_stopping_runtime_is_reported_not_raised(
    qtbot: QtBot, tmp_path: Path
) -> None:
    with running_hmi(tmp_path) as hmi:
        done: list[object] = []
        failed: list[str] = []
        hmi.bridge.submit(lambda: asyncio.sleep(3600), done=done.append, failed=failed.append)
        hmi.runtime.stop()  # the window is closing: the runtime cancels what it still runs
        qtbot.waitUntil(lambda: bool(failed), timeout=10000)
        assert failed == ["The runtime is not running."] and done == []
        hmi.bridge.submit(lambda: asyncio.sleep(0), done=done.append, failed=failed.append)
        assert failed[-1] == "The runtime is not running." and done == []  # said at once, never sent


def test_a_command_result_comes_back_on_the_gui_thread(qtbot: QtBot, tmp_path: Path) -> None:
    with running_hmi(tmp_path) as hmi:
        got: list[object] = []
        hmi.bridge.submit(hmi.bridge.commands.users, done=got.append)
        qtbot.waitUntil(lambda: bool(got), timeout=5000)
        assert sorted(user.name for user in got[0]) == ["ana", "bruno", "carla"]  # type: ignore[attr-defined]
