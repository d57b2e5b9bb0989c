"""Provisioning: tenants, sites, edges and API keys, and the broker's password and ACL files.

An edge gets its own MQTT username and a random password; the password goes into the Mosquitto
password file hashed (PBKDF2-SHA512 in Mosquitto's own ``$7$`` format) and the ACL file lets that user
write only below ``linesight/v1/<tenant>/<site>/<edge>/`` and read only its own confirmations,
``linesight/v1/<tenant>/<site>/<edge>/ack``. The backend's consumer user may read ``linesight/v1/#``
and write every edge's ``ack`` topic. Mosquitto reads both files at start and on SIGHUP.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from linesight.cloud.backend import db
from linesight.cloud.backend.control import ApiKey, Edge, Plan, Site, Tenant, User, new_api_key, utcnow

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
TOPIC_ROOT = "linesight/v1"
MOSQUITTO_ITERATIONS = 101  # mosquitto_passwd's own default for $7$ hashes
BACKEND_USER = "linesight-backend"


class ProvisionError(ValueError):
    """Provisioning input that cannot be applied; the message says what and why."""


def check_name(value: str, what: str) -> str:
    if not NAME_RE.match(value):
        raise ProvisionError(
            f"{what} {value!r} is not a valid name: use lower-case letters, digits, '_' and '-', "
            "starting with a letter or digit, at most 63 characters"
        )
    return value


# ---------------------------------------------------------------- broker files


def mosquitto_hash(
    password: str, *, salt: bytes | None = None, iterations: int = MOSQUITTO_ITERATIONS
) -> str:
    """A password-file hash as Mosquitto 2 writes it: ``$7$<iterations>$<b64 salt>$<b64 sha512 pbkdf2>``."""
    salt = secrets.token_bytes(12) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _atomic_write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True, kw_only=True)
class BrokerFiles:
    """Mosquitto's ``password_file`` and ``acl_file``; entries are replaced per user, others kept.

    ``mode`` is the files' permission: the broker's own user (``mosquitto``) must be able to read them.
    """

    password_file: Path
    acl_file: Path
    mode: int = 0o640

    def set_password(self, username: str, password: str) -> None:
        if ":" in username or "\n" in username:
            raise ProvisionError(f"MQTT username {username!r} may not contain ':' or a line break")
        lines = []
        if self.password_file.exists():
            lines = [
                line
                for line in self.password_file.read_text("utf-8").splitlines()
                if line.strip() and line.split(":", 1)[0] != username
            ]
        lines.append(f"{username}:{mosquitto_hash(password)}")
        _atomic_write(self.password_file, "\n".join(lines) + "\n", self.mode)

    def set_acl(self, username: str, rules: list[str]) -> None:
        """Replace the ``user <username>`` block of the ACL file with ``rules`` (``topic ...`` lines)."""
        self.set_acls({username: rules})

    def acl_users(self) -> set[str]:
        """The users with a block in the ACL file."""
        if not self.acl_file.exists():
            return set()
        lines = (line.strip() for line in self.acl_file.read_text("utf-8").splitlines())
        return {line[5:].strip() for line in lines if line.startswith("user ")}

    def set_acls(self, rules_by_user: dict[str, list[str]]) -> None:
        """``set_acl`` for several users, in one write of the file."""
        blocks: list[tuple[str | None, list[str]]] = [(None, [])]
        if self.acl_file.exists():
            for line in self.acl_file.read_text("utf-8").splitlines():
                stripped = line.strip()
                if stripped.startswith("user "):
                    blocks.append((stripped[5:].strip(), []))
                elif stripped:
                    blocks[-1][1].append(stripped)
        blocks = [block for block in blocks if block[0] not in rules_by_user]
        blocks.extend((username, list(rules)) for username, rules in rules_by_user.items())
        out: list[str] = []
        head = blocks[0][1] if blocks[0][0] is None else []
        out.extend(head)
        for user, lines in blocks:
            if user is None:
                continue
            out.append("")
            out.append(f"user {user}")
            out.extend(lines)
        _atomic_write(self.acl_file, "\n".join(out).lstrip("\n") + "\n", self.mode)


def edge_acl(tenant: str, site: str, edge: str) -> list[str]:
    """Write below its own topics; read its own confirmations (the backend's ``ack``), nothing else."""
    own = f"{TOPIC_ROOT}/{tenant}/{site}/{edge}"
    return [f"topic write {own}/#", f"topic read {own}/ack"]


def create_backend_user(broker: BrokerFiles, username: str = BACKEND_USER) -> str:
    """The consumer's broker account (read every tenant's topics, write every edge's confirmations);
    returns its new password."""
    password = secrets.token_urlsafe(24)
    broker.set_password(username, password)
    broker.set_acl(username, backend_acl())
    return password


def backend_acl() -> list[str]:
    return [f"topic read {TOPIC_ROOT}/#", f"topic write {TOPIC_ROOT}/+/+/+/ack"]


def sync_acl(engine: Engine, broker: BrokerFiles, backend_user: str = BACKEND_USER) -> int:
    """Write every registered edge's ACL block (and the backend user's, if the file has one) as this
    version provisions them; returns how many blocks were written. For ACL files written by an older
    version (before confirmations, edges could not read their ``ack`` topic) or edited by hand."""
    with Session(engine) as session:
        edges = session.scalars(select(Edge).order_by(Edge.tenant_id, Edge.id)).all()
        rules = {e.mqtt_username: edge_acl(e.tenant_id, e.site_id, e.id) for e in edges}
    if backend_user in broker.acl_users():
        rules[backend_user] = backend_acl()
    broker.set_acls(rules)
    return len(rules)


# ---------------------------------------------------------------- control plane


@dataclass(frozen=True, kw_only=True)
class EdgeCredentials:
    tenant: str
    site: str
    edge: str
    username: str
    password: str

    def plant_snippet(self, broker_host: str = "mqtt.example.com", broker_port: int = 8883) -> str:
        """The ``cloud:`` section of the edge's plant file (domain.cloud.CloudConfig)."""
        return (
            "cloud:\n"
            "  enabled: false        # a manager switches cloud sync on in the app\n"
            f"  host: {broker_host}\n"
            f"  port: {broker_port}\n"
            "  tls: {}               # {ca: /path/ca.pem} when the broker's CA is not a system one\n"
            f"  tenant: {self.tenant}\n"
            f"  site: {self.site}\n"
            f"  edge: {self.edge}\n"
            f"  username: {self.username}\n"
            f'  password: "{self.password}"   # or password_file: / password_env:\n'
        )


def _tenant(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise ProvisionError(
            f"tenant {tenant_id!r} does not exist (create it with: linesight-cloud tenant create)"
        )
    return tenant


def create_tenant(engine: Engine, tenant_id: str, *, name: str | None = None, plan: str = "free") -> None:
    check_name(tenant_id, "tenant")
    with Session(engine) as session, session.begin():
        if session.get(Plan, plan) is None:
            known = ", ".join(session.scalars(select(Plan.id).order_by(Plan.id)))
            raise ProvisionError(f"plan {plan!r} does not exist (known plans: {known or 'none'})")
        if session.get(Tenant, tenant_id) is not None:
            raise ProvisionError(f"tenant {tenant_id!r} already exists")
        session.add(Tenant(id=tenant_id, name=name or tenant_id, plan=plan, created_at=utcnow()))
        try:
            session.flush()
        except IntegrityError as err:
            raise ProvisionError(f"tenant {tenant_id!r} already exists") from err


def create_site(
    engine: Engine, tenant_id: str, site_id: str, *, name: str | None = None, timezone: str = "UTC"
) -> None:
    check_name(tenant_id, "tenant")
    check_name(site_id, "site")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ProvisionError(
            f"time zone {timezone!r} is not an IANA zone name such as America/Sao_Paulo"
        ) from err
    with Session(engine) as session, session.begin():
        _tenant(session, tenant_id)
        if session.get(Site, (tenant_id, site_id)) is not None:
            raise ProvisionError(f"site {site_id!r} of tenant {tenant_id!r} already exists")
        session.add(Site(tenant_id=tenant_id, id=site_id, name=name or site_id, timezone=timezone))


def edge_username(tenant_id: str, edge_id: str) -> str:
    return f"{tenant_id}.{edge_id}"


def create_edge(
    engine: Engine,
    tenant_id: str,
    site_id: str,
    edge_id: str,
    *,
    name: str | None = None,
    broker: BrokerFiles | None = None,
) -> EdgeCredentials:
    """Register an edge, enforce the plan's edge quota, and write its broker password and ACL."""
    check_name(tenant_id, "tenant")
    check_name(site_id, "site")
    check_name(edge_id, "edge")
    username = edge_username(tenant_id, edge_id)
    password = secrets.token_urlsafe(24)
    with Session(engine) as session, session.begin():
        tenant = _tenant(session, tenant_id)
        if session.get(Site, (tenant_id, site_id)) is None:
            raise ProvisionError(
                f"site {site_id!r} of tenant {tenant_id!r} does not exist "
                "(create it with: linesight-cloud site create)"
            )
        if session.get(Edge, (tenant_id, edge_id)) is not None:
            raise ProvisionError(f"edge {edge_id!r} of tenant {tenant_id!r} already exists")
        count = session.scalar(select(func.count()).select_from(Edge).where(Edge.tenant_id == tenant_id)) or 0
        plan = tenant.plan_row
        if count >= plan.max_edges:
            raise ProvisionError(
                f"tenant {tenant_id!r} already has {count} edge(s), the most its plan {plan.id!r} allows "
                f"(max_edges={plan.max_edges}); move the tenant to a larger plan first"
            )
        session.add(
            Edge(
                tenant_id=tenant_id,
                id=edge_id,
                site_id=site_id,
                name=name or edge_id,
                mqtt_username=username,
                created_at=utcnow(),
                online=False,
            )
        )
        try:
            session.flush()
        except IntegrityError as err:
            raise ProvisionError(f"edge {edge_id!r} or MQTT user {username!r} already exists") from err
        if broker is not None:
            # Inside the transaction: a broker file that cannot be written leaves no edge behind.
            broker.set_password(username, password)
            broker.set_acl(username, edge_acl(tenant_id, site_id, edge_id))
    return EdgeCredentials(tenant=tenant_id, site=site_id, edge=edge_id, username=username, password=password)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def create_user(
    engine: Engine, tenant_id: str, user_id: str, *, role: str, name: str = "", email: str | None = None
) -> None:
    """A person of the tenant, with a role (viewer, manager or admin), who may hold API keys."""
    check_name(tenant_id, "tenant")
    check_name(user_id, "user")
    if role not in db.USER_ROLES:
        raise ProvisionError(f"user {user_id}: role {role!r} is not one of {', '.join(db.USER_ROLES)}")
    if email is not None and not _EMAIL.match(email):
        raise ProvisionError(f"user {user_id}: {email!r} is not an e-mail address")
    with Session(engine) as session, session.begin():
        _tenant(session, tenant_id)
        if session.get(User, (tenant_id, user_id)) is not None:
            raise ProvisionError(f"tenant {tenant_id} already has a user {user_id}")
        session.add(
            User(
                tenant_id=tenant_id,
                id=user_id,
                name=name or user_id,
                email=email,
                role=role,
                created_at=utcnow(),
            )
        )


def disable_user(engine: Engine, tenant_id: str, user_id: str) -> int:
    """Disable a user: the keys they hold stop working at once. Returns how many keys they hold."""
    with Session(engine) as session, session.begin():
        user = session.get(User, (tenant_id, user_id))
        if user is None:
            raise ProvisionError(f"tenant {tenant_id} has no user {user_id}")
        user.disabled_at = user.disabled_at or utcnow()
        keys = session.scalars(
            select(ApiKey).where(ApiKey.tenant_id == tenant_id, ApiKey.user_id == user_id)
        ).all()
    return len(keys)


def create_api_key(engine: Engine, tenant_id: str, *, name: str = "", user: str | None = None) -> str:
    """A new API key for the fleet API, held by ``user`` or (None) a service; only its hash is stored,
    the key is returned once."""
    check_name(tenant_id, "tenant")
    key, prefix, secret_hash = new_api_key()
    with Session(engine) as session, session.begin():
        _tenant(session, tenant_id)
        if user is not None:
            holder = session.get(User, (tenant_id, user))
            if holder is None:
                raise ProvisionError(f"tenant {tenant_id} has no user {user} (linesight-cloud user create)")
            if holder.disabled_at is not None:
                raise ProvisionError(f"user {user} of tenant {tenant_id} is disabled")
        session.add(
            ApiKey(
                id=secrets.token_hex(8),
                tenant_id=tenant_id,
                prefix=prefix,
                secret_hash=secret_hash,
                name=name or (f"{user}'s key" if user else "api key"),
                created_at=utcnow(),
                user_id=user,
            )
        )
    return key


def registered_edges(engine: Engine) -> dict[tuple[str, str], str]:
    """(tenant, edge) → site of every registered edge (the consumer's topic check)."""
    with Session(engine) as session:
        return {(e.tenant_id, e.id): e.site_id for e in session.scalars(select(Edge))}
