"""The fleet API: a FastAPI app over the backend's database, for the fleet web page and the HMI's Fleet
screen. Every request names its tenant with an API key (header ``X-API-Key``) and every query is
scoped to that tenant: another tenant's machine is simply not found.

Served: the OpenAPI description at ``/openapi.json`` (and ``/docs``), the JSON API under ``/api/v1``,
Prometheus metrics at ``/metrics`` and the fleet web page at ``/``.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Security
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from sqlalchemy import Engine, and_, extract, func, literal_column, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from linesight import __version__
from linesight.cloud.backend import control, db

log = logging.getLogger(__name__)

WEB = Path(__file__).resolve().parent / "web"
API_KEY_HEADER = "X-API-Key"
MAX_POINTS = 10_000
RAW_LIMIT = 50_000  # the most raw samples one history answer carries
STATES = ("running", "idle", "stopped", "setup", "planned_stop", "unknown")
WEB_FILES = {"fleet.js": "text/javascript", "fleet.css": "text/css"}


class ApiError(HTTPException):
    """A request the API refuses, with the parameter at fault named like FastAPI's own 422s."""

    def __init__(self, status: int, where: str | None, message: str) -> None:
        detail: Any = message if where is None else [{"loc": ["query", where], "msg": message}]
        super().__init__(status_code=status, detail=detail)


# ---------------------------------------------------------------------- authentication


def tenant_of_key(engine: Engine, key: str) -> str | None:
    """The tenant an API key belongs to, or None for an unknown, malformed or revoked key (checked on
    every request: the hash is a cheap SHA-256, and a revoked key stops working at once)."""
    with Session(engine) as session:
        return control.tenant_for_api_key(session, key)


# ---------------------------------------------------------------------- time helpers


