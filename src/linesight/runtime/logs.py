"""Log files for support: one JSON object per line, rotated by size, in the user's log directory.

    {"ts": "2026-11-25T08:31:02.123Z", "level": "WARNING", "logger": "linesight.runtime.machines",
     "message": "press-01 unavailable: ...", "exception": null}

The directory is ``$LINESIGHT_LOG_DIR`` when set (the agent's systemd unit points it at
/var/log/linesight), else platformdirs' user log directory (Linux ``~/.local/state/linesight/log``,
Windows ``%LOCALAPPDATA%\\linesight\\Logs``). The HMI writes ``hmi.log``, the headless agent
``agent.log``: the two may run at once on one PC, and a rotating file has one writer. A log directory
that cannot be written is said once on stderr; the program runs on without a file.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import platformdirs

ENV_DIR = "LINESIGHT_LOG_DIR"
MAX_BYTES = 5_000_000  # per file
BACKUPS = 5  # hmi.log.1 ... hmi.log.5: at most 30 MB per program
ROLES = ("hmi", "agent")


def log_dir() -> Path:
    configured = os.environ.get(ENV_DIR, "").strip()
    if configured:
        return Path(configured).expanduser()
    return platformdirs.user_log_path("linesight", appauthor=False)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (tracebacks included, newlines escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        exception: str | None = None
        if record.exc_info and record.exc_info[0] is not None:
            exception = self.formatException(record.exc_info)
        elif record.exc_text:
            exception = record.exc_text
        if record.stack_info:
            exception = f"{exception}\n{record.stack_info}" if exception else record.stack_info
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        return json.dumps(
            {
                "ts": stamp.replace("+00:00", "Z"),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
                "exception": exception,
            },
            ensure_ascii=False,
            default=str,
        )


class _LineSightFileHandler(logging.handlers.RotatingFileHandler):
    """Our handler, recognisable so that a second setup replaces it instead of doubling every line."""


def setup(
    role: str,
    *,
    directory: Path | None = None,
    level: int = logging.INFO,
    max_bytes: int = MAX_BYTES,
    backups: int = BACKUPS,
) -> logging.Handler | None:
    """Add the rotating JSON file ``<dir>/<role>.log`` to the root logger; returns its handler (for
    ``close``), or None when the directory cannot be written (said on stderr)."""
    if role not in ROLES:
        raise ValueError(f"log role {role!r}: use one of {', '.join(ROLES)}")
    folder = directory if directory is not None else log_dir()
    root = logging.getLogger()
    for old in [item for item in root.handlers if isinstance(item, _LineSightFileHandler)]:
        close(old)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = _LineSightFileHandler(
            folder / f"{role}.log", maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
    except OSError as err:
        print(
            f"warning: no log file in {folder}: {err.strerror or err}; logging to stderr only",
            file=sys.stderr,
        )
        return None
    handler.setLevel(level)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)  # what reaches it is what the root logger lets through (--log-level)
    return handler


def close(handler: logging.Handler | None) -> None:
    """Detach and close a handler from ``setup`` (None: nothing to do)."""
    if handler is None:
        return
    logging.getLogger().removeHandler(handler)
    handler.close()


def log_files(directory: Path | None = None) -> list[Path]:
    """Every log file of ours in the directory, newest first (for the support bundle)."""
    folder = directory if directory is not None else log_dir()
    try:
        found = [item for item in folder.iterdir() if item.is_file() and ".log" in item.name]
    except OSError:
        return []
    return sorted(found, key=lambda item: item.stat().st_mtime, reverse=True)
