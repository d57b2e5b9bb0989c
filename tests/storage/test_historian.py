"""Historian: sequence numbers, rollups equal to raw, retention and its guard, trends, export, bad files."""

from __future__ import annotations

import math
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linesight.domain.errors import HistorianError
from linesight.domain.tags import Quality, Sample
from linesight.storage import Historian, Resolution, RetentionPolicy, to_us

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
T0_US = to_us(T0)
S = 1_000_000  # µs per second


@pytest.fixture
def historian(tmp_path: Path) -> Historian:
    with Historian(tmp_path / "h.duckdb") as opened:
        yield opened


def series(
    tag: str, seconds: int, value: float = 1.0, start_us: int = T0_US, step_s: float = 1.0
) -> list[Sample]:
    return [Sample(tag=tag, ts_us=start_us + int(i * step_s * S), value=value) for i in range(seconds)]


def as_rows(columns: dict[str, Any]) -> list[dict[str, Any]]:
    """The historian's columns as one dict per row (a NULL as None)."""
    names = list(columns)
    return [
        dict(zip(names, row, strict=True)) for row in zip(*(columns[n].tolist() for n in names), strict=True)
    ]


def test_every_sample_gets_the_next_sequence_number_even_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "h.duckdb"
    with Historian(path) as historian:
        assert historian.append(series("m.a", 10)) == (1, 10)
        assert historian.append(series("m.b", 5)) == (11, 15)
    with Historian(path) as historian:
        assert historian.last_seq == 15
        assert historian.append(series("m.a", 1)) == (16, 16)
        table = historian.raw(["m.a", "m.b"], T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert sorted(table["seq"].tolist()) == list(range(1, 17))


def test_the_sequence_never_restarts_lower_after_retention_deleted_every_row(tmp_path: Path) -> None:
    path = tmp_path / "h.duckdb"
    with Historian(path, retention=RetentionPolicy(raw=timedelta(days=1))) as historian:
        historian.append(series("m.a", 100))
        result = historian.apply_retention(T0 + timedelta(days=2))
        assert result.deleted["raw"] == 100
    with Historian(path) as historian:
        assert historian.stats().raw_rows == 0
        assert historian.append(series("m.a", 1)) == (101, 101)


def test_text_values_and_quality_are_kept_beside_numbers(historian: Historian) -> None:
    historian.append(
        [
            Sample(tag="m.program", ts_us=T0_US, value="O1234"),
            Sample(tag="m.alarm", ts_us=T0_US + S, value="SP9012 SPINDLE OVERLOAD"),
            Sample(tag="m.speed", ts_us=T0_US, value=None, quality=Quality.BAD),
            Sample(tag="m.running", ts_us=T0_US, value=True),
        ]
    )
    rows = historian.raw(["m.program", "m.alarm", "m.speed", "m.running"], T0, T0 + timedelta(minutes=1))
    by_tag = {row["tag"]: row for row in as_rows(rows)}
    assert by_tag["m.program"]["text"] == "O1234" and by_tag["m.program"]["value"] is None
    assert by_tag["m.alarm"]["text"] == "SP9012 SPINDLE OVERLOAD"
    assert by_tag["m.speed"]["quality"] == Quality.BAD and by_tag["m.speed"]["value"] is None
    assert by_tag["m.running"]["value"] == 1.0


# ---------------------------------------------------------------------- rollups


def rollups_from_raw(samples: list[Sample], width_s: int) -> dict[tuple[str, int], dict[str, float]]:
    """The rollup a tag's good numeric samples give per bucket, computed the obvious way."""
    buckets: dict[tuple[str, int], list[Sample]] = defaultdict(list)
    for sample in samples:
        if sample.quality is Quality.BAD or sample.numeric is None or math.isnan(sample.numeric):
            continue
        buckets[(sample.tag, sample.ts_us // (width_s * S) * width_s * S)].append(sample)
    expected = {}
    for key, members in buckets.items():
        values = [m.numeric for m in members]
        first = min(members, key=lambda m: m.ts_us)
        last = max(members, key=lambda m: m.ts_us)
        expected[key] = {
            "n": len(values),
            "sum": sum(values),  # type: ignore[arg-type]
            "min": min(values),  # type: ignore[type-var]
            "max": max(values),  # type: ignore[type-var]
            "first": first.numeric,
            "last": last.numeric,
        }
    return expected


sample_strategy = st.builds(
    Sample,
    tag=st.sampled_from(["m.a", "m.b"]),
    # Distinct times per tag are drawn below; here any second within three hours.
    ts_us=st.integers(min_value=0, max_value=3 * 3600 - 1).map(lambda s: T0_US + s * S + 123),
    value=st.one_of(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
        st.integers(min_value=-1000, max_value=1000),
        st.just("text"),
        st.none(),
        st.just(math.nan),
    ),
    quality=st.sampled_from([Quality.GOOD, Quality.GOOD, Quality.UNCERTAIN, Quality.BAD]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(sample_strategy, min_size=1, max_size=40), min_size=1, max_size=6))
def test_incremental_rollups_equal_rollups_computed_from_raw(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[Sample]]
) -> None:
    # One sample per tag and instant (a device gives one value at a time), batches in any order.
    seen: set[tuple[str, int]] = set()
    unique_batches = []
    for batch in batches:
        kept = [s for s in batch if (s.tag, s.ts_us) not in seen]
        seen.update((s.tag, s.ts_us) for s in kept)
        if kept:
            unique_batches.append(kept)
    everything = [s for batch in unique_batches for s in batch]
    with Historian(tmp_path_factory.mktemp("r") / "h.duckdb") as historian:
        for batch in unique_batches:
            historian.append(batch)
        for resolution, width in ((Resolution.MINUTE, 60), (Resolution.HOUR, 3600)):
            expected = rollups_from_raw(everything, width)
            stored = {}
            for tag in {s.tag for s in everything}:
                for row in as_rows(historian.rollups(resolution, tag)):
                    stored[(tag, row["bucket_us"])] = row
            assert set(stored) == set(expected)
            for key, want in expected.items():
                got = stored[key]
                assert got["n"] == want["n"]
                assert got["sum"] == pytest.approx(want["sum"], rel=1e-9, abs=1e-6)
                assert (got["min"], got["max"]) == (want["min"], want["max"])
                assert (got["first"], got["last"]) == (want["first"], want["last"])


# ---------------------------------------------------------------------- trends


def test_a_trend_over_a_long_window_keeps_a_one_sample_spike_and_dip(historian: Historian) -> None:
    days = 30
    count = days * 86400
    ts = T0_US + np.arange(count, dtype=np.int64) * S
    values = 50.0 + np.sin(np.arange(count) / 3600.0)
    spike_at, dip_at = 1_234_567, 2_000_001
    values[spike_at] = 900.0
    values[dip_at] = -700.0
    historian.append_columns({"tag": np.full(count, "m.temp", dtype=object), "ts": ts, "value": values})
    cases = ((30, 2000, Resolution.MINUTE), (30, 500, Resolution.HOUR), (2, 2000, Resolution.MINUTE))
    for window_days, max_points, resolution in cases:
        start = T0 + timedelta(seconds=spike_at) - timedelta(days=window_days / 2)
        trend = historian.trend(["m.temp"], start, start + timedelta(days=window_days), max_points)["m.temp"]
        assert trend.resolution is resolution
        assert 0 < len(trend) <= max_points
        assert trend.max.max() == 900.0
        assert trend.count.sum() <= count
    start = T0 + timedelta(seconds=dip_at - 1800)
    raw = historian.trend(["m.temp"], start, start + timedelta(hours=1), 2000)["m.temp"]
    assert raw.resolution is Resolution.RAW and len(raw) <= 2000
    assert raw.min.min() == -700.0 and raw.count.sum() == 3600
    assert np.all(raw.min <= raw.avg) and np.all(raw.avg <= raw.max)


def test_a_short_window_returns_the_raw_samples_at_their_times(historian: Historian) -> None:
    historian.append(series("m.a", 600, step_s=1.0))
    historian.append([Sample(tag="m.a", ts_us=T0_US + 30 * S + 1, value=None, quality=Quality.BAD)])
    trend = historian.trend(["m.a"], T0, T0 + timedelta(minutes=10), 2000)["m.a"]
    assert trend.resolution is Resolution.RAW
    assert trend.ts_us.tolist() == [T0_US + i * S for i in range(600)]  # one bucket per sample
    assert set(trend.count.tolist()) == {1}


def test_several_tags_come_back_apart_and_unknown_tags_are_named(historian: Historian) -> None:
    historian.append(series("m.a", 100, value=1.0) + series("m.b", 50, value=2.0))
    result = historian.trend(["m.a", "m.b"], T0, T0 + timedelta(hours=1), 100)
    assert result["m.a"].count.sum() == 100 and result["m.b"].count.sum() == 50
    assert set(result["m.b"].avg.tolist()) == {2.0}
    with pytest.raises(HistorianError, match=r"no tag 'm\.c' in historian .*known: m\.a, m\.b"):
        historian.trend(["m.c"], T0, T0 + timedelta(hours=1))


# ---------------------------------------------------------------------- retention


@pytest.mark.expect_log_warnings
def test_retention_deletes_by_resolution_but_never_rows_the_forwarder_has_not_sent(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    policy = RetentionPolicy(raw=timedelta(days=1), minute=timedelta(days=3), hour=None)
    with Historian(tmp_path / "h.duckdb", retention=policy) as historian:
        for day in range(5):
            historian.append(series("m.a", 120, start_us=T0_US + day * 86400 * S))  # 2 min per day
        forwarded = [360]  # the forwarder has sent rows 1..360 (the first three days)
        historian.set_retention_guard(lambda: forwarded[0])
        now = T0 + timedelta(days=4, hours=12)
        result = historian.apply_retention(now)
        assert result.deleted == {"raw": 360, "1m": 4}  # raw of days 0-2, minutes of days 0-1
        assert result.held_back == 120  # day 3 is older than a day but not forwarded yet
        assert any("not forwarded yet" in r.getMessage() for r in caplog.records)
        forwarded[0] = 600
        assert historian.apply_retention(now).deleted["raw"] == 120
        stats = historian.stats()
        assert (stats.raw_rows, stats.minute_rows, stats.hour_rows) == (120, 6, 5)
        # A window whose raw rows are gone is answered from the rollups that are still there.
        trend = historian.trend(["m.a"], T0 + timedelta(days=2), T0 + timedelta(days=2, hours=1), 2000)
        assert trend["m.a"].resolution is Resolution.MINUTE and trend["m.a"].count.sum() == 120
    warnings = [r for r in caplog.records if "not forwarded yet" in r.getMessage()]
    assert len(warnings) == 1


# ---------------------------------------------------------------------- export


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_round_trip_gives_back_every_stored_sample(
    historian: Historian, tmp_path: Path, fmt: str
) -> None:
    samples = [
        *series("m.a", 300, value=1.25),
        Sample(tag="m.p", ts_us=T0_US + 5 * S, value="O1001"),
        Sample(tag="m.p", ts_us=T0_US + 90 * S, value='O2002, with "quotes"'),
        Sample(tag="m.a", ts_us=T0_US + 400 * S, value=None, quality=Quality.BAD),
    ]
    historian.append(samples)
    out = tmp_path / f"x.{fmt}"
    count = historian.export(["m.a", "m.p"], T0, T0 + timedelta(hours=1), out, fmt)  # type: ignore[arg-type]
    assert count == 303
    # CSV has no null: an empty text cell is read back as missing.
    csv_options = pacsv.ConvertOptions(strings_can_be_null=True)
    table = pq.read_table(out) if fmt == "parquet" else pacsv.read_csv(out, convert_options=csv_options)
    raw = historian.raw(["m.a", "m.p"], T0, T0 + timedelta(hours=1))
    assert table.num_rows == len(raw["seq"]) == 303
    assert table.column("seq").to_pylist() == raw["seq"].tolist()
    assert table.column("tag").to_pylist() == raw["tag"].tolist()
    assert table.column("value").to_pylist() == raw["value"].tolist()
    assert table.column("text").to_pylist() == raw["text"].tolist()
    assert table.column("quality").to_pylist()[-1] == "bad"
    times = table.column("time").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_pylist()
    assert times == raw["ts_us"].tolist()
    assert not list(tmp_path.glob(".*partial"))


def test_a_failed_export_leaves_no_file_behind(historian: Historian, tmp_path: Path) -> None:
    historian.append(series("m.a", 10))
    target = tmp_path / "missing-folder" / "x.csv"
    with pytest.raises(HistorianError, match=r"export from .* failed"):
        historian.export(["m.a"], T0, T0 + timedelta(hours=1), target, "csv")
    assert not target.exists()


# ---------------------------------------------------------------------- files that cannot be used


def test_a_corrupt_file_is_refused_with_its_name_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "plant.duckdb"
    garbage = b"this is not a database " * 500
    path.write_bytes(garbage)
    with pytest.raises(HistorianError) as caught:
        Historian(path).open()
    assert str(path) in str(caught.value) and "damaged or is not a DuckDB file" in str(caught.value)
    assert path.read_bytes() == garbage


def test_a_file_held_by_another_process_is_refused_naming_the_file_and_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    with Historian(path) as historian:
        historian.append(series("m.a", 10))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('ready', flush=True); "
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        for read_only in (False, True):
            with pytest.raises(HistorianError) as caught:
                Historian(path, read_only=read_only).open()
            message = str(caught.value)
            assert str(path) in message and "in use by another process" in message
            assert f"PID {holder.pid}" in message
    finally:
        holder.communicate("", timeout=30)
    with Historian(path) as historian:  # nothing was lost or changed
        assert historian.stats().raw_rows == 10


def test_a_duckdb_file_of_another_application_is_not_taken_over(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE invoices (id INTEGER)")
    con.close()
    before = path.read_bytes()
    with pytest.raises(HistorianError, match=r"not a LineSight historian .*invoices"):
        Historian(path).open()
    assert path.read_bytes() == before


def test_a_historian_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "new.duckdb"
    with Historian(path):
        pass
    con = duckdb.connect(str(path))
    con.execute("UPDATE linesight_meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(HistorianError, match="newer LineSight"):
        Historian(path).open()


def test_append_columns_says_which_columns_are_missing(historian: Historian) -> None:
    with pytest.raises(HistorianError, match=r"missing: \['value'\]"):
        historian.append_columns({"tag": np.array(["m.a"], dtype=object), "ts": np.array([T0_US])})


def test_append_columns_refuses_columns_of_different_lengths_and_bad_times(historian: Historian) -> None:
    with pytest.raises(HistorianError, match=r"tag has 2 rows, but \{'value': 1\}"):
        historian.append_columns({"tag": ["m.a", "m.a"], "ts": [T0_US, T0_US + S], "value": [1.0]})
    with pytest.raises(HistorianError, match="column 'ts': expected datetime64 or int64"):
        historian.append_columns({"tag": ["m.a"], "ts": ["yesterday"], "value": [1.0]})
    with pytest.raises(HistorianError, match="column 'quality': 0 good, 1 uncertain or 2 bad, not 258"):
        historian.append_columns({"tag": ["m.a"], "ts": [T0_US], "value": [1.0], "quality": [258]})
    assert historian.stats().raw_rows == 0


def test_append_columns_keeps_text_quality_and_masked_values(historian: Historian) -> None:
    ts = np.array([T0_US, T0_US + S, T0_US + 2 * S]).astype("datetime64[us]")
    first, last = historian.append_columns(  # type: ignore[misc]
        {
            "tag": ["m.a", "m.b", "m.a"],
            "ts": ts,
            "value": np.ma.masked_array([1.5, 0.0, 2.5], mask=[False, True, False]),
            "text": [None, "O1234", None],
            "quality": [0, 1, 2],
        }
    )
    assert (first, last) == (1, 3)
    rows = as_rows(historian.raw(["m.a", "m.b"], T0, T0 + timedelta(minutes=1)))
    assert [(r["tag"], r["ts_us"], r["value"], r["text"], r["quality"]) for r in rows] == [
        ("m.a", T0_US, 1.5, None, 0),
        ("m.b", T0_US + S, None, "O1234", 1),
        ("m.a", T0_US + 2 * S, 2.5, None, 2),
    ]


def test_close_interrupts_a_read_still_running_on_another_thread(tmp_path: Path) -> None:
    import threading

    import duckdb

    historian = Historian(tmp_path / "h.duckdb")
    historian.open()
    started, outcome = threading.Event(), []

    def long_read() -> None:
        cursor = historian._cursor()
        started.set()
        try:
            cursor.execute("SELECT sum(i) FROM range(100000000000) t(i)").fetchall()
            outcome.append("finished")
        except duckdb.Error as err:
            outcome.append(type(err).__name__)

    reader = threading.Thread(target=long_read)
    reader.start()
    assert started.wait(5)
    historian.close()  # DuckDB refuses to close a busy connection: close() interrupts the read
    reader.join(10)
    assert not reader.is_alive()
    assert outcome and outcome[0] != "finished"
