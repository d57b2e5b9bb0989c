"""The OEE gauge, the machine tile and the state timeline: their words, numbers, colours and input."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QLocale, QPoint, Qt, QTranslator
from PySide6.QtGui import QColor, QHelpEvent, QImage
from PySide6.QtWidgets import QApplication, QGridLayout, QHBoxLayout, QToolTip, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from linesight.domain.calendar import Interval, ShiftWindow
from linesight.domain.machine import MachineState
from linesight.domain.oee import OeeResult, StateSpan
from linesight.runtime.machines import MachineStatus
from linesight.widgets.gauge import OeeGauge
from linesight.widgets.palette import DARK, LIGHT, Palette
from linesight.widgets.tile import MachineTile
from linesight.widgets.timeline import StateTimeline

pytestmark = pytest.mark.gui

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "widgets"
NOW = datetime(2026, 3, 2, 13, 30, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)


# ---------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _locale() -> Iterator[None]:
    """Each test starts in English number formats and leaves the process default as it found it."""
    before = QLocale()
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
    yield
    QLocale.setDefault(before)


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The computer's local zone set to São Paulo (UTC-3 all year), so that local hours are known."""
    monkeypatch.setenv("TZ", "America/Sao_Paulo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class _Portuguese(QTranslator):
    """A stand-in for the pt-BR .qm file the app will ship: a few words, looked up like Qt does."""

    WORDS: ClassVar[dict[tuple[str, str], str]] = {
        ("MachineState", "Stopped"): "Parada",
        ("MachineState", "Running"): "Em operação",
        ("MachineState", "No data"): "Sem dados",
        ("MachineTile", "%1 for %2"): "%1 há %2",
        ("MachineTile", "Parts"): "Peças",
        ("StateTimeline", "No shift running"): "Nenhum turno em andamento",
        ("StateTimeline", "Break"): "Pausa",
    }

    def translate(
        self, context: str, source: str, disambiguation: str | None = None, n: int = -1
    ) -> str | None:
        return self.WORDS.get((context, source))

    def isEmpty(self) -> bool:
        # An empty translator would not send LanguageChange when installed.
        return False


@pytest.fixture
def portuguese(qapp: QApplication) -> Iterator[None]:
    """Switch to Portuguese as the app does: the locale's default, then the translator."""
    translator = _Portuguese()
    QLocale.setDefault(QLocale(QLocale.Language.Portuguese, QLocale.Country.Brazil))
    qapp.installTranslator(translator)
    yield
    qapp.removeTranslator(translator)


def oee(availability: float | None, performance: float = 1.0, quality: float = 1.0) -> OeeResult:
    return OeeResult(
        planned_busy_s=3600.0,
        production_s=3000.0,
        setup_s=0.0,
        unplanned_downtime_s=600.0,
        micro_stop_s=0.0,
        micro_stops=0,
        no_data_s=0.0,
        machine_planned_s=0.0,
        produced=100,
        good=100,
        ideal_cycle_s=30.0,
        availability=availability,
        performance=performance,
        quality=quality,
    )


def status(
    state: MachineState,
    *,
    machine: str = "press-01",
    minutes: float = 12,
    availability: float | None = 0.873,
    parts: int | None = 12345,
) -> MachineStatus:
    return MachineStatus(
        machine=machine,
        state=state,
        since=NOW - timedelta(minutes=minutes),
        shift=None,
        timeline=(),
        parts=parts,
        rejects=0,
        oee=oee(availability),
    )


def shown(qtbot: QtBot, widget: QWidget) -> QWidget:
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def image(widget: QWidget) -> QImage:
    return widget.grab().toImage()


def colour_at(widget: QWidget, x: float, y: float) -> str:
    return image(widget).pixelColor(round(x), round(y)).name()


def count_colour(picture: QImage, colour: str) -> int:
    wanted = QColor(colour).rgb()
    return sum(
        1 for y in range(picture.height()) for x in range(picture.width()) if picture.pixel(x, y) == wanted
    )


# ---------------------------------------------------------------------- the machine tile


def make_tile(qtbot: QtBot, palette: Palette = LIGHT) -> MachineTile:
    tile = MachineTile("press-01", "Press 01", palette=palette)
    shown(qtbot, tile)
    return tile


def test_a_running_tile_shows_its_state_age_oee_and_parts_in_english(qtbot: QtBot) -> None:
    tile = make_tile(qtbot)
    tile.update_status(status(MachineState.RUNNING, minutes=125), now=NOW)

    content = tile.content()
    assert content.name == "Press 01"
    assert content.state == "Running for 2 h 05 min"
    assert content.oee == "87.3 %"
    assert content.parts == "12,345"
    assert content.alarms is None
    assert content.band is None
    assert not content.no_data


def test_a_stopped_tile_says_for_how_long_and_has_the_stopped_band(qtbot: QtBot) -> None:
    tile = make_tile(qtbot)
    tile.update_status(status(MachineState.STOPPED, minutes=12), now=NOW)

    content = tile.content()
    assert content.state == "Stopped for 12 min"
    assert content.band == LIGHT.stopped


def test_the_stopped_band_is_painted_and_a_running_tile_has_none(qtbot: QtBot) -> None:
    tile = make_tile(qtbot)
    tile.update_status(status(MachineState.STOPPED), now=NOW)
    assert colour_at(tile, 4, 30) == LIGHT.stopped  # left of the name, inside the band

    tile.update_status(status(MachineState.RUNNING), now=NOW)
    assert colour_at(tile, 4, 30) == LIGHT.panel


def test_the_tile_switches_palette_at_runtime(qtbot: QtBot) -> None:
    tile = make_tile(qtbot)
    tile.update_status(status(MachineState.STOPPED), now=NOW)
    tile.apply_palette(DARK)

    assert colour_at(tile, 4, 30) == DARK.stopped
    assert colour_at(tile, 4, tile.height() - 20) == DARK.panel


@pytest.mark.parametrize(
    ("state", "connected"), [(MachineState.RUNNING, False), (MachineState.UNKNOWN, True)]
)
def test_a_tile_without_data_shows_dashes_and_a_magenta_border(
    qtbot: QtBot, state: MachineState, connected: bool
) -> None:
    tile = make_tile(qtbot)
    tile.update_status(status(state), now=NOW, connected=connected)

    content = tile.content()
    assert content.no_data
    assert (content.state, content.oee, content.parts) == ("No data", "—", "—")
    assert colour_at(tile, 1, tile.height() // 2) == LIGHT.bad_quality
    assert colour_at(tile, tile.width() // 2, tile.height() - 2) == LIGHT.bad_quality


def test_a_tile_before_its_first_status_shows_no_data(qtbot: QtBot) -> None:
    tile = make_tile(qtbot)
    assert tile.content().no_data
    assert tile.content().state == "No data"


def test_a_machine_without_oee_or_counter_shows_dashes_for_them(qtbot: QtBot) -> None:
    tile = make_tile(qtbot)
    tile.update_status(status(MachineState.RUNNING, availability=None, parts=None), now=NOW)
    assert (tile.content().oee, tile.content().parts) == ("—", "—")
    assert not tile.content().no_data


def test_the_tile_formats_numbers_in_the_portuguese_locale(qtbot: QtBot) -> None:
    QLocale.setDefault(QLocale(QLocale.Language.Portuguese, QLocale.Country.Brazil))
    tile = make_tile(qtbot)
    tile.update_status(status(MachineState.RUNNING), now=NOW)
    assert tile.content().oee == "87,3 %"
    assert tile.content().parts == "12.345"


@pytest.mark.usefixtures("portuguese")
def test_the_tile_speaks_portuguese_once_a_translator_is_installed(qtbot: QtBot) -> None:
    tile = make_tile(qtbot)
    tile.update_status(status(MachineState.STOPPED, minutes=12), now=NOW)
    assert tile.content().state == "Parada há 12 min"

    tile.update_status(status(MachineState.STOPPED), now=NOW, connected=False)
    assert tile.content().state == "Sem dados"


def test_the_tile_relabels_itself_on_a_language_change(qtbot: QtBot, qapp: QApplication) -> None:
    tile = make_tile(qtbot)
    tile.update_status(status(MachineState.STOPPED, minutes=12), now=NOW)
    assert tile.accessibleDescription() == "Stopped for 12 min"

    translator = _Portuguese()
    qapp.installTranslator(translator)
    try:
        qtbot.waitUntil(lambda: tile.accessibleDescription() == "Parada há 12 min")
    finally:
        qapp.removeTranslator(translator)
    qtbot.waitUntil(lambda: tile.accessibleDescription() == "Stopped for 12 min")


def test_a_click_on_the_tile_opens_its_machine(qtbot: QtBot) -> None:
    tile = make_tile(qtbot)
    with qtbot.waitSignal(tile.opened, timeout=1000) as opened:
        qtbot.mouseClick(tile, Qt.MouseButton.LeftButton)
    assert opened.args == ["press-01"]
    assert tile.machine_id == "press-01"


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space])
def test_enter_or_space_on_a_focused_tile_opens_its_machine(qtbot: QtBot, key: Qt.Key) -> None:
    tile = make_tile(qtbot)
    tile.setFocus()
    assert tile.focusPolicy() & Qt.FocusPolicy.TabFocus
    with qtbot.waitSignal(tile.opened, timeout=1000) as opened:
        qtbot.keyClick(tile, key)
    assert opened.args == ["press-01"]


def test_the_tile_is_a_large_touch_target(qtbot: QtBot) -> None:
    tile = make_tile(qtbot)
    assert tile.size().width() >= 200
    assert tile.size().height() >= 140
    assert tile.minimumSizeHint().height() >= 48


def test_the_alarm_badge_shows_only_for_active_alarms(qtbot: QtBot) -> None:
    tile = make_tile(qtbot)
    tile.update_status(status(MachineState.RUNNING), now=NOW, alarms=0)
    assert tile.content().alarms is None
    assert count_colour(image(tile), LIGHT.alarm_high) == 0

    tile.update_status(status(MachineState.RUNNING), now=NOW, alarms=3)
    assert tile.content().alarms == "3"
    assert count_colour(image(tile), LIGHT.alarm_high) > 100
    assert tile.accessibleDescription() == "Running for 12 min, 3 active alarms"


def test_the_tile_refuses_another_machines_status(qtbot: QtBot) -> None:
    tile = make_tile(qtbot)
    with pytest.raises(ValueError, match="cnc-02"):
        tile.update_status(status(MachineState.RUNNING, machine="cnc-02"), now=NOW)


# ---------------------------------------------------------------------- the OEE gauge


def make_gauge(qtbot: QtBot, palette: Palette = LIGHT) -> OeeGauge:
    gauge = OeeGauge("OEE", palette=palette)
    gauge.resize(160, 160)
    shown(qtbot, gauge)
    return gauge


def arc_top(gauge: OeeGauge) -> tuple[float, float]:
    """A point in the middle of the ring's width at twelve o'clock (a value of 0.5)."""
    side = min(gauge.width(), gauge.height())
    margin, thickness = max(3.0, side * 0.03), max(6.0, side * 0.085)
    return gauge.width() / 2, (gauge.height() - side) / 2 + margin + thickness / 2


def test_the_gauge_shows_a_dash_and_no_arc_without_a_value(qtbot: QtBot) -> None:
    gauge = make_gauge(qtbot)
    gauge.set_value(None)
    assert gauge.value_text() == "—"
    assert colour_at(gauge, *arc_top(gauge)) == LIGHT.border  # the bare track

    gauge.set_value(0.875)
    assert colour_at(gauge, *arc_top(gauge)) == LIGHT.text_muted  # the value arc, a dark grey


def test_the_gauge_shows_the_value_with_the_locales_decimal_separator(qtbot: QtBot) -> None:
    gauge = make_gauge(qtbot)
    gauge.set_value(0.875)
    assert gauge.value_text() == "87.5 %"

    QLocale.setDefault(QLocale(QLocale.Language.Portuguese, QLocale.Country.Brazil))
    assert gauge.value_text() == "87,5 %"


@pytest.mark.usefixtures("portuguese")
def test_the_gauge_redescribes_itself_on_a_language_change(qtbot: QtBot) -> None:
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
    gauge = make_gauge(qtbot)
    gauge.set_value(0.875)
    QLocale.setDefault(QLocale(QLocale.Language.Portuguese, QLocale.Country.Brazil))
    QCoreApplication.sendEvent(gauge, QEvent(QEvent.Type.LanguageChange))
    assert gauge.accessibleDescription() == "87,5 %"


def test_the_gauge_paints_its_target_tick(qtbot: QtBot) -> None:
    gauge = make_gauge(qtbot)
    gauge.set_value(None)
    gauge.set_target(0.5)  # straight up
    assert colour_at(gauge, *arc_top(gauge)) == LIGHT.text
    gauge.set_target(None)
    assert colour_at(gauge, *arc_top(gauge)) == LIGHT.border


def test_the_gauge_keeps_a_value_above_one_in_its_digits_and_fills_the_arc(qtbot: QtBot) -> None:
    gauge = make_gauge(qtbot)
    gauge.set_value(1.04)  # performance over 100 %: a wrong ideal cycle time, shown as it is
    assert gauge.value_text() == "104.0 %"
    assert colour_at(gauge, *arc_top(gauge)) == LIGHT.text_muted


def test_the_gauge_switches_palette_at_runtime(qtbot: QtBot) -> None:
    gauge = make_gauge(qtbot)
    gauge.apply_palette(DARK)
    assert colour_at(gauge, 2, 2) == DARK.panel


# ---------------------------------------------------------------------- the state timeline

SHIFT = ShiftWindow(
    name="A",
    start=at(9),
    end=at(17),
    breaks=(Interval(start=at(12), end=at(12, 30)),),
    planned_stops=(Interval(start=at(15), end=at(15, 30)),),
)
SPANS = (
    StateSpan(start=at(9), end=at(11), state=MachineState.RUNNING),
    StateSpan(start=at(11), end=at(11, 40), state=MachineState.STOPPED),
    StateSpan(start=at(11, 40), end=NOW, state=MachineState.RUNNING),
)


def make_timeline(qtbot: QtBot, palette: Palette = LIGHT) -> StateTimeline:
    timeline = StateTimeline(palette=palette)
    timeline.resize(640, 88)
    timeline.set_shift(SHIFT)
    timeline.set_spans(SPANS, NOW)
    shown(qtbot, timeline)
    return timeline


def test_the_timeline_paints_a_stop_in_the_stopped_colour_where_it_happened(qtbot: QtBot) -> None:
    timeline = make_timeline(qtbot)
    bar = timeline.bar_rect()
    middle = bar.center().y()
    start = bar.left() + 2 / 8 * bar.width()  # 11:00 in a shift of 09:00 to 17:00
    end = bar.left() + (2 + 40 / 60) / 8 * bar.width()
    assert timeline.x_at(at(11)) == pytest.approx(start)

    assert colour_at(timeline, start + 3, middle) == LIGHT.stopped
    assert colour_at(timeline, end - 3, middle) == LIGHT.stopped
    running = timeline.state_colour(MachineState.RUNNING).name()
    assert colour_at(timeline, start - 3, middle) == running
    assert colour_at(timeline, end + 3, middle) == running
    assert QColor(running).saturation() == 0  # ISA-101: normal running is grey


def test_the_timeline_hatches_breaks_and_leaves_the_future_empty(qtbot: QtBot) -> None:
    timeline = make_timeline(qtbot)
    bar = timeline.bar_rect()
    picture = image(timeline)

    def row(start: datetime, end: datetime) -> set[str]:
        xs = range(round(timeline.x_at(start)) + 2, round(timeline.x_at(end)) - 2)
        return {picture.pixelColor(x, round(bar.center().y())).name() for x in xs}

    assert LIGHT.text_muted in row(at(12), at(12, 30))  # the break's hatching
    assert row(at(10), at(10, 30)) == {timeline.state_colour(MachineState.RUNNING).name()}
    assert row(at(14), at(14, 30)) == {LIGHT.background}  # after now: nothing yet
    assert LIGHT.text_muted in row(at(15), at(15, 30))  # the planned stop, in the future


def test_the_timeline_marks_now(qtbot: QtBot) -> None:
    timeline = make_timeline(qtbot)
    bar = timeline.bar_rect()
    assert colour_at(timeline, timeline.x_at(NOW), bar.center().y()) == LIGHT.text


@pytest.mark.usefixtures("zone")
def test_hovering_a_span_tells_its_state_and_local_times(qtbot: QtBot) -> None:
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedKingdom))
    timeline = make_timeline(qtbot)
    x = timeline.x_at(at(11, 20))
    expected = "Stopped: 08:00–08:40 (40 min)"  # São Paulo is UTC-3
    assert timeline.tooltip_at(x) == expected

    point = QPoint(round(x), round(timeline.bar_rect().center().y()))
    QApplication.sendEvent(timeline, QHelpEvent(QEvent.Type.ToolTip, point, timeline.mapToGlobal(point)))
    assert QToolTip.text() == expected
    QToolTip.hideText()