def utc(moment: datetime) -> datetime:
    """A database timestamp as an aware UTC datetime (SQLite hands back naive UTC ones)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else utc(moment).isoformat().replace("+00:00", "Z")


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def day_start(now: datetime, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    return datetime(local.year, local.month, local.day, tzinfo=tz).astimezone(UTC)


def week_start(now: datetime, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    monday: date = local.date() - timedelta(days=local.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=tz).astimezone(UTC)


# ---------------------------------------------------------------------- OEE aggregation


@dataclass
class OeeSum:
    """OEE over several shifts and machines, weighted as ISO 22400 adds times and counts up:
    availability by planned time, performance by run time, quality by parts."""

    planned: float = 0.0
    run: float = 0.0
    net: float = 0.0  # performance x run time: the ideal time of the parts made
    produced: int = 0
    good: int = 0
    rejects: int = 0
    shifts: int = 0
    _quality_weight: float = 0.0
    _quality_sum: float = 0.0

    def add(self, row: Mapping[str, Any]) -> None:
        start, end = utc(row["shift_start"]), utc(row["shift_end"])
        planned = row["planned_s"]
        if planned is None:
            planned = max(0.0, (end - start).total_seconds())
        availability = row["availability"]
        run = row["run_s"]
        if run is None:
            run = planned * (availability if availability is not None else 0.0)
        performance = row["performance"] if row["performance"] is not None else 0.0
        self.planned += float(planned)
        self.run += float(run)
        self.net += float(run) * float(performance)
        self.produced += int(row["produced"] or 0)
        self.good += int(row["good"] or 0)
        self.rejects += int(row["rejects"] or 0)
        if row["quality"] is not None:
            weight = float(row["produced"]) if row["produced"] else float(run) * float(performance)
            self._quality_weight += weight
            self._quality_sum += weight * float(row["quality"])
        self.shifts += 1

    def merge(self, other: OeeSum) -> None:
        self.planned += other.planned
        self.run += other.run
        self.net += other.net
        self.produced += other.produced
        self.good += other.good
        self.rejects += other.rejects
        self.shifts += other.shifts
        self._quality_weight += other._quality_weight
        self._quality_sum += other._quality_sum

    def result(self) -> dict[str, Any] | None:
        if self.shifts == 0:
            return None
        availability = self.run / self.planned if self.planned > 0 else None
        performance = self.net / self.run if self.run > 0 else None
        if self.produced > 0:
            quality: float | None = self.good / self.produced
        elif self._quality_weight > 0:
            quality = self._quality_sum / self._quality_weight
        else:
            quality = None
        parts = (availability, performance, quality)
        oee = None if any(p is None for p in parts) else math.prod(p for p in parts if p is not None)
        return {
            "availability": availability,
            "performance": performance,
            "quality": quality,
            "oee": oee,
            "produced": self.produced,
            "good": self.good,
            "rejects": self.rejects,
            "shifts": self.shifts,
        }


PERIODS = ("shift", "today", "week")


@dataclass
class PeriodSums:
    sums: dict[str, OeeSum] = field(default_factory=lambda: {p: OeeSum() for p in PERIODS})

    def merge(self, other: PeriodSums) -> None:
        for period in PERIODS:
            self.sums[period].merge(other.sums[period])

    def result(self) -> dict[str, Any]:
        return {period: self.sums[period].result() for period in PERIODS}


# ---------------------------------------------------------------------- queries


def _state(value: str | None, edge_online: bool) -> str:
    if value is None or not edge_online:
        return "unknown"  # no state known, or its edge is offline: the state may be stale
    return value if value in STATES else "unknown"


def _machine_rows(
    conn: Connection, tenant: str, edge: str | None = None, machine: str | None = None
) -> list[Any]:
    m, s, st, e = db.machines, db.sites, db.machine_states, db.edges
    query = (
        select(
            m.c.edge_id,
            m.c.id,
            m.c.name,
            m.c.line,
            func.coalesce(m.c.site_id, e.c.site_id).label("site_id"),
            s.c.name.label("site_name"),
            s.c.timezone,
            st.c.state,
            st.c.since,
            st.c.updated_at,
            e.c.online,
            e.c.last_seen_at,
        )
        .select_from(m)
        .join(e, and_(e.c.tenant_id == m.c.tenant_id, e.c.id == m.c.edge_id), isouter=True)
        .join(
            s,
            and_(s.c.tenant_id == m.c.tenant_id, s.c.id == func.coalesce(m.c.site_id, e.c.site_id)),
            isouter=True,
        )
        .join(
            st,
            and_(st.c.tenant_id == m.c.tenant_id, st.c.edge_id == m.c.edge_id, st.c.machine == m.c.id),
            isouter=True,
        )
        .where(m.c.tenant_id == tenant)
        .order_by(s.c.name, m.c.line, m.c.name, m.c.edge_id, m.c.id)
    )
    if edge is not None:
        query = query.where(m.c.edge_id == edge)
    if machine is not None:
        query = query.where(m.c.id == machine)
    return list(conn.execute(query).mappings())


def _shift_columns() -> list[Any]:
    """The shift result columns the API reads (not ``data``: decoding its JSON for a week of a large
    fleet cost more than the rest of the query)."""
    r = db.shift_results.c
    return [
        r.edge_id,
        r.machine,
        r.shift,
        r.shift_start,
        r.shift_end,
        r.availability,
        r.performance,
        r.quality,
        r.oee,
        r.produced,
        r.good,
        r.rejects,
        r.planned_s,
        r.run_s,
    ]


def _shift_rows(
    conn: Connection, tenant: str, since: datetime, edge: str | None = None, machine: str | None = None
) -> list[Any]:
    r = db.shift_results
    query = (
        select(*_shift_columns())
        .where(r.c.tenant_id == tenant, r.c.shift_start >= since)
        .order_by(r.c.shift_start)
    )
    if edge is not None:
        query = query.where(r.c.edge_id == edge)
    if machine is not None:
        query = query.where(r.c.machine == machine)
    return list(conn.execute(query).mappings())


def _latest_shifts(conn: Connection, tenant: str) -> dict[tuple[str, str], Any]:
    """Each machine's latest shift (the running one when its edge sends running results, else the
    last that ended)."""
    r = db.shift_results
    newest = (
        select(r.c.edge_id, r.c.machine, func.max(r.c.shift_start).label("start"))
        .where(r.c.tenant_id == tenant)
        .group_by(r.c.edge_id, r.c.machine)
        .subquery()
    )
    query = (
        select(r)
        .join(
            newest,
            and_(
                r.c.edge_id == newest.c.edge_id,
                r.c.machine == newest.c.machine,
                r.c.shift_start == newest.c.start,
            ),
        )
        .where(r.c.tenant_id == tenant)
    )
    return {(row["edge_id"], row["machine"]): row for row in conn.execute(query).mappings()}


def fleet_summary(conn: Connection, tenant: str, now: datetime) -> dict[str, Any]:
    machines = _machine_rows(conn, tenant)
    # The earliest start any site's week can have (time zones differ by at most a day).
    oldest = min(
        (week_start(now, zone(row["timezone"])) for row in machines), default=week_start(now, ZoneInfo("UTC"))
    )
    history = _shift_rows(conn, tenant, oldest - timedelta(days=1))
    latest = _latest_shifts(conn, tenant)
    by_machine: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in history:
        by_machine[(row["edge_id"], row["machine"])].append(row)

    states = dict.fromkeys(STATES, 0)
    site_sums: dict[str, PeriodSums] = defaultdict(PeriodSums)
    line_sums: dict[tuple[str, str], PeriodSums] = defaultdict(PeriodSums)
    total = PeriodSums()
    site_names: dict[str, str] = {}
    line_order: dict[str, list[str]] = defaultdict(list)
    out_machines: list[dict[str, Any]] = []
    for row in machines:
        key = (row["edge_id"], row["id"])
        tz = zone(row["timezone"])
        site = row["site_id"] or ""
        line = row["line"] or ""
        site_names.setdefault(site, row["site_name"] or site)
        if line not in line_order[site]:
            line_order[site].append(line)
        state = _state(row["state"], bool(row["online"]))
        states[state] += 1
        own = PeriodSums()
        starts = {"today": day_start(now, tz), "week": week_start(now, tz)}
        for shift in by_machine.get(key, []):
            begun = utc(shift["shift_start"])
            for period, since in starts.items():
                if begun >= since:
                    own.sums[period].add(shift)
        current = latest.get(key)
        if current is not None:
            own.sums["shift"].add(current)
        for sums in (site_sums[site], line_sums[(site, line)], total):
            sums.merge(own)
        out_machines.append(
            {
                "edge": row["edge_id"],
                "machine": row["id"],
                "name": row["name"],
                "site": site,
                "site_name": site_names[site],
                "line": line,
                "state": state,
                "reported_state": row["state"],
                "since": iso(row["since"]),
                "edge_online": bool(row["online"]),
                "last_seen": iso(row["last_seen_at"]),
                "shift_name": None if current is None else current["shift"],
                "oee": own.result(),
            }
        )
    sites = [
        {
            "id": site,
            "name": site_names[site],
            "oee": site_sums[site].result(),
            "lines": [{"id": line, "oee": line_sums[(site, line)].result()} for line in line_order[site]],
        }
        for site in site_names
    ]
    name = conn.execute(select(db.tenants.c.name).where(db.tenants.c.id == tenant)).scalar_one_or_none()
    return {
        "tenant": tenant,
        "tenant_name": name or tenant,
        "generated_at": iso(now),
        "states": states,
        "machines": out_machines,
        "sites": sites,
        "oee": total.result(),
    }


def machine_detail(conn: Connection, tenant: str, edge: str, machine: str, now: datetime) -> dict[str, Any]:
    rows = _machine_rows(conn, tenant, edge, machine)
    if not rows:
        raise ApiError(404, None, f"no machine {machine!r} on edge {edge!r}")
    row = rows[0]
    tz = zone(row["timezone"])
    shifts = _shift_rows(conn, tenant, week_start(now, tz) - timedelta(days=7), edge, machine)
    sums = PeriodSums()
    for shift in shifts:
        begun = utc(shift["shift_start"])
        if begun >= day_start(now, tz):
            sums.sums["today"].add(shift)
        if begun >= week_start(now, tz):
            sums.sums["week"].add(shift)
    if shifts:
        sums.sums["shift"].add(shifts[-1])
    t = db.tags
    tag_rows = list(
        conn.execute(
            select(t.c.id, t.c.key, t.c.unit)
            .where(
                t.c.tenant_id == tenant,
                t.c.edge_id == edge,
                t.c.key.startswith(f"{machine}.", autoescape=True),
            )
            .order_by(t.c.key)
            .limit(500)
        ).mappings()
    )
    values = []
    s = db.samples
    for tag in tag_rows:
        last = (
            conn.execute(
                select(s.c.ts, s.c.value, s.c.text, s.c.quality)
                .where(s.c.tenant_id == tenant, s.c.tag_id == tag["id"])
                .order_by(s.c.ts.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        values.append(
            {
                "tag": tag["key"],
                "unit": tag["unit"],
                "ts": None if last is None else iso(last["ts"]),
                "value": None if last is None else last["value"],
                "text": None if last is None else last["text"],
                "quality": None if last is None else last["quality"],
            }
        )
    alarms = _events(
        conn, tenant, "alarm", now - timedelta(days=7), now, edge=edge, machine=machine, limit=50
    )
    return {
        "edge": edge,
        "machine": machine,
        "name": row["name"],
        "site": row["site_id"],
        "site_name": row["site_name"],
        "line": row["line"],
        "state": _state(row["state"], bool(row["online"])),
        "reported_state": row["state"],
        "since": iso(row["since"]),
        "edge_online": bool(row["online"]),
        "last_seen": iso(row["last_seen_at"]),
        "oee": sums.result(),
        "shifts": [_shift_json(shift) for shift in reversed(shifts[-21:])],
        "tags": values,
        "alarms": alarms,
    }


def _shift_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "shift": row["shift"],
        "start": iso(row["shift_start"]),
        "end": iso(row["shift_end"]),
        "availability": row["availability"],
        "performance": row["performance"],
        "quality": row["quality"],
        "oee": row["oee"],
        "produced": row["produced"],
        "good": row["good"],
        "rejects": row["rejects"],
    }


def _events(
    conn: Connection,
    tenant: str,
    stream: str,
    start: datetime,
    end: datetime,
    *,
    edge: str | None = None,
    machine: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    ev = db.events
    query = (
        select(ev.c.edge_id, ev.c.event_id, ev.c.ts, ev.c.machine, ev.c.data)
        .where(ev.c.tenant_id == tenant, ev.c.stream == stream, ev.c.ts >= start, ev.c.ts < end)
        .order_by(ev.c.ts.desc(), ev.c.event_id.desc())
    )
    if edge is not None:
        query = query.where(ev.c.edge_id == edge)
    if machine is not None:
        query = query.where(ev.c.machine == machine)
    if limit is not None:
        query = query.limit(limit)
    return [
        {
            "edge": r["edge_id"],
            "id": r["event_id"],
            "ts": iso(r["ts"]),
            "machine": r["machine"],
            "data": r["data"],
        }
        for r in conn.execute(query).mappings()
    ]


def _moment(data: Mapping[str, Any], *names: str) -> datetime | None:
    """A moment from an event's data: µs since the epoch (``*_us``), seconds, or ISO 8601 text."""
    for name in names:
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            scale = 1e6 if name.endswith("_us") else 1.0
            return datetime.fromtimestamp(value / scale, UTC)
        if isinstance(value, str):
            try:
                return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
            except ValueError:
                continue
    return None


