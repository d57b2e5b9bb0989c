"""Built-in alarm messages are said in the HMI's language; a plant's own message is shown as written."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from PySide6.QtWidgets import QApplication

from linesight.app.i18n import Languages
from linesight.domain.alarm_conditions import default_template, render
from linesight.domain.alarm_rules import Priority
from linesight.domain.alarm_types import AlarmDefinition
from linesight.domain.machine import MachineState
from linesight.widgets.texts import alarm_message

PRESS = AlarmDefinition(
    alarm_id="press_01.oil.hh",
    rule_id="oil",
    kind="limit",
    level="hh",
    machine="press_01",
    machine_name="Prensa 01 (250 t)",
    site="main",
    tag="oil_temp",
    unit="°C",
    priority=Priority.CRITICAL,
    template=default_template("limit", "hh"),
    on_delay_us=0,
    off_delay_us=0,
    suppress_when=frozenset(),
)


def engine_says(
    kind: str, level: str = "", unit: str = "°C", value: object = 61.8, limit: float | None = 60.0
) -> str:
    definition = replace(PRESS, kind=kind, level=level, unit=unit, template=default_template(kind, level))
    return render(definition, value, limit)  # type: ignore[arg-type]


@pytest.fixture
def portuguese(qapp: QApplication) -> Iterator[None]:
    languages = Languages(qapp)
    languages.switch("pt_BR")
    try:
        yield
    finally:
        languages.switch("en")


@pytest.mark.usefixtures("portuguese")
def test_every_built_in_message_is_said_in_portuguese_with_its_numbers_in_the_locale() -> None:
    said = {
        (kind, level): alarm_message(engine_says(kind, level), PRESS.machine_name)
        for kind, level in [
            ("limit", "hh"),
            ("limit", "h"),
            ("limit", "l"),
            ("limit", "ll"),
            ("deviation", ""),
        ]
    }
    assert said[("limit", "hh")] == "oil_temp muito alto em 61,8 °C (limite 60 °C)"
    assert said[("limit", "h")] == "oil_temp alto em 61,8 °C (limite 60 °C)"
    assert said[("limit", "l")] == "oil_temp baixo em 61,8 °C (limite 60 °C)"
    assert said[("limit", "ll")] == "oil_temp muito baixo em 61,8 °C (limite 60 °C)"
    assert said[("deviation", "")] == "oil_temp fora do setpoint em 61,8 °C (limite 60 °C)"
    rate = alarm_message(engine_says("rate_of_change", unit="°C/s", value=2.5, limit=1.0), PRESS.machine_name)
    assert rate == "oil_temp variando a 2,5 °C/s (limite 1 °C/s)"
    assert alarm_message(engine_says("discrete", value="FAULT"), PRESS.machine_name) == "oil_temp está FAULT"
    stale = alarm_message(engine_says("stale", unit="s", limit=30.0), PRESS.machine_name)
    assert stale == "Sem valor novo de oil_temp há 30 s"
    stopped = engine_says("machine_stopped", unit="s", value=MachineState.STOPPED.value, limit=300.0)
    assert alarm_message(stopped, PRESS.machine_name) == "parada por 300 s ou mais"


@pytest.mark.usefixtures("portuguese")
def test_a_message_without_a_unit_or_without_a_value_is_still_recognised() -> None:
    assert (
        alarm_message(engine_says("limit", "h", unit=""), PRESS.machine_name)
        == "oil_temp alto em 61,8 (limite 60)"
    )
    no_value = alarm_message(engine_says("deviation", value=None, limit=None), PRESS.machine_name)
    assert no_value == "oil_temp fora do setpoint em — °C (limite — °C)"


@pytest.mark.usefixtures("portuguese")
def test_a_plants_own_message_is_shown_as_written() -> None:
    own = replace(PRESS, template="{machine}: óleo quente demais ({value} {unit})")
    assert alarm_message(render(own, 61.8, 60.0), PRESS.machine_name) == "óleo quente demais (61.8 °C)"
    assert alarm_message("fault stop", PRESS.machine_name) == "fault stop"


def test_in_english_the_built_in_message_reads_as_the_engine_wrote_it(qapp: QApplication) -> None:
    assert (
        alarm_message(engine_says("limit", "hh"), PRESS.machine_name)
        == "oil_temp high-high at 61.8 °C (limit 60 °C)"
    )
    thousands = alarm_message(engine_says("limit", "h", value=1234.5), PRESS.machine_name)
    assert thousands == "oil_temp high at 1,234.5 °C (limit 60 °C)"
