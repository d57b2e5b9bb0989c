"""The fleet API on SQLite with two tenants: authentication, tenant scoping on every endpoint,
parameter errors that name the parameter, the fleet summary's OEE, decimated history and the Pareto."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import update

from linesight.cloud.backend import db
from linesight.cloud.backend.api import create_app

from .fleet_fixtures import SAMPLES, TAG, Fleet, fill, serve
from .ingest_fixtures import _pg_url_fixture, empty_pg  # noqa: F401

# A Wednesday afternoon: 12:00 in São Paulo, so "today" and "this week" hold known shifts.
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fleet(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Both tenants' fleets, shared by the tests that only read (on each dialect)."""
    if request.param == "sqlite":
        made = fill(tmp_path_factory.mktemp("api") / "cloud.db", now=NOW)
    else:
        made = fill("postgresql", now=NOW, engine=empty_pg(request.getfixturevalue("pg_url")))
    yield made
    made.engine.dispose()


@contextmanager
def api_client(fleet: Fleet) -> Iterator[httpx.Client]:
    registry = CollectorRegistry()
    ingested = Counter("ingest_messages_total", "messages", ["tenant"], registry=registry)
    ingested.labels("acme").inc(3)
    with (
        serve(create_app(fleet.engine, registry, clock=lambda: NOW)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        yield http


@pytest.fixture(scope="module")
def client(fleet: Fleet) -> Iterator[httpx.Client]:
    with api_client(fleet) as http:
        yield http


@pytest.fixture
def own(tmp_path: Path) -> Iterator[tuple[Fleet, httpx.Client]]:
    """A fleet of the test's own, for tests that change it."""
    made = fill(tmp_path / "cloud.db", now=NOW)
    with api_client(made) as http:
        yield made, http
    made.engine.dispose()


def get(client: httpx.Client, key: str, path: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers={"X-API-Key": key})
    return response


def test_the_fleet_shows_the_tenants_machines_by_state_and_their_oee(
    client: httpx.Client, fleet: Fleet
) -> None:
    body = get(client, fleet.key_a, "/api/v1/fleet").json()
    assert body["tenant"] == "acme"
    names = {m["machine"] for m in body["machines"]}
    assert names == {"cnc-01", "cnc-02", "prensa-01", "forno-01"}
    assert body["states"]["running"] == 2
    assert body["states"]["stopped"] == 1
    assert body["states"]["idle"] == 1
    cnc = next(m for m in body["machines"] if m["machine"] == "cnc-01")
    assert cnc["site_name"] == "São Paulo"
    assert cnc["line"] == "Usinagem"
    assert cnc["oee"]["shift"]["oee"] == pytest.approx(0.6)
    assert cnc["oee"]["today"]["oee"] == pytest.approx(0.6)  # today's shift only
    week = cnc["oee"]["week"]
    assert week["shifts"] == 2  # yesterday's (Tuesday) and today's
    assert 0.6 < week["oee"] < 0.8
    sites = {site["id"]: site for site in body["sites"]}
    assert set(sites) == {"sao-paulo", "curitiba"}
    lines = {line["id"] for line in sites["sao-paulo"]["lines"]}
    assert lines == {"Usinagem", "Estamparia"}
    assert sites["sao-paulo"]["oee"]["today"]["shifts"] == 3
    # The total weighs each machine's shift by its times and parts: between the worst and the best.
    assert body["oee"]["today"]["shifts"] == 4
    assert 0.41 < body["oee"]["today"]["oee"] < 0.83
    assert body["tenant_name"] == "ACME Indústria"


def test_a_machine_of_an_offline_edge_shows_no_data_not_its_stale_state(
    own: tuple[Fleet, httpx.Client],
) -> None:
    fleet, client = own
    with fleet.engine.begin() as conn:
        conn.execute(update(db.edges).where(db.edges.c.id == "cwb-edge").values(online=False))
    body = get(client, fleet.key_a, "/api/v1/fleet").json()
    oven = next(m for m in body["machines"] if m["machine"] == "forno-01")
    assert oven["state"] == "unknown"
    assert oven["reported_state"] == "running"
    assert body["states"]["running"] == 1


def test_a_tenants_key_never_sees_another_tenants_data_on_any_endpoint(
    client: httpx.Client, fleet: Fleet
) -> None:
    start = (NOW - timedelta(days=3)).isoformat()
    fleet_b = get(client, fleet.key_b, "/api/v1/fleet").json()
    assert [m["machine"] for m in fleet_b["machines"]] == ["globex-lathe"]
    fleet_a = get(client, fleet.key_a, "/api/v1/fleet").text
    assert "globex" not in fleet_a and "Detroit" not in fleet_a
    # B's machine, edge and tag named outright with A's key: not found, never B's rows.
    assert get(client, fleet.key_a, "/api/v1/machines/det-edge/globex-lathe").status_code == 404
    assert get(client, fleet.key_b, "/api/v1/machines/sp-edge/cnc-01").status_code == 404
    assert get(client, fleet.key_a, "/api/v1/history", tag="globex-lathe.spindle_speed").status_code == 404
    assert get(client, fleet.key_b, "/api/v1/history", tag=TAG).status_code == 404
    assert get(client, fleet.key_a, "/api/v1/history", tag=TAG, edge="det-edge").status_code == 404
    assert get(client, fleet.key_b, "/api/v1/machines/sp-edge/globex-lathe").status_code == 404
    alarms_a = get(client, fleet.key_a, "/api/v1/alarms", start=start).json()["alarms"]
    assert {a["machine"] for a in alarms_a} == {"cnc-01", "cnc-02", "prensa-01", "forno-01"}
    alarms = get(client, fleet.key_a, "/api/v1/alarms", start=start, edge="det-edge").json()
    assert alarms["alarms"] == []
    alarms = get(client, fleet.key_a, "/api/v1/alarms", start=start, machine="globex-lathe").json()
    assert alarms["alarms"] == []
    pareto_a = get(client, fleet.key_a, "/api/v1/downtime/pareto").json()
    assert "globex-secret-reason" not in {r["reason"] for r in pareto_a["reasons"]}
    pareto_b = get(client, fleet.key_b, "/api/v1/downtime/pareto").json()
    assert [r["reason"] for r in pareto_b["reasons"]] == ["globex-secret-reason"]


def test_a_missing_wrong_or_revoked_key_is_refused_with_401(own: tuple[Fleet, httpx.Client]) -> None:
    fleet, client = own
    assert client.get("/api/v1/fleet").status_code == 401
    wrong = fleet.key_a[:-4] + ("AAAA" if not fleet.key_a.endswith("AAAA") else "BBBB")
    for key in (wrong, "lsk_nope_x", "not-a-key", fleet.key_a.replace("lsk_", "xyz_")):
        response = get(client, key, "/api/v1/fleet")
        assert response.status_code == 401, key
        assert "API key" in response.json()["detail"]
    for path in ("/api/v1/alarms", "/api/v1/downtime/pareto", "/api/v1/machines/sp-edge/cnc-01"):
        assert get(client, wrong, path).status_code == 401
    with fleet.engine.begin() as conn:
        conn.execute(update(db.api_keys).where(db.api_keys.c.tenant_id == "acme").values(revoked_at=NOW))
    assert get(client, fleet.key_a, "/api/v1/fleet").status_code == 401
    assert get(client, fleet.key_b, "/api/v1/fleet").status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"tag": TAG, "points": "0"}, "points"),
        ({"tag": TAG, "points": "lots"}, "points"),
        ({"tag": TAG, "start": "yesterday"}, "start"),
        ({"tag": TAG, "start": "2026-11-25T10:00:00Z", "end": "2026-11-25T09:00:00Z"}, "end"),
        ({}, "tag"),
    ],
)
def test_bad_history_parameters_get_422_naming_the_parameter(
    client: httpx.Client, fleet: Fleet, params: dict[str, str], field: str
) -> None:
    response = get(client, fleet.key_a, "/api/v1/history", **params)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert any(item["loc"][-1] == field for item in detail), detail