def downtime_pareto(
    conn: Connection, tenant: str, start: datetime, end: datetime, edge: str | None, machine: str | None
) -> dict[str, Any]:
    """Coded stop time by reason, largest first, from the edges' ``downtime_code`` events.

    A coding covers [start, end) of a stop (an open end: until its stop ended, counted up to the
    request's end); a later coding of the same machine paints over an earlier one where they overlap,
    as on the edge."""
    events = _events(
        conn, tenant, "downtime_code", start - timedelta(days=1), end, edge=edge, machine=machine
    )
    events.sort(key=lambda e: (e["ts"] or "", e["id"]))
    # Per machine, the intervals in coding order; a later one replaces the overlapped part of earlier ones.
    painted: dict[tuple[str, str], list[tuple[datetime, datetime, str]]] = defaultdict(list)
    for item in events:
        data = item["data"] if isinstance(item["data"], Mapping) else {}
        reason = str(data.get("reason") or "uncoded")
        begin = _moment(data, "start_us", "start", "start_ts")
        finish = _moment(data, "end_us", "end", "end_ts")
        if begin is None:
            continue
        finish = end if finish is None else finish
        begin, finish = max(begin, start), min(finish, end)
        if finish <= begin:
            continue
        spans = painted[(item["edge"], item["machine"] or "")]
        kept: list[tuple[datetime, datetime, str]] = []
        for a, b, r in spans:
            if b <= begin or a >= finish:
                kept.append((a, b, r))
                continue
            if a < begin:
                kept.append((a, begin, r))
            if b > finish:
                kept.append((finish, b, r))
        kept.append((begin, finish, reason))
        painted[(item["edge"], item["machine"] or "")] = kept
    seconds: dict[str, float] = defaultdict(float)
    stops: dict[str, int] = defaultdict(int)
    for spans in painted.values():
        for a, b, reason in spans:
            seconds[reason] += (b - a).total_seconds()
            stops[reason] += 1
    total = sum(seconds.values())
    running = 0.0
    bars = []
    for reason, value in sorted(seconds.items(), key=lambda kv: (-kv[1], kv[0])):
        running += value
        bars.append(
            {
                "reason": reason,
                "seconds": round(value, 3),
                "count": stops[reason],
                "share": value / total if total else 0.0,
                "cumulative": running / total if total else 0.0,
            }
        )
    return {"start": iso(start), "end": iso(end), "total_seconds": round(total, 3), "reasons": bars}


