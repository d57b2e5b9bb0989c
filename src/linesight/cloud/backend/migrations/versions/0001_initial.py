"""Create the backend schema: control plane (plans, tenants, sites, edges, API keys) and data
(machines, tags, samples, rollups, events, machine states, shift results, dead letters, usage).

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

# ASCII names, compared bytewise on PostgreSQL (db.Name)
NAME = sa.String(length=63).with_variant(sa.String(length=63, collation="C"), "postgresql")

PLANS = [
    # id, max_edges, samples_per_day, retention_days, rollup_retention_days (control.DEFAULT_PLANS)
    ("free", 2, 1_000_000, 7, 90),
    ("standard", 50, 200_000_000, 90, 730),
    ("enterprise", 10_000, 20_000_000_000, 365, 3650),
]


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=True),
        sa.Column("tenant_id", NAME, nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("payload_head", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_index(op.f("ix_dead_letters_received_at"), "dead_letters", ["received_at"], unique=False)
    op.create_table(
        "events",
        sa.Column("tenant_id", NAME, nullable=False),
        sa.Column("edge_id", NAME, nullable=False),
        sa.Column("stream", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("machine", sa.String(length=200), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "edge_id", "stream", "event_id", name=op.f("pk_events")),
    )
    op.create_index(
        op.f("ix_events_tenant_id_stream_ts"), "events", ["tenant_id", "stream", "ts"], unique=False
    )
    op.create_table(
        "machine_states",
        sa.Column("tenant_id", NAME, nullable=False),
        sa.Column("edge_id", NAME, nullable=False),
        sa.Column("machine", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "edge_id", "machine", name=op.f("pk_machine_states")),
    )
    op.create_table(
        "machines",
        sa.Column("tenant_id", NAME, nullable=False),
        sa.Column("edge_id", NAME, nullable=False),
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("line", sa.String(length=200), nullable=True),
        sa.Column("site_id", NAME, nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "edge_id", "id", name=op.f("pk_machines")),
    )
    op.create_table(
        "plans",
        sa.Column("id", NAME, nullable=False),
        sa.Column("max_edges", sa.Integer(), nullable=False),
        sa.Column("samples_per_day", sa.BigInteger(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("rollup_retention_days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
    )
    op.create_table(
        "sample_rollups",
        sa.Column("tenant_id", NAME, nullable=False),
        sa.Column("tag_id", sa.BigInteger(), nullable=False),
        sa.Column("resolution", sa.String(length=8), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("min", sa.Float(), nullable=True),
        sa.Column("max", sa.Float(), nullable=True),
        sa.Column("sum", sa.Float(), nullable=True),
        sa.Column("first_ts", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first", sa.Float(), nullable=True),
        sa.Column("last_ts", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "tenant_id", "tag_id", "resolution", "bucket", name=op.f("pk_sample_rollups")
        ),
    )
    op.create_table(
        "samples",
        sa.Column("tenant_id", NAME, nullable=False),
        sa.Column("edge_id", NAME, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("tag_id", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("quality", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "edge_id", "seq", name=op.f("pk_samples")),
    )
    op.create_index(op.f("ix_samples_tag_id_ts"), "samples", ["tag_id", "ts"], unique=False)
    op.create_index(op.f("ix_samples_ts"), "samples", ["ts"], unique=False, postgresql_using="brin")
    op.create_table(
        "shift_results",
        sa.Column("tenant_id", NAME, nullable=False),
        sa.Column("edge_id", NAME, nullable=False),
        sa.Column("machine", sa.String(length=200), nullable=False),
        sa.Column("shift", sa.String(length=200), nullable=True),
        sa.Column("shift_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shift_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("availability", sa.Float(), nullable=True),
        sa.Column("performance", sa.Float(), nullable=True),
        sa.Column("quality", sa.Float(), nullable=True),
        sa.Column("oee", sa.Float(), nullable=True),
        sa.Column("produced", sa.BigInteger(), nullable=True),
        sa.Column("good", sa.BigInteger(), nullable=True),
        sa.Column("rejects", sa.BigInteger(), nullable=True),
        sa.Column("planned_s", sa.Float(), nullable=True),
        sa.Column("run_s", sa.Float(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint(
            "tenant_id", "edge_id", "machine", "shift_start", name=op.f("pk_shift_results")
        ),
    )
    op.create_index(
        op.f("ix_shift_results_tenant_id_shift_start"),
        "shift_results",
        ["tenant_id", "shift_start"],
        unique=False,
    )
    op.create_table(
        "tags",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", NAME, nullable=False),
        sa.Column("edge_id", NAME, nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("unit", sa.String(length=64), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("tenant_id", "edge_id", "key", name=op.f("uq_tags_tenant_id_edge_id_key")),
    )
    op.create_table(
        "usage",
        sa.Column("tenant_id", NAME, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("samples", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "day", name=op.f("pk_usage")),
    )
    op.create_table(
        "tenants",
        sa.Column("id", NAME, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("plan", NAME, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["plan"], ["plans.id"], name=op.f("fk_tenants_plan_plans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", NAME, nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_api_keys_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_index(op.f("ix_api_keys_tenant_id"), "api_keys", ["tenant_id"], unique=False)
    op.create_table(
        "sites",
        sa.Column("tenant_id", NAME, nullable=False),
        sa.Column("id", NAME, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sites_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sites")),
    )
    op.create_table(
        "edges",
        sa.Column("tenant_id", NAME, nullable=False),
        sa.Column("id", NAME, nullable=False),
        sa.Column("site_id", NAME, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("mqtt_username", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("online", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "site_id"],
            ["sites.tenant_id", "sites.id"],
            name=op.f("fk_edges_tenant_id_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_edges")),
        sa.UniqueConstraint("mqtt_username", name=op.f("uq_edges_mqtt_username")),
    )
    plans = sa.table(
        "plans",
        sa.column("id", sa.String),
        sa.column("max_edges", sa.Integer),
        sa.column("samples_per_day", sa.BigInteger),
        sa.column("retention_days", sa.Integer),
        sa.column("rollup_retention_days", sa.Integer),
    )
    op.bulk_insert(
        plans,
        [
            dict(
                zip(
                    ("id", "max_edges", "samples_per_day", "retention_days", "rollup_retention_days"),
                    p,
                    strict=True,
                )
            )
            for p in PLANS
        ],
    )


def downgrade() -> None:
    op.drop_table("edges")
    op.drop_table("sites")
    op.drop_index(op.f("ix_api_keys_tenant_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("tenants")
    op.drop_table("usage")
    op.drop_table("tags")
    op.drop_index(op.f("ix_shift_results_tenant_id_shift_start"), table_name="shift_results")
    op.drop_table("shift_results")
    op.drop_index(op.f("ix_samples_ts"), table_name="samples")
    op.drop_index(op.f("ix_samples_tag_id_ts"), table_name="samples")
    op.drop_table("samples")
    op.drop_table("sample_rollups")
    op.drop_table("plans")
    op.drop_table("machines")
    op.drop_table("machine_states")
    op.drop_index(op.f("ix_events_tenant_id_stream_ts"), table_name="events")
    op.drop_table("events")
    op.drop_index(op.f("ix_dead_letters_received_at"), table_name="dead_letters")
    op.drop_table("dead_letters")
