"""Protocol driver throughput on loopback against real servers, with the CPU each side used.

Targets (2 cores):
  Modbus     ModbusDriver.read() of fully coalesced 125-register reads: requests/s >= 80 % of pymodbus's
             raw read_holding_registers(0, count=125) rate against the same server, in the same run
  OPC UA     >= 8,000 notifications/s delivered to the sink from one subscription of OpcUaDriver
  S7         >= 3,000 reads/s of S7Driver.read() (the virtual oven's DB500 record and process tags)
  MTConnect  >= 50,000 observations/s through the driver's parsing path (parse_document + the driver's
             mapping), on large /sample documents in memory and end to end following a virtual agent

Every server runs in a process of its own (bench/_servers.py); its CPU is reported apart from the
client's. Each part runs ``--runs`` times; the table shows the median and the spread.
Run: .venv/bin/python bench/drivers.py [--only modbus|opcua|s7|mtconnect] [--runs 2] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psutil

# Run as a script, bench/ is first on sys.path: the server processes import as a top-level module.
from _servers import (
    OPCUA_NAMESPACE,
    ServerProcess,
    modbus_main,
    mtconnect_main,
    mtconnect_record,
    mtconnect_script,
    opcua_main,
    s7_main,
)
from linesight.domain.tags import DataType, Sample, TagSpec
from linesight.runtime.engine import GIL_SWITCH_INTERVAL_S

PROTOCOLS = ("modbus", "opcua", "s7", "mtconnect")
MODBUS_RATIO_TARGET = 80.0  # % of pymodbus's raw request rate
OPCUA_TARGET = 8_000  # notifications/s
S7_TARGET = 3_000  # reads/s
MTCONNECT_TARGET = 50_000  # observations/s

_process = psutil.Process()


# ---------------------------------------------------------------------- measuring


def _cpu() -> float:
    times = _process.cpu_times()
    return float(times.user + times.system)


@dataclass
class Window:
    """What one measurement window counted, and the CPU seconds each side used during it."""

    elapsed: float
    count: int  # calls, or notifications, or observations: what the loop counted
    client_cpu: float
    server_cpu: float | None  # None: the server ran in the client's process (its CPU is in client_cpu)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed


class Delivered:
    """A subscription sink that counts the samples it is given."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, batch: Sequence[Sample]) -> None:
        self.count += len(batch)


class Stopwatch:
    """Wall time and CPU of this process (and of the server process, if any) between start and stop."""

    def __init__(self, server: ServerProcess | None) -> None:
        self._server = server

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self._cpu0 = _cpu()
        self._server0 = self._server.cpu() if self._server is not None else 0.0

    def stop(self, count: int) -> Window:
        elapsed = time.perf_counter() - self._t0
        cpu = _cpu() - self._cpu0
        server = self._server.cpu() - self._server0 if self._server is not None else None
        return Window(elapsed=elapsed, count=count, client_cpu=cpu, server_cpu=server)


async def run_for(
    call: Callable[[], Awaitable[Any]], seconds: float, server: ServerProcess | None, batch: int = 5
) -> Window:
    """Await ``call()`` back to back for ``seconds``; the window counts the calls. The clock is read
    every ``batch`` calls, not after every call."""
    watch = Stopwatch(server)
    calls = 0
    watch.start()
    end = time.perf_counter() + seconds
    while True:
        for _ in range(batch):
            await call()
        calls += batch
        if time.perf_counter() >= end:
            return watch.stop(calls)


@dataclass
class Contender:
    """One of several calls measured in turns (``in_turns``), with what its calls cost in all."""

    name: str
    call: Callable[[], Awaitable[Any]]
    server: ServerProcess | None
    requests: Callable[[], int] | None = None  # a driver's request counter, to check the plan
    batch: int = 5  # calls between two looks at the clock (1 for calls that take long)
    elapsed: float = 0.0
    count: int = 0
    client_cpu: float = 0.0
    server_cpu: float | None = None
    sent: int = 0  # requests the counter saw during the counted calls

    @property
    def rate(self) -> float:
        return self.count / self.elapsed

    def add(self, window: Window) -> None:
        self.elapsed += window.elapsed
        self.count += window.count
        self.client_cpu += window.client_cpu
        if window.server_cpu is not None:
            self.server_cpu = (self.server_cpu or 0.0) + window.server_cpu


