"""Retention per tenant plan: raw samples go after ``retention_days``; rollups and events are kept
for the longer ``rollup_retention_days``; dead letters for ``DEAD_LETTER_DAYS``."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select

from linesight.cloud.backend import db

log = logging.getLogger(__name__)

DEAD_LETTER_DAYS = 30


def apply_retention(engine: Engine, *, now: datetime | None = None) -> dict[str, tuple[int, int]]:
    """Delete what each tenant's plan no longer keeps; returns tenant → (raw samples, rollup rows) deleted."""
    now = now or datetime.now(UTC)
    report: dict[str, tuple[int, int]] = {}
    with engine.connect() as conn:
        tenants = conn.execute(
            select(db.tenants.c.id, db.plans.c.retention_days, db.plans.c.rollup_retention_days).select_from(
                db.tenants.join(db.plans, db.tenants.c.plan == db.plans.c.id)
            )
        ).all()
    for tenant in tenants:
        raw_cutoff = now - timedelta(days=tenant.retention_days)
        rollup_cutoff = now - timedelta(days=tenant.rollup_retention_days)
        with engine.begin() as conn:
            raw = conn.execute(
                delete(db.samples).where(db.samples.c.tenant_id == tenant.id, db.samples.c.ts < raw_cutoff)
            ).rowcount
            rollups = conn.execute(
                delete(db.sample_rollups).where(
                    db.sample_rollups.c.tenant_id == tenant.id, db.sample_rollups.c.bucket < rollup_cutoff
                )
            ).rowcount
            conn.execute(
                delete(db.events).where(db.events.c.tenant_id == tenant.id, db.events.c.ts < rollup_cutoff)
            )
        report[tenant.id] = (int(raw or 0), int(rollups or 0))
        if raw or rollups:
            log.info("retention: tenant %s: %d raw samples, %d rollup rows deleted", tenant.id, raw, rollups)
    with engine.begin() as conn:
        conn.execute(
            delete(db.dead_letters).where(
                db.dead_letters.c.received_at < now - timedelta(days=DEAD_LETTER_DAYS)
            )
        )
    return report
