"""Notifications against real local servers: an HTTP server for webhooks and Slack, aiosmtpd for e-mail."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import json
import logging
import socket
import ssl
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from linesight.domain.alarm_rules import Priority
from linesight.domain.alarms import AlarmAction, AlarmEvent, AlarmState
from linesight.domain.notifications import Notice, NotificationsConfig
from linesight.domain.plant import PlantConfig
from linesight.runtime.engine import Engine
from linesight.runtime.notify import ChannelState, NoticeMaker, Notifier, notice_state, notify_on_alarms

from .scripted import ScriptedFactory
from .test_coordinator import FAST, machine, wait_for

FAST_RETRY = {"attempts": 3, "initial": "10ms", "max_delay": "20ms"}


# ---------------------------------------------------------------------------------------------- servers


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HookServer:
    """A real HTTP server on a free local port; answers each POST with the next scripted status."""

    def __init__(self, statuses: tuple[int, ...] = ()) -> None:
        self.received: list[Received] = []
        self.statuses = deque(statuses)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {key.lower(): value for key, value in self.headers.items()}
                owner.received.append(Received(self.path, headers, body))
                status = owner.statuses.popleft() if owner.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # not on the test's stderr

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll so that shutdown() returns quickly.
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.02,), name="hook-server", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> HookServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def hook() -> Iterator[HookServer]:
    with HookServer() as server:
        yield server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class MailBox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes) and envelope.mail_from is not None
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


# ---------------------------------------------------------------------------------------------- helpers


def notice(**changes: Any) -> Notice:
    values: dict[str, Any] = {
        "ts": dt.datetime(2026, 3, 2, 14, 5, 9, tzinfo=dt.UTC),
        "alarm": "press-01.overtemp",
        "rule": "overtemp",
        "machine": "press-01",
        "machine_name": "Press 1",
        "tag": "temp",
        "priority": "high",
        "state": "active",
        "value": 231.5,
        "message": "oil too hot",
        "site": "s1",
        "plant": "plant-a",
    }
    values.update(changes)
    return Notice(**values)


def notifications(channels: dict[str, Any], *routes: dict[str, Any], **extra: Any) -> NotificationsConfig:
    if not routes:
        routes = ({"channels": list(channels)},)
    return NotificationsConfig.model_validate({"channels": channels, "routes": list(routes), **extra})


def webhook(url: str, **extra: Any) -> dict[str, Any]:
    return {"type": "webhook", "url": url, "retry": FAST_RETRY, **extra}


# ---------------------------------------------------------------------------------------------- webhooks


async def test_a_webhook_gets_the_notice_as_json_with_its_headers(hook: HookServer) -> None:
    config = notifications(
        {
            "ops": webhook(
                hook.url + "/alarms",
                headers={"X-Plant": "plant-a"},
                headers_env={"Authorization": "HOOK_AUTH"},
            )
        },
        {"channels": ["ops"], "subject": "{priority} on {machine_name}", "text": "{message}: {value:.0f} C"},
    )
    async with Notifier(config, environ={"HOOK_AUTH": "Bearer s3cret"}) as notifier:
        notifier.submit([notice()])
        await wait_for(lambda: notifier.stats().channel("ops").sent == 1)
    (request,) = hook.received
    assert request.path == "/alarms"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-plant"] == "plant-a"
    assert request.headers["authorization"] == "Bearer s3cret"
    assert request.headers["user-agent"].startswith("LineSight/")
    assert request.json() == {
        "ts": "2026-03-02T14:05:09.000+00:00",
        "alarm": "press-01.overtemp",
        "rule": "overtemp",
        "machine": "press-01",
        "machine_name": "Press 1",
        "tag": "temp",
        "priority": "high",
        "state": "active",
        "value": 231.5,
        "message": "oil too hot",
        "site": "s1",
        "plant": "plant-a",
        "subject": "high on Press 1",
        "text": "oil too hot: 232 C",
    }


async def test_a_slack_webhook_gets_the_rendered_text(hook: HookServer) -> None:
    config = notifications(
        {"chat": {"type": "slack", "url_env": "SLACK_URL", "retry": FAST_RETRY}},
        {"channels": ["chat"], "text": ":rotating_light: [{priority}] {machine_name}: {message}"},
    )
    async with Notifier(config, environ={"SLACK_URL": hook.url + "/services/T0/B0/xyz"}) as notifier:
        notifier.submit([notice()])
        await wait_for(lambda: notifier.stats().channel("chat").sent == 1)
    (request,) = hook.received
    assert request.path == "/services/T0/B0/xyz"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {"text": ":rotating_light: [high] Press 1: oil too hot"}


async def test_a_server_error_is_retried_until_delivered() -> None:
    with HookServer(statuses=(500, 500, 200)) as server:
        async with Notifier(notifications({"ops": webhook(server.url)})) as notifier:
            notifier.submit([notice()])
            await wait_for(lambda: notifier.stats().channel("ops").sent == 1)
            stats = notifier.stats().channel("ops")
    assert len(server.received) == 3
    assert server.received[0].body == server.received[2].body
    assert (stats.retries, stats.failed, stats.state) == (2, 0, ChannelState.READY)


@pytest.mark.expect_log_warnings
async def test_a_refusal_is_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    with HookServer(statuses=(404,)) as server:
        async with Notifier(notifications({"ops": webhook(server.url)})) as notifier:
            notifier.submit([notice()])
            await wait_for(lambda: notifier.stats().channel("ops").failed == 1)
            stats = notifier.stats().channel("ops")
    assert len(server.received) == 1 and stats.retries == 0 and stats.state is ChannelState.FAILING
    assert stats.last_error is not None and "HTTP 404" in stats.last_error
    assert any("HTTP 404" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


@pytest.mark.expect_log_warnings
async def test_an_unreachable_webhook_fails_after_its_retries_without_blocking_the_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = notifications({"ops": webhook(f"http://127.0.0.1:{free_port()}/hook?token=secret")})
    ticks = 0

    async def keep_running() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(keep_running())
    async with Notifier(config) as notifier:
        notifier.submit([notice()])  # returns at once: the delivery is the channel worker's business
        assert notifier.stats().channel("ops").queued == 1
        ticks_at_submit = ticks
        await wait_for(lambda: notifier.stats().channel("ops").failed == 1)
        stats = notifier.stats().channel("ops")
    ticker.cancel()
    assert ticks > ticks_at_submit  # the loop kept turning while the notifier retried
    assert (stats.sent, stats.failed, stats.retries, stats.state) == (0, 1, 2, ChannelState.FAILING)
    assert stats.last_error is not None and "ConnectError" in stats.last_error
    failures = [r for r in caplog.records if "failed after 3 attempts" in r.getMessage()]
    assert len(failures) == 1 and "press-01.overtemp" in failures[0].getMessage()
    assert all("token=secret" not in r.getMessage() for r in caplog.records)  # the URL's secret stays out


async def test_two_actives_of_one_rule_within_a_minute_send_one_and_another_rule_its_own(
    hook: HookServer,
) -> None:
    async with Notifier(notifications({"ops": webhook(hook.url)})) as notifier:
        notifier.submit([notice()])
        notifier.submit([notice()])
        notifier.submit([notice(rule="lowlevel", alarm="press-01.lowlevel", tag="level")])
        await wait_for(lambda: notifier.stats().channel("ops").sent == 2)
        stats = notifier.stats()
    assert [request.json()["rule"] for request in hook.received] == ["overtemp", "lowlevel"]
    assert (stats.submitted, stats.held) == (3, 1)


async def test_a_clear_held_by_the_rate_limit_is_sent_when_the_minute_is_over(hook: HookServer) -> None:
    now = [1000.0]
    config = notifications({"ops": webhook(hook.url)}, {"channels": ["ops"], "states": ["active", "cleared"]})
    async with Notifier(config, clock=lambda: now[0]) as notifier:
        notifier.submit([notice(), notice(state="cleared")])
        await wait_for(lambda: notifier.stats().channel("ops").sent == 1)
        now[0] += 60.0
        await wait_for(lambda: notifier.stats().channel("ops").sent == 2)
    assert [request.json()["state"] for request in hook.received] == ["active", "cleared"]


@pytest.mark.expect_log_warnings
async def test_a_full_queue_drops_the_oldest_counts_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    with HookServer() as server:
        config = notifications(
            {"ops": webhook(server.url)}, {"channels": ["ops"], "min_interval": 0}, queue_size=2
        )
        notifier = Notifier(config)
        # Not started yet: nothing is taken from the queue, so the fourth and fifth push out the oldest.
        notifier.submit([notice(message=f"m{i}") for i in range(5)])
        assert notifier.stats().channel("ops").dropped == 3
        async with notifier:
            await wait_for(lambda: notifier.stats().channel("ops").sent == 2)
    assert [request.json()["message"] for request in server.received] == ["m3", "m4"]
    full = [r for r in caplog.records if "queue full" in r.getMessage()]
    assert len(full) == 1


# ---------------------------------------------------------------------------------------------- e-mail


async def test_an_email_goes_through_a_real_smtp_server() -> None:
    box = MailBox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        config = notifications(
            {
                "mail": {
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": controller.port,
                    "security": "none",
                    "sender": "linesight@plant.example",
                    "to": ["maintenance@plant.example", "shift-lead@plant.example"],
                    "retry": FAST_RETRY,
                }
            },
            {
                "channels": ["mail"],
                "subject": "[{priority}] {machine_name}: {message}",
                "text": "{message}\nvalue {value}",
            },
        )
        async with Notifier(config) as notifier:
            notifier.submit([notice(message="oil too hot\nsee manual")])
            await wait_for(lambda: notifier.stats().channel("mail").sent == 1)
    finally:
        controller.stop()
    ((sender, recipients, message),) = box.messages
    assert sender == "linesight@plant.example"
    assert recipients == ["maintenance@plant.example", "shift-lead@plant.example"]
    assert message["From"] == "linesight@plant.example"
    assert message["To"] == "maintenance@plant.example, shift-lead@plant.example"
    assert message["Subject"] == "[high] Press 1: oil too hot see manual"  # one line, whatever the text
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == "oil too hot\nsee manual\nvalue 231.5\n"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


# aiosmtpd itself logs a deprecation warning on every successful login (its Session.login_data).
@pytest.mark.expect_log_warnings
async def test_an_email_uses_starttls_and_logs_in_with_the_password_from_the_environment(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cert_file, key_file = _self_signed(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert_file, key_file)
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"s3cret")

    box = MailBox()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        config = notifications(
            {
                "mail": {
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": controller.port,
                    "security": "starttls",
                    "ca_file": str(cert_file),
                    "username": "alarms",
                    "password_env": "LINESIGHT_SMTP_PASSWORD",
                    "sender": "linesight@plant.example",
                    "to": ["maintenance@plant.example"],
                    "retry": FAST_RETRY,
                }
            }
        )
        async with Notifier(config, environ={"LINESIGHT_SMTP_PASSWORD": "s3cret"}) as notifier:
            notifier.submit([notice()])
            await wait_for(lambda: notifier.stats().channel("mail").sent == 1)
    finally:
        controller.stop()
    assert logins == [(b"alarms", b"s3cret")]
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert all(r.name == "mail.log" and "login_data is deprecated" in r.getMessage() for r in loud)
    ((_sender, _recipients, message),) = box.messages
    assert message["Subject"] == "[high] Press 1: oil too hot (active)"


@pytest.mark.expect_log_warnings
async def test_a_missing_password_variable_marks_only_that_channel_failed(
    hook: HookServer, caplog: pytest.LogCaptureFixture
) -> None:
    config = notifications(
        {
            "mail": {
                "type": "email",
                "host": "127.0.0.1",
                "port": free_port(),
                "username": "alarms",
                "password_env": "LINESIGHT_TEST_NO_SUCH_VARIABLE",
                "sender": "linesight@plant.example",
                "to": ["maintenance@plant.example"],
            },
            "ops": webhook(hook.url),
        }
    )
    async with Notifier(config, environ={}) as notifier:
        notifier.submit([notice()])
        await wait_for(lambda: notifier.stats().channel("ops").sent == 1)
        mail = notifier.stats().channel("mail")
    assert mail.state is ChannelState.UNUSABLE and mail.failed == 1 and mail.sent == 0
    assert mail.last_error is not None and "LINESIGHT_TEST_NO_SUCH_VARIABLE is not set" in mail.last_error
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "channel mail cannot start" in errors[0].getMessage()
    assert "LINESIGHT_TEST_NO_SUCH_VARIABLE" in errors[0].getMessage()


# ---------------------------------------------------------------------------------------------- the engine


def _plant(notifications_section: dict[str, Any] | None, **machine_extra: Any) -> PlantConfig:
    mill = machine("m1", name="Mill 1", **machine_extra)
    spec: dict[str, Any] = {"id": "t", "sites": [{"id": "s", "lines": [{"id": "l", "machines": [mill]}]}]}
    if notifications_section is not None:
        spec["notifications"] = notifications_section
    return PlantConfig.model_validate(spec)


@pytest.mark.expect_log_warnings
async def test_the_engine_runs_the_notifier_from_the_plant_file_and_survives_a_broken_channel(
    hook: HookServer,
) -> None:
    section = {
        "channels": {
            "ops": webhook(hook.url),
            "chat": {"type": "slack", "url_env": "LINESIGHT_TEST_NO_SUCH_VARIABLE"},
        },
        "routes": [{"channels": ["ops", "chat"]}],
    }
    engine = Engine(_plant(section), historian=None, factories={"scripted": ScriptedFactory()}, backoff=FAST)
    assert engine.notifier is not None
    async with engine:
        made = engine.notice_for(
            ts=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
            alarm_id="m1.hot",
            rule_id="hot",
            machine="m1",
            tag="a",
            priority="critical",
            state="active",
            value=99.0,
            message="too hot",
        )
        engine.notifier.submit([made])
        await wait_for(
            lambda: engine.notifier is not None and engine.notifier.stats().channel("ops").sent == 1
        )
        await wait_for(lambda: engine.machine_health("m1").polls > 0)  # the machine runs on
        report = engine.report()["notifications"]
    assert hook.received[0].json()["machine_name"] == "Mill 1" and hook.received[0].json()["site"] == "s"
    channels = {item["channel"]: item for item in report["channels"]}
    assert channels["ops"]["sent"] == 1 and channels["chat"]["state"] == "unusable"


async def test_an_alarm_raised_in_the_engine_is_notified_once_and_its_clear_too(hook: HookServer) -> None:
    section = {
        "channels": {"ops": webhook(hook.url)},
        "routes": [{"channels": ["ops"], "states": ["active", "cleared"], "min_interval": 0}],
    }
    plant = _plant(section, alarms=[{"id": "hot", "kind": "limit", "tag": "a", "h": 50}])
    factory = ScriptedFactory()
    async with Engine(plant, historian=None, factories={"scripted": factory}, backoff=FAST) as engine:
        await wait_for(lambda: "m1" in factory.drivers)
        factory.drivers["m1"].values["m1.a"] = 60.0
        await wait_for(lambda: len(hook.received) == 1)
        factory.drivers["m1"].values["m1.a"] = 10.0
        await wait_for(lambda: len(hook.received) == 2)
        await wait_for(lambda: engine.machine_health("m1").polls > 0)
    first, second = (request.json() for request in hook.received)
    assert (first["state"], first["rule"], first["machine_name"], first["value"]) == (
        "active",
        "hot",
        "Mill 1",
        60.0,
    )
    assert (second["state"], second["value"]) == ("cleared", 10.0)


async def test_an_engine_without_notifications_has_no_notifier() -> None:
    engine = Engine(_plant(None), historian=None, factories={"scripted": ScriptedFactory()}, backoff=FAST)
    assert engine.notifier is None
    assert (
        NoticeMaker(_plant(None))(
            ts=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
            alarm_id="x",
            rule_id="x",
            machine="unknown",
            tag="a",
            priority="low",
            state="active",
            value=None,
            message="",
        ).machine_name
        == "unknown"
    )


# ---------------------------------------------------------------------------------------------- alarm events


def alarm_event(action: AlarmAction, before: AlarmState, after: AlarmState, **extra: Any) -> AlarmEvent:
    values: dict[str, Any] = {
        "ts": dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC),
        "alarm_id": "m1.temp.hh",
        "rule_id": "temp",
        "machine": "m1",
        "tag": "a",
        "priority": Priority.CRITICAL,
        "from_state": before,
        "to_state": after,
        "action": action,
        "value": 251.0,
        "message": "oil temperature 251 above 250",
    }
    values.update(extra)
    return AlarmEvent(**values)


async def test_alarm_service_events_reach_a_webhook_as_notices(hook: HookServer) -> None:
    config = notifications(
        {"ops": webhook(hook.url)},
        {"channels": ["ops"], "states": ["active", "acknowledged", "cleared"], "min_interval": 0},
    )
    async with Notifier(config) as notifier:
        listener = notify_on_alarms(notifier, NoticeMaker(_plant(None)))
        listener(
            [
                alarm_event(AlarmAction.RAISE, AlarmState.NORMAL, AlarmState.UNACK),
                alarm_event(AlarmAction.ACKNOWLEDGE, AlarmState.UNACK, AlarmState.ACKED, user="ana"),
                alarm_event(AlarmAction.COMMENT, AlarmState.ACKED, AlarmState.ACKED, comment="on it"),
            ]
        )
        listener([alarm_event(AlarmAction.CLEAR, AlarmState.ACKED, AlarmState.NORMAL, value=240.0)])
        await wait_for(lambda: notifier.stats().channel("ops").sent == 3)
    bodies = [request.json() for request in hook.received]
    assert [(body["state"], body["value"]) for body in bodies] == [
        ("active", 251.0),
        ("acknowledged", 251.0),
        ("cleared", 240.0),
    ]
    first = bodies[0]
    assert (first["alarm"], first["rule"], first["priority"]) == ("m1.temp.hh", "temp", "critical")
    assert (first["machine_name"], first["site"], first["plant"]) == ("Mill 1", "s", "t")


@pytest.mark.parametrize(
    ("action", "to_state", "expected"),
    [
        ("raise", "unack", "active"),
        ("clear", "rtn_unack", "cleared"),
        ("clear", "normal", "cleared"),
        ("acknowledge", "acked", "acknowledged"),
        ("shelve", "shelved", "shelved"),
        ("unshelve", "unack", "active"),  # shown again while the condition holds
        ("unshelve", "normal", None),
        ("suppress", "suppressed", None),
        ("comment", "acked", None),
    ],
)
def test_which_alarm_events_are_notified(action: str, to_state: str, expected: str | None) -> None:
    assert notice_state(action, to_state) == expected
