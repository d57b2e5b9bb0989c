"""The trend plot: live following, history bands, the debounced range signal, cursor, palette, local time."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QCoreApplication, QLocale, QPoint, QPointF, Qt, QTranslator
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot

from linesight.storage.historian import TrendSeries
from linesight.storage.resolution import Resolution
from linesight.widgets.palette import DARK, LIGHT, Palette
from linesight.widgets.trend import (
    BAND_ALPHA,
    MAX_SERIES,
    RANGE_DEBOUNCE_MS,
    SeriesSpec,
    TrendPlot,
    band_colour,
)

pytestmark = pytest.mark.gui

US = 1_000_000
T0 = int(datetime(2025, 11, 13, 12, 0, tzinfo=UTC).timestamp()) * US  # 09:00 in São Paulo
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "widgets"
Emitted = list[tuple[int, int, int]]


@pytest.fixture
def plot(qtbot: QtBot) -> TrendPlot:
    widget = TrendPlot()
    qtbot.addWidget(widget)
    widget.resize(900, 420)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def use_locale() -> Iterator[Callable[[str], None]]:
    saved = QLocale()
    yield lambda name: QLocale.setDefault(QLocale(name))
    QLocale.setDefault(saved)


@pytest.fixture
def use_time_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def use(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()


def record(plot: TrendPlot) -> Emitted:
    emitted: Emitted = []
    plot.rangeChanged.connect(lambda start, end, width: emitted.append((start, end, width)))
    return emitted


def seconds(points: int, start_us: int = T0, step_s: float = 1.0) -> np.ndarray:
    return start_us + (np.arange(points) * step_s * US).astype(np.int64)


def follow_button(plot: TrendPlot) -> QPushButton:
    button = plot.findChild(QPushButton, "trendFollow")
    assert button is not None
    return button


def plot_widget(plot: TrendPlot) -> Any:
    widget = plot.findChild(pg.PlotWidget)
    assert widget is not None
    return widget


def hover(qtbot: QtBot, plot: TrendPlot, ts_us: int) -> None:
    """Move the mouse over the plot to the time ``ts_us``, half-way up, as an operator would."""
    qtbot.wait(20)  # let the layout settle: the value axis widens for its labels
    widget = plot_widget(plot)
    bottom, top = plot.view_box.viewRange()[1]
    scene_pos = plot.view_box.mapViewToScene(QPointF(ts_us / US, (bottom + top) / 2))
    # Qt drops a move to where the pointer already is (the previous test may have left it there).
    QTest.mouseMove(widget.viewport(), QPoint(1, 1))
    QTest.mouseMove(widget.viewport(), widget.mapFromScene(scene_pos))


def wheel(plot: TrendPlot, steps: int) -> None:
    viewport = plot_widget(plot).viewport()
    centre = QPointF(viewport.rect().center())
    event = QWheelEvent(
        centre,
        QPointF(viewport.mapToGlobal(centre.toPoint())),
        QPoint(),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QCoreApplication.sendEvent(viewport, event)


def x_range(plot: TrendPlot) -> tuple[float, float]:
    start, end = plot.view_box.viewRange()[0]
    return float(start), float(end)


def polygon_area(band: Any) -> float:
    area = 0.0
    for polygon in band.path().toSubpathPolygons():
        points = np.array([(point.x(), point.y()) for point in polygon])
        if len(points) > 2:
            x, y = points[:, 0], points[:, 1]
            area += abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))) / 2
    return area


# ---------------------------------------------------------------------------------------- live


def test_live_data_is_drawn_as_given_and_nan_breaks_the_line(plot: TrendPlot) -> None:
    plot.set_series([SeriesSpec(key="m1.load", label="Load", unit="%")])
    ts = seconds(60)
    values = np.linspace(10.0, 70.0, 60)
    values[20:25] = np.nan  # bad quality
    plot.set_live_window(60)
    plot.show_live("m1.load", ts, values)

    x, y = plot.curve("m1.load").getOriginalDataset()
    np.testing.assert_array_equal(x, ts / US)
    np.testing.assert_array_equal(y, values)  # NaN where NaN was given
    drawn = plot.curve("m1.load").getPath().toSubpathPolygons()
    assert len(drawn) == 2  # the gap is not joined across
    assert not plot.band("m1.load").isVisible()


def test_a_longer_interval_than_max_gap_breaks_the_line(plot: TrendPlot) -> None:
    plot.set_series(
        [SeriesSpec(key="a", label="Polled", max_gap_s=3.0), SeriesSpec(key="b", label="On change")]
    )
    ts = np.concatenate([seconds(10), seconds(10, T0 + 30 * US)])  # 20 s without a sample
    plot.set_live_window(60)
    plot.show_live("a", ts, np.ones(20))
    plot.show_live("b", ts, np.ones(20))

    assert len(plot.curve("a").getPath().toSubpathPolygons()) == 2
    assert len(plot.curve("b").getPath().toSubpathPolygons()) == 1  # a value that did not change


def test_live_window_follows_the_newest_point(plot: TrendPlot) -> None:
    plot.set_series([SeriesSpec(key="a", label="A")])
    plot.set_live_window(60)
    plot.show_live("a", seconds(100), np.arange(100.0))
    assert x_range(plot) == pytest.approx(((T0 + 39 * US) / US, (T0 + 99 * US) / US))

    plot.show_live("a", seconds(130), np.arange(130.0))
    assert x_range(plot) == pytest.approx(((T0 + 69 * US) / US, (T0 + 129 * US) / US))
    assert plot.is_following


def test_following_stops_after_a_user_pan_and_resumes_with_the_button(qtbot: QtBot, plot: TrendPlot) -> None:
    plot.set_series([SeriesSpec(key="a", label="A")])
    plot.set_live_window(60)
    plot.show_live("a", seconds(100), np.arange(100.0))
    button = follow_button(plot)
    assert not button.isVisible()
    changes: list[bool] = []
    plot.followingChanged.connect(changes.append)

    plot.view_box.translateBy(x=-30)  # what a drag to the right does
    panned = x_range(plot)
    assert not plot.is_following
    assert button.isVisible()
    assert button.text() == "Follow live"

    plot.show_live("a", seconds(150), np.arange(150.0))
    assert x_range(plot) == pytest.approx(panned)  # the user's view stays

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert plot.is_following
    assert not button.isVisible()
    assert x_range(plot) == pytest.approx(((T0 + 89 * US) / US, (T0 + 149 * US) / US))
    assert changes == [False, True]


def test_following_fits_the_value_axis_to_the_live_window(qtbot: QtBot, plot: TrendPlot) -> None:
    plot.set_series([SeriesSpec(key="a", label="A")])
    plot.set_live_window(60)
    values = np.linspace(0.0, 99.0, 100)  # the value is the second
    plot.show_live("a", seconds(100), values)
    qtbot.wait(20)  # the value axis is fitted before a repaint
    bottom, top = plot.view_box.viewRange()[1]
    assert 30.0 < bottom <= 40.0 and 99.0 <= top < 110.0  # the last minute (40 .. 99), not all of it

    nudged = values.copy()
    nudged[-1] += 0.001  # far less than a pixel
    plot.show_live("a", seconds(100), nudged)
    qtbot.wait(20)
    assert plot.view_box.viewRange()[1] == [bottom, top]  # left as it was: nothing to lay out again

    spiked = np.append(values, 500.0)
    plot.show_live("a", seconds(101), spiked)
    qtbot.wait(20)
    assert plot.view_box.viewRange()[1][1] >= 500.0

    plot.view_box.translateBy(x=-30)  # the user pans: the ViewBox fits what is visible again
    assert not plot.is_following
    assert plot.view_box.autoRangeEnabled()[1]


def test_following_live_never_emits_range_changed(qtbot: QtBot, plot: TrendPlot) -> None:
    plot.set_series([SeriesSpec(key="a", label="A")])
    plot.set_live_window(30)
    emitted = record(plot)
    for points in range(10, 40):
        plot.show_live("a", seconds(points), np.arange(float(points)))
        qtbot.wait(10)
    qtbot.wait(RANGE_DEBOUNCE_MS * 2)
    assert emitted == []


# ---------------------------------------------------------------------------------------- rangeChanged


def test_a_zoom_gesture_emits_range_changed_once_after_the_debounce(qtbot: QtBot, plot: TrendPlot) -> None:
    plot.set_series([SeriesSpec(key="a", label="A")])
    plot.set_live_window(120)
    plot.show_live("a", seconds(120), np.arange(120.0))
    qtbot.wait(RANGE_DEBOUNCE_MS * 2)
    emitted = record(plot)
    start, end = x_range(plot)

    for step in range(1, 6):  # one gesture is a burst of range changes, as the ViewBox gets them
        plot.view_box.setXRange(start + step, end - 2 * step, padding=0)
    assert emitted == []  # still inside the debounce

    qtbot.waitUntil(lambda: len(emitted) == 1, timeout=2000)
    qtbot.wait(RANGE_DEBOUNCE_MS * 2)
    assert emitted == [(*plot.visible_range_us(), plot.plot_width())]
    emitted_start, emitted_end, width = emitted[0]
    assert emitted_start == pytest.approx(round((start + 5) * US), abs=1)
    assert emitted_end == pytest.approx(round((end - 10) * US), abs=1)
    assert width == pytest.approx(plot_widget(plot).getPlotItem().getViewBox().width(), abs=1)
    assert 500 < width < 900


def test_wheel_zoom_changes_time_only_and_emits_once(qtbot: QtBot, plot: TrendPlot) -> None:
    plot.set_series([SeriesSpec(key="a", label="A")])
    plot.set_live_window(120)
    plot.show_live("a", seconds(120), np.sin(np.arange(120.0)))
    qtbot.wait(RANGE_DEBOUNCE_MS * 2)
    emitted = record(plot)
    before = x_range(plot)

    for _ in range(3):
        wheel(plot, 1)
    qtbot.wait(RANGE_DEBOUNCE_MS * 3)

    after = x_range(plot)
    assert after[1] - after[0] < before[1] - before[0]  # zoomed in on time
    assert not plot.is_following
    assert emitted == [(*plot.visible_range_us(), plot.plot_width())]


def test_set_range_emits_range_changed_once_with_that_range(qtbot: QtBot, plot: TrendPlot) -> None:
    emitted = record(plot)
    start, end = T0, T0 + 3600 * US
    plot.set_range(start, end)
    plot.set_range(start, end)  # a second call within the debounce: still one query
    qtbot.waitUntil(lambda: len(emitted) == 1, timeout=2000)
    qtbot.wait(RANGE_DEBOUNCE_MS * 2)
    assert emitted == [(start, end, plot.plot_width())]
    assert not plot.is_following
    assert not follow_button(plot).isVisible()


def test_reset_view_returns_to_the_history_range(qtbot: QtBot, plot: TrendPlot) -> None:
    plot.set_range(T0, T0 + 3600 * US)
    qtbot.wait(RANGE_DEBOUNCE_MS * 2)
    emitted = record(plot)
    plot.view_box.setXRange(T0 / US + 600, T0 / US + 1200, padding=0)
    button = follow_button(plot)
    assert button.isVisible()
    assert button.text() == "Reset view"

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(emitted) == 1, timeout=2000)
    qtbot.wait(RANGE_DEBOUNCE_MS * 2)
    assert plot.visible_range_us() == (T0, T0 + 3600 * US)
    assert emitted == [(T0, T0 + 3600 * US, plot.plot_width())]  # the gesture's emission was debounced away
    assert not button.isVisible()


# ---------------------------------------------------------------------------------------- history


def test_envelope_band_shows_a_single_sample_spike(qtbot: QtBot, plot: TrendPlot) -> None:
    plot.set_series([SeriesSpec(key="a", label="Pressure", unit="bar")])
    buckets = 5000  # more buckets than pixels: the band is downsampled too
    ts = seconds(buckets, step_s=60)
    avg = 50 + np.sin(np.arange(buckets) / 100)
    lo, hi = avg - 1, avg + 1
    hi[3210] = 95.0  # one sample in one bucket
    plot.set_range(int(ts[0]), int(ts[-1]) + 60 * US)
    plot.show_envelope("a", ts, lo, hi, avg, bucket_us=60 * US)
    qtbot.wait(50)

    band = plot.band("a")
    assert band.isVisible()
    top = band.path().boundingRect()
    assert max(top.top(), top.bottom()) == pytest.approx(95.0)
    assert np.nanmax(plot.curve("a").getData()[1]) < 52  # the average alone would hide it
    assert plot.view_box.viewRange()[1][1] >= 95.0  # the value axis makes room for it

    plot.set_cursor(int(ts[3210]) + 30 * US)
    assert plot.cursor_text().splitlines()[1] == f"Pressure: {avg[3210] - 1:.1f} – 95.0 bar"


def test_several_answers_at_once_are_shown_as_one_each(plot: TrendPlot) -> None:
    plot.set_series([SeriesSpec(key="a", label="A"), SeriesSpec(key="b", label="B")])
    ts = seconds(30, step_s=60)
    plot.set_range(int(ts[0]), int(ts[-1]))
    plot.set_cursor(int(ts[10]))
    answers = {
        key: TrendSeries(
            tag=key,
            resolution=Resolution.MINUTE,
            bucket_us=60 * US,
            ts_us=ts,
            min=np.full(30, base - 1.0),
            max=np.full(30, base + 1.0),
            avg=np.full(30, base),
            count=np.full(30, 60),
        )
        for key, base in (("a", 10.0), ("b", 20.0))
    }
    plot.show_trends(answers)

    assert [plot.point_count(key) for key in ("a", "b")] == [30, 30]
    assert plot.band("a").isVisible() and plot.band("b").isVisible()
    assert plot.cursor_text().splitlines()[1:] == ["A: 9.0 – 11.0", "B: 19.0 – 21.0"]


def test_band_collapses_onto_the_line_for_buckets_of_one_sample(plot: TrendPlot) -> None:
    plot.set_series([SeriesSpec(key="a", label="A")])
    ts = seconds(50, step_s=60)
    values = np.cos(np.arange(50) / 5)
    plot.set_range(int(ts[0]), int(ts[-1]))
    plot.show_envelope("a", ts, values, values, values, bucket_us=60 * US)

    assert polygon_area(plot.band("a")) == pytest.approx(0.0, abs=1e-9)
    plot.set_cursor(int(ts[10]))
    assert plot.cursor_text().splitlines()[1] == f"A: {values[10]:.1f}"


def test_missing_buckets_break_the_average_and_the_band(plot: TrendPlot) -> None:
    plot.set_series([SeriesSpec(key="a", label="A", max_gap_s=5)])
    ts = np.concatenate([seconds(30, step_s=60), seconds(30, T0 + 3600 * US, step_s=60)])  # an hour lost
    values = np.ones(60)
    plot.set_range(int(ts[0]), int(ts[-1]))
    plot.show_envelope("a", ts, values - 1, values + 1, values, bucket_us=60 * US)

    assert len(plot.curve("a").getPath().toSubpathPolygons()) == 2
    assert len(plot.band("a").path().toSubpathPolygons()) == 2
    plot.set_cursor(T0 + 45 * 60 * US)  # inside the lost hour
    assert plot.cursor_text().splitlines()[1] == "A: —"


# ---------------------------------------------------------------------------------------- cursor


@pytest.mark.parametrize(
    ("locale", "expected"), [("pt_BR", "Speed: 1.234,5 rpm"), ("en_US", "Speed: 1,234.5 rpm")]
)
def test_cursor_shows_the_value_under_the_mouse_in_the_locale_format(
    qtbot: QtBot, plot: TrendPlot, use_locale: Callable[[str], None], locale: str, expected: str
) -> None:
    use_locale(locale)
    plot.set_series([SeriesSpec(key="s", label="Speed", unit="rpm", decimals=1)])
    values = np.full(60, 1000.0)
    values[30] = 1234.5
    plot.set_live_window(60)
    plot.show_live("s", seconds(60), values)

    hover(qtbot, plot, T0 + 30 * US + 200_000)  # nearer sample 30 than 31
    qtbot.waitUntil(lambda: plot.cursor_text() != "", timeout=1000)

    lines = plot.cursor_text().splitlines()
    assert lines[1] == expected
    label = plot_widget(plot).viewport().findChild(QLabel, "trendCursor")
    assert label.isVisible()
    assert expected.replace(" ", "&nbsp;") in label.text()
    assert ("13/11/2025" if locale == "pt_BR" else "11/13/25") in lines[0]


# ---------------------------------------------------------------------------------------- look


def test_switching_the_palette_recolours_everything(plot: TrendPlot) -> None:
    plot.set_series([SeriesSpec(key="a", label="A"), SeriesSpec(key="b", label="B", colour_index=5)])
    plot.show_envelope("b", seconds(10), np.zeros(10), np.ones(10), np.full(10, 0.5))

    for palette in (DARK, LIGHT, DARK):
        plot.apply_palette(palette)
        assert plot.current_palette is palette
        assert plot.curve("a").opts["pen"].color().name() == palette.trend_lines[0]
        assert plot.curve("b").opts["pen"].color().name() == palette.trend_lines[5]
        brush = plot.band("b").brush().color()
        assert (brush.name(), brush.alpha()) == (band_colour(palette.trend_lines[5], palette.panel), 255)
        assert plot.band("b").zValue() < plot.curve("a").zValue()  # every line stays above every band
        item = plot_widget(plot).getPlotItem()
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            assert axis.textPen().color().name() == palette.text_muted
            assert axis.tickPen().color().name() == palette.grid  # the grid lines
        assert plot_widget(plot).backgroundBrush().color().name() == palette.panel
        corner = plot.grab().toImage().pixelColor(2, plot.height() - 2)
        assert corner.name() == palette.panel


def test_time_axis_speaks_local_time(
    plot: TrendPlot, use_time_zone: Callable[[str], None], use_locale: Callable[[str], None]
) -> None:
    use_locale("en_US")
    axis = plot_widget(plot).getPlotItem().getAxis("bottom")

    def labels(start_us: int, span_s: float) -> list[str]:
        start = start_us / US
        out: list[str] = []
        for spacing, values in axis.tickValues(start, start + span_s, plot.plot_width()):
            out += axis.tickStrings(values, 1.0, spacing)
        return out

    use_time_zone("America/Sao_Paulo")
    plot.set_range(T0 - 1800 * US, T0 + 1800 * US)
    assert "09:00" in labels(T0 - 1800 * US, 3600)  # 12:00 UTC
    use_time_zone("Asia/Tokyo")
    assert "21:00" in labels(T0 - 1800 * US, 3600)

    # Tokyo's midnight falls inside 14:30-15:30 UTC: the caption names both local dates.
    plot.set_range(T0 + 9000 * US, T0 + 12600 * US)
    assert axis.labelText == "11/13/25 – 11/14/25"

    assert all(re.fullmatch(r"\d\d:\d\d:\d\d", text) for text in labels(T0, 20))
    assert {"Dec", "Jan"} <= set(labels(T0, 90 * 86400))  # months, in the locale's words
    use_locale("pt_BR")
    assert {"dez.", "jan."} <= set(labels(T0, 90 * 86400))


def test_language_change_relabels_the_button_and_the_legend(qtbot: QtBot, plot: TrendPlot) -> None:
    class Portuguese(QTranslator):
        words: ClassVar[dict[str, str]] = {"Follow live": "Seguir ao vivo", "%1 (%2)": "%1 [%2]"}

        def translate(self, context: str, source: str, disambiguation: str | None = None, n: int = -1) -> str:
            return self.words.get(source, "") if context == "TrendPlot" else ""

        def isEmpty(self) -> bool:
            return False

    plot.set_series([SeriesSpec(key="a", label="Speed", unit="rpm")])
    legend = plot.findChild(QLabel, "trendLegend")
    assert "Speed&nbsp;(rpm)" in legend.text()
    translator = Portuguese()
    assert QCoreApplication.installTranslator(translator)
    try:
        qtbot.waitUntil(lambda: follow_button(plot).text() == "Seguir ao vivo", timeout=2000)
        assert "Speed&nbsp;[rpm]" in legend.text()
    finally:
        QCoreApplication.removeTranslator(translator)
    qtbot.waitUntil(lambda: follow_button(plot).text() == "Follow live", timeout=2000)


def test_series_are_limited_to_eight_with_unique_keys(plot: TrendPlot) -> None:
    with pytest.raises(ValueError, match="at most 8"):
        plot.set_series([SeriesSpec(key=f"t{i}", label=str(i)) for i in range(MAX_SERIES + 1)])
    with pytest.raises(ValueError, match="once"):
        plot.set_series([SeriesSpec(key="a", label="A"), SeriesSpec(key="a", label="B")])
    plot.set_series([SeriesSpec(key="a", label="A")])
    with pytest.raises(KeyError, match="no series 'b'"):
        plot.show_live("b", seconds(2), np.ones(2))
    with pytest.raises(ValueError, match="one value per timestamp"):
        plot.show_live("a", seconds(3), np.ones(2))


def test_eight_series_of_an_hour_draw_about_two_points_per_pixel(qtbot: QtBot, plot: TrendPlot) -> None:
    specs = [SeriesSpec(key=f"t{i}", label=f"Tag {i}") for i in range(MAX_SERIES)]
    plot.set_series(specs)
    plot.set_live_window(3600)
    rng = np.random.default_rng(7)
    ts = seconds(3600)
    for i, spec in enumerate(specs):
        plot.show_live(spec.key, ts, i * 10 + rng.normal(0, 1, 3600))
    qtbot.wait(20)

    width = plot.plot_width()
    for spec in specs:
        drawn_x, _ = plot.curve(spec.key).getData()
        # Peak downsampling: a min and a max per group of whole samples, about a group per pixel.
        assert len(drawn_x) <= 2.5 * width
    started = time.perf_counter()
    plot.grab()
    assert time.perf_counter() - started < 1.0  # generous: a few ms on a desktop


def test_a_decimated_line_keeps_its_spikes_and_its_newest_sample(qtbot: QtBot, plot: TrendPlot) -> None:
    plot.set_series([SeriesSpec(key="a", label="A")])
    plot.set_live_window(3600)
    values = np.zeros(3601)
    values[1234] = 50.0  # one sample
    values[-1] = -7.0  # the newest, which need not fill a group of its own
    plot.show_live("a", seconds(3601), values)
    qtbot.wait(20)

    drawn_x, drawn_y = plot.curve("a").getData()
    assert len(drawn_x) <= 2.5 * plot.plot_width()
    assert drawn_y.max() == 50.0
    assert drawn_y.min() == -7.0
    assert drawn_x[-1] > (T0 + 3590 * US) / US


def test_save_png_writes_the_snapshot(tmp_path: Path, plot: TrendPlot) -> None:
    target = tmp_path / "trend.png"
    plot.save_png(target)
    assert target.read_bytes().startswith(b"\x89PNG")


# ---------------------------------------------------------------------------------------- screenshots


def _live_demo(plot: TrendPlot) -> None:
    plot.set_series(
        [
            SeriesSpec(key="m1.load", label="Spindle load", unit="%"),
            SeriesSpec(key="m1.coolant", label="Coolant temperature", unit="°C"),
            SeriesSpec(key="m1.hydraulic", label="Hydraulic pressure", unit="bar"),
        ]
    )
    rng = np.random.default_rng(1)
    n = 600
    ts = seconds(n)
    steps = np.arange(n)
    load = 55 + 10 * np.sin(steps / 40) + rng.normal(0, 1.5, n)
    coolant = 38 + np.cumsum(rng.normal(0, 0.05, n))
    hydraulic = 62 + 3 * np.sin(steps / 90) + rng.normal(0, 0.3, n)
    hydraulic[300:340] = np.nan  # communication lost for 40 s
    plot.set_live_window(600)
    plot.show_live("m1.load", ts, load)
    plot.show_live("m1.coolant", ts, coolant)
    plot.show_live("m1.hydraulic", ts, hydraulic)
    plot.set_cursor(int(ts[120]))


def _history_demo(plot: TrendPlot) -> None:
    plot.set_series(
        [
            SeriesSpec(key="m1.load", label="Spindle load", unit="%", max_gap_s=60),
            SeriesSpec(key="m1.coolant", label="Coolant temperature", unit="°C", max_gap_s=60),
        ]
    )
    rng = np.random.default_rng(2)
    buckets, width_us = 720, 120 * US  # 24 h at the plot's width, as the historian answers it
    start = T0 - 12 * 3600 * US
    ts = seconds(buckets, start, step_s=120)
    hours = np.arange(buckets) / 30
    avg = 60 + 15 * np.sin(hours / 24 * 2 * np.pi * 3) + rng.normal(0, 1, buckets)
    spread = np.abs(rng.normal(4, 1.5, buckets))
    lo, hi = avg - spread, avg + spread
    hi[400] = 118.0  # one overload sample in two minutes
    keep = (hours < 9) | (hours >= 10.5)  # 90 minutes lost (bad quality is not stored)
    temp = 36 + 4 * np.sin(hours / 24 * 2 * np.pi) + rng.normal(0, 0.2, buckets)
    plot.set_range(start, start + 24 * 3600 * US)
    plot.show_envelope("m1.load", ts[keep], lo[keep], hi[keep], avg[keep], bucket_us=width_us)
    plot.show_envelope(
        "m1.coolant", ts[keep], temp[keep] - 0.3, temp[keep] + 0.3, temp[keep], bucket_us=width_us
    )
    plot.set_cursor(int(ts[150]) + 60 * US)


@pytest.mark.parametrize("palette", [LIGHT, DARK], ids=lambda palette: palette.name)
def test_screenshots_of_live_and_history_in_both_themes(
    qtbot: QtBot,
    palette: Palette,
    use_locale: Callable[[str], None],
    use_time_zone: Callable[[str], None],
) -> None:
    use_locale("en_US")
    use_time_zone("America/Sao_Paulo")  # the same labels on every machine
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, fill in (("live", _live_demo), ("history", _history_demo)):
        plot = TrendPlot(palette=palette)
        qtbot.addWidget(plot)
        plot.resize(1000, 440)
        plot.show()
        qtbot.waitExposed(plot)
        fill(plot)
        qtbot.wait(50)
        target = SCREENSHOTS / f"trend-{name}-{palette.name}.png"
        plot.save_png(target)
        image = plot.grab().toImage()
        assert image.width() >= 1000
        assert QColor(image.pixelColor(2, image.height() - 2)).name() == palette.panel
        assert target.stat().st_size > 10_000
        plot.close()


def test_a_zoom_moves_the_band_without_rebuilding_it_and_fits_the_value_axis(
    qtbot: QtBot, plot: TrendPlot
) -> None:
    plot.set_series([SeriesSpec(key="a", label="A")])
    ts = seconds(2000)
    value = np.sin(np.arange(2000) / 50.0)
    plot.set_range(int(ts[0]), int(ts[-1]))
    plot.show_envelope("a", ts, value - 0.5, value + 0.5, value, bucket_us=US)
    band = plot.band("a")
    outline = band.path()
    assert outline.boundingRect().top() == pytest.approx(value.min() - 0.5, abs=0.01)
    assert outline.boundingRect().bottom() == pytest.approx(value.max() + 0.5, abs=0.01)

    plot.view_box.setXRange(ts[0] / US, ts[100] / US, padding=0)  # a zoom, as a wheel turn does
    qtbot.wait(20)  # the value axis fits at the next paint
    assert band.path() is outline  # a view change rebuilds nothing
    visible = value[:101]  # sin(0 .. 2): 0 .. 1, where all of it spans -1 .. 1
    bottom, top = plot.view_box.viewRange()[1]
    assert bottom <= visible.min() - 0.5 and top >= visible.max() + 0.5
    assert top - bottom < 2.5  # the visible buckets' range (2) with a little room, not all of it (3)


def band_pixels(plot: TrendPlot, key: str, x_s: float, y_range: tuple[float, float]) -> int:
    """How many pixels of the band's colour the plot shows in the column at ``x_s`` over ``y_range``."""
    image = plot.grab().toImage()
    widget = plot_widget(plot)
    colour = plot.band(key).brush().color().name()
    low, high = y_range
    count = 0
    for y in np.linspace(low, high, 60):
        at = widget.mapTo(plot, widget.mapFromScene(plot.view_box.mapViewToScene(QPointF(x_s, y))))
        count += QColor(image.pixelColor(at)).name() == colour
    return count


