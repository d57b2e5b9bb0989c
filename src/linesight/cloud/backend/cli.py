"""``linesight-cloud``: the fleet backend's command line (database, provisioning, consumers, retention)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from linesight.cloud.backend import db

log = logging.getLogger(__name__)


def _broker_files(args: argparse.Namespace) -> object | None:
    from linesight.cloud.backend.provision import BrokerFiles, ProvisionError

    if not args.password_file and not args.acl_file:
        return None
    if not args.password_file or not args.acl_file:
        raise ProvisionError("give both --password-file and --acl-file (or neither)")
    return BrokerFiles(
        password_file=Path(args.password_file), acl_file=Path(args.acl_file), mode=args.file_mode
    )


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from linesight.cloud.backend.migrations import upgrade

    upgrade(args.db, revision=args.revision)
    print(
        f"database {db.make_engine(args.db).url.render_as_string(hide_password=True)} is at {args.revision}"
    )
    return 0


def _cmd_tenant_create(args: argparse.Namespace) -> int:
    from linesight.cloud.backend.provision import create_tenant

    create_tenant(db.make_engine(args.db), args.tenant, name=args.name, plan=args.plan)
    print(f"tenant {args.tenant} created (plan {args.plan})")
    return 0


def _cmd_site_create(args: argparse.Namespace) -> int:
    from linesight.cloud.backend.provision import create_site

    create_site(db.make_engine(args.db), args.tenant, args.site, name=args.name, timezone=args.timezone)
    print(f"site {args.site} of tenant {args.tenant} created")
    return 0


def _cmd_edge_create(args: argparse.Namespace) -> int:
    from linesight.cloud.backend.provision import BrokerFiles, create_edge

    broker = _broker_files(args)
    assert broker is None or isinstance(broker, BrokerFiles)
    creds = create_edge(
        db.make_engine(args.db), args.tenant, args.site, args.edge, name=args.name, broker=broker
    )
    print(f"edge {creds.edge} of tenant {creds.tenant} (site {creds.site}) created")
    print(f"MQTT username: {creds.username}")
    print(f"MQTT password: {creds.password}")
    print("(the password is shown only now; the broker's password file holds its hash)")
    if broker is None:
        print("no --password-file/--acl-file given: add this user to the broker yourself")
    else:
        print(f"wrote {broker.password_file} and {broker.acl_file}; reload Mosquitto (SIGHUP) to apply")
    print("\nplant file section for this edge:\n")
    print(creds.plant_snippet(args.broker_host, args.broker_port))
    return 0


def _cmd_backend_user_create(args: argparse.Namespace) -> int:
    from linesight.cloud.backend.provision import BrokerFiles, create_backend_user

    broker = _broker_files(args)
    if not isinstance(broker, BrokerFiles):
        from linesight.cloud.backend.provision import ProvisionError

        raise ProvisionError("backend-user create needs --password-file and --acl-file")
    password = create_backend_user(broker, args.username)
    print(f"MQTT username: {args.username}")
    print(f"MQTT password: {password}")
    return 0


def _cmd_broker_sync_acl(args: argparse.Namespace) -> int:
    from linesight.cloud.backend.provision import BrokerFiles, ProvisionError, sync_acl

    broker = _broker_files(args)
    if not isinstance(broker, BrokerFiles):
        raise ProvisionError("broker sync-acl needs --password-file and --acl-file")
    written = sync_acl(db.make_engine(args.db), broker, args.backend_user)
    print(f"wrote {written} user blocks to {broker.acl_file}; reload Mosquitto (SIGHUP) to apply")
    return 0


def _cmd_apikey_create(args: argparse.Namespace) -> int:
    from linesight.cloud.backend.provision import create_api_key

    key = create_api_key(db.make_engine(args.db), args.tenant, name=args.name, user=args.user)
    holder = f", held by {args.user}" if args.user else ""
    print(f"API key for tenant {args.tenant}{holder} (shown only now; the database keeps its hash):")
    print(key)
    return 0


def _cmd_user_create(args: argparse.Namespace) -> int:
    from linesight.cloud.backend.provision import create_user

    create_user(
        db.make_engine(args.db), args.tenant, args.user, role=args.role, name=args.name, email=args.email
    )
    print(f"user {args.user} ({args.role}) created in tenant {args.tenant}")
    return 0


def _cmd_user_disable(args: argparse.Namespace) -> int:
    from linesight.cloud.backend.provision import disable_user

    keys = disable_user(db.make_engine(args.db), args.tenant, args.user)
    print(f"user {args.user} of tenant {args.tenant} disabled; their {keys} API key(s) no longer work")
    return 0


def _cmd_consume(args: argparse.Namespace) -> int:
    from linesight.cloud.backend.consumer import ConsumerConfig, run_instances
    from linesight.cloud.backend.provision import ProvisionError

    config = ConsumerConfig(
        host=args.host,
        port=args.port,
        username=args.username or os.environ.get("LINESIGHT_MQTT_USERNAME"),
        password=args.password or os.environ.get("LINESIGHT_MQTT_PASSWORD"),
        group=args.group,
        ca_file=args.ca_file,
        cert_file=args.cert_file,
        key_file=args.key_file,
        client_id=args.client_id,
        workers=args.workers,
        group_size=args.group_size,
    )
    if args.instances < 1:
        raise ProvisionError(f"--instances must be at least 1, not {args.instances}")
    run_instances(args.db, config, instances=args.instances, metrics_port=args.metrics_port)
    return 0


def _cmd_retention(args: argparse.Namespace) -> int:
    from linesight.cloud.backend.retention import apply_retention

    report = apply_retention(db.make_engine(args.db))
    for tenant, (raw, rollups) in sorted(report.items()):
        print(f"tenant {tenant}: deleted {raw} raw samples and {rollups} rollup rows")
    return 0


def _cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from linesight.cloud.backend.api import create_app

    uvicorn.run(create_app(db.make_engine(args.db)), host=args.host, port=args.port, log_level="info")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linesight-cloud", description="LineSight fleet backend")
    parser.add_argument(
        "--db",
        default=os.environ.get(db.DEFAULT_URL_ENV),
        help="database URL (postgresql://...) or SQLite file path (default: $LINESIGHT_CLOUD_DB or "
        "./linesight-cloud.db)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p_db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    p = p_db.add_parser("upgrade", help="apply the Alembic migrations")
    p.add_argument("--revision", default="head")
    p.set_defaults(func=_cmd_db_upgrade)

    def broker_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--password-file", default=os.environ.get("LINESIGHT_MOSQUITTO_PASSWORD_FILE"))
        p.add_argument("--acl-file", default=os.environ.get("LINESIGHT_MOSQUITTO_ACL_FILE"))
        p.add_argument("--file-mode", type=lambda s: int(s, 8), default=0o640, help="octal, default 640")

    p_tenant = sub.add_parser("tenant", help="tenants").add_subparsers(dest="action", required=True)
    p = p_tenant.add_parser("create")
    p.add_argument("tenant")
    p.add_argument("--name")
    p.add_argument("--plan", default="free")
    p.set_defaults(func=_cmd_tenant_create)

    p_site = sub.add_parser("site", help="sites").add_subparsers(dest="action", required=True)
    p = p_site.add_parser("create")
    p.add_argument("tenant")
    p.add_argument("site")
    p.add_argument("--name")
    p.add_argument("--timezone", default="UTC")
    p.set_defaults(func=_cmd_site_create)

    p_edge = sub.add_parser("edge", help="edges").add_subparsers(dest="action", required=True)
    p = p_edge.add_parser("create")
    p.add_argument("tenant")
    p.add_argument("site")
    p.add_argument("edge")
    p.add_argument("--name")
    p.add_argument("--broker-host", default="mqtt.example.com", help="for the printed plant-file section")
    p.add_argument("--broker-port", type=int, default=8883)
    broker_args(p)
    p.set_defaults(func=_cmd_edge_create)

    p_bu = sub.add_parser("backend-user", help="the consumer's broker account").add_subparsers(
        dest="action", required=True
    )
    p = p_bu.add_parser("create")
    p.add_argument("--username", default="linesight-backend")
    broker_args(p)
    p.set_defaults(func=_cmd_backend_user_create)

    p_broker = sub.add_parser("broker", help="the broker's files").add_subparsers(
        dest="action", required=True
    )
    p = p_broker.add_parser(
        "sync-acl",
        help="rewrite every edge's ACL block (and the backend user's) as this version provisions them",
    )
    p.add_argument("--backend-user", default="linesight-backend")
    broker_args(p)
    p.set_defaults(func=_cmd_broker_sync_acl)

    p_user = sub.add_parser("user", help="the tenant's people").add_subparsers(dest="action", required=True)
    p = p_user.add_parser("create")
    p.add_argument("tenant")
    p.add_argument("user")
    p.add_argument("--role", choices=db.USER_ROLES, default="viewer")
    p.add_argument("--name", default="")
    p.add_argument("--email")
    p.set_defaults(func=_cmd_user_create)
    p = p_user.add_parser("disable", help="disable a user: the keys they hold stop working")
    p.add_argument("tenant")
    p.add_argument("user")
    p.set_defaults(func=_cmd_user_disable)

    p_key = sub.add_parser("apikey", help="fleet API keys").add_subparsers(dest="action", required=True)
    p = p_key.add_parser("create")
    p.add_argument("tenant")
    p.add_argument("--name", default="")
    p.add_argument("--user", help="the tenant's user who holds the key (default: a service key)")
    p.set_defaults(func=_cmd_apikey_create)

    p = sub.add_parser("consume", help="run MQTT consumer instances (shared subscription)")
    p.add_argument("--host", default="localhost")
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--username")
    p.add_argument("--password", help="or $LINESIGHT_MQTT_PASSWORD")
    p.add_argument("--group", default="linesight-backend", help="shared subscription group")
    p.add_argument("--instances", type=int, default=1)
    p.add_argument("--ca-file")
    p.add_argument("--cert-file")
    p.add_argument("--key-file")
    p.add_argument(
        "--client-id",
        help="prefix of the MQTT client ids (instance i is <prefix>-<i>); give each command its own "
        "when running the command more than once on a host",
    )
    p.add_argument("--workers", type=int, default=2, help="groups handled at once per instance")
    p.add_argument("--group-size", type=int, default=20, help="messages stored per transaction at most")
    p.add_argument(
        "--metrics-port", type=int, help="serve Prometheus /metrics on this port (+ instance index)"
    )
    p.set_defaults(func=_cmd_consume)

    p = sub.add_parser("api", help="serve the fleet API, /metrics and the fleet web page over HTTP")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default: 8080)")
    p.set_defaults(func=_cmd_api)

    p = sub.add_parser("retention", help="delete raw samples past each tenant plan's retention")
    p.set_defaults(func=_cmd_retention)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from sqlalchemy.exc import SQLAlchemyError

    from linesight.cloud.backend.provision import ProvisionError

    try:
        code: int = args.func(args)
    except ProvisionError as err:
        print(f"linesight-cloud: error: {err}", file=sys.stderr)
        return 2
    except SQLAlchemyError as err:
        print(f"linesight-cloud: database error: {err}", file=sys.stderr)
        return 3
    return code


if __name__ == "__main__":
    sys.exit(main())