async def in_turns(contenders: Sequence[Contender], warmup: float, seconds: float, turn: float = 0.5) -> None:
    """Measure each contender for ``seconds`` in all, in turns of ``turn`` seconds, after ``warmup``
    seconds each: all of them see the same machine, whatever else it is doing meanwhile (on a shared
    host the same loop measured 2,100 to 3,700 requests/s from one minute to the next)."""
    for contender in contenders:
        end = time.perf_counter() + warmup
        while time.perf_counter() < end:
            await contender.call()
    for _round in range(max(1, round(seconds / turn))):
        for contender in contenders:
            before = contender.requests() if contender.requests else 0
            contender.add(await run_for(contender.call, turn, contender.server, contender.batch))
            if contender.requests:
                contender.sent += contender.requests() - before


def ms_per_1000(cpu_seconds: float | None, samples: float) -> float | None:
    if cpu_seconds is None or samples <= 0:
        return None
    return cpu_seconds / samples * 1e6


def us(cpu_seconds: float | None, count: int) -> str:
    """CPU microseconds per call, or '-' when not measured apart."""
    return "-" if cpu_seconds is None or count <= 0 else f"{cpu_seconds / count * 1e6:.0f}"


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


@dataclass
class Row:
    """One line of the final table: a figure measured in every run, against its target."""

    name: str
    unit: str
    target: float
    figures: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)  # CPU ms per 1,000 samples, per run
    server_ms: list[float] = field(default_factory=list)
    server_where: str = "process"  # "process": measured apart; "in client": included in the client's
    counted: bool = True  # False: shown for comparison, not part of RESULT

    def add(self, figure: float, client_ms: float | None, server_ms: float | None) -> None:
        self.figures.append(figure)
        if client_ms is not None:
            self.client_ms.append(client_ms)
        if server_ms is not None:
            self.server_ms.append(server_ms)

    @property
    def median(self) -> float:
        return statistics.median(self.figures)

    @property
    def passed(self) -> bool:
        return bool(self.figures) and self.median >= self.target


# ---------------------------------------------------------------------- Modbus


def modbus_tags() -> dict[str, list[TagSpec]]:
    """125 uint16 tags (one request of 125 registers); and a mix of types over 250 registers that plans
    into two requests of exactly 125 (45 uint16, 20 int32, 10 float32, 5 float64 per 125 registers;
    the second half's 32-bit values word-swapped, as many devices send them)."""

    def tag(name: str, offset: int, data_type: DataType, **options: str) -> TagSpec:
        return TagSpec(
            machine="press",
            name=name,
            address=f"hr:{offset}",
            data_type=data_type,
            options=tuple(sorted(options.items())),
        )

    uint16 = [tag(f"u{i:03d}", i, DataType.UINT16) for i in range(125)]
    mix: list[TagSpec] = []
    for half in (0, 1):
        base = 125 * half
        swap = {"word_order": "little"} if half else {}
        offset = base
        for i in range(45):
            mix.append(tag(f"h{half}u{i:02d}", offset, DataType.UINT16))
            offset += 1
        for i in range(20):
            mix.append(tag(f"h{half}i{i:02d}", offset, DataType.INT32, **swap))
            offset += 2
        for i in range(10):
            mix.append(tag(f"h{half}f{i:02d}", offset, DataType.FLOAT32, **swap))
            offset += 2
        for i in range(5):
            mix.append(tag(f"h{half}d{i:02d}", offset, DataType.FLOAT64))
            offset += 4
        assert offset == base + 125
    return {"125 x uint16": uint16, "mix 160 tags/250 regs": mix}


