"""Downtime reasons: the tree, stops coded and split by operators, planned codings, losses, MTBF/MTTR,
and OEE combined over machines and shifts."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linesight.domain.calendar import shifts_between
from linesight.domain.machine import MachineState, StateSpan
from linesight.domain.oee import combine, compute_oee, losses
from linesight.domain.plant import Break, CalendarConfig, PlantFileError, Shift, parse_plant
from linesight.domain.reasons import (
    DowntimeCode,
    ReasonTree,
    coded_timeline,
    default_downtime_reasons,
    stops,
)

S = MachineState
TREE = ReasonTree(default_downtime_reasons())


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, second, tzinfo=UTC)


def code(start: datetime, reason: str, end: datetime | None = None, *, n: int = 0) -> DowntimeCode:
    return DowntimeCode(
        machine="m1", start=start, end=end, reason=reason, user="ana", coded_at=at(20) + timedelta(seconds=n)
    )


SHIFT = Shift(
    name="A",
    start=time(6),
    end=time(14),
    breaks=[Break(name="meal", start=time(10), duration=30 * 60)],
)
(WINDOW,) = shifts_between(CalendarConfig(shifts=[SHIFT]), "UTC", at(6), at(14))

TIMELINE = [
    StateSpan(start=at(6), end=at(7), state=S.RUNNING),
    StateSpan(start=at(7), end=at(7, 20), state=S.STOPPED),
    StateSpan(start=at(7, 20), end=at(7, 30), state=S.IDLE),  # one stop: stopped then idle
    StateSpan(start=at(7, 30), end=at(8), state=S.RUNNING),
    StateSpan(start=at(8), end=at(8, 1), state=S.STOPPED),  # a micro-stop
    StateSpan(start=at(8, 1), end=at(9), state=S.RUNNING),
    StateSpan(start=at(9), end=at(9, 40), state=S.STOPPED),
    StateSpan(start=at(9, 40), end=at(14), state=S.RUNNING),
]


def test_the_reason_tree_gives_each_reason_its_categorys_defaults_and_labels() -> None:
    jam = TREE["mechanical"]
    assert (jam.category, jam.planned, jam.colour) == ("breakdown", False, "#b03a2e")
    assert jam.label("pt_BR") == "Falha mecânica" and jam.label("en") == "Mechanical failure"
    assert TREE["maintenance"].planned is True
    assert [r.id for r in TREE.reasons("material")] == ["no_material", "wrong_material"]


def test_consecutive_non_running_spans_are_one_stop_and_uncoded_until_coded() -> None:
    found = stops(TIMELINE, [])
    assert [(s.start, s.end) for s in found] == [(at(7), at(7, 30)), (at(8), at(8, 1)), (at(9), at(9, 40))]
    assert found[0].state is S.STOPPED  # 20 min stopped beats 10 min idle
    assert all(not s.coded for s in found) and found[0].uncoded_s == 30 * 60


def test_a_stop_split_into_parts_with_different_reasons_and_a_later_coding_wins() -> None:
    codes = [
        code(at(7), "mechanical", n=1),  # open-ended: the whole stop
        code(at(7, 20), "no_material", at(7, 30), n=2),  # then the last 10 min recoded
    ]
    (first, *_rest) = stops(TIMELINE, codes)
    assert [(p.start, p.end, p.reason) for p in first.parts] == [
        (at(7), at(7, 20), "mechanical"),
        (at(7, 20), at(7, 30), "no_material"),
    ]
    assert first.coded
    # A coding made earlier than another is painted over by it, whatever the order it is given in.
    (again, *_r) = stops(TIMELINE, list(reversed(codes)))
    assert again.parts == first.parts


def test_a_partly_coded_stop_shows_what_is_left_uncoded() -> None:
    found = stops(TIMELINE, [code(at(9), "electrical", at(9, 15))])
    last = found[-1]
    assert [(p.reason, p.seconds) for p in last.parts] == [("electrical", 900), (None, 1500)]
    assert not last.coded and last.uncoded_s == 1500


def test_an_open_stop_is_marked_and_coded_while_it_goes_on() -> None:
    live = [*TIMELINE[:-1], StateSpan(start=at(9, 40), end=at(9, 50), state=S.STOPPED)]
    found = stops(live, [code(at(9), "tooling", n=1)], now=at(9, 50))
    assert found[-1].open and found[-1].coded
    assert found[-1].end == at(9, 50)


HUNDRED: dict[str, Any] = {
    "produced": 100,
    "good": 100,
    "ideal_cycle_s": 60,
    "micro_stop_threshold_s": 120,
}


def test_a_stop_coded_planned_becomes_planned_downtime_for_oee() -> None:
    codes = [code(at(9), "maintenance")]
    plain = compute_oee(
        WINDOW, TIMELINE, produced=100, good=100, ideal_cycle_s=60, micro_stop_threshold_s=120
    )
    coded = compute_oee(
        WINDOW,
        coded_timeline(TIMELINE, codes, TREE),
        produced=100,
        good=100,
        ideal_cycle_s=60,
        micro_stop_threshold_s=120,
    )
    assert plain.planned_busy_s == 450 * 60 and coded.planned_busy_s == 410 * 60
    assert coded.machine_planned_s == 40 * 60
    assert coded.unplanned_downtime_s == plain.unplanned_downtime_s - 40 * 60
    assert coded.availability > plain.availability  # type: ignore[operator]
    # An unplanned reason changes no time: it explains it.
    unplanned = coded_timeline(TIMELINE, [code(at(9), "mechanical")], TREE)
    same = compute_oee(
        WINDOW, unplanned, produced=100, good=100, ideal_cycle_s=60, micro_stop_threshold_s=120
    )
    assert same == plain


def test_losses_rank_reasons_uncoded_stops_micro_stops_speed_and_quality() -> None:
    codes = [code(at(7), "mechanical", at(7, 20)), code(at(9), "no_material", n=1)]
    spans = coded_timeline(TIMELINE, codes, TREE)
    result = compute_oee(WINDOW, spans, produced=300, good=290, ideal_cycle_s=60, micro_stop_threshold_s=120)
    found = stops(TIMELINE, codes)
    bars = losses(WINDOW, found, result, tree=TREE, micro_stop_threshold_s=120)
    table = {(loss.kind, loss.key): (loss.seconds, loss.events) for loss in bars}
    assert table[("reason", "no_material")] == (40 * 60, 1)
    assert table[("reason", "mechanical")] == (20 * 60, 1)
    assert table[("uncoded", "stopped")] == (10 * 60, 1)  # the idle tail of the first stop
    assert table[("micro_stops", "micro_stops")] == (60, 1)
    assert table[("quality", "quality")] == (10 * 60, 1)
    # The speed loss is what production time the ideal cycle does not explain.
    assert table[("speed", "speed")][0] == pytest.approx(result.production_s - 300 * 60)
    assert [b.seconds for b in bars] == sorted((b.seconds for b in bars), reverse=True)


def test_a_stop_through_a_break_loses_only_its_time_outside_the_break() -> None:
    spans = [
        StateSpan(start=at(6), end=at(9, 50), state=S.RUNNING),
        StateSpan(start=at(9, 50), end=at(10, 40), state=S.STOPPED),  # meal 10:00-10:30 inside
        StateSpan(start=at(10, 40), end=at(14), state=S.RUNNING),
    ]
    result = compute_oee(WINDOW, spans, produced=10, good=10, ideal_cycle_s=60, micro_stop_threshold_s=120)
    bars = losses(WINDOW, stops(spans, []), result, tree=TREE, micro_stop_threshold_s=120)
    assert next(b for b in bars if b.kind == "uncoded").seconds == 20 * 60
    assert result.unplanned_downtime_s == 20 * 60


def test_mtbf_and_mttr_count_unplanned_stops_longer_than_micro_stops() -> None:
    result = compute_oee(WINDOW, TIMELINE, produced=1, good=1, ideal_cycle_s=1, micro_stop_threshold_s=120)
    # Failures: the 20 min stopped span and the 40 min stop; the idle wait and the micro-stop are not.
    assert result.failures == 2 and result.failure_s == 60 * 60
    assert result.mttr_s == 30 * 60
    assert result.mtbf_s == pytest.approx(result.production_s / 3)
    idle = compute_oee(WINDOW, [], produced=0, good=0, ideal_cycle_s=1, micro_stop_threshold_s=120)
    assert (idle.mtbf_s, idle.mttr_s) == (None, None)


def test_combined_oee_weighs_times_and_counts_not_percentages() -> None:
    busy = compute_oee(WINDOW, TIMELINE, produced=300, good=290, ideal_cycle_s=60, micro_stop_threshold_s=120)
    short = compute_oee(
        WINDOW,
        [StateSpan(start=at(6), end=at(14), state=S.RUNNING)],
        produced=10_000,
        good=10_000,
        ideal_cycle_s=2,
        micro_stop_threshold_s=120,
    )
    both = combine([busy, short])
    assert both is not None
    assert both.planned_busy_s == busy.planned_busy_s + short.planned_busy_s
    assert both.availability == pytest.approx(
        (busy.production_s + short.production_s) / (busy.planned_busy_s + short.planned_busy_s)
    )
    assert both.performance == pytest.approx(
        (300 * 60 + 10_000 * 2) / (busy.production_s + short.production_s)
    )
    assert both.quality == pytest.approx(10_290 / 10_300)
    assert both.oee == pytest.approx(both.availability * both.performance * both.quality)  # type: ignore[operator]
    assert both.failures == busy.failures
    assert combine([]) is None
    assert combine([busy]) == busy


def test_a_shift_with_no_production_has_no_performance_and_no_quality() -> None:
    spans = [StateSpan(start=at(6), end=at(14), state=S.STOPPED)]
    result = compute_oee(WINDOW, spans, produced=0, good=0, ideal_cycle_s=1, micro_stop_threshold_s=120)
    assert result.availability == 0.0
    assert (result.performance, result.quality, result.oee) == (None, None, None)


def test_a_stop_across_the_shift_boundary_counts_only_inside_the_shift() -> None:
    spans = [
        StateSpan(start=at(5), end=at(6, 30), state=S.STOPPED),  # began in the shift before
        StateSpan(start=at(6, 30), end=at(13, 30), state=S.RUNNING),
        StateSpan(start=at(13, 30), end=at(15), state=S.STOPPED),  # runs into the next shift
    ]
    result = compute_oee(WINDOW, spans, produced=1, good=1, ideal_cycle_s=1, micro_stop_threshold_s=120)
    assert result.unplanned_downtime_s == 60 * 60
    assert result.production_s == (7 * 60 - 30) * 60


PLANT = """\
id: p
sites:
  - id: s
    lines:
      - id: l
        machines:
          - id: m
            driver: simulator
            tags: [{name: t, address: sine}]
