"""A report as a landscape A4 PDF: the plant, scope and period; OEE, counts, MTBF and MTTR per machine
and in total; the loss Pareto; the downtime list. Headings in the language asked for.

Qt lays it out (an HTML ``QTextDocument`` printed on a ``QPdfWriter``), so it needs a
QGuiApplication for its fonts: one is created on demand (offscreen) when none runs, as in the CLI.
It runs in a worker thread in the HMI; nothing here touches a widget.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QCoreApplication, QMarginsF
from PySide6.QtGui import QFont, QGuiApplication, QPageLayout, QPageSize, QPdfWriter, QTextDocument

from linesight.app.reporting import DowntimeList, Words, downtime_list
from linesight.domain.errors import LineSightError
from linesight.domain.reasons import ReasonTree
from linesight.runtime.reports import Report

_APP: QGuiApplication | None = None  # the application created here, kept alive for the process

# Print colours: black on white, grey rules; light amber (attention) behind time nobody coded.
_RULE = "#9a9a9a"
_HEAD = "#e6e6e6"
_BAR = "#6e6e6e"
_UNCODED = "#ffd98a"
_UNCODED_BAR = "#e69500"


class ReportError(LineSightError):
    """The PDF cannot be written (no place for it, or no way to lay it out)."""


def _gui() -> None:
    """Make sure a QGuiApplication runs: fonts and layout need one (never a display)."""
    global _APP
    app = QCoreApplication.instance()
    if app is None:
        _APP = QGuiApplication(["linesight", "-platform", "offscreen"])
    elif not isinstance(app, QGuiApplication):
        raise ReportError("a PDF report needs a QGuiApplication; this process runs a QCoreApplication")


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _cells(
    values: list[str],
    *,
    tag: str = "td",
    left: int = 1,
    bold: bool = False,
    widths: list[int] | None = None,
    aligns: str = "",
) -> str:
    """Table cells: the first ``left`` columns (text) left-aligned, the rest (figures) right-aligned;
    or as ``aligns`` says, a letter per column ("l" or "r")."""
    out = []
    for index, value in enumerate(values):
        if aligns:
            where = "left" if aligns[index] == "l" else "right"
        else:
            where = "left" if index < left else "right"
        width = f' width="{widths[index]}%"' if widths is not None else ""
        text = f"<b>{_e(value)}</b>" if bold else _e(value)
        out.append(f'<{tag} align="{where}"{width}>{text}</{tag}>')
    return "".join(out)


def _h1(text: str) -> str:
    return f"<h1>{_e(text)}</h1>"


def _h2(text: str) -> str:
    return f"<h2>{_e(text)}</h2>"


def _p(text: str) -> str:
    return f"<p>{_e(text)}</p>"


def _table(head: list[str], rows: list[str], widths: list[int], *, left: int = 1, aligns: str = "") -> str:
    """A full-width table; Qt's rich text takes column widths from the header cells (not from <col>)."""
    header = _cells(head, tag="th", left=left, widths=widths, aligns=aligns)
    return (
        f'<table width="100%" cellspacing="0" cellpadding="3" border="1" '
        f'style="border-collapse: collapse; border-color: {_RULE};">'
        f'<thead><tr bgcolor="{_HEAD}">{header}</tr></thead>'
        f"{''.join(rows)}</table>"
    )


