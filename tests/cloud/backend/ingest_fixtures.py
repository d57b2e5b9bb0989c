"""Databases for the backend's ingest tests: a SQLite file, and PostgreSQL as a throwaway database.

PostgreSQL: $LINESIGHT_TEST_PG_URL when set; else the machine's own server on 127.0.0.1:5432 (trust
auth) with a database created for this test session and dropped after; else (or with
LINESIGHT_TEST_PG=cluster) a throwaway cluster made
with initdb + pg_ctl on a free port under a temporary directory (run as the ``postgres`` user when the
tests run as root, since initdb refuses root).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from linesight.cloud.backend import db
from linesight.cloud.backend.control import init_schema
from linesight.cloud.codec import Event, EventBatch, Origin, SampleBatch, TagRef


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _find(binary: str) -> str | None:
    found = shutil.which(binary)
    if found:
        return found
    for root in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (root / binary).exists():
            return str(root / binary)
    return None


class _Cluster:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl) on a free port."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ls-pg-"))
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres")
        initdb, pg_ctl = _find("initdb"), _find("pg_ctl")
        if not initdb or not pg_ctl:
            pytest.skip("PostgreSQL (initdb, pg_ctl) is not installed")
        self.pg_ctl = pg_ctl
        data = self.dir / "data"
        subprocess.run(
            [*self.as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
            check=True,
            capture_output=True,
        )
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [
                *self.as_user,
                pg_ctl,
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(self.dir / "log"),
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, self.pg_ctl, "-D", str(self.dir / "data"), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session", name="pg_url")
def _pg_url_fixture() -> Iterator[str]:
    """The URL of an empty database with the schema, for this test session."""
    given = os.environ.get("LINESIGHT_TEST_PG_URL")
    cluster: _Cluster | None = None
    if given:
        admin_url = db.database_url(given)
    elif os.environ.get("LINESIGHT_TEST_PG") != "cluster" and _port_open("127.0.0.1", 5432):
        admin_url = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    else:
        cluster = _Cluster()
        admin_url = cluster.url
    name = f"ls_ingest_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    engine = db.make_engine(url)
    init_schema(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        if cluster is not None:
            cluster.stop()


def empty_pg(url: str) -> Engine:
    engine = db.make_engine(url)
    names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    init_schema(engine)
    return engine


@pytest.fixture(name="engine", params=["sqlite", "postgresql"])
def _engine_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty backend database with the schema and default plans, on each dialect."""
    if request.param == "sqlite":
        engine = db.make_engine(tmp_path / "cloud.db")
        init_schema(engine)
    else:
        engine = empty_pg(request.getfixturevalue("pg_url"))
    yield engine
    engine.dispose()


# ---------------------------------------------------------------- messages


def origin(tenant: str = "acme", site: str = "plant1", edge: str = "edge1") -> Origin:
    return Origin(tenant=tenant, site=site, edge=edge)


T0_US = 1_780_000_000_000_000  # 2026-05-28T20:26:40Z


def sample_batch(
    first: int,
    last: int,
    *,
    src: Origin | None = None,
    tags: int = 3,
    t0_us: int = T0_US,
    step_us: int = 1_000_000,
    batch: int = 1,
    sent_at_us: int | None = None,
) -> SampleBatch:
    """Samples ``first..last``; sample n is tag n % tags, at t0 + n·step, value float(n)."""
    seq = tuple(range(first, last + 1))
    return SampleBatch(
        origin=src or origin(),
        sent_at_us=sent_at_us if sent_at_us is not None else t0_us + last * step_us,
        batch=batch,
        first_seq=first,
        last_seq=last,
        tags=tuple(TagRef(key=f"m1.tag{i}", unit="rpm") for i in range(tags)),
        seq=seq,
        tag=tuple(n % tags for n in seq),
        ts_us=tuple(t0_us + n * step_us for n in seq),
        value=tuple(float(n) for n in seq),
        text=tuple(None for _ in seq),
        quality=tuple(0 for _ in seq),
    )


def event_batch(events: list[Event], *, src: Origin | None = None) -> EventBatch:
    return EventBatch(origin=src or origin(), sent_at_us=T0_US, batch=1, events=tuple(events))
