"""The backend's database: SQLAlchemy Core tables (the bulk path and the fleet queries read these) and
engines for SQLite (the embedded default) and PostgreSQL (production).

Every data table carries ``tenant_id`` and every query must be scoped by it. Timestamps are UTC.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    false,
)
from sqlalchemy.engine import make_url

# Stable constraint names so that Alembic migrations and both dialects agree.
NAMING_CONVENTION: Mapping[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=dict(NAMING_CONVENTION))

NAME_LEN = 63  # tenant, site and edge names: [a-z0-9][a-z0-9_-]{0,62}

# BIGINT on PostgreSQL, INTEGER on SQLite (an INTEGER PRIMARY KEY is SQLite's rowid and autoincrements).
AutoId = BigInteger().with_variant(Integer(), "sqlite")
TS = DateTime(timezone=True)
# Names (tenant, site, edge, plan) are ASCII: on PostgreSQL, the "C" collation compares them bytewise,
# which keeps the hot primary-key and index inserts of the bulk path cheaper than locale rules would.
Name = String(NAME_LEN).with_variant(String(NAME_LEN, collation="C"), "postgresql")

# ---------------------------------------------------------------- control plane

plans = Table(
    "plans",
    metadata,
    Column("id", Name, primary_key=True),
    Column("max_edges", Integer, nullable=False),
    Column("samples_per_day", BigInteger, nullable=False),
    Column("retention_days", Integer, nullable=False),
    Column("rollup_retention_days", Integer, nullable=False),
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", Name, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("plan", Name, nullable=False),
    Column("created_at", TS, nullable=False),
    ForeignKeyConstraint(["plan"], ["plans.id"]),
)

sites = Table(
    "sites",
    metadata,
    Column("tenant_id", Name, nullable=False),
    Column("id", Name, nullable=False),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

edges = Table(
    "edges",
    metadata,
    Column("tenant_id", Name, nullable=False),
    Column("id", Name, nullable=False),
    Column("site_id", Name, nullable=False),
    Column("name", String(200), nullable=False),
    Column("mqtt_username", String(200), nullable=False, unique=True),
    Column("created_at", TS, nullable=False),
    Column("last_seen_at", TS, nullable=True),
    Column("online", Boolean, nullable=False, server_default=false()),
    Column("version", String(64), nullable=True),
    # The newest status message applied: its session (µs) × 2, + 1 when offline (ingest.status_order).
    Column("status_order", BigInteger, nullable=True),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id", "site_id"], ["sites.tenant_id", "sites.id"], ondelete="CASCADE"),
)

# The people of a tenant: who holds an API key, with what role; disabling one stops their keys.
USER_ROLES = ("viewer", "manager", "admin")
users = Table(
    "users",
    metadata,
    Column("tenant_id", Name, primary_key=True),
    Column("id", Name, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=True),
    Column("role", String(16), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("disabled_at", TS, nullable=True),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant_id", Name, nullable=False, index=True),
    Column("prefix", String(32), nullable=False, unique=True),
    Column("secret_hash", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("revoked_at", TS, nullable=True),
    Column("user_id", Name, nullable=True),  # the tenant's user who holds it; None: a service key
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

# ---------------------------------------------------------------- data plane

machines = Table(
    "machines",
    metadata,
    Column("tenant_id", Name, nullable=False),
    Column("edge_id", Name, nullable=False),
    Column("id", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("line", String(200), nullable=True),
    Column("site_id", Name, nullable=True),
    PrimaryKeyConstraint("tenant_id", "edge_id", "id"),
)

tags = Table(
    "tags",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("tenant_id", Name, nullable=False),
    Column("edge_id", Name, nullable=False),
    Column("key", String(400), nullable=False),
    Column("unit", String(64), nullable=False, server_default=""),
    UniqueConstraint("tenant_id", "edge_id", "key"),
)

samples = Table(
    "samples",
    metadata,
    Column("tenant_id", Name, nullable=False),
    Column("edge_id", Name, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("tag_id", BigInteger, nullable=False),
    Column("ts", TS, nullable=False),
    Column("value", Float, nullable=True),
    Column("text", Text, nullable=True),
    # 0 good, 1 uncertain, 2 bad (the historian's and the wire's encoding)
    Column("quality", SmallInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "edge_id", "seq"),
    # History and latest value of one tag (queries say tenant_id = ? AND tag_id = ?). Tag ids are unique
    # across tenants, so tenant_id would only widen the key: without it the bulk path's COPY costs about
    # a fifth less PostgreSQL CPU per row (bench/cloud/ingest.py).
    Index(None, "tag_id", "ts"),
    # Retention deletes by time; a BRIN index costs next to nothing on insert (rows arrive in time order).
    Index(None, "ts", postgresql_using="brin"),
)

sample_rollups = Table(
    "sample_rollups",
    metadata,
    Column("tenant_id", Name, nullable=False),
    Column("tag_id", BigInteger, nullable=False),
    Column("resolution", String(8), nullable=False),  # 'hour' | 'day'
    Column("bucket", TS, nullable=False),
    Column("count", BigInteger, nullable=False),  # numeric (non-null value) samples in the bucket
    Column("min", Float, nullable=True),
    Column("max", Float, nullable=True),
    Column("sum", Float, nullable=True),
    Column("first_ts", TS, nullable=True),
    Column("first", Float, nullable=True),
    Column("last_ts", TS, nullable=True),
    Column("last", Float, nullable=True),
    PrimaryKeyConstraint("tenant_id", "tag_id", "resolution", "bucket"),
)

events = Table(
    "events",
    metadata,
    Column("tenant_id", Name, nullable=False),
    Column("edge_id", Name, nullable=False),
    Column("stream", String(32), nullable=False),
    Column("event_id", BigInteger, nullable=False),
    Column("ts", TS, nullable=False),
    Column("machine", String(200), nullable=True),
    Column("data", JSON, nullable=False),
    PrimaryKeyConstraint("tenant_id", "edge_id", "stream", "event_id"),
    Index(None, "tenant_id", "stream", "ts"),
)

machine_states = Table(
    "machine_states",
    metadata,
    Column("tenant_id", Name, nullable=False),
    Column("edge_id", Name, nullable=False),
    Column("machine", String(200), nullable=False),
    Column("state", String(64), nullable=False),
    Column("since", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    PrimaryKeyConstraint("tenant_id", "edge_id", "machine"),
)

shift_results = Table(
    "shift_results",
    metadata,
    Column("tenant_id", Name, nullable=False),
    Column("edge_id", Name, nullable=False),
    Column("machine", String(200), nullable=False),
    Column("shift", String(200), nullable=True),
    Column("shift_start", TS, nullable=False),
    Column("shift_end", TS, nullable=False),
    Column("availability", Float, nullable=True),
    Column("performance", Float, nullable=True),
    Column("quality", Float, nullable=True),
    Column("oee", Float, nullable=True),
    Column("produced", BigInteger, nullable=True),
    Column("good", BigInteger, nullable=True),
    Column("rejects", BigInteger, nullable=True),
    Column("planned_s", Float, nullable=True),
    Column("run_s", Float, nullable=True),
    Column("data", JSON, nullable=True),  # the whole event payload, for fields not in columns
    PrimaryKeyConstraint("tenant_id", "edge_id", "machine", "shift_start"),
    Index(None, "tenant_id", "shift_start"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("received_at", TS, nullable=False),
    Column("topic", Text, nullable=False),
    Column("username", String(200), nullable=True),  # None when the broker does not tell (Mosquitto)
    Column("tenant_id", Name, nullable=True),  # the topic's tenant when it could be parsed
    Column("reason", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("payload_head", LargeBinary, nullable=True),  # the first bytes, for diagnosis
    Index(None, "received_at"),
)

usage = Table(
    "usage",
    metadata,
    Column("tenant_id", Name, nullable=False),
    Column("day", Date, nullable=False),
    Column("samples", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "day"),
)

DEFAULT_URL_ENV = "LINESIGHT_CLOUD_DB"


def database_url(target: str | os.PathLike[str] | None = None) -> str:
    """A SQLAlchemy URL from a URL, a file path (SQLite) or, when None, $LINESIGHT_CLOUD_DB or
    ./linesight-cloud.db."""
    if target is None:
        target = os.environ.get(DEFAULT_URL_ENV) or "linesight-cloud.db"
    text = os.fspath(target)
    if "://" in text:
        url = make_url(text)
        if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("", "psycopg2"):
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(target: str | os.PathLike[str] | None = None, **kwargs: Any) -> Engine:
    """An engine for a SQLite file path or a database URL (sqlite:///..., postgresql://...)."""
    url = database_url(target)
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