"""


def test_a_plant_file_without_reasons_gets_the_built_in_tree_and_a_bad_tree_is_an_error() -> None:
    plant = parse_plant(PLANT, "plant.yaml")
    assert [c.id for c in plant.downtime_reasons][:2] == ["breakdown", "material"]
    bad = PLANT + (
        "downtime_reasons:\n"
        "  - id: breakdown\n"
        "    name: Breakdown\n"
        "    reasons:\n"
        "      - {id: jam, name: Jam}\n"
        "      - {id: jam, name: Jam again}\n"
        "  - id: planned\n"
        "    name: Planned\n"
        "    planned: true\n"
        "    colour: red\n"
        "    reasons: [{id: pm, name: Maintenance}]\n"
    )
    with pytest.raises(PlantFileError) as caught:
        parse_plant(bad, "plant.yaml")
    assert "plant.yaml:19:5: downtime_reasons[1].colour: 'red' is not a colour" in str(caught.value)
    with pytest.raises(PlantFileError) as caught:
        parse_plant(bad.replace("colour: red", "colour: '#aa0000'"), "plant.yaml")
    assert "plant.yaml:15:10: downtime_reasons[0].reasons[1].id: 'jam' is already used" in str(caught.value)


def test_a_coding_until_the_stop_ends_belongs_to_the_stop_it_starts_in() -> None:
    found = stops(TIMELINE, [code(at(7), "mechanical")])
    assert found[0].coded
    assert not found[1].coded and not found[2].coded  # the later stops stay uncoded


STATES = [S.RUNNING, S.IDLE, S.STOPPED, S.SETUP, S.PLANNED_STOP, S.UNKNOWN]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(STATES), st.integers(1, 5400)), min_size=0, max_size=40),
    st.integers(0, 600),
    st.lists(
        st.tuples(
            st.integers(0, 8 * 3600), st.integers(1, 7200), st.sampled_from(["mechanical", "maintenance"])
        )
    ),
)
def test_the_time_model_accounts_for_every_second_of_planned_busy_time(
    pieces: list[tuple[MachineState, int]], threshold: int, coded: list[tuple[int, int, str]]
) -> None:
    spans, cursor = [], at(5)  # from before the shift, possibly past its end
    for state, seconds in pieces:
        spans.append(StateSpan(start=cursor, end=cursor + timedelta(seconds=seconds), state=state))
        cursor = spans[-1].end
    codes = [
        code(at(6) + timedelta(seconds=s), reason, at(6) + timedelta(seconds=s + n), n=i)
        for i, (s, n, reason) in enumerate(coded)
    ]
    timeline = coded_timeline(spans, codes, TREE)
    result = compute_oee(
        WINDOW, timeline, produced=10, good=9, ideal_cycle_s=1, micro_stop_threshold_s=threshold
    )
    accounted = result.production_s + result.setup_s + result.unplanned_downtime_s + result.no_data_s
    assert accounted == pytest.approx(result.planned_busy_s, abs=1e-6)
    assert result.planned_busy_s + result.machine_planned_s == pytest.approx(450 * 60)
    # Coding never changes how much time the timeline covers, only what it counts as.
    assert sum((s.end - s.start).total_seconds() for s in timeline) == pytest.approx(
        sum((s.end - s.start).total_seconds() for s in spans)
    )
    if result.availability is not None:
        assert 0.0 <= result.availability <= 1.0 + 1e-9
