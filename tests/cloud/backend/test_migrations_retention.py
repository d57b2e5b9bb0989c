"""Alembic migrations create exactly the schema of the metadata; retention follows each tenant's plan."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, func, inspect, select, text

from linesight.cloud.backend import db
from linesight.cloud.backend.control import DEFAULT_PLANS
from linesight.cloud.backend.ingest import IngestMetrics, Ingestor
from linesight.cloud.backend.migrations import downgrade, upgrade
from linesight.cloud.backend.provision import create_edge, create_site, create_tenant
from linesight.cloud.backend.retention import apply_retention

from .ingest_fixtures import _engine_fixture, _pg_url_fixture, origin, sample_batch  # noqa: F401


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables at all)."""
    if request.param == "sqlite":
        yield str(tmp_path / "fresh.db")
        return
    base = request.getfixturevalue("pg_url").rsplit("/", 1)[0]
    name = f"ls_migrate_{secrets.token_hex(4)}"
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_creates_exactly_the_metadata_tables_and_downgrade_removes_them(blank_url: str) -> None:
    upgrade(blank_url)
    engine = db.make_engine(blank_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert tables == set(db.metadata.tables) | {"alembic_version"}
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), db.metadata)
            plans = conn.execute(select(db.plans.c.id)).scalars().all()
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        assert differences == []  # columns, types, keys and indexes as the metadata says
        assert sorted(plans) == sorted(p.id for p in DEFAULT_PLANS)
        assert version == "0003_status_order"
        upgrade(blank_url)  # a second upgrade is a no-op
        downgrade(blank_url)
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()


def test_retention_deletes_raw_samples_past_the_plan_and_keeps_rollups(engine: Engine) -> None:
    create_tenant(engine, "acme", plan="free")  # raw 7 days, rollups 90
    create_site(engine, "acme", "plant1")
    create_edge(engine, "acme", "plant1", "edge1")
    create_tenant(engine, "globex", plan="standard")  # raw 90 days
    create_site(engine, "globex", "plant9")
    create_edge(engine, "globex", "plant9", "edge9")
    now = datetime(2026, 6, 30, tzinfo=UTC)
    old_us = int((now - timedelta(days=10)).timestamp() * 1e6)
    new_us = int((now - timedelta(days=1)).timestamp() * 1e6)
    ingestor = Ingestor(engine, metrics=IngestMetrics())
    ingestor.store(sample_batch(1, 100, t0_us=old_us, step_us=1_000_000))
    ingestor.store(sample_batch(101, 150, t0_us=new_us - 101_000_000, step_us=1_000_000))
    ingestor.store(sample_batch(1, 100, t0_us=old_us, src=origin("globex", "plant9", "edge9")))
    with engine.connect() as conn:
        rollups_before = conn.execute(select(func.count()).select_from(db.sample_rollups)).scalar_one()

    report = apply_retention(engine, now=now)

    assert report["acme"] == (100, 0)
    assert report["globex"] == (0, 0)
    with engine.connect() as conn:
        per_tenant = select(db.samples.c.tenant_id, func.count()).group_by(db.samples.c.tenant_id)
        left = conn.execute(per_tenant).all()
        rollups_after = conn.execute(select(func.count()).select_from(db.sample_rollups)).scalar_one()
    assert dict(left) == {"acme": 50, "globex": 100}
    assert rollups_after == rollups_before
    # past the rollup retention (90 days for free) the rollups go too
    report = apply_retention(engine, now=now + timedelta(days=100))
    assert report["acme"][1] > 0 and report["globex"][1] == 0
