"""A real asyncua server on a free loopback port: one namespace, a variable per data type."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asyncua import ua
from asyncua.common.node import Node
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.server import Server
from asyncua.server.user_managers import UserManager
from cryptography.x509.oid import ExtendedKeyUsageOID

NAMESPACE = "urn:linesight:test:packaging"
VARIABLES: dict[str, tuple[Any, ua.VariantType]] = {
    "Running": (True, ua.VariantType.Boolean),
    "State": (1, ua.VariantType.Int16),
    "Count": (100, ua.VariantType.UInt32),
    "Big": (-(2**40), ua.VariantType.Int64),
    "Speed": (110.5, ua.VariantType.Float),
    "Temperature": (165.25, ua.VariantType.Double),
    "Program": ("PCT-500G", ua.VariantType.String),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Passwords(UserManager):
    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def get_user(
        self, iserver: Any, username: str | None = None, password: str | None = None, certificate: Any = None
    ) -> User | None:
        if username in self.users and self.users[username] == password:
            return User(role=UserRole.User)
        return None


@dataclass
class TestServer:
    server: Server
    port: int
    namespace: int
    nodes: dict[str, Node]

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}/linesight/"

    def node_id(self, name: str) -> str:
        return f"ns={self.namespace};s=Packaging.{name}"

    async def set(
        self, name: str, value: Any, status: ua.StatusCode | None = None, source: datetime | None = None
    ) -> None:
        """Change a value as the device would, with its status and source timestamp."""
        _initial, variant_type = VARIABLES[name]
        data = ua.DataValue(
            ua.Variant(value, variant_type),
            StatusCode=status or ua.StatusCode(),
            SourceTimestamp=source or datetime.now(UTC),
        )
        await self.server.write_attribute_value(self.nodes[name].nodeid, data)


@asynccontextmanager
async def opcua_server(
    port: int | None = None,
    *,
    secure: bool = False,
    pki: Path | None = None,
    users: dict[str, str] | None = None,
) -> AsyncIterator[TestServer]:
    port = port or free_port()
    server = Server(user_manager=Passwords(users) if users is not None else None)
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/linesight/")
    if secure:
        assert pki is not None
        key, cert = pki / "server-key.pem", pki / "server-cert.der"
        await setup_self_signed_certificate(
            key, cert, "urn:linesight:test:server", "127.0.0.1", [ExtendedKeyUsageOID.SERVER_AUTH], {}
        )
        await server.load_certificate(str(cert))
        await server.load_private_key(str(key))
        server.set_security_policy(
            [ua.SecurityPolicyType.Basic256Sha256_Sign, ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt]
        )
    else:
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    index = await server.register_namespace(NAMESPACE)
    folder = await server.nodes.objects.add_object(index, "Packaging")
    nodes = {}
    for name, (value, variant_type) in VARIABLES.items():
        node = await folder.add_variable(
            ua.NodeId(f"Packaging.{name}", index), name, ua.Variant(value, variant_type)
        )
        await node.set_writable()
        nodes[name] = node
    await server.start()
    try:
        yield TestServer(server=server, port=port, namespace=index, nodes=nodes)
    finally:
        await server.stop()