async def modbus_run(server: ServerProcess, args: argparse.Namespace, rows: dict[str, Row]) -> None:
    from pymodbus.client import AsyncModbusTcpClient

    from linesight.drivers.modbus import FACTORY, ModbusDriver
    from linesight.drivers.modbus.codec import make_point, plan_reads

    port = server.info["port"]
    client = AsyncModbusTcpClient("127.0.0.1", port=port)
    await client.connect()

    async def raw() -> None:
        response = await client.read_holding_registers(0, count=125)
        assert len(response.registers) == 125

    contenders = [Contender("raw", raw, server)]
    drivers: dict[str, tuple[ModbusDriver, list[TagSpec], int]] = {}
    for name, tags in modbus_tags().items():
        driver = FACTORY.create("press", {"host": "127.0.0.1", "port": port}, tags)
        settings = driver.settings
        blocks = plan_reads(
            (make_point(spec, settings.device_id) for spec in tags),
            max_gap=settings.max_gap,
            max_registers=settings.max_registers,
        )
        assert all(block.count == 125 for block in blocks), [b.count for b in blocks]
        await driver.connect()
        assert len(await driver.read(tags)) == len(tags)
        drivers[name] = (driver, tags, len(blocks))

        async def read(driver: ModbusDriver = driver, tags: list[TagSpec] = tags) -> None:
            await driver.read(tags)

        contenders.append(Contender(name, read, server, requests=lambda d=driver: d.requests))
    try:
        await in_turns(contenders, args.warmup, args.seconds)
    finally:
        client.close()
        for driver, _tags, _blocks in drivers.values():
            await driver.close()
    bare = contenders[0]
    print(
        f"  raw pymodbus: {bare.rate:,.0f} req/s; CPU us/request client {us(bare.client_cpu, bare.count)}"
        f" server {us(bare.server_cpu, bare.count)}"
    )
    for contender in contenders[1:]:
        driver, tags, per_read = drivers[contender.name]
        exact = contender.sent == contender.count * per_read
        requests_per_s = contender.rate * per_read
        ratio = requests_per_s / bare.rate * 100
        samples = contender.count * len(tags)
        client_ms = ms_per_1000(contender.client_cpu, samples)
        server_ms = ms_per_1000(contender.server_cpu, samples)
        print(
            f"  driver {contender.name}: {contender.rate:,.0f} reads/s x {per_read} request(s)"
            f" of 125 registers = {requests_per_s:,.0f} req/s = {ratio:.1f} % of raw"
            f" (target >= {MODBUS_RATIO_TARGET:.0f} %);"
            f" {contender.rate * len(tags):,.0f} samples/s; driver.requests per read"
            f" {contender.sent / contender.count:.3f} ({'exact' if exact else 'NOT exact'});"
            f" CPU us/read client {us(contender.client_cpu, contender.count)}"
            f" server {us(contender.server_cpu, contender.count)};"
            f" CPU ms/1k samples client {fmt_ms(client_ms)} server {fmt_ms(server_ms)}"
        )
        rows[contender.name].add(ratio, client_ms, server_ms)


def modbus(args: argparse.Namespace) -> list[Row]:
    rows = {name: Row(f"modbus {name}", "% of raw req/s", MODBUS_RATIO_TARGET) for name in modbus_tags()}
    print(
        "Modbus: pymodbus ModbusTcpServer (the tests' simulated device, 1000 holding registers), own process"
    )
    with ServerProcess(modbus_main, 1000) as server:
        for run in range(1, args.runs + 1):
            print(f" run {run}")
            asyncio.run(modbus_run(server, args, rows))
    return list(rows.values())


# ---------------------------------------------------------------------- OPC UA


