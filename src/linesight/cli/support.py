"""``linesight support-bundle``: the diagnostics zip for support (see linesight.runtime.support)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from linesight.runtime import logs, support


def add_parser(commands: Any) -> None:
    bundle = commands.add_parser(
        "support-bundle",
        help="write a zip for support: logs, the plant file without secrets, versions, health",
    )
    bundle.add_argument(
        "--plant",
        type=Path,
        default=None,
        help="plant file to include (default: the one the HMI last opened)",
    )
    bundle.add_argument(
        "--out",
        type=Path,
        default=Path("."),
        help="zip file, or a folder for linesight-support-<host>-<time>.zip",
    )
    bundle.add_argument(
        "--health-file",
        type=Path,
        default=None,
        help="the agent's --health-file, to include its last connection health",
    )
    bundle.add_argument("--log-dir", type=Path, default=None, help=f"log folder (default: {logs.log_dir()})")
    bundle.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    plant: Path | None = args.plant or _remembered_plant()
    health: dict[str, Any] | None = None
    if args.health_file is not None:
        try:
            health = json.loads(args.health_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            health = {"error": f"cannot read the health file {args.health_file}: {err}"}
    try:
        written = support.write_bundle(args.out, plant_path=plant, health=health, log_dir=args.log_dir)
    except OSError as err:
        print(f"error: cannot write the bundle {args.out}: {err.strerror or err}", file=sys.stderr)
        return 2
    print(f"wrote {written}")
    return 0


def _remembered_plant() -> Path | None:
    """The HMI's last plant file; None where Qt cannot load (a headless server without its libraries)."""
    try:
        from linesight.app import settings as hmi_settings

        saved = hmi_settings.load().plant
    except ImportError:
        return None
    return Path(saved) if saved else None
