"""sd_notify over a real unix datagram socket, as systemd listens: READY=1 with a status, watchdog
pings only while healthy, STOPPING=1 at the end; abstract socket names; nothing without systemd."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from linesight.runtime import sdnotify


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = tmp_path / "notify"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.setblocking(False)
    yield server, str(path)
    server.close()


def _messages(server: socket.socket) -> list[dict[str, str]]:
    found = []
    while True:
        try:
            data = server.recv(4096)
        except BlockingIOError:
            return found
        found.append(dict(line.split("=", 1) for line in data.decode().splitlines()))


async def _collect(server: socket.socket, into: list[dict[str, str]], done: Callable[[], bool]) -> None:
    for _ in range(500):
        await asyncio.sleep(0.01)
        into.extend(_messages(server))
        if done():
            return
    raise AssertionError(f"timed out; received {into}")


async def test_ready_then_watchdog_pings_with_status_then_stopping(
    listener: tuple[socket.socket, str],
) -> None:
    server, path = listener
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000", "WATCHDOG_PID": str(os.getpid())}
    count = iter(range(1000))
    task = asyncio.create_task(sdnotify.keep_alive(lambda: f"status {next(count)}", environ=env))
    messages: list[dict[str, str]] = []
    await _collect(server, messages, lambda: sum("WATCHDOG" in item for item in messages) >= 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    messages += _messages(server)
    assert messages[0]["READY"] == "1" and messages[0]["STATUS"] == "status 0"
    assert messages[0]["MAINPID"] == str(os.getpid())
    pings = [item for item in messages[1:-1] if item.get("WATCHDOG") == "1"]
    assert len(pings) >= 3
    assert [item["STATUS"] for item in pings[:2]] == ["status 1", "status 2"]
    assert messages[-1]["STOPPING"] == "1"


async def test_no_ping_while_unhealthy_and_pings_again_once_healthy(
    listener: tuple[socket.socket, str], caplog: pytest.LogCaptureFixture
) -> None:
    server, path = listener
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "60000"}
    state = {"healthy": True}
    task = asyncio.create_task(
        sdnotify.keep_alive(lambda: "s", healthy=lambda: state["healthy"], environ=env)
    )
    received: list[dict[str, str]] = []

    async def wait_for(predicate: Callable[[], bool]) -> None:
        await _collect(server, received, predicate)

    await wait_for(lambda: any(item.get("WATCHDOG") for item in received))
    state["healthy"] = False
    mark = len(received)
    await wait_for(lambda: len(received) >= mark + 4)
    unhealthy_part = received[mark + 1 :]  # the first may have been decided before the switch
    assert unhealthy_part and not any(item.get("WATCHDOG") for item in unhealthy_part)
    assert all("STATUS" in item for item in unhealthy_part)
    state["healthy"] = True
    mark = len(received)
    await wait_for(lambda: any(item.get("WATCHDOG") for item in received[mark:]))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert any("no more watchdog pings" in record.getMessage() for record in caplog.records)
    caplog.clear()  # the error above is the behaviour under test


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="unix sockets")
def test_an_abstract_socket_name_is_reached() -> None:
    name = f"linesight-test-{uuid.uuid4().hex}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(b"\0" + name.encode())
    try:
        notifier = sdnotify.Notifier({"NOTIFY_SOCKET": "@" + name})
        assert notifier.send("READY=1", "STATUS=two\nlines")
        notifier.close()
        assert server.recv(4096) == b"READY=1\nSTATUS=two lines"
    finally:
        server.close()


async def test_without_systemd_it_returns_at_once_and_sends_nothing() -> None:
    await asyncio.wait_for(sdnotify.keep_alive(lambda: "s", environ={}), 1)
    assert not sdnotify.Notifier({}).send("READY=1")


def test_watchdog_interval_is_half_the_timeout_and_only_for_this_process() -> None:
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert sdnotify.watchdog_interval({}) is None
    assert sdnotify.socket_address({"NOTIFY_SOCKET": "@abc"}) == b"\0abc"
    assert sdnotify.socket_address({"NOTIFY_SOCKET": "/run/systemd/notify"}) == "/run/systemd/notify"


@pytest.mark.expect_log_warnings
def test_a_socket_that_went_away_is_logged_once_and_never_raises(tmp_path: Path) -> None:
    notifier = sdnotify.Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert not notifier.send("WATCHDOG=1")
    assert not notifier.send("WATCHDOG=1")
    notifier.close()


@pytest.mark.slow
def test_the_headless_agent_says_ready_pings_the_watchdog_and_says_stopping(
    listener: tuple[socket.socket, str], tmp_path: Path
) -> None:
    server, path = listener
    env = {key: value for key, value in os.environ.items() if key not in ("WATCHDOG_PID",)}
    env.update(
        NOTIFY_SOCKET=path,
        WATCHDOG_USEC="400000",
        LINESIGHT_LOG_DIR=str(tmp_path / "log"),
        QT_QPA_PLATFORM="offscreen",
    )
    # Read as systemd does, all along: a unix datagram queue holds only a few messages.
    received: list[dict[str, str]] = []
    reading = threading.Event()
    reading.set()

    def read() -> None:
        while reading.is_set():
            received.extend(_messages(server))
            time.sleep(0.02)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "linesight.cli", "run", "--headless"),
                *("--db", str(tmp_path / "a.duckdb"), "--duration", "3", "--status-interval", "0"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    finally:
        reading.clear()
        reader.join()
    assert done.returncode == 0, done.stderr
    messages = received + _messages(server)
    assert messages[0]["READY"] == "1"
    assert "machines" in messages[0]["STATUS"]
    pings = [item for item in messages if item.get("WATCHDOG") == "1"]
    assert len(pings) >= 3  # every 0.2 s for 3 s, less start-up
    assert any("online" in item.get("STATUS", "") for item in pings)
    assert messages[-1]["STOPPING"] == "1"
    # The JSON log file of the agent was written where the environment said.
    lines = (tmp_path / "log" / "agent.log").read_text(encoding="utf-8").splitlines()
    assert any(json.loads(line)["message"].startswith("runtime started") for line in lines)