# ---------------------------------------------------------------------- history


def _epoch_s(engine: Engine, column: Any) -> Any:
    """Seconds since the epoch of a timestamp column, in the database's own dialect."""
    if engine.dialect.name == "postgresql":
        return extract("epoch", column)
    return (func.julianday(column) - literal_column("2440587.5")) * literal_column("86400.0")


def _merge_rollups(rows: Sequence[Any], start: datetime, width: float) -> list[dict[str, Any]]:
    """Rollup buckets merged into buckets ``width`` seconds wide (min of the minima, max of the maxima,
    the mean from the sums and counts), so the answer has about as many points as asked for."""
    merged: dict[int, dict[str, Any]] = {}
    begin = start.timestamp()
    for row in rows:
        index = max(0, math.floor((utc(row["bucket"]).timestamp() - begin) / width))
        count = int(row["count"] or 0)
        into = merged.get(index)
        if into is None:
            merged[index] = {
                "count": count,
                "min": row["min"],
                "max": row["max"],
                "sum": row["sum"] or 0.0,
                "first": row["first"],
                "last": row["last"],
            }
            continue
        into["count"] += count
        if row["min"] is not None:
            into["min"] = row["min"] if into["min"] is None else min(into["min"], row["min"])
        if row["max"] is not None:
            into["max"] = row["max"] if into["max"] is None else max(into["max"], row["max"])
        into["sum"] += row["sum"] or 0.0
        into["last"] = row["last"]
    return [
        {
            "ts": iso(datetime.fromtimestamp(begin + index * width, UTC)),
            "count": bucket["count"],
            "min": bucket["min"],
            "max": bucket["max"],
            "avg": bucket["sum"] / bucket["count"] if bucket["count"] else None,
            "first": bucket["first"],
            "last": bucket["last"],
        }
        for index, bucket in sorted(merged.items())
    ]


