"""Provisioning: tenants, sites, edges (with broker files and the edge quota) and API keys."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from linesight.cloud.backend import db
from linesight.cloud.backend.cli import main
from linesight.cloud.backend.control import tenant_for_api_key
from linesight.cloud.backend.provision import (
    BrokerFiles,
    ProvisionError,
    create_api_key,
    create_backend_user,
    create_edge,
    create_site,
    create_tenant,
    create_user,
    disable_user,
    mosquitto_hash,
)
from linesight.domain.cloud import CloudConfig

from .ingest_fixtures import _engine_fixture, _pg_url_fixture  # noqa: F401


def _broker(tmp_path: Path) -> BrokerFiles:
    return BrokerFiles(password_file=tmp_path / "passwd", acl_file=tmp_path / "acl")


def test_edge_create_registers_the_edge_and_writes_its_broker_password_and_acl(
    engine: Engine, tmp_path: Path
) -> None:
    broker = _broker(tmp_path)
    create_tenant(engine, "acme", name="ACME", plan="standard")
    create_site(engine, "acme", "plant1", timezone="America/Sao_Paulo")
    creds = create_edge(engine, "acme", "plant1", "edge1", broker=broker)
    create_edge(engine, "acme", "plant1", "edge2", broker=broker)

    assert creds.username == "acme.edge1"
    with engine.connect() as conn:
        row = conn.execute(select(db.edges).where(db.edges.c.id == "edge1")).one()
    assert (row.tenant_id, row.site_id, row.mqtt_username, row.online) == (
        "acme",
        "plant1",
        "acme.edge1",
        False,
    )

    entries = dict(line.split(":", 1) for line in broker.password_file.read_text().splitlines())
    assert set(entries) == {"acme.edge1", "acme.edge2"}
    _, seven, iterations, salt, digest = entries["acme.edge1"].split("$")
    assert seven == "7"
    expected = hashlib.pbkdf2_hmac("sha512", creds.password.encode(), base64.b64decode(salt), int(iterations))
    assert base64.b64decode(digest) == expected
    assert creds.password not in broker.password_file.read_text()

    acl = broker.acl_file.read_text()
    assert "user acme.edge1\ntopic write linesight/v1/acme/plant1/edge1/#" in acl
    assert "user acme.edge2\ntopic write linesight/v1/acme/plant1/edge2/#" in acl
    section = yaml.safe_load(creds.plant_snippet("broker.acme.example", 8883))["cloud"]
    config = CloudConfig.model_validate(section)  # what the edge's plant file accepts
    assert (config.tenant, config.site, config.edge) == ("acme", "plant1", "edge1")
    assert (config.host, config.port, config.username, config.password) == (
        "broker.acme.example",
        8883,
        "acme.edge1",
        creds.password,
    )
    assert config.tls is not None and not config.enabled


def test_duplicate_and_malformed_names_are_refused_with_the_name_in_the_error(engine: Engine) -> None:
    create_tenant(engine, "acme")
    with pytest.raises(ProvisionError, match="tenant 'acme' already exists"):
        create_tenant(engine, "acme")
    with pytest.raises(ProvisionError, match="tenant 'Acme Corp' is not a valid name"):
        create_tenant(engine, "Acme Corp")
    with pytest.raises(ProvisionError, match="plan 'gold' does not exist"):
        create_tenant(engine, "globex", plan="gold")
    with pytest.raises(ProvisionError, match="tenant 'nobody' does not exist"):
        create_site(engine, "nobody", "plant1")
    with pytest.raises(ProvisionError, match="time zone 'Mars/Olympus'"):
        create_site(engine, "acme", "plant1", timezone="Mars/Olympus")
    create_site(engine, "acme", "plant1")
    with pytest.raises(ProvisionError, match="site 'plant1' of tenant 'acme' already exists"):
        create_site(engine, "acme", "plant1")
    with pytest.raises(ProvisionError, match="site 'plant9' of tenant 'acme' does not exist"):
        create_edge(engine, "acme", "plant9", "edge1")
    create_edge(engine, "acme", "plant1", "edge1")
    with pytest.raises(ProvisionError, match="edge 'edge1' of tenant 'acme' already exists"):
        create_edge(engine, "acme", "plant1", "edge1")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(db.tenants)).scalar() == 1


def test_edge_quota_of_the_plan_is_enforced_and_the_refused_edge_leaves_no_trace(
    engine: Engine, tmp_path: Path
) -> None:
    broker = _broker(tmp_path)
    create_tenant(engine, "acme", plan="free")  # free: 2 edges
    create_site(engine, "acme", "plant1")
    create_edge(engine, "acme", "plant1", "edge1", broker=broker)
    create_edge(engine, "acme", "plant1", "edge2", broker=broker)
    with pytest.raises(ProvisionError, match=r"already has 2 edge\(s\).*plan 'free'.*max_edges=2"):
        create_edge(engine, "acme", "plant1", "edge3", broker=broker)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(db.edges)).scalar() == 2
    assert "acme.edge3" not in broker.password_file.read_text()
    assert "edge3" not in broker.acl_file.read_text()


def test_api_key_is_shown_once_stored_hashed_and_resolves_to_its_tenant(engine: Engine) -> None:
    create_tenant(engine, "acme")
    create_tenant(engine, "globex")
    key = create_api_key(engine, "acme", name="dashboard")
    other = create_api_key(engine, "globex")
    with engine.connect() as conn:
        stored = conn.execute(select(db.api_keys.c.secret_hash)).scalars().all()
    assert all(key.split("_", 2)[2] not in h for h in stored)
    with Session(engine) as session:
        assert tenant_for_api_key(session, key) == "acme"
        assert tenant_for_api_key(session, other) == "globex"
        assert tenant_for_api_key(session, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
        assert tenant_for_api_key(session, "not-a-key") is None
    with pytest.raises(ProvisionError, match="tenant 'nobody' does not exist"):
        create_api_key(engine, "nobody")


def test_backend_user_and_edges_share_the_broker_files_without_clobbering(tmp_path: Path) -> None:
    broker = _broker(tmp_path)
    broker.acl_file.write_text("# managed by linesight-cloud\n")
    create_backend_user(broker)
    first = broker.password_file.read_text()
    create_backend_user(broker)  # a rotated password replaces the entry
    lines = broker.password_file.read_text().splitlines()
    assert len(lines) == 1 and lines[0] != first.strip()
    acl = broker.acl_file.read_text()
    assert acl.startswith("# managed by linesight-cloud\n")
    assert acl.count("user linesight-backend") == 1 and "topic read linesight/v1/#" in acl


def test_sync_acl_brings_an_old_acl_file_up_to_date_and_keeps_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dbfile, files = cli_edge1(tmp_path)
    assert main(["--db", dbfile, "backend-user", "create", *files]) == 0
    # What an older version wrote: no rule for the edge to read its confirmations, an old backend rule.
    acl = tmp_path / "acl"
    acl.write_text(
        "# site rules\nuser operator\ntopic read $SYS/#\n\n"
        "user acme.edge1\ntopic write linesight/v1/acme/plant1/edge1/#\n\n"
        "user linesight-backend\ntopic read linesight/v1/#\n"
    )
    capsys.readouterr()
    assert main(["--db", dbfile, "broker", "sync-acl", *files]) == 0
    assert "wrote 2 user blocks" in capsys.readouterr().out
    text = acl.read_text()
    assert text.startswith("# site rules\n")
    assert "user operator\ntopic read $SYS/#" in text  # a block it does not manage stays
    assert "user acme.edge1\ntopic write linesight/v1/acme/plant1/edge1/#\n" in text
    assert "topic read linesight/v1/acme/plant1/edge1/ack" in text
    assert "topic write linesight/v1/+/+/+/ack" in text
    assert text.count("user acme.edge1") == 1 and text.count("user linesight-backend") == 1
    assert main(["--db", dbfile, "broker", "sync-acl", "--acl-file", str(acl)]) == 2
    assert "give both --password-file and --acl-file" in capsys.readouterr().err


def test_mosquitto_hash_is_stable_for_a_given_salt() -> None:
    salt = bytes(range(12))
    assert mosquitto_hash("secret", salt=salt) == mosquitto_hash("secret", salt=salt)
    assert mosquitto_hash("secret", salt=salt) != mosquitto_hash("secreT", salt=salt)
    assert mosquitto_hash("secret", salt=salt).startswith("$7$101$AAECAwQFBgcICQoL$")


def cli_edge1(tmp_path: Path) -> tuple[str, list[str]]:
    """Through the CLI: a database with tenant acme (free plan), site plant1 and edge edge1, whose broker
    entries went to tmp_path/passwd and tmp_path/acl; returns the database and the broker-file options."""
    dbfile = str(tmp_path / "cloud.db")
    files = ["--password-file", str(tmp_path / "passwd"), "--acl-file", str(tmp_path / "acl")]
    assert main(["--db", dbfile, "db", "upgrade"]) == 0
    assert main(["--db", dbfile, "tenant", "create", "acme", "--plan", "free"]) == 0
    assert main(["--db", dbfile, "site", "create", "acme", "plant1"]) == 0
    assert main(["--db", dbfile, "edge", "create", "acme", "plant1", "edge1", *files]) == 0
    return dbfile, files


def test_cli_provisions_and_reports_bad_input_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dbfile, _files = cli_edge1(tmp_path)
    out = capsys.readouterr().out
    assert "MQTT username: acme.edge1" in out and "cloud:\n" in out and "edge: edge1" in out
    assert main(["--db", dbfile, "apikey", "create", "acme"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("lsk_")

    assert main(["--db", dbfile, "tenant", "create", "acme"]) == 2
    assert "error: tenant 'acme' already exists" in capsys.readouterr().err
    assert main(["--db", dbfile, "edge", "create", "acme", "plant1", "Edge 2"]) == 2
    assert "edge 'Edge 2' is not a valid name" in capsys.readouterr().err


def test_users_hold_keys_and_a_disabled_users_keys_stop_working(engine: Engine) -> None:
    create_tenant(engine, "acme")
    create_tenant(engine, "globex")
    create_user(engine, "acme", "marta", role="manager", name="Marta Souza", email="marta@acme.example")
    create_user(engine, "globex", "marta", role="viewer")  # the same id in another tenant is another person
    held = create_api_key(engine, "acme", user="marta")
    service = create_api_key(engine, "acme", name="wallboard")
    with engine.connect() as conn:
        holders = dict(conn.execute(select(db.api_keys.c.name, db.api_keys.c.user_id)).all())
    assert holders == {"marta's key": "marta", "wallboard": None}
    assert disable_user(engine, "acme", "marta") == 1
    with Session(engine) as session:
        assert tenant_for_api_key(session, held) is None
        assert tenant_for_api_key(session, service) == "acme"
    with pytest.raises(ProvisionError, match="user marta of tenant acme is disabled"):
        create_api_key(engine, "acme", user="marta")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"user_id": "ana", "role": "owner"}, "role 'owner' is not one of viewer, manager, admin"),
        ({"user_id": "Ana Maria", "role": "viewer"}, "user"),
        ({"user_id": "ana", "role": "viewer", "email": "ana-at-acme"}, "'ana-at-acme' is not an e-mail"),
    ],
)
def test_a_bad_user_is_refused_naming_what_is_wrong(
    engine: Engine, kwargs: dict[str, str], message: str
) -> None:
    create_tenant(engine, "acme")
    given = dict(kwargs)  # the parameters are shared by both dialects' runs
    user_id = given.pop("user_id")
    with pytest.raises(ProvisionError, match=message):
        create_user(engine, "acme", user_id, **given)


def test_users_are_unique_per_tenant_and_keys_need_an_existing_user(engine: Engine) -> None:
    create_tenant(engine, "acme")
    create_user(engine, "acme", "ana", role="viewer")
    with pytest.raises(ProvisionError, match="tenant acme already has a user ana"):
        create_user(engine, "acme", "ana", role="admin")
    with pytest.raises(ProvisionError, match="tenant acme has no user bruno"):
        create_api_key(engine, "acme", user="bruno")
    with pytest.raises(ProvisionError, match="tenant acme has no user bruno"):
        disable_user(engine, "acme", "bruno")
