"""The ``linesight`` command: run the edge runtime, check a plant file, export history."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO
from urllib.parse import parse_qsl, urlsplit

from linesight import __version__
from linesight.cli import report, support
from linesight.domain.errors import HistorianError, LineSightError
from linesight.domain.plant import PlantConfig, PlantFileError
from linesight.domain.users import AuditEntry, Role, User, check_new_secret, hash_secret
from linesight.drivers.discovery import machine_yaml
from linesight.runtime import logs, sdnotify
from linesight.runtime.engine import Engine
from linesight.runtime.health import ConnectionState
from linesight.runtime.plantfile import DEMO_PLANT, SIMULATED_PLANT, load_plant
from linesight.storage import Historian, RetentionPolicy, default_historian_path

log = logging.getLogger("linesight")

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 1, 2
_RELATIVE = re.compile(r"^-(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    argv = _join_relative_times(list(sys.argv[1:] if argv is None else argv))
    if "--self-test" in argv:
        from linesight.cli import selftest

        return selftest.main(argv)
    args = parser.parse_args(_with_default_command(argv))
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # JSON log files for support (runtime/logs.py): the HMI's and the agent's, one file each.
    log_file = logs.setup("agent" if args.headless else "hmi") if args.command in ("run", "demo") else None
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        code = EXIT_OK
    finally:
        logs.close(log_file)
    return code


def _agent_options(command: argparse.ArgumentParser) -> None:
    """The options of every command that runs the runtime."""
    command.add_argument(
        "--headless", action="store_true", help="no window: the edge agent (status lines on stdout)"
    )
    command.add_argument(
        "--kiosk",
        action="store_true",
        help="the HMI full screen and locked: leaving takes an administrator's PIN",
    )
    command.add_argument(
        "--db",
        type=Path,
        default=None,
        help="historian file (default: from the plant file, else the user data dir)",
    )
    command.add_argument(
        "--status-interval", type=float, default=1.0, help="seconds between status lines (0: none)"
    )
    command.add_argument(
        "--duration", type=float, default=None, help="stop after this many seconds (for tests and demos)"
    )
    command.add_argument(
        "--health-file",
        type=Path,
        default=None,
        help="keep a JSON file of every machine's health (state, last error, round trip, samples/s) current",
    )


COMMANDS = ("run", "demo", "check", "export", "browse", "probe", "report", "users", "support-bundle")


def _with_default_command(argv: list[str]) -> list[str]:
    """``linesight [--plant F] [--kiosk] ...`` without a command: ``run`` with a plant file (given, or
    the one the HMI settings remember), otherwise ``demo``."""
    index = 0
    while index < len(argv) and argv[index].startswith("--log-level"):
        index += 1 if "=" in argv[index] else 2
    rest = argv[index:]
    if any(item in COMMANDS for item in rest) or any(item in ("-h", "--help", "--version") for item in rest):
        return argv
    given = any(item == "--plant" or item.startswith("--plant=") for item in rest)
    remembered = not given and "--headless" not in rest and bool(_remembered_plant())
    command = "run" if given or remembered else "demo"
    return [*argv[:index], command, *rest]


def _remembered_plant() -> str:
    """The plant file the HMI was last started with (HMI settings; Qt is loaded only for this)."""
    from linesight.app import settings as hmi_settings

    return hmi_settings.load().plant


def _join_relative_times(argv: list[str]) -> list[str]:
    """``--from -8h`` as ``--from=-8h``: argparse would take ``-8h`` for an option and refuse."""
    joined: list[str] = []
    index = 0
    while index < len(argv):
        item = argv[index]
        following = argv[index + 1] if index + 1 < len(argv) else None
        if item in ("--from", "--to") and following is not None and _RELATIVE.match(following):
            joined.append(f"{item}={following}")
            index += 2
            continue
        joined.append(item)
        index += 1
    return joined


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linesight", description="LineSight shop-floor runtime and tools.")
    parser.add_argument("--version", action="version", version=f"linesight {__version__}")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="open the HMI offscreen on the demo plant (see --self-test -h)",
    )
    commands = parser.add_subparsers(dest="command")

    run = commands.add_parser("run", help="poll the plant's machines and record their data")
    run.add_argument(
        "--plant",
        type=Path,
        default=None,
        help="plant file (default: the one the HMI was last started with, else the built-in simulated plant)",
    )
    _agent_options(run)
    run.set_defaults(handler=_cmd_run)

    demo = commands.add_parser(
        "demo",
        help="start a virtual plant speaking Modbus, OPC UA, S7 and MTConnect, and run the demo plant on it",
    )
    _agent_options(demo)
    demo.set_defaults(handler=_cmd_demo)

    check = commands.add_parser(
        "check", help="validate a plant file; print OK or every problem with file:line"
    )
    check.add_argument("plant", type=Path)
    check.set_defaults(handler=_cmd_check)

    export = commands.add_parser("export", help="export raw history of tags to CSV or Parquet")
    export.add_argument("--tag", action="append", required=True, help="machine.tag (repeat for more tags)")
    export.add_argument(
        "--from", dest="start", required=True, help="ISO 8601 time, 'now' or relative like -8h, -7d"
    )
    export.add_argument("--to", dest="end", default="now", help="ISO 8601 time, 'now' (default) or relative")
    export.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    export.add_argument(
        "--out", type=Path, default=None, help="output file (default: export-<time>.<format>)"
    )
    export.add_argument("--plant", type=Path, default=None, help="plant file whose historian to read")
    export.add_argument("--db", type=Path, default=None, help="historian file (overrides --plant)")
    export.set_defaults(handler=_cmd_export)

    browse = commands.add_parser(
        "browse", help="list what an OPC UA server or MTConnect agent offers, as plant-file YAML"
    )
    browse.add_argument("url", help="opcua://host:port[/path] (or opc.tcp://...), mtconnect://host:port/")
    browse.add_argument("--machine", default="machine", help="machine id to put in the YAML")
    browse.add_argument("--depth", type=int, default=8, help="OPC UA: how deep to browse below Objects")
    browse.set_defaults(handler=_cmd_browse)

    probe = commands.add_parser(
        "probe", help="test a Modbus or S7 connection and list what answers, as plant-file YAML"
    )
    probe.add_argument("url", help="modbus://host[:port], s7://host[:port]?rack=0&slot=1")
    probe.add_argument("--machine", default="machine", help="machine id to put in the YAML")
    probe.add_argument("--unit", type=int, default=1, help="Modbus: device (unit) id")
    probe.add_argument(
        "--range",
        dest="ranges",
        action="append",
        default=None,
        help="Modbus: addresses to try, e.g. hr:0-99 (repeatable; default hr:0-99 ir:0-99 co:0-99 di:0-99)",
    )
    probe.set_defaults(handler=_cmd_probe)

    report.add_parser(commands, parse_when)
    support.add_parser(commands)

    users = commands.add_parser("users", help="the people who log in to the HMI, and the audit trail")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    add = user_commands.add_parser(
        "add", help="add a user, or change one's role or PIN (the PIN is asked for, or read from stdin)"
    )
    add.add_argument("name", help="login name: letters, digits, '.', '_' or '-', up to 32")
    add.add_argument("--role", required=True, choices=[role.value for role in Role])
    add.add_argument("--display-name", default="", help="the name the HMI shows (default: the login name)")
    add.add_argument("--password", action="store_true", help="a password (8+ characters) instead of a PIN")
    listing = user_commands.add_parser("list", help="list the users and their roles")
    remove = user_commands.add_parser("remove", help="remove a user")
    remove.add_argument("name")
    audit = user_commands.add_parser("audit", help="print the audit trail, newest first")
    audit.add_argument("--limit", type=int, default=50)
    for command in (add, listing, remove, audit):
        command.add_argument("--plant", type=Path, default=None, help="plant file whose historian holds them")
        command.add_argument("--db", type=Path, default=None, help="historian file (overrides --plant)")
    users.set_defaults(handler=_cmd_users)
    return parser


# ---------------------------------------------------------------------- check


def _cmd_check(args: argparse.Namespace) -> int:
    try:
        plant = load_plant(args.plant)
    except PlantFileError as err:
        print(err, file=sys.stdout)
        return EXIT_INVALID
    machines = list(plant.machines())
    lines = {(site.id, line.id) for site, line, _m in machines}
    tags = sum(len(machine.tags) for _s, _l, machine in machines)
    print(
        f"OK: {args.plant}: plant '{plant.id}', {len(plant.sites)} site(s), {len(lines)} line(s), "
        f"{len(machines)} machine(s), {tags} tag(s)"
    )
    return EXIT_OK


# ---------------------------------------------------------------------- run


def _historian_path(plant: PlantConfig, plant_path: Path, db: Path | None) -> Path:
    if db is not None:
        return db
    if plant.historian.path:
        configured = Path(plant.historian.path).expanduser()
        return configured if configured.is_absolute() else plant_path.parent / configured
    return default_historian_path(plant.id)


def _open_historian(plant: PlantConfig, path: Path) -> Historian:
    retention = plant.historian.retention

    def span(seconds: float | None) -> timedelta | None:
        return None if seconds is None else timedelta(seconds=seconds)

    historian = Historian(
        path,
        retention=RetentionPolicy(
            raw=span(retention.raw), minute=span(retention.minute), hour=span(retention.hour)
        ),
        memory_limit=plant.historian.memory_limit,
    )
    historian.open()
    return historian


def _cmd_run(args: argparse.Namespace) -> int:
    plant_path: Path | None = args.plant
    if not args.headless:
        from linesight.app import settings as hmi_settings

        saved = hmi_settings.load()
        if plant_path is None and saved.plant:
            plant_path = Path(saved.plant)
            log.info("plant file from the HMI settings: %s", plant_path)
        elif plant_path is not None and saved.plant != str(plant_path.resolve()):
            hmi_settings.save(replace(saved, plant=str(plant_path.resolve())))  # the next start opens it
    return _run_plant(args, plant_path or SIMULATED_PLANT, virtual=False)


def _cmd_demo(args: argparse.Namespace) -> int:
    return _run_plant(args, DEMO_PLANT, virtual=True)


def _run_plant(args: argparse.Namespace, plant_path: Path, *, virtual: bool) -> int:
    try:
        plant = load_plant(plant_path)
    except PlantFileError as err:
        print(err, file=sys.stderr)
        return EXIT_INVALID
    db_path = _historian_path(plant, plant_path, args.db)
    try:
        historian = _open_historian(plant, db_path)
    except HistorianError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    log.info("plant %s from %s; historian %s", plant.id, plant_path, db_path)
    # The virtual plant loads every protocol's server library: only when the demo needs it.
    from linesight.virtualplant.plant import PortInUse, VirtualPlant

    seeding: threading.Thread | None = None
    try:
        if not args.headless:
            if virtual:
                VirtualPlant().check_ports()  # before any window: a taken port is a message, not a hang
                seeding = _seed_demo_users_beside(historian)
            elif not historian.users():
                log.warning("no users yet: the HMI only shows values; add one with `linesight users add`")
            from linesight.app.main import run_hmi

            return run_hmi(
                plant,
                historian,
                around=VirtualPlant if virtual else None,
                kiosk=args.kiosk or None,
                duration=args.duration,
            )
        asyncio.run(
            _run_headless(
                plant, historian, args.status_interval, args.duration, sys.stdout, args.health_file, virtual
            )
        )
    except PortInUse as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if seeding is not None:
            seeding.join()
        historian.close()
    return EXIT_OK


async def _run_headless(
    plant: PlantConfig,
    historian: Historian,
    status_interval: float,
    duration: float | None,
    out: TextIO,
    health_file: Path | None = None,
    virtual: bool = False,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if duration is not None:
        loop.call_later(duration, stop.set)
    async with contextlib.AsyncExitStack() as devices:
        if virtual:  # the demo's devices, on this loop, before the drivers connect to them
            from linesight.virtualplant.plant import VirtualPlant

            await devices.enter_async_context(VirtualPlant())
        await _serve(plant, historian, status_interval, stop, out, health_file)


async def _serve(
    plant: PlantConfig,
    historian: Historian,
    status_interval: float,
    stop: asyncio.Event,
    out: TextIO,
    health_file: Path | None,
) -> None:
    async with Engine(plant, historian=historian) as engine:
        tasks = []
        if status_interval > 0:
            tasks.append(asyncio.create_task(_status_loop(engine, status_interval, out)))
        if health_file is not None:
            tasks.append(asyncio.create_task(_health_loop(engine, max(status_interval, 1.0), health_file)))
        # Under systemd (Type=notify): READY=1, then watchdog pings from this loop while it runs.
        tasks.append(asyncio.create_task(sdnotify.keep_alive(lambda: status_line(engine))))
        await stop.wait()
        for task in tasks:
            task.cancel()
    if health_file is not None:
        # Once more after the stop, so that the file does not claim machines are still online.
        with contextlib.suppress(OSError):  # the loop already said why it cannot be written
            _write_health(engine, health_file)
    if out.isatty():
        out.write("\n")
    writer = engine.stats().writer
    if writer is not None:
        out.write(f"stopped: {writer.stored} samples stored this run, last seq {writer.last_seq}\n")
    out.flush()


def status_line(engine: Engine) -> str:
    stats = engine.stats()
    writer = stats.writer
    down = [item.machine for item in engine.health() if item.state is ConnectionState.UNAVAILABLE]
    parts = [
        f"{time.strftime('%H:%M:%S')}",
        f"machines {stats.online}/{stats.machines} online",
        f"{stats.samples_per_s:,.0f} samples/s",
    ]
    if writer is not None:
        parts.append(f"stored {writer.stored} (seq {writer.last_seq})")
        parts.append(f"pending {writer.pending}")
        if writer.failed_flushes:
            parts.append(f"failed flushes {writer.failed_flushes}")
    alarms = engine.alarms.counts()
    if alarms.standing:
        parts.append(f"alarms {alarms.active} active, {alarms.unacked} unacknowledged")
    if down:
        parts.append("unavailable: " + ", ".join(down))
    return " | ".join(parts)


async def _status_loop(engine: Engine, interval: float, out: TextIO) -> None:
    tty = out.isatty()
    while True:
        await asyncio.sleep(interval)
        line = status_line(engine)
        out.write(f"\r{line}\x1b[K" if tty else f"{line}\n")
        out.flush()


async def _health_loop(engine: Engine, interval: float, path: Path) -> None:
    failing = False
    while True:
        try:
            _write_health(engine, path)
        except OSError as err:
            if not failing:
                log.warning("cannot write the health file %s: %s", path, err)
            failing = True
        else:
            if failing:
                log.info("health file %s written again", path)
            failing = False
        await asyncio.sleep(interval)


def _write_health(engine: Engine, path: Path) -> None:
    """Replace the file atomically, so that a reader never sees half a report."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(engine.report(), indent=2), encoding="utf-8")
    os.replace(partial, path)


