"""The diagnostics bundle for support: one zip a person can e-mail without leaking the plant's secrets.

    linesight-support-<host>-<time>.zip
        README.txt        what is inside, and what was removed
        versions.json     LineSight, Python, the key packages, the operating system
        plant.yaml        the plant file with every secret replaced by <redacted> (comments kept)
        plant-check.txt   the plant file's validation: OK, or every problem with file:line
        health.json       the runtime's connection health, when a runtime was given
        logs/...          the JSON log files (newest first, up to LOG_LIMIT bytes)

Secrets are found by field name, whatever the section: passwords, tokens, keys, API keys,
credentials, authorization headers, SMTP logins' passwords; in every URL the password of
``user:pass@``, the values of the query string, and the path of known webhook services (a Slack
webhook URL is itself the secret). ``*_env`` and ``*_file`` fields name where a secret is kept, not the
secret, and stay. A plant file that cannot be read or parsed still gives a bundle: the error is named
in plant-check.txt and README.txt, and the text goes in only as far as the line redaction can vouch
for it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import platform
import re
import socket
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml

from linesight import __version__
from linesight.domain.plant import PlantFileError
from linesight.runtime import logs
from linesight.runtime.plantfile import load_plant

REDACTED = "<redacted>"
LOG_LIMIT = 20_000_000  # bytes of logs at most: a bundle must stay small enough to e-mail
# (distribution, module to ask for __version__ when the distribution's metadata is not there, as in a bundle)
PACKAGES = (
    ("PySide6-Essentials", "PySide6"),
    ("shiboken6", "shiboken6"),
    ("pyqtgraph", "pyqtgraph"),
    ("qasync", "qasync"),
    ("duckdb", "duckdb"),
    ("numpy", "numpy"),
    ("pydantic", "pydantic"),
    ("PyYAML", "yaml"),
    ("pymodbus", "pymodbus"),
    ("python-snap7", "snap7"),
    ("asyncua", "asyncua"),
    ("httpx", "httpx"),
    ("aiomqtt", "aiomqtt"),
    ("paho-mqtt", "paho.mqtt"),
    ("platformdirs", "platformdirs"),
)

# Field names whose values are secrets (compared in lower case, '-' read as '_').
_SECRET_NAME = re.compile(
    r"^(.*_)?(password|passwd|pwd|passphrase|secret|client_secret|token|access_token|refresh_token|api_key"
    r"|apikey|key|private_key|psk|credential|credentials|authorization|auth|cookie|x_api_key|webhook|webhook_url"
    r"|smtp_password|pin)$"
)
# ... except where the field names where the secret is kept.
_POINTER_NAME = re.compile(r"(_env|_file|_path|_dir|_id|_name)$")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s'\"{},]+", re.IGNORECASE)
_WEBHOOK_HOSTS = re.compile(
    r"(^|\.)(hooks\.slack\.com|discord(app)?\.com|webhook\.office\.com|outlook\.office\.com"
    r"|logic\.azure\.com|chat\.googleapis\.com)$"
)
# `name: value` at the start of a line (block mapping or list item) or inside a flow mapping.
_BLOCK_FIELD = re.compile(
    r"^(?P<lead>\s*(?:-\s+)?)(?P<quote>['\"]?)(?P<name>[A-Za-z0-9_.-]+)(?P=quote)\s*:(?P<rest>.*)$"
)
_FLOW_FIELD = re.compile(
    r"(?P<before>[{,]\s*)(?P<quote>['\"]?)(?P<name>[A-Za-z0-9_.-]+)(?P=quote)\s*:\s*"
    r"(?P<value>'[^']*'|\"(?:[^\"\\\\]|\\\\.)*\"|[^,}\n]*)"
)


def is_secret_name(name: object) -> bool:
    text = str(name).strip().lower().replace("-", "_")
    return bool(_SECRET_NAME.match(text)) and not _POINTER_NAME.search(text)


def redact_url(url: str) -> str:
    """The URL without its secrets: the password, the query values, a webhook service's path."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if parts.password is not None:
        user = parts.username or ""
        netloc = f"{user}:{REDACTED}@{host}" + (f":{port}" if port else "")
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = (
            urlencode([(name, REDACTED if value else "") for name, value in pairs], safe="<>")
            if pairs
            else REDACTED
        )
    path = parts.path
    if _WEBHOOK_HOSTS.search(host) and path not in ("", "/"):
        path = "/" + REDACTED
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def _redact_urls_in(text: str) -> str:
    return _URL.sub(lambda match: redact_url(match.group(0)), text)