def test_bad_alarm_and_pareto_parameters_get_422_naming_the_parameter(
    client: httpx.Client, fleet: Fleet
) -> None:
    response = get(client, fleet.key_a, "/api/v1/alarms", limit="-3")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]
    response = get(client, fleet.key_a, "/api/v1/downtime/pareto", end="not a time")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "end"]


def test_history_is_raw_when_few_and_min_max_buckets_that_keep_the_spike_when_many(
    client: httpx.Client, fleet: Fleet
) -> None:
    start = (NOW - timedelta(seconds=100)).isoformat()
    raw = get(client, fleet.key_a, "/api/v1/history", tag=TAG, start=start, end=NOW.isoformat()).json()
    assert raw["source"] == "raw"
    assert len(raw["points"]) == 100
    assert raw["unit"] == "rpm"
    start = (NOW - timedelta(seconds=SAMPLES)).isoformat()
    many = get(client, fleet.key_a, "/api/v1/history", tag=TAG, start=start, end=NOW.isoformat(), points=50)
    body = many.json()
    assert body["source"] == "buckets"
    assert body["count"] == SAMPLES
    assert 45 <= len(body["points"]) <= 51
    assert sum(p["count"] for p in body["points"]) == SAMPLES
    assert max(p["max"] for p in body["points"]) == 1500.0  # the one spike survives decimation
    assert min(p["min"] for p in body["points"]) == 1000.0


