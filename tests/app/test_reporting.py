"""Report periods in the site's local time, the words of a report in a language of its own, and the PDF
written without any window (as the CLI writes it)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from linesight.app.reporting import Period, Words, period_range
from linesight.domain.machine import MachineState
from linesight.domain.oee import Loss
from linesight.domain.plant import CalendarConfig
from linesight.domain.reasons import ReasonTree, default_downtime_reasons

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
THREE_SHIFTS = CalendarConfig.model_validate(
    {
        "shifts": [
            {
                "name": "A",
                "start": "06:00",
                "end": "14:00",
                "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
            },
            {
                "name": "B",
                "start": "14:00",
                "end": "22:00",
                "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
            },
            {"name": "C", "start": "22:00", "end": "06:00", "days": ["mon", "tue", "wed", "thu", "fri"]},
        ]
    }
)


def local(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SAO_PAULO)


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        (Period.CURRENT_SHIFT, local(4, 14), local(4, 22)),
        (Period.PREVIOUS_SHIFT, local(4, 6), local(4, 14)),
        (Period.TODAY, local(4, 0), local(5, 0)),
        (Period.YESTERDAY, local(3, 0), local(4, 0)),
        (Period.THIS_WEEK, local(2, 0), local(9, 0)),  # Monday to Monday
        (Period.LAST_7_DAYS, local(26, 0, month=2), local(5, 0)),
    ],
)
def test_report_periods_are_the_sites_local_shifts_days_and_weeks(
    period: Period, start: datetime, end: datetime
) -> None:
    now = local(4, 15, 30).astimezone(UTC)  # a Wednesday afternoon in São Paulo: shift B runs
    assert period_range(period, THREE_SHIFTS, "America/Sao_Paulo", now) == (start, end)


def test_between_shifts_the_current_shift_is_the_last_one_and_without_a_calendar_there_is_none() -> None:
    sunday = local(8, 10).astimezone(UTC)  # no shift on Sundays: Saturday's B was the last
    assert period_range(Period.CURRENT_SHIFT, THREE_SHIFTS, "America/Sao_Paulo", sunday) == (
        local(7, 14),
        local(7, 22),
    )
    assert period_range(Period.PREVIOUS_SHIFT, THREE_SHIFTS, "America/Sao_Paulo", sunday) == (
        local(7, 6),
        local(7, 14),
    )
    assert period_range(Period.CURRENT_SHIFT, None, "America/Sao_Paulo", sunday) is None
    assert period_range(Period.TODAY, None, "America/Sao_Paulo", sunday) == (local(8, 0), local(9, 0))


def test_a_reports_words_come_in_its_own_language_whatever_the_hmi_shows() -> None:
    tree = ReasonTree(default_downtime_reasons())
    portuguese, english = Words("pt_BR"), Words("en")
    reason = Loss(kind="reason", key="mechanical", seconds=600, events=2)
    assert portuguese.loss(reason, tree) == "Quebra / Falha mecânica"
    assert english.loss(reason, tree) == "Breakdown / Mechanical failure"
    assert (
        english.loss(Loss(kind="uncoded", key="stopped", seconds=60, events=1), tree) == "Not coded: Stopped"
    )
    assert portuguese.number(12345) == "12.345" and english.number(12345) == "12,345"
    assert portuguese.percent(0.875) == "87,5 %" and english.percent(0.875) == "87.5 %"
    assert english.minutes(59 * 60) == "59 min" and english.minutes(125 * 60) == "2 h 05 min"
    moment = datetime(2026, 11, 25, 17, 5, tzinfo=UTC)
    assert portuguese.date_time(moment, SAO_PAULO) == "25/11/2026 14:05"
    assert english.date_time(moment, SAO_PAULO) == "2026-11-25 14:05"
    # Translations come from the language's own file, not from the application's (English here).
    assert portuguese.state(MachineState.STOPPED) == "Parada"
    assert english.state(MachineState.STOPPED) == "Stopped"


def test_write_pdf_runs_headless_without_a_qt_application(tmp_path: Path) -> None:
    """As the CLI calls it: no QApplication yet, the offscreen platform, nothing on screen."""
    out = tmp_path / "report.pdf"
    script = textwrap.dedent(
        f"""
        from datetime import UTC, datetime, timedelta
        from pathlib import Path
        from PySide6.QtCore import QCoreApplication
        from linesight.app.report_pdf import write_pdf
        from linesight.domain.oee import Loss
        from linesight.domain.reasons import ReasonTree, default_downtime_reasons
        from linesight.runtime.reports import Report

        assert QCoreApplication.instance() is None
        end = datetime(2026, 3, 4, 17, tzinfo=UTC)
        report = Report(
            title="Usinagem", start=end - timedelta(hours=8), end=end, generated=end, shifts=(),
            machines=(("cnc-01", "CNC 01", None),), oee=None,
            losses=(Loss(kind="reason", key="mechanical", seconds=900, events=1),),
            without_oee=(),
        )
        write_pdf(report, Path({str(out)!r}), ReasonTree(default_downtime_reasons()), "pt_BR", plant="Demo")
        """
    )
    environment = {key: value for key, value in os.environ.items() if key != "QT_QPA_PLATFORM"}
    environment.pop("DISPLAY", None)
    environment.pop("WAYLAND_DISPLAY", None)
    subprocess.run([sys.executable, "-c", script], check=True, env=environment, timeout=120)
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 5_000


def test_write_pdf_says_where_it_cannot_write(tmp_path: Path, qapp: object) -> None:
    from linesight.app.report_pdf import ReportError, write_pdf
    from linesight.runtime.reports import Report

    end = datetime(2026, 3, 4, 17, tzinfo=UTC)
    report = Report(
        title="x",
        start=end - timedelta(hours=8),
        end=end,
        generated=end,
        shifts=(),
        machines=(),
        oee=None,
        losses=(),
        without_oee=(),
    )
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ReportError, match="cannot write the PDF report to"):
        write_pdf(report, blocker / "report.pdf", ReasonTree(default_downtime_reasons()), "en")