@dataclass
class Redaction:
    text: str
    removed: list[str] = field(default_factory=list)  # "line 12: password"


def redact_text(text: str) -> Redaction:
    """Line by line, keeping comments and line numbers (so that support can match `check`'s output):
    secret fields' values (block, flow and multi-line block scalars), and secrets inside URLs."""
    out: list[str] = []
    removed: list[str] = []
    scalar_indent: int | None = None  # inside a secret's `|` / `>` block: drop lines indented deeper
    for number, line in enumerate(text.splitlines(), start=1):
        indent = len(line) - len(line.lstrip(" "))
        if scalar_indent is not None:
            if not line.strip() or indent > scalar_indent:
                out.append("")  # an empty line for each line of the secret: line numbers stay
                continue
            scalar_indent = None
        match = _BLOCK_FIELD.match(line)
        if match and is_secret_name(match.group("name")):
            rest = match.group("rest")
            value = rest.split(" #", 1)[0].strip()
            if value and not value.startswith(("{", "[")):
                removed.append(f"line {number}: {match.group('name')}")
                if value[:1] in ("|", ">"):
                    scalar_indent = indent + (2 if line.lstrip().startswith("- ") else 0)
                name = match.group("quote") + match.group("name") + match.group("quote")
                line = f"{match.group('lead')}{name}: {REDACTED}"

        def flow(found: re.Match[str], number: int = number) -> str:
            if not is_secret_name(found.group("name")) or not found.group("value").strip():
                return found.group(0)
            removed.append(f"line {number}: {found.group('name')}")
            name = found.group("quote") + found.group("name") + found.group("quote")
            return f"{found.group('before')}{name}: {REDACTED}"

        line = _FLOW_FIELD.sub(flow, line)
        redacted_urls = _redact_urls_in(line)
        if redacted_urls != line:
            removed.append(f"line {number}: URL")
        out.append(redacted_urls)
    return Redaction("\n".join(out) + ("\n" if text.endswith("\n") else ""), removed)


def redact_tree(value: Any, path: str = "") -> tuple[Any, list[str]]:
    """The same rules on parsed YAML: the safety net for anything the line pass could not see."""
    removed: list[str] = []
    if isinstance(value, Mapping):
        result: dict[Any, Any] = {}
        for name, item in value.items():
            where = f"{path}.{name}" if path else str(name)
            if (
                is_secret_name(name)
                and not isinstance(item, Mapping | list)
                and item not in (None, "", REDACTED)
            ):
                result[name] = REDACTED
                removed.append(where)
            else:
                result[name], found = redact_tree(item, where)
                removed += found
        return result, removed
    if isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            cleaned, found = redact_tree(item, f"{path}[{index}]")
            items.append(cleaned)
            removed += found
        return items, removed
    if isinstance(value, str) and _URL.search(value):
        cleaned_text = _redact_urls_in(value)
        if cleaned_text != value:
            removed.append(path)
        return cleaned_text, removed
    return value, removed


@dataclass
class PlantPart:
    text: str | None  # what goes in as plant.yaml (None: nothing could be vouched for)
    check: str  # plant-check.txt
    removed: list[str]
    problem: str | None  # the error that kept the file from loading or parsing


