"""OEE by the ISO 22400 time model, the shift calendar as time, and a machine's state from its tags."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from linesight.domain.calendar import shift_at, shifts_between
from linesight.domain.machine import MachineState
from linesight.domain.oee import StateSpan, compute_oee
from linesight.domain.plant import (
    Break,
    CalendarConfig,
    PlannedStop,
    Shift,
    StateFromCode,
    StateFromMTConnect,
    StateFromRunningBit,
    StateFromThreshold,
)
from linesight.domain.state import derive_state
from linesight.domain.tags import Quality, Sample

S = MachineState


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def calendar(
    *shifts: Shift, stops: tuple[PlannedStop, ...] = (), holidays: tuple[date, ...] = ()
) -> CalendarConfig:
    return CalendarConfig(shifts=list(shifts), planned_stops=list(stops), holidays=list(holidays))


EIGHT_HOURS = Shift(
    name="A",
    start=time(6, 0),
    end=time(14, 0),
    days=["mon", "tue", "wed", "thu", "fri"],
    breaks=[
        Break(name="coffee", start=time(9, 0), duration=15 * 60),
        Break(name="tea", start=time(12, 30), duration=15 * 60),
        Break(name="meal", start=time(10, 30), duration=30 * 60),
    ],
)


def test_the_published_worked_example() -> None:
    # 480 min shift, two 15 min breaks and a 30 min meal, 47 min of downtime, ideal cycle 1.0 s,
    # 19,271 parts of which 18,848 good: A 88.81 %, P 86.11 %, Q 97.80 %, OEE 74.79 %.
    (window,) = shifts_between(calendar(EIGHT_HOURS), "UTC", at(6), at(14))
    spans = [
        StateSpan(start=at(6), end=at(7, 0), state=S.RUNNING),
        StateSpan(start=at(7, 0), end=at(7, 47), state=S.STOPPED),
        StateSpan(start=at(7, 47), end=at(14), state=S.RUNNING),
    ]
    result = compute_oee(
        window, spans, produced=19_271, good=18_848, ideal_cycle_s=1.0, micro_stop_threshold_s=120
    )
    assert result.planned_busy_s == 420 * 60
    assert result.production_s == 373 * 60
    assert round(100 * result.availability, 2) == 88.81  # type: ignore[operator]
    assert round(100 * result.performance, 2) == 86.11  # type: ignore[operator]
    assert round(100 * result.quality, 2) == 97.80  # type: ignore[operator]
    assert round(100 * result.oee, 2) == 74.79  # type: ignore[operator]
    assert result.unplanned_downtime_s == 47 * 60 and result.micro_stops == 0


def test_breaks_are_not_downtime_and_micro_stops_are_counted_apart() -> None:
    (window,) = shifts_between(calendar(EIGHT_HOURS), "UTC", at(6), at(14))
    spans = [StateSpan(start=at(6), end=at(9, 0), state=S.RUNNING)]
    # A stop through the coffee break: only its part outside the break is lost.
    spans.append(StateSpan(start=at(9, 0), end=at(9, 25), state=S.STOPPED))
    spans.append(StateSpan(start=at(9, 25), end=at(10, 0), state=S.RUNNING))
    spans.append(StateSpan(start=at(10, 0), end=at(10, 1), state=S.STOPPED))  # a 60 s micro-stop
    spans.append(StateSpan(start=at(10, 1), end=at(10, 30), state=S.RUNNING))
    spans.append(StateSpan(start=at(11, 0), end=at(11, 20), state=S.SETUP))
    spans.append(StateSpan(start=at(11, 20), end=at(14), state=S.RUNNING))
    result = compute_oee(window, spans, produced=100, good=99, ideal_cycle_s=60, micro_stop_threshold_s=120)
    assert result.unplanned_downtime_s == 10 * 60
    assert (result.micro_stops, result.micro_stop_s) == (1, 60)
    assert result.setup_s == 20 * 60
    assert result.no_data_s == 0
    assert result.production_s == (420 - 10 - 20) * 60  # the micro-stop stays in production time


def test_a_running_shift_gives_live_oee_and_unknown_time_is_a_loss() -> None:
    (window,) = shifts_between(calendar(EIGHT_HOURS), "UTC", at(6), at(14))
    spans = [
        StateSpan(start=at(6), end=at(7), state=S.RUNNING),
        StateSpan(start=at(7, 30), end=at(8), state=S.RUNNING),
    ]
    result = compute_oee(
        window, spans, produced=50, good=50, ideal_cycle_s=60, micro_stop_threshold_s=120, until=at(8)
    )
    assert result.planned_busy_s == 2 * 3600
    assert result.no_data_s == 30 * 60  # the gap between the spans: no data is no production
    assert result.availability == pytest.approx(0.75)
    assert result.performance == pytest.approx(50 * 60 / (90 * 60))


def test_the_machines_own_planned_stop_leaves_planned_busy_time_and_nothing_made_gives_no_ratios() -> None:
    (window,) = shifts_between(calendar(EIGHT_HOURS), "UTC", at(6), at(14))
    spans = [StateSpan(start=at(6), end=at(6, 30), state=S.PLANNED_STOP)]
    result = compute_oee(
        window, spans, produced=0, good=0, ideal_cycle_s=1, micro_stop_threshold_s=0, until=at(6, 30)
    )
    assert result.planned_busy_s == 0 and result.machine_planned_s == 30 * 60
    assert (result.availability, result.performance, result.quality, result.oee) == (None, None, None, None)


def test_night_shifts_cross_midnight_in_local_time_and_holidays_have_no_shift() -> None:
    night = Shift(
        name="C",
        start=time(22),
        end=time(6),
        days=["mon", "tue", "wed", "thu", "fri"],
        breaks=[Break(start=time(2), duration=30 * 60)],
    )
    cal = calendar(
        night,
        stops=(PlannedStop(name="pm", start=time(23), duration=3600, weekday="mon"),),
        holidays=(date(2026, 3, 3),),
    )
    # Monday 2 March 2026 22:00 in São Paulo (UTC-3) is 01:00 UTC on Tuesday.
    window = shift_at(cal, "America/Sao_Paulo", datetime(2026, 3, 3, 4, 0, tzinfo=UTC))
    assert window is not None
    assert (window.start, window.end) == (
        datetime(2026, 3, 3, 1, tzinfo=UTC),
        datetime(2026, 3, 3, 9, tzinfo=UTC),
    )
    assert window.breaks[0].start == datetime(2026, 3, 3, 5, tzinfo=UTC)
    assert window.planned_stops[0].start == datetime(2026, 3, 3, 2, tzinfo=UTC)  # Monday 23:00 local
    assert window.planned_busy_seconds() == (8 * 60 - 30 - 60) * 60
    # Tuesday 3 March is a holiday: no shift starts that evening.
    assert shift_at(cal, "America/Sao_Paulo", datetime(2026, 3, 4, 4, 0, tzinfo=UTC)) is None
    assert shift_at(cal, "America/Sao_Paulo", datetime(2026, 3, 3, 12, 0, tzinfo=UTC)) is None  # daytime


def test_a_shift_keeps_its_real_length_across_a_clock_change() -> None:
    # Berlin moves its clocks forward on 29 March 2026 at 02:00: the night shift lasts 7 hours.
    night = Shift(name="N", start=time(22), end=time(6), days=["sat"])
    (window,) = shifts_between(
        calendar(night),
        "Europe/Berlin",
        datetime(2026, 3, 28, 22, tzinfo=UTC),
        datetime(2026, 3, 29, 1, tzinfo=UTC),
    )
    assert window.seconds == 7 * 3600


def sample(tag: str, value: object, quality: Quality = Quality.GOOD) -> Sample:
    return Sample(tag=tag, ts_us=0, value=value, quality=quality)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "values", "state"),
    [
        (
            StateFromCode(source="state_code", tag="st", map={1: S.RUNNING, 3: S.STOPPED}),
            {"st": 3},
            S.STOPPED,
        ),
        (StateFromCode(source="state_code", tag="st", map={1: S.RUNNING}), {"st": 9}, S.IDLE),
        (
            StateFromRunningBit(source="running_bit", tag="run", fault_tag="flt"),
            {"run": True, "flt": True},
            S.RUNNING,
        ),
        (
            StateFromRunningBit(source="running_bit", tag="run", fault_tag="flt"),
            {"run": False, "flt": True},
            S.STOPPED,
        ),
        (StateFromRunningBit(source="running_bit", tag="run", setup_tag="su"), {"run": 0, "su": 1}, S.SETUP),
        (StateFromThreshold(source="threshold", tag="rpm", above=100), {"rpm": 4500.0}, S.RUNNING),
        (StateFromThreshold(source="threshold", tag="rpm", above=100), {"rpm": 0.0}, S.IDLE),
        (
            StateFromMTConnect(source="mtconnect", execution="ex", controller_mode="md"),
            {"ex": "ACTIVE", "md": "AUTOMATIC"},
            S.RUNNING,
        ),
        (
            StateFromMTConnect(source="mtconnect", execution="ex", controller_mode="md"),
            {"ex": "READY", "md": "MANUAL"},
            S.SETUP,
        ),
        (StateFromMTConnect(source="mtconnect", execution="ex"), {"ex": "FEED_HOLD"}, S.STOPPED),
        (StateFromMTConnect(source="mtconnect", execution="ex"), {"ex": "UNAVAILABLE"}, S.UNKNOWN),
    ],
)
def test_the_state_rules(rule: object, values: dict[str, object], state: MachineState) -> None:
    assert derive_state(rule, {name: sample(name, value) for name, value in values.items()}) is state  # type: ignore[arg-type]


def test_without_good_data_the_state_is_unknown() -> None:
    rule = StateFromCode(source="state_code", tag="st", map={1: S.RUNNING})
    assert derive_state(rule, {}) is S.UNKNOWN
    assert derive_state(rule, {"st": sample("st", None, Quality.BAD)}) is S.UNKNOWN
    assert derive_state(rule, {"st": sample("st", 1, Quality.UNCERTAIN)}) is S.RUNNING
