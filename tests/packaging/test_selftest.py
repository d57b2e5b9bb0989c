"""`linesight --self-test` from the source tree: a failure exits non-zero with a message that says what
did not happen (the success path runs on the built bundle in test_bundle.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from linesight.cli.selftest import demo_plant_text, free_ports


@pytest.mark.slow
def test_a_self_test_that_sees_no_live_value_in_time_fails_clearly(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    shot = tmp_path / "never.png"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "linesight.cli",
            "--self-test",
            "--timeout",
            "0.01",
            "--screenshot",
            str(shot),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 3
    assert "self-test FAILED: no machine tile showed a live value within 0 s of the start (" in done.stderr
    assert not shot.exists()


def test_the_demo_plant_is_moved_to_the_ports_it_is_given() -> None:
    ports = dict(zip(("modbus", "opcua", "s7", "mtconnect"), free_ports(4), strict=True))
    assert len(set(ports.values())) == 4
    text = demo_plant_text(ports)
    for old in ("15020", "48410", "10102", "15000"):
        assert old not in text
    assert f"port: {ports['modbus']}," in text and f"opc.tcp://127.0.0.1:{ports['opcua']}/" in text
    assert f"port: {ports['s7']}" in text and f"http://127.0.0.1:{ports['mtconnect']}/" in text