def report_html(
    report: Report,
    tree: ReasonTree,
    words: Words,
    *,
    plant: str = "",
    zone: ZoneInfo | None = None,
    period: str = "",
    micro_stop_s: Mapping[str, float] | None = None,
) -> str:
    """The report as the HTML the PDF is printed from (also a way to look at it without a PDF viewer)."""
    parts: list[str] = []
    parts.append(_h1(words.translate("ReportPdf", "Production report")))
    span = f"{words.date_time(report.start, zone)} – {words.date_time(report.end, zone)}"
    if period:
        span = f"{period}: {span}"
    header = [
        (words.translate("ReportPdf", "Plant"), plant),
        (words.translate("ReportPdf", "Scope"), report.title),
        (words.translate("ReportPdf", "Period"), span),
        (words.translate("ReportPdf", "Generated"), words.date_time(report.generated, zone)),
    ]
    parts.append('<table cellspacing="0" cellpadding="2">')
    for name, value in header:
        if value:
            parts.append(f"<tr><td><b>{_e(name)}</b></td><td>&nbsp;&nbsp;{_e(value)}</td></tr>")
    parts.append("</table>")

    # -- OEE, counts, reliability per machine and in total
    parts.append(_h2(words.translate("ReportPdf", "OEE by machine")))
    head = [
        words.translate("ReportPdf", "Machine"),
        words.translate("ReportPdf", "Avail."),
        words.translate("ReportPdf", "Perf."),
        words.translate("ReportPdf", "Quality"),
        words.translate("ReportPdf", "OEE"),
        words.translate("ReportPdf", "Parts"),
        words.translate("ReportPdf", "Good"),
        words.translate("ReportPdf", "Rejects"),
        words.translate("ReportPdf", "Time down"),
        words.translate("ReportPdf", "MTBF"),
        words.translate("ReportPdf", "MTTR"),
    ]
    rows = [
        f"<tr>{_cells([title, *words.oee_figures(result)])}</tr>" for _id, title, result in report.machines
    ]
    total = _cells([words.translate("ReportPdf", "Total"), *words.oee_figures(report.oee)], bold=True)
    rows.append(f'<tr bgcolor="{_HEAD}">{total}</tr>')
    parts.append(_table(head, rows, [20, 8, 8, 8, 7, 8, 8, 7, 9, 10, 7]))
    if report.without_oee:
        parts.append(
            "<p>"
            + _e(
                words.translate("ReportPdf", "Without OEE (no shift calendar or OEE settings): %1").replace(
                    "%1", ", ".join(report.without_oee)
                )
            )
            + "</p>"
        )

    # -- the shifts, when the period has more than one per machine
    if len(report.shifts) > len(report.machines):
        parts.append(_h2(words.translate("ReportPdf", "Shifts")))
        head = [
            words.translate("ReportPdf", "Machine"),
            words.translate("ReportPdf", "Shift"),
            words.translate("ReportPdf", "Start"),
            words.translate("ReportPdf", "Avail."),
            words.translate("ReportPdf", "Perf."),
            words.translate("ReportPdf", "Quality"),
            words.translate("ReportPdf", "OEE"),
            words.translate("ReportPdf", "Parts"),
        ]
        rows = []
        for item in report.shifts:
            result = item.figures.oee
            cells = [item.title, item.shift.name, words.date_time(item.shift.start, zone)]
            rows.append(f"<tr>{_cells([*cells, *words.oee_figures(result)[:5]])}</tr>")
        parts.append(_table(head, rows, [24, 8, 20, 10, 10, 10, 8, 10], left=2))

    # -- the loss Pareto
    parts.append(_h2(words.translate("ReportPdf", "Top losses")))
    losses = [loss for loss in report.losses if loss.seconds > 0][:10]
    if not losses:
        parts.append(_p(words.translate("ReportPdf", "No losses in this period.")))
    else:
        largest = losses[0].seconds
        rows = []
        for loss in losses:
            share = max(1, round(100 * loss.seconds / largest))
            colour = _UNCODED_BAR if loss.kind == "uncoded" else _BAR
            # A two-cell table whose first cell is the bar: rich text honours cell widths, not table widths.
            rest = f'<td width="{100 - share}%"></td>' if share < 100 else ""
            bar = (
                '<table width="100%" cellspacing="0" cellpadding="0" border="0"><tr>'
                f'<td width="{share}%" bgcolor="{colour}" style="font-size: 7pt;">&nbsp;</td>'
                f"{rest}</tr></table>"
            )
            rows.append(
                f'<tr><td align="left">{_e(words.loss(loss, tree))}</td><td>{bar}</td>'
                f'<td align="right">{_e(words.minutes(loss.seconds))}</td>'
                f'<td align="right">{_e(words.number(loss.events))}</td></tr>'
            )
        head = [
            words.translate("ReportPdf", "Loss"),
            "",
            words.translate("ReportPdf", "Time"),
            words.translate("ReportPdf", "Events"),
        ]
        parts.append(_table(head, rows, [30, 50, 10, 10]))

    # -- the downtime list
    parts.append(_h2(words.translate("ReportPdf", "Downtime")))
    listed: DowntimeList = downtime_list(report, micro_stop_s)
    if not listed.rows:
        parts.append(_p(words.translate("ReportPdf", "No stops in this period.")))
    else:
        head = [
            words.translate("ReportPdf", "Machine"),
            words.translate("ReportPdf", "Start"),
            words.translate("ReportPdf", "End"),
            words.translate("ReportPdf", "Duration"),
            words.translate("ReportPdf", "State"),
            words.translate("ReportPdf", "Reason"),
            words.translate("ReportPdf", "Coded by"),
        ]
        rows = []
        one_day = report.end - report.start <= timedelta(days=1)  # the header gives the date
        for row in listed.rows:
            reason = words.reason(row.reason, tree)
            if row.comment:
                reason = f"{reason} — {row.comment}"
            end = words.translate("ReportPdf", "ongoing") if row.open else words.time(row.end, zone)
            start = words.time(row.start, zone) if one_day else words.date_time(row.start, zone)
            figures = "".join(
                f'<td align="right">{_e(text)}</td>' for text in (start, end, words.minutes(row.seconds))
            )
            shade = f' bgcolor="{_UNCODED}"' if row.reason is None else ""
            rows.append(
                f'<tr><td align="left">{_e(row.title)}</td>{figures}'
                f'<td align="left">{_e(words.state(row.state))}</td>'
                f'<td align="left"{shade}>{_e(reason)}</td><td align="left">{_e(row.user)}</td></tr>'
            )
        widths = [20, 7, 7, 8, 9, 37, 12] if one_day else [18, 13, 7, 8, 9, 33, 12]
        parts.append(_table(head, rows, widths, aligns="lrrrlll"))
    if listed.micro_stops:
        note = words.translate(
            "ReportPdf", "Micro-stops not listed: %1 (%2 in all); they count as a loss of performance."
        )
        parts.append(
            "<p>"
            + _e(
                note.replace("%1", words.number(listed.micro_stops)).replace(
                    "%2", words.minutes(listed.micro_stop_s)
                )
            )
            + "</p>"
        )
    style = (
        "<style>h1 { font-size: 16pt; } h2 { font-size: 12pt; margin-top: 14px; } "
        "th { font-weight: bold; } td, th { font-size: 8pt; }</style>"
    )
    return f"<html><head>{style}</head><body>{''.join(parts)}</body></html>"


