"""Stop codings and rejects entered by operators: checked, stored in the historian, applied to the
running shift at once, and still there after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from linesight.domain.errors import InvalidEntry
from linesight.domain.machine import MachineState
from linesight.runtime.engine import Engine
from linesight.storage import Historian

from .scripted import ScriptedFactory
from .test_coordinator import wait_for
from .test_machines import recording


async def run_a_stop(engine: Engine, factory: ScriptedFactory) -> None:
    await wait_for(lambda: "m" in factory.drivers)
    driver = factory.drivers["m"]
    driver.values.update({"m.state": 1, "m.parts": 100, "m.rejects": 0})
    await wait_for(lambda: engine.machines.status("m").state is MachineState.RUNNING)
    driver.values["m.state"] = 3
    await wait_for(lambda: engine.machines.status("m").state is MachineState.STOPPED)
    driver.values.update({"m.state": 1, "m.parts": 110})
    await wait_for(lambda: engine.machines.status("m").parts == 10)
    await wait_for(lambda: len(engine.machines.status("m").stops) == 1)


async def test_a_coded_stop_and_entered_rejects_change_the_running_shift_and_survive_a_restart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.duckdb"
    factory = ScriptedFactory()
    with Historian(path) as historian:
        engine = recording(historian, factory)
        async with engine:
            await run_a_stop(engine, factory)
            (stop,) = engine.machines.status("m").stops
            assert not stop.coded and stop.state is MachineState.STOPPED
            before = engine.machines.status("m").oee
            await engine.production.code_stop(
                "m", start=stop.start, end=None, reason="maintenance", user="ana"
            )
            await engine.production.record_rejects("m", count=3, reason="surface", user="ana")
            status = engine.machines.status("m")
            assert status.stops[0].coded and status.stops[0].parts[0].reason == "maintenance"
            assert status.rejects == 3 and status.entered_rejects == 3
            assert status.oee is not None and before is not None
            # Planned maintenance is planned downtime: it leaves planned busy time.
            assert status.oee.machine_planned_s == pytest.approx(stop.seconds)
            assert status.oee.good == status.oee.produced - 3
            assert any(span.state is MachineState.PLANNED_STOP for span in status.timeline)
        codes = historian.downtime_codes(
            ["m"], stop.start - timedelta(hours=1), stop.end + timedelta(hours=1)
        )
        assert [(c.reason, c.user, c.end) for c in codes] == [("maintenance", "ana", None)]
        assert [(r.count, r.reason) for r in historian.rejects(["m"], stop.start, datetime.now(UTC))] == [
            (3, "surface")
        ]
    with Historian(path) as historian:
        engine = recording(historian, ScriptedFactory())
        async with engine:
            status = engine.machines.status("m")
            assert status.entered_rejects == 3
            assert status.stops and status.stops[0].coded


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"machine": "nope", "reason": "mechanical"}, "no machine 'nope'"),
        ({"reason": "jammed"}, "no downtime reason 'jammed'; the reasons are: mechanical, electrical"),
        ({"reason": "mechanical", "end_offset": -60}, "ends"),
        ({"reason": "mechanical", "start_offset": 3600}, "cannot be coded in the future"),
        ({"reason": "mechanical", "user": ""}, "needs the name"),
    ],
)
async def test_a_bad_coding_is_refused_with_what_was_wrong_and_nothing_is_stored(
    tmp_path: Path, call: dict[str, object], message: str
) -> None:
    with Historian(tmp_path / "h.duckdb") as historian:
        engine = recording(historian, ScriptedFactory())
        async with engine:
            now = datetime.now(UTC)
            start = now + timedelta(seconds=float(call.get("start_offset", -600)))  # type: ignore[arg-type]
            end_offset = call.get("end_offset")
            end = start + timedelta(seconds=float(end_offset)) if end_offset is not None else None  # type: ignore[arg-type]
            with pytest.raises(InvalidEntry, match=message):
                await engine.production.code_stop(
                    str(call.get("machine", "m")),
                    start=start,
                    end=end,
                    reason=str(call["reason"]),
                    user=str(call.get("user", "ana")),
                )
        assert historian.downtime_codes(["m", "nope"], now - timedelta(days=1), now + timedelta(days=1)) == []


@pytest.mark.parametrize(
    ("count", "reason", "message"),
    [
        (0, "surface", "whole number from 1 to 100000, not 0"),
        (-2, "surface", "not -2"),
        (True, "surface", "not True"),
        ("3", "surface", "not '3'"),
        (2, "cracked", "no reject reason 'cracked'; the reasons are: dimension, surface"),
    ],
)
async def test_bad_rejects_are_refused_and_the_count_is_unchanged(
    tmp_path: Path, count: object, reason: str, message: str
) -> None:
    with Historian(tmp_path / "h.duckdb") as historian:
        engine = recording(historian, ScriptedFactory())
        async with engine:
            with pytest.raises(InvalidEntry, match=message):
                await engine.production.record_rejects("m", count=count, reason=reason, user="ana")  # type: ignore[arg-type]
            assert engine.machines.status("m").entered_rejects == 0