def redact_plant(path: Path) -> PlantPart:
    try:
        raw = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        message = f"cannot read the plant file {path}: {err.strerror or err}"
        return PlantPart(None, message + "\n", [], message)
    lines = redact_text(raw)
    removed = list(lines.removed)
    text: str | None = lines.text
    problem: str | None = None
    try:
        parsed = yaml.safe_load(lines.text)
    except yaml.YAMLError as err:
        problem = f"the plant file {path} is not valid YAML: {err}"
    else:
        _cleaned, missed = redact_tree(parsed)
        if missed:
            # The line pass missed something (an unusual layout): the parsed, redacted tree goes in
            # instead of the text; comments are lost, secrets too.
            cleaned, found = redact_tree(yaml.safe_load(raw))
            text = (
                "# comments dropped: re-written from the parsed file to remove every secret\n"
                + yaml.safe_dump(cleaned, allow_unicode=True, sort_keys=False)
            )
            removed += [f"{item} (parsed)" for item in found]
    try:
        plant = load_plant(path)
    except PlantFileError as err:
        check = f"INVALID: {path}\n{_redact_urls_in(str(err))}\n"
        problem = problem or f"the plant file {path} does not validate (see plant-check.txt)"
    except Exception as err:  # noqa: BLE001 - whatever broke, the bundle still goes out, naming it
        check = f"ERROR while checking {path}: {type(err).__name__}: {err}\n"
        problem = problem or check.strip()
    else:
        machines = list(plant.machines())
        check = f"OK: {path}: plant '{plant.id}', {len(machines)} machine(s)\n"
    return PlantPart(text, check, removed, problem)


def _package_version(distribution: str, module: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        loaded = importlib.import_module(module)
    except Exception:  # noqa: BLE001 - a package that does not import is reported as missing
        return None
    found = getattr(loaded, "__version__", None) or getattr(loaded, "VERSION", None)
    return str(found) if found is not None else "present"


def versions() -> dict[str, Any]:
    return {
        "linesight": __version__,
        "python": sys.version,
        "executable": sys.executable,
        "frozen": bool(getattr(sys, "frozen", False)),
        "os": platform.platform(),
        "machine": platform.machine(),
        "hostname": socket.gethostname(),
        "packages": {name: _package_version(name, module) for name, module in PACKAGES},
    }


def write_bundle(
    out: Path,
    *,
    plant_path: Path | None = None,
    health: Mapping[str, Any] | None = None,
    log_dir: Path | None = None,
    now: datetime | None = None,
) -> Path:
    """Write the zip to ``out`` (a folder: a file named after host and time inside it); returns it.

    ``health`` is a runtime's ``Engine.report()`` (take it on the runtime's loop). Raises OSError only
    when the zip itself cannot be written."""
    moment = now or datetime.now(UTC)
    if out.is_dir():
        host = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "host"
        out = out / f"linesight-support-{host}-{moment.strftime('%Y%m%d-%H%M%S')}.zip"
    notes = [
        f"LineSight {__version__} diagnostics bundle, made {moment.isoformat(timespec='seconds')}",
        "",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("versions.json", json.dumps(versions(), indent=2))
        notes.append("versions.json   LineSight, Python, key packages, operating system")
        if plant_path is None:
            notes.append("plant.yaml      not included: no plant file was given")
        else:
            part = redact_plant(plant_path)
            archive.writestr("plant-check.txt", part.check)
            if part.text is not None:
                archive.writestr("plant.yaml", part.text)
                notes.append(
                    f"plant.yaml      {plant_path}, {len(part.removed)} secret(s) replaced by {REDACTED}"
                )
                notes += [f"                  - {item}" for item in part.removed]
            if part.problem:
                notes.append(f"PLANT PROBLEM   {part.problem}")
            notes.append("plant-check.txt the plant file's validation")
        if health is not None:
            cleaned, _found = redact_tree(dict(health))
            archive.writestr("health.json", json.dumps(cleaned, indent=2, default=str))
            notes.append("health.json     the runtime's connection health when the bundle was made")
        else:
            notes.append("health.json     not included: no running runtime was given")
        folder = log_dir if log_dir is not None else logs.log_dir()
        budget = LOG_LIMIT
        included = 0
        for item in logs.log_files(folder):
            try:
                size = item.stat().st_size
                if size > budget:
                    continue
                archive.write(item, f"logs/{item.name}")
            except OSError as err:
                notes.append(f"logs/{item.name}: not included ({err.strerror or err})")
                continue
            budget -= size
            included += 1
        notes.append(f"logs/           {included} log file(s) from {folder}")
        archive.writestr("README.txt", "\n".join(notes) + "\n")
    partial.replace(out)
    return out
