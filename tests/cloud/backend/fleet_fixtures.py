"""Two tenants' fleets in a SQLite backend database, for the fleet API, web page and HMI screen tests.

Tenants, sites, edges and API keys go through the control plane's provisioning functions; the data
goes through the ingest service's store as the edges' messages (status with the machines, state,
shift OEE, alarm and downtime events, samples), which also makes the rollups.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from linesight.cloud.backend import db, provision
from linesight.cloud.backend.control import init_schema
from linesight.cloud.backend.ingest import IngestMetrics, Ingestor
from linesight.cloud.codec import Event, EventBatch, MachineInfo, Origin, SampleBatch, Status, TagRef


@dataclass(frozen=True)
class Fleet:
    engine: Engine
    path: Path
    key_a: str  # acme's key
    key_b: str  # globex's key
    now: datetime


# Machines: (tenant, edge, site, id, name, line, state)
MACHINES = [
    ("acme", "sp-edge", "sao-paulo", "cnc-01", "Centro CNC 01", "Usinagem", "running"),
    ("acme", "sp-edge", "sao-paulo", "cnc-02", "Centro CNC 02", "Usinagem", "idle"),
    ("acme", "sp-edge", "sao-paulo", "prensa-01", "Prensa 01", "Estamparia", "stopped"),
    ("acme", "cwb-edge", "curitiba", "forno-01", "Forno 01", "Tratamento", "running"),
    ("globex", "det-edge", "detroit", "globex-lathe", "Globex Lathe 7", "Turning", "stopped"),
]
OEE = {
    "cnc-01": 0.6,
    "cnc-02": 0.72,
    "prensa-01": 0.41,
    "forno-01": 0.83,
    "globex-lathe": 0.5,
}  # running shift
TAG = "cnc-01.spindle_speed"
SAMPLES = 2000  # one a second over the last 2000 s


def fill(path: Path | str, now: datetime | None = None, *, engine: Engine | None = None) -> Fleet:
    """Provision both tenants and store their edges' messages through the ingest service's store."""
    engine = engine or db.make_engine(path)
    init_schema(engine)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    provision.create_tenant(engine, "acme", name="ACME Indústria", plan="standard")
    provision.create_tenant(engine, "globex", name="Globex Corp", plan="standard")
    provision.create_site(engine, "acme", "sao-paulo", name="São Paulo", timezone="America/Sao_Paulo")
    provision.create_site(engine, "acme", "curitiba", name="Curitiba", timezone="America/Sao_Paulo")
    provision.create_site(engine, "globex", "detroit", name="Detroit", timezone="America/Detroit")
    origins = {}
    for tenant, edge, site in sorted({(m[0], m[1], m[2]) for m in MACHINES}):
        provision.create_edge(engine, tenant, site, edge)
        origins[edge] = Origin(tenant=tenant, site=site, edge=edge)
    key_a = provision.create_api_key(engine, "acme", name="test")
    key_b = provision.create_api_key(engine, "globex", name="test")
    store = Ingestor(engine, metrics=IngestMetrics(CollectorRegistry()))
    sent = _us(now)
    events: dict[str, list[Event]] = {edge: [] for edge in origins}
    ids = iter(range(1, 10_000))
    for tenant, edge, _site, machine, name, _line, state in MACHINES:
        events[edge].append(
            Event(
                stream="state",
                id=next(ids),
                ts_us=_us(now - timedelta(minutes=12)),
                machine=machine,
                data={"state": state},
            )
        )
        # The running shift (its latest result) and one of yesterday.
        for start, oee in ((now - timedelta(hours=2), OEE[machine]), (now - timedelta(days=1, hours=2), 0.8)):
            events[edge].append(
                Event(
                    stream="shift_oee",
                    id=next(ids),
                    ts_us=_us(min(now, start + timedelta(hours=8))),
                    machine=machine,
                    data=_shift(start, oee),
                )
            )
        events[edge].append(
            Event(
                stream="alarm",
                id=next(ids),
                ts_us=_us(now - timedelta(minutes=5)),
                machine=machine,
                data={
                    "alarm_id": f"{machine}/temp",
                    "rule_id": "temp",
                    "tag": f"{machine}.temp",
                    "priority": "high",
                    "from_state": "normal",
                    "to_state": "unack_active",
                    "action": "raise",
                    "value": 97.5,
                    "message": f"{name} too hot",
                },
            )
        )
        events[edge].append(
            Event(
                stream="downtime_code",
                id=next(ids),
                ts_us=_us(now - timedelta(minutes=30)),
                machine=machine,
                data={
                    "start_us": _us(now - timedelta(minutes=90)),
                    "end_us": _us(now - timedelta(minutes=60 if tenant == "acme" else 30)),
                    "reason": "material" if tenant == "acme" else "globex-secret-reason",
                    "user": "ana",
                    "comment": "",
                },
            )
        )
    # acme's cnc-01 also had a breakdown of 10 minutes, coded twice: the later coding wins.
    for reason in ("operator", "breakdown"):
        events["sp-edge"].append(
            Event(
                stream="downtime_code",
                id=next(ids),
                ts_us=_us(now - timedelta(minutes=20)),
                machine="cnc-01",
                data={
                    "start_us": _us(now - timedelta(minutes=50)),
                    "end_us": _us(now - timedelta(minutes=40)),
                    "reason": reason,
                    "user": "ana",
                    "comment": "",
                },
            )
        )
    for edge, origin in origins.items():
        machines = tuple(
            MachineInfo(id=m[3], name=m[4], line=m[5], site=m[2]) for m in MACHINES if m[1] == edge
        )
        store.store(
            Status(origin=origin, sent_at_us=sent, batch=0, online=True, version="test", machines=machines)
        )
        store.store(EventBatch(origin=origin, sent_at_us=sent, batch=1, events=tuple(events[edge])))
    for edge, key, base in (("sp-edge", TAG, 1000.0), ("det-edge", "globex-lathe.spindle_speed", 7777.0)):
        # One a minute over three days, then one a second over the last SAMPLES seconds (one spike).
        stamps = [now - timedelta(minutes=m) for m in range(3 * 24 * 60, SAMPLES // 60 + 1, -1)]
        sparse = len(stamps)
        stamps += [now - timedelta(seconds=SAMPLES - i) for i in range(SAMPLES)]
        values = [base + (500.0 if i == sparse + 1234 else i % 10) for i in range(len(stamps))]
        for first in range(0, len(stamps), 5000):
            chunk = range(first, min(len(stamps), first + 5000))
            store.store(
                SampleBatch(
                    origin=origins[edge],
                    sent_at_us=sent,
                    batch=2 + first,
                    first_seq=first + 1,
                    last_seq=chunk[-1] + 1,
                    tags=(TagRef(key=key, unit="rpm"),),
                    seq=tuple(i + 1 for i in chunk),
                    tag=tuple(0 for _ in chunk),
                    ts_us=tuple(_us(stamps[i]) for i in chunk),
                    value=tuple(values[i] for i in chunk),
                    text=tuple(None for _ in chunk),
                    quality=tuple(0 for _ in chunk),
                )
            )
    return Fleet(engine=engine, path=Path(str(path)), key_a=key_a, key_b=key_b, now=now)


def _us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _shift(start: datetime, oee: float) -> dict[str, Any]:
    """A shift_oee event's data, as the edge sends it when a shift ends (or while it runs)."""
    produced = 400
    good = 380
    availability = 0.9 if oee < 0.7 else 0.95
    quality = good / produced
    return {
        "shift": "A",
        "start_us": _us(start),
        "end_us": _us(start + timedelta(hours=8)),
        "availability": availability,
        "performance": oee / availability / quality,
        "quality": quality,
        "oee": oee,
        "produced": produced,
        "good": good,
        "rejects": produced - good,
        "planned_s": 8 * 3600.0,
        "run_s": 8 * 3600.0 * availability,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run an ASGI app under a real uvicorn on a free loopback port in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