async def opcua_run(server: ServerProcess, args: argparse.Namespace, row: Row) -> None:
    from linesight.drivers.opcua import FACTORY

    nodes = server.info["nodes"]
    tags = [
        TagSpec(
            machine="pack",
            name=f"v{i:04d}",
            address=f"nsu={OPCUA_NAMESPACE};s=Bench.V{i:04d}",
            data_type=DataType.FLOAT64,
            options=(("queue_size", args.opcua_queue), ("sampling_interval", "10ms")),
        )
        for i in range(nodes)
    ]
    connection = {"endpoint": server.info["endpoint"], "publishing_interval": f"{args.opcua_publish}ms"}
    driver = FACTORY.create("pack", connection, tags)
    await driver.connect()
    delivered = Delivered()
    unsubscribe, refused = await driver.subscribe(tags, delivered)
    assert not refused, refused
    try:
        server.call("start")
        await asyncio.sleep(args.warmup)
        watch = Stopwatch(server)
        count0, dropped0 = delivered.count, driver.dropped
        writes0 = server.call("stats")["writes"]
        watch.start()
        await asyncio.sleep(args.seconds)
        window = watch.stop(delivered.count - count0)
        writes = server.call("stats")["writes"] - writes0
        dropped = driver.dropped - dropped0
        server.call("pause")
    finally:
        await unsubscribe()
        await driver.close()
    client = ms_per_1000(window.client_cpu, window.count)
    srv = ms_per_1000(window.server_cpu, window.count)
    print(
        f"  {window.rate:,.0f} notifications/s to the sink (target >= {OPCUA_TARGET:,});"
        f" server wrote {writes / window.elapsed:,.0f} values/s; driver.dropped +{dropped}"
        f" (total {driver.dropped}); CPU ms/1k notifications client {fmt_ms(client)} server {fmt_ms(srv)};"
        f" CPU cores client {window.client_cpu / window.elapsed:.2f}"
        f" server {(window.server_cpu or 0) / window.elapsed:.2f}"
    )
    if (window.server_cpu or 0) / window.elapsed >= 0.9:
        print("  the server process is saturated (a core): this figure is the asyncua server's limit")
    row.add(window.rate, client, srv)


def opcua(args: argparse.Namespace) -> list[Row]:
    row = Row("opcua subscription", "notifications/s", OPCUA_TARGET)
    print(
        f"OPC UA: asyncua server in its own process, {args.opcua_nodes} Double nodes rewritten as fast as it"
        f" can; one subscription, publishing {args.opcua_publish} ms, queue_size {args.opcua_queue}"
    )
    with ServerProcess(opcua_main, args.opcua_nodes) as server:
        for run in range(1, args.runs + 1):
            print(f" run {run}")
            asyncio.run(opcua_run(server, args, row))
    return [row]


# ---------------------------------------------------------------------- S7


def s7_machine() -> tuple[dict[str, Any], list[TagSpec]]:
    """The demo plant's oven (connection and tags), as `linesight demo` reads it."""
    from linesight.runtime.plantfile import DEMO_PLANT, load_plant

    plant = load_plant(DEMO_PLANT)
    machine = next(m for _site, _line, m in plant.machines() if m.driver == "s7")
    return dict(machine.connection), machine.tag_specs()


