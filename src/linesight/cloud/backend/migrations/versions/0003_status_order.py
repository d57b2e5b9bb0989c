"""The order of an edge's status messages, so that a late or repeated one cannot undo a newer one.

Revision ID: 0003_status_order
Revises: 0002_users
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_status_order"
down_revision = "0002_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("edges", sa.Column("status_order", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("edges") as batch:
        batch.drop_column("status_order")