def test_bands_are_painted_at_any_density(qtbot: QtBot, plot: TrendPlot) -> None:
    plot.set_series([SeriesSpec(key="a", label="A")])
    buckets = 2000
    ts = seconds(buckets, step_s=60)
    avg = np.full(buckets, 50.0)
    lo, hi = avg - 10, avg + 10
    hi[1000] = 95.0  # one spike, in a bucket far narrower than a pixel at first
    plot.set_range(int(ts[0]), int(ts[-1]) + 60 * US)
    plot.show_envelope("a", ts, lo, hi, avg, bucket_us=60 * US)
    qtbot.wait(50)
    spike_s = (ts[1000] + 30 * US) / US
    assert plot.plot_width() < buckets / 2  # several buckets a pixel: rectangles at least a pixel wide
    assert band_pixels(plot, "a", spike_s, (62, 92)) > 40  # the spike is drawn, whole
    assert band_pixels(plot, "a", ts[500] / US, (62, 92)) == 0  # above the band elsewhere
    assert band_pixels(plot, "a", ts[500] / US, (42, 48)) > 40

    plot.view_box.setXRange(ts[990] / US, ts[1030] / US, padding=0)  # buckets many pixels wide: a polygon
    qtbot.wait(50)
    assert band_pixels(plot, "a", ts[1000] / US, (62, 92)) > 40  # the polygon peaks at the bucket's time
    assert band_pixels(plot, "a", ts[1020] / US, (42, 48)) > 40


def test_a_band_is_its_line_colour_mixed_into_the_background() -> None:
    assert band_colour("#000000", "#ffffff") == QColor(191, 191, 191).name()  # 64/255 of black over white
    assert band_colour("#ff0000", "#000000") == QColor(BAND_ALPHA, 0, 0).name()