def history(
    engine: Engine,
    conn: Connection,
    tenant: str,
    tag_key: str,
    edge: str | None,
    start: datetime,
    end: datetime,
    points: int,
) -> dict[str, Any]:
    """One tag's values over [start, end) in at most about ``points`` points: the raw samples when there
    are few; else hourly or daily rollups when a bucket that wide fits; else min/max/avg buckets
    computed from the raw samples (every spike stays in a band)."""
    t = db.tags
    query = select(t.c.id, t.c.edge_id, t.c.key, t.c.unit).where(t.c.tenant_id == tenant, t.c.key == tag_key)
    if edge is not None:
        query = query.where(t.c.edge_id == edge)
    found = list(conn.execute(query).mappings())
    if not found:
        raise ApiError(404, None, f"no tag {tag_key!r}" + (f" on edge {edge!r}" if edge else ""))
    if len(found) > 1:
        edges = ", ".join(sorted(row["edge_id"] for row in found))
        raise ApiError(422, "edge", f"tag {tag_key!r} exists on several edges ({edges}): name one with edge=")
    tag = found[0]
    s = db.samples
    scope = and_(s.c.tenant_id == tenant, s.c.tag_id == tag["id"], s.c.ts >= start, s.c.ts < end)
    count = conn.execute(select(func.count()).select_from(s).where(scope)).scalar_one()
    answer: dict[str, Any] = {
        "tag": tag["key"],
        "edge": tag["edge_id"],
        "unit": tag["unit"],
        "start": iso(start),
        "end": iso(end),
        "count": count,
    }
    if count <= points:
        raw = list(
            conn.execute(
                select(s.c.ts, s.c.value, s.c.text, s.c.quality)
                .where(scope)
                .order_by(s.c.ts)
                .limit(RAW_LIMIT)
            ).mappings()
        )
        answer["source"] = "raw"
        answer["points"] = [
            {"ts": iso(r["ts"]), "value": r["value"], "text": r["text"], "quality": r["quality"]} for r in raw
        ]
        return answer
    width = (end - start).total_seconds() / points
    for resolution, seconds in (("day", 86400.0), ("hour", 3600.0)):
        if width < seconds:
            continue
        r = db.sample_rollups
        rows = list(
            conn.execute(
                select(r.c.bucket, r.c.count, r.c.min, r.c.max, r.c.sum, r.c.first, r.c.last)
                .where(
                    r.c.tenant_id == tenant,
                    r.c.tag_id == tag["id"],
                    r.c.resolution == resolution,
                    r.c.bucket >= start - timedelta(seconds=seconds),
                    r.c.bucket < end,
                )
                .order_by(r.c.bucket)
            ).mappings()
        )
        if rows:
            answer["source"] = resolution
            answer["points"] = _merge_rollups(rows, start, width)
            return answer
    # Rollups too coarse (or not made yet): buckets of the raw samples, computed in the database.
    epoch = _epoch_s(engine, s.c.ts)
    begin = start.timestamp()
    # Constants inlined, not bound: PostgreSQL must see the GROUP BY expression equal to the selected one.
    bucket = func.floor((epoch - literal_column(repr(begin))) / literal_column(repr(width))).label("bucket")
    buckets = conn.execute(
        select(
            bucket,
            func.count(s.c.value).label("count"),
            func.min(s.c.value).label("min"),
            func.max(s.c.value).label("max"),
            func.avg(s.c.value).label("avg"),
        )
        .where(scope)
        .group_by(bucket)
        .order_by(bucket)
    ).mappings()
    answer["source"] = "buckets"
    answer["points"] = [
        {
            "ts": iso(datetime.fromtimestamp(begin + int(row["bucket"]) * width, UTC)),
            "count": row["count"],
            "min": row["min"],
            "max": row["max"],
            "avg": None if row["avg"] is None else float(row["avg"]),
        }
        for row in buckets
    ]
    return answer