async def s7_run(server: ServerProcess, args: argparse.Namespace, rows: Sequence[Row]) -> None:
    """The same read against the oven in its own process and against one in this process, in turns."""
    from linesight.drivers.s7 import FACTORY, S7Driver
    from linesight.drivers.s7.codec import make_point, plan_reads
    from linesight.virtualplant.s7_oven import S7Oven

    async with S7Oven(seed=401, port=0) as local:
        connection, tags = s7_machine()
        contenders: list[Contender] = []
        drivers: list[S7Driver] = []
        for name, port, where in (
            ("own process", server.info["port"], server),
            ("in client", local.port, None),
        ):
            driver = FACTORY.create("oven", {**connection, "host": "127.0.0.1", "port": port}, tags)
            await driver.connect()
            assert all(s.quality == 0 for s in await driver.read(tags))
            drivers.append(driver)

            async def read(driver: S7Driver = driver) -> None:
                await driver.read(tags)

            contenders.append(Contender(name, read, where, requests=lambda d=driver: d.requests))
        settings = drivers[0].settings
        layouts = settings.codec_layouts()
        plan = plan_reads(
            (make_point(spec, layouts) for spec in tags),
            pdu_size=drivers[0].pdu_size,
            max_items=settings.max_items,
            max_gap=settings.max_gap,
        )
        try:
            await in_turns(contenders, args.warmup, args.seconds)
        finally:
            for driver in drivers:
                await driver.close()
    items = [item for request in plan.requests for item in request.items]
    if not rows[0].figures:
        print(
            f"  a read: {len(tags)} tags in {len(plan.requests)} request(s) of {len(items)} variables"
            f" ({', '.join(str(item) for item in items)}); {sum(i.size for i in items)} data bytes,"
            f" request {sum(r.request_bytes for r in plan.requests)} B, answer"
            f" {sum(r.reply_bytes for r in plan.requests)} B; PDU {drivers[0].pdu_size}"
        )
    for contender, row in zip(contenders, rows, strict=True):
        samples = contender.count * len(tags)
        client_ms = ms_per_1000(contender.client_cpu, samples)
        server_ms = ms_per_1000(contender.server_cpu, samples)
        print(
            f"  server {contender.name}: {contender.rate:,.0f} reads/s = {contender.rate * len(tags):,.0f}"
            f" samples/s (target >= {S7_TARGET:,} reads/s);"
            f" requests/read {contender.sent / contender.count:.3f};"
            f" CPU us/read client {us(contender.client_cpu, contender.count)}"
            f" server {us(contender.server_cpu, contender.count)};"
            f" CPU ms/1k samples client {fmt_ms(client_ms)} server {fmt_ms(server_ms)}"
        )
        row.add(contender.rate, client_ms, server_ms)


def s7(args: argparse.Namespace) -> list[Row]:
    rows = [
        Row("s7 (server in own process)", "reads/s", S7_TARGET),
        Row("s7 (server threads in client)", "reads/s", S7_TARGET, server_where="in client", counted=False),
    ]
    print(
        "S7: the virtual oven (python-snap7 3.3 Server: pure Python, a thread per client) in its own process,"
        " and one in the client's process, read in turns"
    )
    with ServerProcess(s7_main) as server:
        for run in range(1, args.runs + 1):
            print(f" run {run}")
            asyncio.run(s7_run(server, args, rows))
    return rows


# ---------------------------------------------------------------------- MTConnect


def mtconnect_tags(items: Sequence[Any]) -> list[TagSpec]:
    """A tag for every data item of the device, typed as an integrator would."""
    tags = []
    for item in items:
        if item.category == "SAMPLE":
            data_type = DataType.FLOAT64
        elif item.type == "PART_COUNT":
            data_type = DataType.INT64
        else:
            data_type = DataType.STRING
        tags.append(TagSpec(machine="lathe", name=item.id, address=item.id, data_type=data_type))
    return tags