def write_pdf(
    report: Report,
    path: Path,
    tree: ReasonTree,
    language: str,
    *,
    plant: str = "",
    zone: ZoneInfo | None = None,
    period: str = "",
    micro_stop_s: Mapping[str, float] | None = None,
) -> None:
    """Write ``report`` as an A4 PDF to ``path``, its headings and numbers in ``language`` (pt_BR, en).

    ``zone``: the time zone of the times shown (default: this computer's); ``micro_stop_s``: each
    machine's micro-stop threshold, to leave micro-stops out of the downtime list (default: list all).
    """
    _gui()
    words = Words(language)
    document = QTextDocument()
    font = QFont("DejaVu Sans")
    font.setStyleHint(QFont.StyleHint.SansSerif)
    font.setPointSizeF(9)
    document.setDefaultFont(font)
    document.setHtml(
        report_html(report, tree, words, plant=plant, zone=zone, period=period, micro_stop_s=micro_stop_s)
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")  # Qt would only log a warning for a place it cannot write to
    except OSError as err:
        raise ReportError(f"cannot write the PDF report to {path}: {err.strerror or err}") from err
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    # Landscape: eleven columns of figures per machine read without wrapping.
    writer.setPageOrientation(QPageLayout.Orientation.Landscape)
    writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
    writer.setResolution(300)
    title = words.translate("ReportPdf", "Production report")
    writer.setTitle(f"{title} — {report.title}")
    writer.setCreator("LineSight")
    document.print_(writer)
    del writer  # the file is complete once the writer is gone
    if not path.exists() or path.stat().st_size == 0:
        raise ReportError(f"the PDF report could not be written to {path}")
