"""Alembic's environment: run the migrations online against the configured database."""

from __future__ import annotations

from alembic import context

from linesight.cloud.backend import db


def run() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=db.metadata,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run()
