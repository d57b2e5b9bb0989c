"""``linesight report``: a shift, day or week report of a machine, a line or the plant, printed and
exported to CSV or PDF."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from linesight.domain.errors import HistorianError, LineSightError
from linesight.domain.oee import OeeResult
from linesight.domain.plant import PlantFileError
from linesight.domain.reasons import ReasonTree
from linesight.runtime.plantfile import DEMO_PLANT, load_plant
from linesight.runtime.reports import (
    PERIODS,
    Report,
    build_report,
    loss_name,
    period_bounds,
    scope,
    write_csv,
)
from linesight.storage import Historian

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 1, 2


def add_parser(commands: Any, parse_when: Any) -> None:
    report = commands.add_parser(
        "report", help="shift, day or week report: OEE, counts, top losses, stops (text, CSV, PDF)"
    )
    what = report.add_mutually_exclusive_group()
    what.add_argument("--machine", help="machine id (default: the whole plant)")
    what.add_argument("--line", help="line id, or site/line")
    report.add_argument("--period", choices=PERIODS, default="shift", help="default: the running shift")
    report.add_argument("--from", dest="start", help="ISO 8601 time or relative (-8h): instead of --period")
    report.add_argument("--to", dest="end", default="now", help="with --from: ISO 8601, 'now' or relative")
    report.add_argument("--csv", type=Path, help="write the report as CSV to this file")
    report.add_argument("--pdf", type=Path, help="write the report as PDF to this file")
    report.add_argument("--language", choices=["en", "pt_BR"], default="en", help="language of the PDF")
    report.add_argument("--plant", type=Path, default=None, help="plant file (default: the demo plant)")
    report.add_argument("--db", type=Path, default=None, help="historian file (default: the plant's)")
    report.set_defaults(handler=lambda args: run(args, parse_when))


def run(args: argparse.Namespace, parse_when: Any) -> int:
    from linesight.cli import _historian_path  # the one rule for where a plant's historian lives

    plant_path = args.plant or DEMO_PLANT
    try:
        plant = load_plant(plant_path)
    except PlantFileError as err:
        print(err, file=sys.stderr)
        return EXIT_INVALID
    now = datetime.now(UTC)
    try:
        covered = scope(plant, machine=args.machine, line=args.line)
        if args.start is not None:
            start, end = parse_when(args.start), parse_when(args.end)
            if end <= start:
                raise LineSightError(f"--to ({end.isoformat()}) must be after --from ({start.isoformat()})")
        else:
            start, end = period_bounds(plant, covered, args.period, now)
    except (LineSightError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    db_path = _historian_path(plant, plant_path, args.db)
    if not db_path.exists():
        print(f"error: historian file {db_path} does not exist", file=sys.stderr)
        return EXIT_ERROR
    try:
        with Historian(db_path, read_only=True) as historian:
            report = build_report(plant, historian, covered, start, end, now=now)
    except HistorianError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    tree = ReasonTree(plant.downtime_reasons)
    print(summary(report, tree))
    if args.csv is not None:
        write_csv(report, args.csv, tree)
        print(f"wrote {args.csv}")
    if args.pdf is not None:
        from linesight.app.report_pdf import write_pdf  # Qt, only when a PDF is asked for

        write_pdf(report, args.pdf, tree, args.language)
        print(f"wrote {args.pdf}")
    return EXIT_OK


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def _factors(result: OeeResult | None) -> list[float | None]:
    if result is None:
        return [None] * 4
    return [result.availability, result.performance, result.quality, result.oee]


def summary(report: Report, tree: ReasonTree) -> str:
    """The report as plain text for a terminal: OEE per machine and shift, then the top losses."""
    lines = [f"{report.title}: {report.start:%Y-%m-%d %H:%M} - {report.end:%Y-%m-%d %H:%M} UTC"]
    lines.append(f"{'machine':<24}{'shift':<10}{'A':>8}{'P':>8}{'Q':>8}{'OEE':>8}{'parts':>9}{'rejects':>9}")
    for item in report.shifts:
        result = item.figures.oee
        cells = (
            [result.availability, result.performance, result.quality, result.oee] if result else [None] * 4
        )
        parts = str(result.produced) if result else "-"
        rejects = str(result.rejects) if result else "-"
        lines.append(
            f"{item.machine:<24}{item.shift.name:<10}{''.join(f'{_pct(c):>8}' for c in cells)}"
            f"{parts:>9}{rejects:>9}"
        )
    if report.oee is not None:
        total = report.oee
        cells = _factors(total)
        lines.append(
            f"{'total':<34}{''.join(f'{_pct(c):>8}' for c in cells)}{total.produced:>9}{total.rejects:>9}"
        )
    if report.without_oee:
        lines.append(f"without OEE configuration: {', '.join(report.without_oee)}")
    if report.losses:
        lines.append("top losses:")
        for loss in report.losses[:5]:
            lines.append(f"  {loss_name(loss, tree):<40}{loss.seconds / 60:8.1f} min{loss.events:6d}x")
    return "\n".join(lines)
