"""Alembic migrations of the backend's database; ``linesight-cloud db upgrade`` runs them.

The environment is configured in code (no alembic.ini): ``upgrade(target)`` points Alembic at this
package and at the database, and the first revision creates the schema of ``db.metadata``.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

from linesight.cloud.backend import db

HERE = Path(__file__).resolve().parent


def alembic_config(target: str | os.PathLike[str] | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    # ConfigParser interpolation: a '%' in a password must be doubled.
    config.set_main_option("sqlalchemy.url", db.database_url(target).replace("%", "%%"))
    return config


def upgrade(target: str | os.PathLike[str] | None = None, *, revision: str = "head") -> None:
    """Bring the database at ``target`` (URL or SQLite path) to ``revision``."""
    command.upgrade(alembic_config(target), revision)


def downgrade(target: str | os.PathLike[str] | None = None, *, revision: str = "base") -> None:
    command.downgrade(alembic_config(target), revision)