async def mtconnect_parse(args: argparse.Namespace, row: Row) -> None:
    """parse_document + the driver's own mapping (``_changes``) over 1,000-observation /sample documents
    rendered by the virtual agent; the driver is set up by a real probe, /current and subscribe."""
    from linesight.drivers.mtconnect import FACTORY
    from linesight.drivers.mtconnect.codec import Streams, parse_document
    from linesight.virtualplant.mtconnect_agent import MTConnectAgent, SimulatedMachine

    per_doc, docs = 1000, 24
    machine = SimulatedMachine.from_profile("lathe1", "cnc", seed=3)
    async with MTConnectAgent([machine], sample_every=None) as agent:
        first = agent.sequences()[1]
        mtconnect_record(agent, "lathe1", mtconnect_script(per_doc * docs), 0, per_doc * docs)
        bodies = []
        for n in range(docs):
            status, text = agent.answer(f"/sample?from={first + n * per_doc}&count={per_doc}")
            assert status == 200
            bodies.append((first + n * per_doc, text.encode()))
        probe = FACTORY.create("lathe", {"url": agent.url}, [])
        await probe.connect()
        tags = mtconnect_tags(probe.data_items())
        await probe.close()
        driver = FACTORY.create("lathe", {"url": agent.url, "sample_interval": "10ms"}, tags)
        await driver.connect()
        unsubscribe, refused = await driver.subscribe(tags, lambda batch: None)
        assert not refused, refused
        await unsubscribe()
        await driver.close()
    size = sum(len(body) for _start, body in bodies) / docs
    changes = driver._changes  # the driver's mapping of a /sample answer's observations to samples
    mapped = 0

    async def parse() -> None:
        for _start, body in bodies:
            parse_document(body, "Streams")

    async def parse_and_map() -> None:
        nonlocal mapped
        for start, body in bodies:
            document = parse_document(body, "Streams")
            assert isinstance(document, Streams) and len(document.observations) == per_doc
            mapped += len(changes(document.observations, start))

    await parse_and_map()
    per_pass, mapped = mapped, 0  # samples a pass makes (the same every pass)

    only = Contender("parse_document", parse, None, batch=1)
    both = Contender("parse_document + mapping", parse_and_map, None, batch=1)
    # A call is one pass over the documents: turns of 1 s make each contender's share a few passes.
    await in_turns([only, both], args.warmup, args.seconds, turn=1.0)
    per_call = docs * per_doc
    rate_only, rate = only.rate * per_call, both.rate * per_call
    client_ms = ms_per_1000(both.client_cpu, both.count * per_pass)
    print(
        f"  in memory ({docs} documents of {per_doc} observations, {size / 1024:.0f} KiB each):"
        f" parse_document only {rate_only:,.0f} obs/s; parse + driver mapping {rate:,.0f} obs/s"
        f" (target >= {MTCONNECT_TARGET:,}); {per_pass / per_call:.2f} samples per observation;"
        f" CPU ms/1k samples {fmt_ms(client_ms)}"
    )
    row.add(rate, client_ms, None)


async def mtconnect_follow(server: ServerProcess, args: argparse.Namespace, row: Row) -> None:
    from linesight.drivers.mtconnect import FACTORY

    url = server.info["url"]
    probe = FACTORY.create("lathe", {"url": url}, [])
    await probe.connect()
    tags = mtconnect_tags(probe.data_items())
    await probe.close()
    connection = {"url": url, "count": args.mtconnect_count, "sample_interval": "10ms"}
    driver = FACTORY.create("lathe", connection, tags)
    await driver.connect()
    delivered = Delivered()
    unsubscribe, refused = await driver.subscribe(tags, delivered)
    assert not refused, refused
    try:
        server.call("start")
        await asyncio.sleep(args.warmup)
        watch = Stopwatch(server)
        count0, requests0 = delivered.count, driver.requests
        stats0 = server.call("stats")
        watch.start()
        await asyncio.sleep(args.seconds)
        window = watch.stop(delivered.count - count0)
        stats1 = server.call("stats")
        requests = driver.requests - requests0
        server.call("pause")
    finally:
        await unsubscribe()
        await driver.close()
    followed = stats1["asked"] - stats0["asked"]
    recorded = stats1["recorded"] - stats0["recorded"]
    client = ms_per_1000(window.client_cpu, window.count)
    srv = ms_per_1000(window.server_cpu, window.count)
    print(
        f"  following the agent: {window.rate:,.0f} obs/s to the sink (target >= {MTCONNECT_TARGET:,});"
        f" agent recorded {recorded / window.elapsed:,.0f}/s,"
        f" driver advanced {followed / window.elapsed:,.0f} seq/s"
        f" in {requests / window.elapsed:,.0f} requests/s; gaps {driver.gaps} dropped {driver.dropped};"
        f" CPU ms/1k samples client {fmt_ms(client)} agent {fmt_ms(srv)}"
        f" ({window.client_cpu / window.elapsed:.2f} + {(window.server_cpu or 0) / window.elapsed:.2f} cores)"
    )
    if window.client_cpu / window.elapsed >= 0.8:
        print("  the client is busy most of the time (the rest is waiting for the agent): client-bound")
    row.add(window.rate, client, srv)