# ---------------------------------------------------------------------- the app


def _window(
    start: datetime | None, end: datetime | None, default: timedelta, now: datetime
) -> tuple[datetime, datetime]:
    finish = utc(end) if end is not None else now
    begin = utc(start) if start is not None else finish - default
    if begin >= finish:
        raise ApiError(422, "end", "end must be after start")
    return begin, finish


KEY_HEADER = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="A tenant's API key; every answer covers that tenant's data only.",
)


def authenticated_tenant(request: Request, key: Annotated[str | None, Security(KEY_HEADER)] = None) -> str:
    """The tenant of the request's API key; 401 without a valid one."""
    metrics: ApiMetrics = request.app.state.metrics
    if not key:
        metrics.auth_failures.inc()
        raise HTTPException(401, f"missing API key: send it in the {API_KEY_HEADER} header")
    found = tenant_of_key(request.app.state.engine, key)
    if found is None:
        metrics.auth_failures.inc()
        raise HTTPException(401, "invalid or revoked API key")
    return found


Tenant = Annotated[str, Depends(authenticated_tenant)]


class ApiMetrics:
    """The API's own counters, beside the ingest registry's on /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "api_requests_total",
            "Fleet API requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "api_auth_failures_total",
            "Requests refused for a missing or wrong API key",
            registry=self.registry,
        )


def create_app(
    engine_or_url: Engine | str,
    registry: CollectorRegistry | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """The fleet API over a database (an Engine, or a URL / SQLite path for ``db.make_engine``).

    ``registry``: the ingest service's Prometheus registry, served on /metrics beside the API's own
    (by default the process's ``ingest.METRICS``).
    ``clock``: what "now" is (UTC), for "today", "this week" and default periods; tests pin it."""
    engine = engine_or_url if isinstance(engine_or_url, Engine) else db.make_engine(engine_or_url)
    if registry is None:
        from linesight.cloud.backend.ingest import METRICS  # the consumer's, when it runs in this process

        registry = METRICS.registry
    metrics = ApiMetrics()

    def now() -> datetime:
        return clock() if clock is not None else datetime.now(UTC)

    app = FastAPI(
        title="LineSight fleet API",
        version=__version__,
        description=(
            "Every machine of a tenant's plants: states, OEE, history, alarms and downtime. "
            f"Authenticate with an API key in the `{API_KEY_HEADER}` header (`linesight-cloud key create`)."
        ),
    )
    app.state.engine = engine
    app.state.metrics = metrics

    @app.middleware("http")
    async def count_requests(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "other")
        metrics.requests.labels(path, str(response.status_code)).inc()
        return response

    @app.get("/api/v1/fleet", tags=["fleet"])
    def fleet(tenant_id: Tenant) -> dict[str, Any]:
        """Every machine with its state; OEE of the current shift, today and this week (in each site's
        time zone) per machine, line, site and in total; machine counts by state."""
        with engine.connect() as conn:
            return fleet_summary(conn, tenant_id, now())

    @app.get("/api/v1/machines/{edge}/{machine}", tags=["fleet"])
    def machine(tenant_id: Tenant, edge: str, machine: str) -> dict[str, Any]:
        """One machine: state, OEE, the last shifts, its tags' latest values and its recent alarms."""
        with engine.connect() as conn:
            return machine_detail(conn, tenant_id, edge, machine, now())

    @app.get("/api/v1/history", tags=["history"])
    def tag_history(
        tenant_id: Tenant,
        tag: Annotated[str, Query(min_length=1, max_length=400, description="machine.tag")],
        start: Annotated[datetime | None, Query(description="ISO 8601; default end - 24 h")] = None,
        end: Annotated[datetime | None, Query(description="ISO 8601; default now")] = None,
        points: Annotated[int, Query(ge=2, le=MAX_POINTS)] = 500,
        edge: Annotated[str | None, Query(description="the edge, when the tag is on several")] = None,
    ) -> dict[str, Any]:
        """A tag's values, decimated to about ``points`` points (raw, hourly/daily rollups or buckets)."""
        begin, finish = _window(start, end, timedelta(hours=24), now())
        with engine.connect() as conn:
            return history(engine, conn, tenant_id, tag, edge, begin, finish, points)

    @app.get("/api/v1/alarms", tags=["events"])
    def alarms(
        tenant_id: Tenant,
        start: Annotated[datetime | None, Query(description="ISO 8601; default end - 24 h")] = None,
        end: Annotated[datetime | None, Query(description="ISO 8601; default now")] = None,
        edge: str | None = None,
        machine: str | None = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> dict[str, Any]:
        """Alarm transitions (raise, clear, acknowledge, shelve...) as the edges sent them, newest first."""
        begin, finish = _window(start, end, timedelta(hours=24), now())
        with engine.connect() as conn:
            found = _events(conn, tenant_id, "alarm", begin, finish, edge=edge, machine=machine, limit=limit)
        return {"start": iso(begin), "end": iso(finish), "alarms": found}

    @app.get("/api/v1/downtime/pareto", tags=["events"])
    def pareto(
        tenant_id: Tenant,
        start: Annotated[datetime | None, Query(description="ISO 8601; default end - 7 days")] = None,
        end: Annotated[datetime | None, Query(description="ISO 8601; default now")] = None,
        edge: str | None = None,
        machine: str | None = None,
    ) -> dict[str, Any]:
        """Coded downtime by reason, largest first, with each reason's share and the running total."""
        begin, finish = _window(start, end, timedelta(days=7), now())
        with engine.connect() as conn:
            return downtime_pareto(conn, tenant_id, begin, finish, edge, machine)

    @app.get("/metrics", tags=["operations"], response_class=Response)
    def prometheus() -> Response:
        """Prometheus text: the ingest service's metrics and the API's own."""
        parts = [generate_latest(metrics.registry)]
        if registry is not None:
            parts.insert(0, generate_latest(registry))
        return Response(b"".join(parts), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(WEB / "index.html", media_type="text/html", headers=_NO_STORE)

    @app.get("/web/{name}", include_in_schema=False)
    def web_file(name: str) -> FileResponse:
        media = WEB_FILES.get(name)
        if media is None:
            raise HTTPException(404, f"no file {name!r}")
        return FileResponse(WEB / name, media_type=media, headers=_NO_STORE)

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, status_code=error.status_code)

    return app


# The page loads only its own files and talks only to its own API: a script injected some other way
# could not send a key anywhere else.
_NO_STORE = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def app_from_env() -> FastAPI:
    """The app over $LINESIGHT_CLOUD_DB (else ./linesight-cloud.db), for
    ``uvicorn --factory linesight.cloud.backend.api:app_from_env``."""
    return create_app(db.make_engine(None))
