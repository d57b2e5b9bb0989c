"""The loss Pareto and the stop bar: largest loss first, grey unless the operator still owes something."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from linesight.domain.machine import MachineState
from linesight.domain.reasons import Stop, StopPart
from linesight.widgets.palette import DARK, LIGHT, Palette
from linesight.widgets.pareto import ParetoBar, ParetoChart
from linesight.widgets.stop_bar import StopBar

pytestmark = pytest.mark.gui


def near(pixel: int, rgb: int) -> bool:
    a, b = QColor(pixel), QColor(rgb)
    return max(abs(a.red() - b.red()), abs(a.green() - b.green()), abs(a.blue() - b.blue())) <= 2


def test_the_pareto_shows_the_largest_losses_first_and_leaves_out_the_rest(qtbot: QtBot) -> None:
    chart = ParetoChart(most=3)
    qtbot.addWidget(chart)
    chart.set_bars(
        [
            ParetoBar(label="Speed loss", value=300, text="5 min"),
            ParetoBar(label="Breakdown / Mechanical failure", value=1800, text="30 min"),
            ParetoBar(label="Not coded: Stopped", value=900, text="15 min", attention=True),
            ParetoBar(label="Quality loss", value=60, text="1 min"),
            ParetoBar(label="Nothing", value=0, text="0 min"),
        ]
    )
    assert [bar.label for bar in chart.bars()] == [
        "Breakdown / Mechanical failure",
        "Not coded: Stopped",
        "Speed loss",
    ]
    assert "Not coded: Stopped: 15 min" in chart.accessibleDescription()


@pytest.mark.parametrize("palette", [LIGHT, DARK])
def test_pareto_bars_are_grey_and_uncoded_time_takes_the_attention_colour(
    qtbot: QtBot, palette: Palette
) -> None:
    chart = ParetoChart(palette=palette)
    qtbot.addWidget(chart)
    grey = chart.bar_colour(ParetoBar(label="a", value=1, text=""))
    assert grey.saturation() < 10
    assert chart.bar_colour(ParetoBar(label="b", value=1, text="", attention=True)) == QColor(
        palette.attention
    )
    assert palette.attention != palette.stopped  # an uncoded stop is no alarm


def test_the_pareto_draws_its_bars_and_a_sentence_when_empty(qtbot: QtBot) -> None:
    chart = ParetoChart()
    qtbot.addWidget(chart)
    chart.resize(500, 200)
    chart.set_empty_text("No losses in this period.")
    empty = chart.grab().toImage()
    chart.set_bars([ParetoBar(label="Breakdown", value=60, text="1 min")])
    drawn = chart.grab().toImage()
    assert empty != drawn
    # The bar is drawn in the middle of the widget, in the bar colour.
    bar = chart.bar_colour(chart.bars()[0]).rgb()
    hits = sum(1 for x in range(0, 500, 5) if near(drawn.pixel(x, 15), bar))
    assert hits > 20


def test_the_stop_bar_paints_uncoded_time_in_the_attention_colour(qtbot: QtBot) -> None:
    start = datetime(2026, 3, 4, 10, tzinfo=UTC)
    middle, end = start + timedelta(minutes=5), start + timedelta(minutes=10)
    stop = Stop(
        start=start,
        end=end,
        state=MachineState.STOPPED,
        parts=(
            StopPart(start=start, end=middle, reason="mechanical"),
            StopPart(start=middle, end=end, reason=None),
        ),
    )
    bar = StopBar(height=20)
    qtbot.addWidget(bar)
    bar.resize(200, 20)
    bar.set_stop(stop, {"mechanical": "#b03a2e"})
    image = bar.grab().toImage()
    assert near(image.pixel(150, 6), QColor(LIGHT.attention).rgb())  # the uncoded half
    assert not near(image.pixel(50, 6), QColor(LIGHT.attention).rgb())  # the coded half: grey
    assert QColor(image.pixel(50, 6)).saturation() < 10
    assert near(image.pixel(50, 18), QColor("#b03a2e").rgb())  # with its reason's stripe
