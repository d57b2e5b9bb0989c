"""A real Mosquitto for tests: its own process on free ports, with TLS, passwords and ACLs.

``Mosquitto(tmp_path, ...)`` writes a configuration into ``tmp_path``: a plain listener, optionally
a TLS listener (certificates made by openssl: a CA, the broker's certificate for 127.0.0.1 and
localhost, and client certificates on request), a password file made with mosquitto_passwd and an
ACL file. ``stop()`` and ``start()`` again keep the same ports and the persisted sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import aiomqtt

from linesight.cloud import codec
from linesight.cloud.mqtt import reading_disconnects

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(*args: str | Path) -> None:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed: {result.stderr.strip()}")


@dataclass(frozen=True, kw_only=True)
class ClientCert:
    cert: Path
    key: Path


class Certificates:
    """A throwaway CA in ``folder``, the broker's certificate and client certificates signed by it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.ca = folder / "ca.crt"
        self.ca_key = folder / "ca.key"
        _run(
            OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=linesight-test-ca", "-keyout", self.ca_key, "-out", self.ca,
        )  # fmt: skip
        server = self.issue("localhost", san="DNS:localhost,IP:127.0.0.1")
        self.server_cert, self.server_key = server.cert, server.key

    def issue(self, name: str, *, san: str | None = None) -> ClientCert:
        key, csr, cert = (self.folder / f"{name}{suffix}" for suffix in (".key", ".csr", ".crt"))
        _run(
            OPENSSL,
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            key,
            "-out",
            csr,
        )
        extensions = self.folder / f"{name}.ext"
        extensions.write_text(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
        _run(
            OPENSSL, "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key, "-CAcreateserial",
            "-days", "2", "-out", cert, "-extfile", extensions,
        )  # fmt: skip
        return ClientCert(cert=cert, key=key)


class Mosquitto:
    """One broker process. Use as a context manager, or start()/stop()."""

    def __init__(
        self,
        folder: Path,
        *,
        users: dict[str, str] | None = None,
        acl: str | None = None,
        tls: bool = False,
        require_certificate: bool = False,
        certificates: Certificates | None = None,
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.users = dict(users or {})
        self.acl = acl
        self.tls_port: int | None = None
        self.certificates: Certificates | None = None
        if tls or require_certificate:
            self.tls_port = free_port()
            self.certificates = certificates or Certificates(folder / "certs")
        self.require_certificate = require_certificate
        self.log = folder / "mosquitto.log"
        self.config = folder / "mosquitto.conf"
        self._process: subprocess.Popen[bytes] | None = None
        self._write_config()

    # ------------------------------------------------------------------ configuration

    def _write_config(self) -> None:
        lines = [
            "per_listener_settings false",
            "user root",
            "persistence true",
            f"persistence_location {self.folder}/",
            "autosave_interval 1",
            "max_queued_messages 0",
            "max_inflight_messages 0",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            f"listener {self.port} {self.host}",
        ]
        if self.tls_port is not None:
            assert self.certificates is not None
            lines += [
                f"listener {self.tls_port} {self.host}",
                f"cafile {self.certificates.ca}",
                f"certfile {self.certificates.server_cert}",
                f"keyfile {self.certificates.server_key}",
                f"require_certificate {'true' if self.require_certificate else 'false'}",
            ]
        if self.users:
            passwords = self.folder / "passwords"
            first = True
            for name, password in self.users.items():
                flags = ["-c"] if first else []
                _run(MOSQUITTO_PASSWD, "-b", *flags, passwords, name, password)
                first = False
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if self.acl is not None:
            acl_file = self.folder / "acl"
            acl_file.write_text(self.acl)
            lines.append(f"acl_file {acl_file}")
        self.config.write_text("\n".join(lines) + "\n")

    def add_user(self, name: str, password: str) -> None:
        """Add (or change) a user; takes effect at the next start (or reload)."""
        self.users[name] = password
        self._write_config()

    def reload(self) -> None:
        """Re-read the password and ACL files (SIGHUP), as provisioning does."""
        if self._process is not None:
            self._process.send_signal(signal.SIGHUP)

    # ------------------------------------------------------------------ life cycle

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        log = self.log.open("ab")
        self._process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        ports = [self.port] + ([self.tls_port] if self.tls_port is not None else [])
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited at start ({self._process.returncode}): {self.log.read_text()}"
                )
            if all(_listening(self.host, port) for port in ports):
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {ports} within {timeout} s: {self.log.read_text()}")

    def stop(self) -> None:
        """A clean stop (SIGTERM): sessions and queued messages are saved for the next start."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


def _listening(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


class Collector:
    """A subscriber that keeps every message on ``linesight/v1/#`` (QoS 1, persistent session,
    reconnecting), decoded with the codec: the sample numbers it saw and how often."""

    def __init__(
        self,
        broker: Mosquitto,
        *,
        topic: str = "linesight/v1/#",
        username: str | None = None,
        password: str | None = None,
        identifier: str = "test-collector",
    ) -> None:
        self.broker = broker
        self.topic = topic
        self.username = username
        self.password = password
        self.identifier = identifier
        self.seqs: dict[int, int] = {}  # sequence number: times received
        self.events: dict[tuple[str, int], int] = {}
        self.statuses: list[object] = []
        self.messages = 0
        self.latencies: list[float] = []  # receive time - sample time, s, of each sample
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.seqs.values())

    def missing(self, first: int, last: int) -> list[int]:
        return [seq for seq in range(first, last + 1) if seq not in self.seqs]

    async def __aenter__(self) -> Collector:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.subscribed.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_for(self, predicate: Callable[[], bool], within: float = 30.0) -> None:
        """Wait until ``predicate()`` holds (checked every 50 ms), failing after ``within`` seconds."""
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"condition not met within {within} s: "
                    f"{len(self.seqs)} samples, {len(self.events)} events seen"
                )
            await asyncio.sleep(0.05)

    async def _run(self) -> None:
        while True:
            client = reading_disconnects(
                aiomqtt.Client(
                    self.broker.host,
                    self.broker.port,
                    identifier=self.identifier,
                    clean_session=False,
                    username=self.username,
                    password=self.password,
                )
            )
            try:
                async with client:
                    await client.subscribe(self.topic, qos=1)
                    self.subscribed.set()
                    async for message in client.messages:
                        self._take(str(message.topic), bytes(message.payload))  # type: ignore[arg-type]
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    def _take(self, topic: str, payload: bytes) -> None:
        if topic.endswith("/ack"):
            return  # a backend's confirmation to an edge, not what an edge sent
        now = time.time()
        decoded = codec.decode(topic, payload)
        self.messages += 1
        if isinstance(decoded, codec.SampleBatch):
            for seq in decoded.seq:
                self.seqs[seq] = self.seqs.get(seq, 0) + 1
            self.latencies.append(now - max(decoded.ts_us) / 1e6)
        elif isinstance(decoded, codec.EventBatch):
            for event in decoded.events:
                key = (event.stream, event.id)
                self.events[key] = self.events.get(key, 0) + 1
        else:
            self.statuses.append(decoded)