# ---------------------------------------------------------------------- discovery


def _split_url(url: str, default_port: int) -> tuple[str, str, int, str, dict[str, str]]:
    parsed = urlsplit(url)
    if not parsed.hostname:
        raise ValueError(f"'{url}' has no host: write it like {parsed.scheme or 'opcua'}://192.168.0.10:4840")
    try:
        port = parsed.port or default_port
    except ValueError:
        raise ValueError(f"'{url}' has an invalid port") from None
    return parsed.scheme, parsed.hostname, port, parsed.path, dict(parse_qsl(parsed.query))


def _cmd_browse(args: argparse.Namespace) -> int:
    scheme = urlsplit(args.url).scheme
    try:
        if scheme in ("opcua", "opc.tcp"):
            _scheme, host, port, path, _query = _split_url(args.url, 4840)
            endpoint = f"opc.tcp://{host}:{port}{path}"
            from linesight.drivers.opcua.browse import BrowseLimits, browse

            found = asyncio.run(browse(endpoint, BrowseLimits(depth=args.depth)))
            print(machine_yaml(args.machine, "opcua", {"endpoint": endpoint}, found), end="")
            return EXIT_OK
        if scheme in ("mtconnect", "http", "https"):
            from linesight.drivers.mtconnect.browse import browse as browse_agent

            connection, found = asyncio.run(browse_agent(args.url))
            print(machine_yaml(args.machine, "mtconnect", connection, found), end="")
            return EXIT_OK
    except (ValueError, LineSightError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    print(
        f"error: cannot browse '{args.url}': use opcua://host:port or mtconnect://host:port/", file=sys.stderr
    )
    return EXIT_ERROR


def _cmd_probe(args: argparse.Namespace) -> int:
    scheme = urlsplit(args.url).scheme
    try:
        if scheme == "modbus":
            from linesight.drivers.modbus.probe import parse_span, probe

            _scheme, host, port, _path, query = _split_url(args.url, 502)
            unit = int(query.get("unit", args.unit))
            spans = [
                parse_span(text) for text in (args.ranges or ["hr:0-99", "ir:0-99", "co:0-99", "di:0-99"])
            ]
            found = asyncio.run(probe(host, port, unit, spans))
            connection = {"host": host, "port": port, "device_id": unit}
            print(f"# {len(found)} addresses answered", file=sys.stderr)
            print(machine_yaml(args.machine, "modbus", connection, found), end="")
            return EXIT_OK
        if scheme == "s7":
            from linesight.drivers.s7.probe import probe as probe_plc

            _scheme, host, port, _path, query = _split_url(args.url, 102)
            connection, found = asyncio.run(
                probe_plc(host, port, int(query.get("rack", 0)), int(query.get("slot", 1)))
            )
            print(machine_yaml(args.machine, "s7", connection, found), end="")
            return EXIT_OK
    except (ValueError, LineSightError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    print(
        f"error: cannot probe '{args.url}': use modbus://host:port or s7://host:port?rack=0&slot=1",
        file=sys.stderr,
    )
    return EXIT_ERROR


# ---------------------------------------------------------------------- export


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """'now', a relative '-8h' / '-7d', or ISO 8601 (without an offset it is local time)."""
    now = now or datetime.now(UTC)
    value = text.strip()
    if value == "now":
        return now
    if match := _RELATIVE.match(value):
        return now - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"'{text}' is not a time: use ISO 8601 (2026-11-22T08:00), 'now' or -8h / -7d"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # the local time of this computer
    return parsed.astimezone(UTC)


def _chosen_historian(args: argparse.Namespace) -> Path | None:
    """The historian file of --db, or of --plant (default: the demo's); None after saying why not."""
    if args.db is not None:
        return Path(args.db)
    plant_path = args.plant or DEMO_PLANT
    try:
        plant = load_plant(plant_path)
    except PlantFileError as err:
        print(err, file=sys.stderr)
        return None
    return _historian_path(plant, plant_path, None)


def _cmd_export(args: argparse.Namespace) -> int:
    try:
        start, end = parse_when(args.start), parse_when(args.end)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    if end <= start:
        print(f"error: --to ({end.isoformat()}) must be after --from ({start.isoformat()})", file=sys.stderr)
        return EXIT_ERROR
    db_path = _chosen_historian(args)
    if db_path is None:
        return EXIT_INVALID
    if not db_path.exists():
        print(f"error: historian file {db_path} does not exist", file=sys.stderr)
        return EXIT_ERROR
    out = args.out or Path(f"export-{datetime.now().strftime('%Y%m%d-%H%M%S')}.{args.format}")
    try:
        with Historian(db_path, read_only=True) as historian:
            rows = historian.export(args.tag, start, end, out, args.format)
    except (HistorianError, LineSightError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    print(f"wrote {rows} rows of {len(args.tag)} tag(s) to {out}")
    return EXIT_OK


# ---------------------------------------------------------------------- users

_USER_NAME = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


def _cmd_users(args: argparse.Namespace) -> int:
    """Users live in the historian beside the audit trail; every change here is audited too."""
    db_path = _chosen_historian(args)
    if db_path is None:
        return EXIT_INVALID
    actor = f"cli:{_os_user()}"
    try:
        with Historian(db_path, read_only=args.users_command in ("list", "audit")) as historian:
            if args.users_command == "list":
                for user in historian.users():
                    print(f"{user.name:<20} {user.role.value:<12} {user.display_name}")
                return EXIT_OK
            if args.users_command == "audit":
                for entry in historian.audit_entries(limit=args.limit):
                    when = (
                        datetime.fromtimestamp(entry.ts_us / 1e6, UTC)
                        .astimezone()
                        .isoformat(timespec="seconds")
                    )
                    change = f" {entry.old} -> {entry.new}" if entry.old or entry.new else ""
                    print(
                        f"{when} {entry.user or '-'} ({entry.role or '-'}) {entry.action} {entry.target}"
                        f"{change}: {entry.outcome}{' - ' + entry.detail if entry.detail else ''}"
                    )
                return EXIT_OK
            if args.users_command == "remove":
                if not historian.remove_user(args.name):
                    print(f"error: no user {args.name!r} in {db_path}", file=sys.stderr)
                    return EXIT_ERROR
                historian.audit(_cli_audit(actor, "remove_user", args.name))
                print(f"removed {args.name}")
                return EXIT_OK
            if not _USER_NAME.match(args.name):
                print(
                    f"error: user name {args.name!r}: use 1 to 32 letters, digits, '.', '_' or '-'",
                    file=sys.stderr,
                )
                return EXIT_INVALID
            secret = _read_secret(password=args.password)
            problem = check_new_secret(secret, pin=not args.password)
            if problem is not None:
                print(f"error: {problem}", file=sys.stderr)
                return EXIT_INVALID
            old = next((u for u in historian.users() if u.name == args.name), None)
            role = Role(args.role)
            historian.save_user(
                User(name=args.name, role=role, secret=hash_secret(secret), display_name=args.display_name)
            )
            historian.audit(
                _cli_audit(
                    actor, "save_user", args.name, old="" if old is None else old.role.value, new=role.value
                )
            )
            print(f"{'changed' if old else 'added'} {args.name} ({role.value})")
            return EXIT_OK
    except (HistorianError, LineSightError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR


# The demo plant's people, documented in docs/hmi.md; a real plant starts with none (`linesight users add`).
DEMO_USERS = (
    ("operador", Role.OPERATOR, "1234"),
    ("supervisor", Role.SUPERVISOR, "2345"),
    ("manutencao", Role.MAINTENANCE, "3456"),
    ("gerente", Role.MANAGER, "4567"),
    ("admin", Role.ADMIN, "9876"),
)


def _seed_demo_users_beside(historian: Historian) -> threading.Thread:
    """Create the demo users on a thread of their own: hashing five PINs takes a quarter of a second,
    which the window's start need not wait for (scrypt lets go of the GIL, so it runs on the other core).
    Nobody can log in before they exist: the login dialog is opened by a person, after the window."""

    def seed() -> None:
        try:
            _seed_demo_users(historian)
        except (HistorianError, LineSightError) as err:
            log.error("could not create the demo users: %s", err)

    thread = threading.Thread(target=seed, name="demo-users", daemon=True)
    thread.start()
    return thread


def _seed_demo_users(historian: Historian) -> None:
    if historian.users():
        return
    for name, role, pin in DEMO_USERS:
        historian.save_user(User(name=name, role=role, secret=hash_secret(pin)))
    historian.audit(_cli_audit("demo", "seed_demo_users", ", ".join(name for name, _r, _p in DEMO_USERS)))
    log.info("demo users created (PINs in docs/hmi.md): %s", ", ".join(name for name, _r, _p in DEMO_USERS))


def _read_secret(*, password: bool) -> str:
    """The new PIN or password: asked twice on a terminal, else the first line of stdin."""
    what = "password" if password else "PIN"
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"new {what}: ")
    if getpass.getpass(f"the {what} again: ") != first:
        raise LineSightError(f"the two {what}s differ")
    return first


def _cli_audit(actor: str, action: str, target: str, *, old: str = "", new: str = "") -> AuditEntry:
    return AuditEntry(
        ts_us=time.time_ns() // 1000, user=actor, role="", action=action, target=target, old=old, new=new
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