def mtconnect(args: argparse.Namespace) -> list[Row]:
    parse = Row("mtconnect parse (in memory)", "observations/s", MTCONNECT_TARGET, server_where="-")
    follow = Row("mtconnect follow (agent)", "observations/s", MTCONNECT_TARGET)
    print(
        "MTConnect: /sample documents of the virtual agent parsed in memory; then MTConnectDriver"
        f" following the agent (own process, count={args.mtconnect_count}) while it records observations"
    )
    with ServerProcess(mtconnect_main, 20_000, 200) as server:
        for run in range(1, args.runs + 1):
            print(f" run {run}")
            asyncio.run(mtconnect_parse(args, parse))
            asyncio.run(mtconnect_follow(server, args, follow))
    return [parse, follow]


# ---------------------------------------------------------------------- report


def table(rows: Sequence[Row]) -> bool:
    print()
    header = (
        f"{'protocol':<32} {'measured (median; runs)':<40} {'target':<22} {'':<5}"
        f" {'CPU ms/1k samples client':>24} {'server':>10}"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for row in rows:
        spread = ", ".join(f"{f:,.0f}" if f >= 100 else f"{f:.1f}" for f in row.figures)
        median = f"{row.median:,.0f}" if row.median >= 100 else f"{row.median:.1f}"
        measured = f"{median} ({spread})"
        target = f">= {row.target:,.0f} {row.unit}"
        verdict = ("PASS" if row.passed else "FAIL") if row.counted else "info"
        client = fmt_ms(statistics.median(row.client_ms)) if row.client_ms else "-"
        if row.server_where == "process":
            server = fmt_ms(statistics.median(row.server_ms)) if row.server_ms else "-"
        else:
            server = row.server_where
        print(f"{row.name:<32} {measured:<40} {target:<22} {verdict:<5} {client:>24} {server:>10}")
        if row.counted:
            ok = ok and row.passed
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=PROTOCOLS, action="append", help="run only this part (repeatable)")
    parser.add_argument("--runs", type=int, default=2, help="runs of each part (the table shows the spread)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measurement window")
    parser.add_argument("--warmup", type=float, default=1.5, help="uncounted time before each window")
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=GIL_SWITCH_INTERVAL_S,
        help="sys.setswitchinterval in the client, as the runtime's engine sets it (default %(default)s s)",
    )
    parser.add_argument("--opcua-nodes", type=int, default=1000)
    parser.add_argument("--opcua-publish", type=int, default=50, help="publishing interval, ms")
    parser.add_argument("--opcua-queue", type=int, default=10, help="queue_size of each monitored item")
    parser.add_argument("--mtconnect-count", type=int, default=1000, help="observations per /sample")
    args = parser.parse_args()
    sys.setswitchinterval(args.switch_interval)
    print(
        f"{psutil.cpu_count()} cores; client GIL switch interval {sys.getswitchinterval() * 1000:g} ms;"
        f" {args.runs} runs of {args.seconds:g} s windows after {args.warmup:g} s warm-up;"
        f" load average {', '.join(f'{x:.2f}' for x in psutil.getloadavg())}"
    )
    parts: dict[str, Callable[[argparse.Namespace], list[Row]]] = {
        "modbus": modbus,
        "opcua": opcua,
        "s7": s7,
        "mtconnect": mtconnect,
    }
    rows: list[Row] = []
    for name in args.only or PROTOCOLS:
        rows.extend(parts[name](args))
    ok = table(rows)
    print("RESULT", "PASS" if ok else "FAIL")


if __name__ == "__main__":
    main()
