"""Shared test rules: a test that logs an unexpected warning or error fails."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator

import pytest

# Qt without a display: set before any test module imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_QUICK_BACKEND", "software")
# The HMI's QSettings (and anything else under ~/.config) of the person running the tests stay untouched.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="linesight-tests-config-")
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="linesight-tests-cache-")
# The JSON logs of in-process runs go to a throwaway folder, not the developer's ~/.local/state.
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="linesight-tests-state-")
# A CI runner under systemd must not hear the tests' headless agents say READY or WATCHDOG.
os.environ.pop("NOTIFY_SOCKET", None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "expect_log_warnings: the test provokes and checks warnings in the log"
    )


@pytest.fixture(autouse=True)
def _no_unexpected_log_warnings(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    if request.node.get_closest_marker("expect_log_warnings"):
        return
    loud = [r for r in caplog.get_records("call") if r.levelno >= logging.WARNING]
    if loud:
        lines = "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in loud)
        pytest.fail(f"unexpected warnings in the log:\n{lines}")