@pytest.mark.usefixtures("zone")
def test_hovering_a_break_names_it_as_well(qtbot: QtBot) -> None:
    QLocale.setDefault(QLocale(QLocale.Language.Portuguese, QLocale.Country.Brazil))
    timeline = make_timeline(qtbot)
    assert timeline.tooltip_at(timeline.x_at(at(12, 10))) == (
        "Running: 08:40–10:30 (1 h 50 min)\nBreak: 09:00–09:30 (30 min)"
    )
    assert timeline.tooltip_at(timeline.x_at(at(16))) is None  # the future holds nothing yet


def test_the_hour_ticks_fall_on_full_local_hours(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+05:30: local full hours are at half past in UTC
    time.tzset()
    try:
        timeline = make_timeline(qtbot)
        ticks = timeline.hour_ticks()
        assert [tick.minute for tick in ticks] == [0] * 8
        assert [tick.astimezone(UTC).minute for tick in ticks] == [30] * 8
        assert ticks[0].hour == 15  # 09:30 UTC
    finally:
        monkeypatch.undo()
        time.tzset()


def test_an_empty_timeline_says_no_shift_is_running(qtbot: QtBot) -> None:
    timeline = make_timeline(qtbot)
    timeline.set_shift(None)
    assert timeline.accessibleName() == "No shift running"
    assert timeline.tooltip_at(timeline.width() / 2) is None
    picture = image(timeline)
    assert count_colour(picture, LIGHT.stopped) == 0
    assert count_colour(picture, LIGHT.text_muted) > 0  # the muted words


@pytest.mark.usefixtures("portuguese")
def test_the_empty_timeline_speaks_portuguese(qtbot: QtBot) -> None:
    timeline = StateTimeline()
    shown(qtbot, timeline)
    assert timeline.accessibleName() == "Nenhum turno em andamento"


def test_the_timeline_switches_palette_at_runtime(qtbot: QtBot) -> None:
    timeline = make_timeline(qtbot)
    timeline.apply_palette(DARK)
    bar = timeline.bar_rect()
    assert colour_at(timeline, timeline.x_at(at(11, 20)), bar.center().y()) == DARK.stopped


# ---------------------------------------------------------------------- translation


# ---------------------------------------------------------------------- screenshots


def _board(palette: Palette) -> QWidget:
    board = QWidget()
    board.setAutoFillBackground(True)
    colours = board.palette()
    colours.setColor(board.backgroundRole(), QColor(palette.background))
    board.setPalette(colours)
    return board


def _tiles(palette: Palette) -> QWidget:
    board = _board(palette)
    grid = QGridLayout(board)
    grid.setContentsMargins(12, 12, 12, 12)
    grid.setSpacing(12)
    cases = [
        ("press-01", "Press 01", MachineState.RUNNING, 125, 0.873, 12345, 0, True),
        ("cnc-02", "CNC Lathe 02", MachineState.STOPPED, 12, 0.614, 845, 3, True),
        ("weld-03", "Welding Robot 03", MachineState.IDLE, 4, 0.702, 1530, 0, True),
        ("mold-04", "Injection Moulding 04", MachineState.PLANNED_STOP, 185, 0.95, 100, 0, True),
        ("pack-05", "Packer 05", MachineState.SETUP, 0.5, None, None, 0, True),
        ("saw-06", "Saw 06", MachineState.RUNNING, 30, 0.8, 10, 1, False),
    ]
    for index, (machine, name, state, minutes, availability, parts, alarms, connected) in enumerate(cases):
        tile = MachineTile(machine, name, palette=palette)
        tile.update_status(
            status(state, machine=machine, minutes=minutes, availability=availability, parts=parts),
            now=NOW,
            alarms=alarms,
            connected=connected,
        )
        grid.addWidget(tile, index // 3, index % 3)
    return board


def _gauges(palette: Palette) -> QWidget:
    board = _board(palette)
    row = QHBoxLayout(board)
    row.setContentsMargins(12, 12, 12, 12)
    row.setSpacing(12)
    for caption, value, target in [
        ("OEE", 0.614, 0.85),
        ("Availability", 0.72, 0.9),
        ("Performance", 0.875, 0.95),
        ("Quality", None, 0.99),
    ]:
        gauge = OeeGauge(caption, palette=palette)
        gauge.set_value(value)
        gauge.set_target(target)
        gauge.setFixedSize(160, 160)
        row.addWidget(gauge)
    return board


def _timelines(palette: Palette) -> QWidget:
    board = _board(palette)
    column = QVBoxLayout(board)
    column.setContentsMargins(12, 12, 12, 12)
    column.setSpacing(12)
    shift = ShiftWindow(
        name="A",
        start=at(9),
        end=at(17),
        breaks=(Interval(start=at(12), end=at(12, 15)), Interval(start=at(14), end=at(14, 30))),
        planned_stops=(Interval(start=at(10), end=at(10, 20)),),
    )
    states = [
        (at(9, 5), at(10), MachineState.RUNNING),
        (at(10), at(10, 20), MachineState.PLANNED_STOP),
        (at(10, 20), at(10, 40), MachineState.SETUP),
        (at(10, 40), at(12, 50), MachineState.RUNNING),
        (at(12, 50), at(13, 20), MachineState.STOPPED),
        (at(13, 20), at(13, 35), MachineState.IDLE),
        (at(13, 35), at(13, 50), MachineState.UNKNOWN),
        (at(13, 50), at(14, 40), MachineState.RUNNING),
    ]
    timeline = StateTimeline(palette=palette)
    timeline.set_shift(shift)
    timeline.set_spans([StateSpan(start=a, end=b, state=s) for a, b, s in states], at(14, 40))
    timeline.setFixedWidth(720)
    column.addWidget(timeline)
    empty = StateTimeline(palette=palette)
    empty.setFixedWidth(720)
    column.addWidget(empty)
    return board


@pytest.mark.usefixtures("zone")
@pytest.mark.parametrize("palette", [LIGHT, DARK], ids=lambda palette: palette.name)
def test_screenshots_of_the_widgets(qtbot: QtBot, palette: Palette) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, build in (("gauge", _gauges), ("tile", _tiles), ("timeline", _timelines)):
        board = build(palette)
        shown(qtbot, board)
        board.adjustSize()
        path = SCREENSHOTS / f"{name}-{palette.name}.png"
        assert board.grab().save(str(path)), path
