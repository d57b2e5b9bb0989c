"""The control plane as ORM classes: plans (quotas), tenants, sites, edges, users and API keys.

The classes map the Core tables of ``db`` (one metadata, one schema): the bulk path keeps using Core,
provisioning and the API's key check use these.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, relationship

from linesight.cloud.backend import db


class Base(DeclarativeBase):
    metadata = db.metadata


class Plan(Base):
    __table__ = db.plans

    id: Mapped[str]
    max_edges: Mapped[int]
    samples_per_day: Mapped[int]
    retention_days: Mapped[int]
    rollup_retention_days: Mapped[int]


class Tenant(Base):
    __table__ = db.tenants

    id: Mapped[str]
    name: Mapped[str]
    plan: Mapped[str]
    created_at: Mapped[datetime]

    plan_row: Mapped[Plan] = relationship(Plan, lazy="joined", viewonly=True)


class Site(Base):
    __table__ = db.sites

    tenant_id: Mapped[str]
    id: Mapped[str]
    name: Mapped[str]
    timezone: Mapped[str]


class Edge(Base):
    __table__ = db.edges

    tenant_id: Mapped[str]
    id: Mapped[str]
    site_id: Mapped[str]
    name: Mapped[str]
    mqtt_username: Mapped[str]
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
    online: Mapped[bool]
    version: Mapped[str | None]
    status_order: Mapped[int | None]


class User(Base):
    __table__ = db.users

    tenant_id: Mapped[str]
    id: Mapped[str]
    name: Mapped[str]
    email: Mapped[str | None]
    role: Mapped[str]
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class ApiKey(Base):
    __table__ = db.api_keys

    id: Mapped[str]
    tenant_id: Mapped[str]
    prefix: Mapped[str]
    secret_hash: Mapped[str]
    name: Mapped[str]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    user_id: Mapped[str | None]


@dataclass(frozen=True, kw_only=True)
class PlanSpec:
    id: str
    max_edges: int
    samples_per_day: int
    retention_days: int
    rollup_retention_days: int


# The plans a fresh database starts with (`db upgrade` inserts them; edit rows to change quotas).
DEFAULT_PLANS: tuple[PlanSpec, ...] = (
    PlanSpec(id="free", max_edges=2, samples_per_day=1_000_000, retention_days=7, rollup_retention_days=90),
    PlanSpec(
        id="standard", max_edges=50, samples_per_day=200_000_000, retention_days=90, rollup_retention_days=730
    ),
    PlanSpec(
        id="enterprise",
        max_edges=10_000,
        samples_per_day=20_000_000_000,
        retention_days=365,
        rollup_retention_days=3650,
    ),
)


def seed_plans(session: Session) -> None:
    """Insert the default plans that are missing (existing rows keep their edited quotas)."""
    present = set(session.scalars(select(Plan.id)))
    for spec in DEFAULT_PLANS:
        if spec.id not in present:
            session.add(
                Plan(
                    id=spec.id,
                    max_edges=spec.max_edges,
                    samples_per_day=spec.samples_per_day,
                    retention_days=spec.retention_days,
                    rollup_retention_days=spec.rollup_retention_days,
                )
            )


def init_schema(engine: Engine) -> None:
    """Create every table and the default plans (tests and quick starts; production runs
    ``linesight-cloud db upgrade``, the Alembic migrations)."""
    db.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        seed_plans(session)


# ---------------------------------------------------------------- API keys

API_KEY_PREFIX = "lsk"


def hash_secret(secret: str) -> str:
    # API key secrets are 32 random bytes: a plain SHA-256 is enough (no dictionary to guess from).
    return "sha256$" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_api_key() -> tuple[str, str, str]:
    """(key shown once, its public prefix, its secret's hash)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"{API_KEY_PREFIX}_{prefix}_{secret}", prefix, hash_secret(secret)


def tenant_for_api_key(session: Session, key: str) -> str | None:
    """The tenant a presented API key belongs to, or None when unknown, malformed or revoked."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == parts[1])).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, hash_secret(parts[2])):
        return None
    if row.user_id is not None:
        holder = session.get(User, (row.tenant_id, row.user_id))
        if holder is None or holder.disabled_at is not None:
            return None  # a disabled (or removed) user's keys stop working with them
    return row.tenant_id


def utcnow() -> datetime:
    return datetime.now(UTC)