def test_history_over_days_comes_from_the_hourly_rollups(client: httpx.Client, fleet: Fleet) -> None:
    start = (NOW - timedelta(days=3)).isoformat()
    body = get(
        client, fleet.key_a, "/api/v1/history", tag=TAG, start=start, end=NOW.isoformat(), points=24
    ).json()
    assert body["source"] == "hour"  # 3-hour buckets, each merged from three hourly rollups
    assert 23 <= len(body["points"]) <= 25
    assert body["points"][1]["count"] == 3 * 60  # one sample a minute
    assert body["points"][1]["avg"] == pytest.approx(1004.5)
    assert body["points"][1]["min"] == 1000.0 and body["points"][1]["max"] == 1009.0


def test_the_pareto_adds_coded_time_by_reason_and_a_later_coding_paints_over(
    client: httpx.Client, fleet: Fleet
) -> None:
    body = get(client, fleet.key_a, "/api/v1/downtime/pareto").json()
    reasons = {r["reason"]: r for r in body["reasons"]}
    assert set(reasons) == {"material", "breakdown"}  # "operator" was coded over by "breakdown"
    assert reasons["material"]["seconds"] == pytest.approx(4 * 30 * 60)
    assert reasons["breakdown"]["seconds"] == pytest.approx(10 * 60)
    assert body["reasons"][0]["reason"] == "material"
    assert body["reasons"][-1]["cumulative"] == pytest.approx(1.0)
    only = get(client, fleet.key_a, "/api/v1/downtime/pareto", machine="cnc-01").json()
    assert only["total_seconds"] == pytest.approx(40 * 60)


def test_a_machine_detail_has_its_tags_shifts_and_alarms(client: httpx.Client, fleet: Fleet) -> None:
    body = get(client, fleet.key_a, "/api/v1/machines/sp-edge/cnc-01").json()
    assert body["name"] == "Centro CNC 01"
    assert body["state"] == "running"
    assert [t["tag"] for t in body["tags"]] == [TAG]
    assert body["tags"][0]["ts"] == (NOW - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    assert 1000.0 <= body["tags"][0]["value"] <= 1009.0
    assert len(body["shifts"]) == 2
    assert body["alarms"][0]["data"]["message"] == "Centro CNC 01 too hot"
    assert get(client, fleet.key_a, "/api/v1/machines/sp-edge/nope").status_code == 404


def test_openapi_describes_the_api_and_its_key(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/fleet" in spec["paths"]
    assert "/api/v1/history" in spec["paths"]
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("name") == "X-API-Key" and s.get("in") == "header" for s in schemes.values())
    assert client.get("/docs").status_code == 200


def test_metrics_combine_the_ingest_registry_and_the_apis_own(own: tuple[Fleet, httpx.Client]) -> None:
    fleet, client = own
    get(client, fleet.key_a, "/api/v1/fleet")
    get(client, "wrong", "/api/v1/fleet")
    text = client.get("/metrics").text
    assert 'ingest_messages_total{tenant="acme"} 3.0' in text
    assert 'api_requests_total{route="/api/v1/fleet",status="200"} 1.0' in text
    assert "api_auth_failures_total 1.0" in text


def test_the_web_page_and_its_files_are_served(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "fleet.js" in page.text
    assert client.get("/web/fleet.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/web/fleet.css").status_code == 200
    assert client.get("/web/../api.py").status_code == 404


def test_metrics_serve_the_ingest_services_names_by_default(fleet: Fleet) -> None:
    with serve(create_app(fleet.engine)) as url, httpx.Client(base_url=url, timeout=30) as http:
        text = http.get("/metrics").text
    for name in (
        "ingest_messages_total",
        "ingest_lag_ms",
        "parse_error_total",
        "dedupe_total",
        "quota_usage_percent",
    ):
        assert f"# TYPE {name} " in text, name
