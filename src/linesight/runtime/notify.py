"""Sends alarm notifications (JSON webhook, Slack, e-mail) from the runtime loop: a worker and a bounded
queue per channel, retries with backoff, and never a wait or an exception for whoever submits them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import smtplib
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

import httpx

import linesight
from linesight.domain.errors import ConfigError, LineSightError
from linesight.domain.notifications import (
    PRIORITIES,
    EmailChannel,
    Notice,
    NoticeState,
    NoticeValue,
    NotificationsConfig,
    Outgoing,
    Priority,
    Router,
    SlackChannel,
    WebhookChannel,
    missing_secrets,
)
from linesight.domain.plant import PlantConfig
from linesight.runtime.backoff import Backoff

if TYPE_CHECKING:
    # For types only: a notifier works without the alarm service (and is tested without it).
    from linesight.domain.alarms import AlarmEvent

log = logging.getLogger(__name__)

DRAIN_TIMEOUT_S = 5.0
TICK_S = 1.0
USER_AGENT = f"LineSight/{linesight.__version__}"


class NotificationError(LineSightError):
    """A notification could not be delivered this time; it is tried again."""


class PermanentNotificationError(NotificationError):
    """The receiver refused the notification for good (bad address, login, URL): no retry helps."""


class Sender(Protocol):
    async def send(self, item: Outgoing) -> None: ...

    async def aclose(self) -> None: ...


ChannelConfig = WebhookChannel | SlackChannel | EmailChannel


class ChannelState(StrEnum):
    READY = "ready"  # nothing failed (yet, or since the last delivery)
    RETRYING = "retrying"  # the notification in hand failed and waits for its next attempt
    FAILING = "failing"  # the last notification was given up
    UNUSABLE = "unusable"  # the channel could not start (a missing secret, a bad CA file)


@dataclass(frozen=True, kw_only=True)
class ChannelStats:
    channel: str
    kind: str
    state: ChannelState
    sent: int
    failed: int
    retries: int
    dropped: int
    queued: int
    last_error: str | None
    last_error_at: float | None
    last_sent_at: float | None


@dataclass(frozen=True, kw_only=True)
class NotifierStats:
    channels: tuple[ChannelStats, ...]
    submitted: int  # notices handed to submit()
    held: int  # route deliveries the rate limit held back

    def channel(self, name: str) -> ChannelStats:
        return next(item for item in self.channels if item.channel == name)


# ---------------------------------------------------------------------------------------------- senders


def _http_where(url: str) -> str:
    # Only scheme, host and port: paths and queries of webhooks often carry the token.
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


class _HttpSender:
    def __init__(self, url: str, *, timeout: float, headers: Mapping[str, str], where: str) -> None:
        self._url = url
        self._where = where
        self._client = httpx.AsyncClient(
            timeout=timeout, headers={"User-Agent": USER_AGENT, **headers}, follow_redirects=False
        )

    def payload(self, item: Outgoing) -> dict[str, Any]:
        raise NotImplementedError

    async def send(self, item: Outgoing) -> None:
        try:
            response = await self._client.post(self._url, json=self.payload(item))
        except httpx.TransportError as err:
            raise NotificationError(f"{self._where}: {type(err).__name__}: {err or 'no answer'}") from err
        status = response.status_code
        if 200 <= status < 300:
            return
        reason = f"{self._where} answered HTTP {status} {response.reason_phrase}".rstrip()
        if status in (408, 425, 429) or status >= 500:
            raise NotificationError(reason)
        raise PermanentNotificationError(f"{reason}; check the channel's url and headers")

    async def aclose(self) -> None:
        await self._client.aclose()


class WebhookSender(_HttpSender):
    """POSTs the notice's fields plus the rendered subject and text as JSON."""

    def __init__(self, config: WebhookChannel, environ: Mapping[str, str]) -> None:
        headers = dict(config.headers)
        headers.update({header: environ[variable] for header, variable in config.headers_env.items()})
        super().__init__(config.url, timeout=config.timeout, headers=headers, where=_http_where(config.url))

    def payload(self, item: Outgoing) -> dict[str, Any]:
        return {**item.notice.to_json(), "subject": item.subject, "text": item.text}


class SlackSender(_HttpSender):
    """POSTs ``{"text": ...}``, what Slack's (and Mattermost's, Rocket.Chat's) incoming webhooks take."""

    def __init__(self, config: SlackChannel, environ: Mapping[str, str]) -> None:
        url = config.url if config.url is not None else environ[config.url_env or ""]
        # The whole URL of a Slack webhook is its secret: never in a log line.
        super().__init__(url, timeout=config.timeout, headers={}, where="the Slack webhook")

    def payload(self, item: Outgoing) -> dict[str, Any]:
        return {"text": item.text}


class EmailSender:
    """SMTP with STARTTLS, implicit TLS or neither; smtplib runs in a worker thread, never on the loop."""

    def __init__(self, config: EmailChannel, environ: Mapping[str, str]) -> None:
        self._config = config
        self._password = environ[config.password_env] if config.password_env else None
        self._context: ssl.SSLContext | None = None
        if config.security != "none":
            try:
                cafile = os.path.expanduser(config.ca_file) if config.ca_file else None
                self._context = ssl.create_default_context(cafile=cafile)
            except (OSError, ssl.SSLError) as err:
                raise ConfigError(f"cannot load ca_file {config.ca_file}: {err}") from err

    def message(self, item: Outgoing) -> EmailMessage:
        config = self._config
        message = EmailMessage()
        message["From"] = config.sender
        message["To"] = ", ".join(config.to)
        # A header may not break lines; a template or alarm text might.
        message["Subject"] = " ".join(item.subject.split())
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = make_msgid(domain=config.sender.rpartition("@")[2])
        message.set_content(item.text)
        return message

    async def send(self, item: Outgoing) -> None:
        message = self.message(item)
        where = f"smtp {self._config.host}:{self._config.effective_port}"
        try:
            await asyncio.to_thread(self._send, message)
        except smtplib.SMTPResponseException as err:
            text = (
                err.smtp_error.decode("utf-8", "replace")
                if isinstance(err.smtp_error, bytes)
                else err.smtp_error
            )
            reason = f"{where} answered {err.smtp_code} {text}"
            if err.smtp_code >= 500:
                raise PermanentNotificationError(reason) from err
            raise NotificationError(reason) from err
        except (
            smtplib.SMTPRecipientsRefused,
            smtplib.SMTPNotSupportedError,
            ssl.SSLCertVerificationError,
        ) as err:
            raise PermanentNotificationError(f"{where}: {err}") from err
        except (smtplib.SMTPException, OSError) as err:
            raise NotificationError(f"{where}: {type(err).__name__}: {err}") from err

    def _send(self, message: EmailMessage) -> None:
        config = self._config
        port = config.effective_port
        smtp: smtplib.SMTP
        if config.security == "ssl":
            smtp = smtplib.SMTP_SSL(config.host, port, timeout=config.timeout, context=self._context)
        else:
            smtp = smtplib.SMTP(config.host, port, timeout=config.timeout)
        with smtp:
            if config.security == "starttls":
                smtp.starttls(context=self._context)
            if config.username is not None and self._password is not None:
                smtp.login(config.username, self._password)
            smtp.send_message(message)

    async def aclose(self) -> None:
        return None


def create_sender(config: ChannelConfig, environ: Mapping[str, str]) -> Sender:
    """The sender for a channel; ConfigError when a secret it needs is not in the environment."""
    missing = missing_secrets(config, environ)
    if missing:
        names = ", ".join(missing)
        raise ConfigError(
            f"environment variable {names} is not set; it must hold the channel's "
            f"{'password' if isinstance(config, EmailChannel) else 'secret'} "
            "(the plant file only names the variable)"
        )
    if isinstance(config, WebhookChannel):
        return WebhookSender(config, environ)
    if isinstance(config, SlackChannel):
        return SlackSender(config, environ)
    return EmailSender(config, environ)


# ---------------------------------------------------------------------------------------------- notifier


@dataclass(frozen=True, kw_only=True)
class _Pending:
    item: Outgoing
    queued_at: float


class _Channel:
    def __init__(self, name: str, config: ChannelConfig, capacity: int) -> None:
        self.name = name
        self.config = config
        self.capacity = capacity
        self.queue: deque[_Pending] = deque()
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()  # set while the worker has nothing queued and nothing in hand
        self.sender: Sender | None = None
        self.unusable: str | None = None
        self.state = ChannelState.READY
        self.busy = False
        self.sent = 0
        self.failed = 0
        self.retries = 0
        self.dropped = 0
        self.full_logged = False
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.last_sent_at: float | None = None
        self.backoff = Backoff(initial=config.retry.initial, cap=config.retry.max_delay)

    def stats(self) -> ChannelStats:
        return ChannelStats(
            channel=self.name,
            kind=self.config.type,
            state=self.state,
            sent=self.sent,
            failed=self.failed,
            retries=self.retries,
            dropped=self.dropped,
            queued=len(self.queue) + (1 if self.busy else 0),
            last_error=self.last_error,
            last_error_at=self.last_error_at,
            last_sent_at=self.last_sent_at,
        )


class Notifier:
    """Start with ``async with Notifier(...)`` (or start/stop) on the runtime loop; ``submit`` from it.

    ``submit`` routes, rate-limits and renders at once and only queues: it never waits and never
    raises. Each channel has its own worker, so a dead mail relay does not delay the webhook.
    """

    def __init__(
        self,
        config: NotificationsConfig,
        *,
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
        drain_timeout: float = DRAIN_TIMEOUT_S,
    ) -> None:
        self._config = config
        self._clock = clock
        self._environ = os.environ if environ is None else environ
        self._rng = rng or random.Random()
        self._drain_timeout = drain_timeout
        self._router = Router(config)
        self._channels = {
            name: _Channel(name, channel, config.queue_size) for name, channel in config.channels.items()
        }
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._submitted = 0
        self._held = 0
        intervals = [route.min_interval for route in config.routes if route.min_interval > 0.0]
        # Often enough that a held notice goes out close to the end of its route's interval.
        self._tick = min([TICK_S, *(max(0.01, interval / 4.0) for interval in intervals)])

    # ------------------------------------------------------------------ life cycle

    async def __aenter__(self) -> Notifier:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        if self._started:
            return
        for channel in self._channels.values():
            try:
                channel.sender = create_sender(channel.config, self._environ)
            except ConfigError as err:
                # Only this channel stops; the engine and the other channels go on.
                channel.unusable = str(err)
                channel.state = ChannelState.UNUSABLE
                channel.last_error = str(err)
                channel.last_error_at = self._clock()
                log.error("notification channel %s cannot start: %s", channel.name, err)
                continue
            self._tasks.append(asyncio.create_task(self._work(channel), name=f"notify:{channel.name}"))
        self._tasks.append(asyncio.create_task(self._release_held(), name="notify:rate-limit"))
        self._started = True
        log.info(
            "notifications started: %d channels, %d routes", len(self._channels), len(self._config.routes)
        )

    async def stop(self) -> None:
        """Deliver what is queued (for up to the drain timeout), then stop every worker."""
        if not self._started:
            return
        self._started = False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._drain_timeout):
                working = [channel for channel in self._channels.values() if channel.sender is not None]
                await asyncio.gather(*(channel.idle.wait() for channel in working))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for channel in self._channels.values():
            left = len(channel.queue)
            if left:
                channel.dropped += left
                channel.queue.clear()
                log.warning(
                    "notification channel %s: %d notifications not sent at shutdown", channel.name, left
                )
            if channel.sender is not None:
                await channel.sender.aclose()
                channel.sender = None
        log.info("notifications stopped")

    # ------------------------------------------------------------------ submitting (runtime loop)

    def submit(self, notices: Iterable[Notice]) -> None:
        """Queue what the routes say about these notices; returns at once, never raises."""
        try:
            now = self._clock()
            for notice in notices:
                self._submitted += 1
                plan = self._router.plan(notice, now)
                self._held += plan.held
                for item in plan.outgoing:
                    self._enqueue(item, now)
        except Exception:
            # A bug here must not reach the alarm service that called.
            log.exception("notifications: cannot submit notices")

    def _enqueue(self, item: Outgoing, now: float) -> None:
        channel = self._channels[item.channel]
        if channel.unusable is not None:
            self._record_failure(channel, item, channel.unusable, attempts=0)
            return
        if len(channel.queue) >= channel.capacity:
            channel.queue.popleft()
            channel.dropped += 1
            if not channel.full_logged:
                channel.full_logged = True
                log.warning(
                    "notification channel %s: queue full (%d); dropping the oldest notifications",
                    channel.name,
                    channel.capacity,
                )
        channel.queue.append(_Pending(item=item, queued_at=now))
        channel.idle.clear()
        channel.wake.set()

    async def _release_held(self) -> None:
        while True:
            await asyncio.sleep(self._tick)
            try:
                due = self._router.due(self._clock())
                for item in due:
                    self._enqueue(item, self._clock())
            except Exception:
                log.exception("notifications: cannot release rate-limited notices")

    # ------------------------------------------------------------------ delivering (one task per channel)

    async def _work(self, channel: _Channel) -> None:
        while True:
            while not channel.queue:
                channel.full_logged = False
                channel.idle.set()
                channel.wake.clear()
                await channel.wake.wait()
            pending = channel.queue.popleft()
            channel.busy = True
            try:
                await self._deliver(channel, pending)
            except Exception as err:
                # A bug in a sender must not end the channel's worker: count it, say it, go on.
                log.exception("notification channel %s: unexpected error", channel.name)
                self._record_failure(channel, pending.item, f"unexpected error: {err!r}", attempts=1)
            finally:
                channel.busy = False

    async def _deliver(self, channel: _Channel, pending: _Pending) -> None:
        sender = channel.sender
        assert sender is not None
        retry = channel.config.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                await sender.send(pending.item)
            except PermanentNotificationError as err:
                self._record_failure(channel, pending.item, str(err), attempts=attempt)
                return
            except NotificationError as err:
                delay = channel.backoff.delay(attempt, self._rng)
                age = self._clock() - pending.queued_at
                if attempt >= retry.attempts or age + delay > retry.max_age:
                    self._record_failure(channel, pending.item, str(err), attempts=attempt)
                    return
                channel.retries += 1
                channel.state = ChannelState.RETRYING
                channel.last_error = str(err)
                channel.last_error_at = self._clock()
                log.info(
                    "notification channel %s: attempt %d of %d failed (%s); next in %.1f s",
                    channel.name,
                    attempt,
                    retry.attempts,
                    err,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            if channel.state is not ChannelState.READY:
                log.info("notification channel %s delivers again", channel.name)
            channel.state = ChannelState.READY
            channel.sent += 1
            channel.last_sent_at = self._clock()
            return

    def _record_failure(self, channel: _Channel, item: Outgoing, reason: str, *, attempts: int) -> None:
        channel.failed += 1
        channel.last_error = reason
        channel.last_error_at = self._clock()
        if channel.unusable is None:
            channel.state = ChannelState.FAILING
        notice = item.notice
        log.warning(
            "notification to channel %s failed after %d attempts: %s (alarm %s on %s, %s)",
            channel.name,
            attempts,
            reason,
            notice.alarm,
            notice.machine,
            notice.state,
        )

    # ------------------------------------------------------------------ queries

    def stats(self) -> NotifierStats:
        return NotifierStats(
            channels=tuple(channel.stats() for channel in self._channels.values()),
            submitted=self._submitted,
            held=self._held,
        )

    def report(self) -> dict[str, Any]:
        """The stats as JSON-ready data (for the health file and the diagnostics screen)."""
        stats = self.stats()
        return {
            "submitted": stats.submitted,
            "held": stats.held,
            "channels": [
                {
                    "channel": item.channel,
                    "kind": item.kind,
                    "state": item.state.value,
                    "sent": item.sent,
                    "failed": item.failed,
                    "retries": item.retries,
                    "dropped": item.dropped,
                    "queued": item.queued,
                    "last_error": item.last_error,
                    "last_error_at": _iso(item.last_error_at),
                    "last_sent_at": _iso(item.last_sent_at),
                }
                for item in stats.channels
            ],
        }


def _iso(seconds: float | None) -> str | None:
    return (
        None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    )


# ---------------------------------------------------------------------------------------------- from alarms


class NoticeMaker:
    """Builds a Notice from an alarm change, adding the machine's name, site and plant from the plant file.

    Takes the alarm event's fields one by one, so that it depends on no alarm module; the engine calls
    it with ``AlarmEvent`` attributes when it subscribes the notifier to the alarm service.
    """

    def __init__(self, plant: PlantConfig) -> None:
        self._plant = plant.id
        self._machines = {machine.id: (machine.title, site.id) for site, _line, machine in plant.machines()}

    def from_event(self, event: AlarmEvent) -> Notice | None:
        """The notice for an alarm journal event, or None for events nobody is notified of."""
        state = notice_state(str(event.action), str(event.to_state))
        if state is None:
            return None
        return self(
            ts=event.ts,
            alarm_id=event.alarm_id,
            rule_id=event.rule_id,
            machine=event.machine,
            tag=event.tag,
            priority=_PRIORITY.get(str(event.priority), "medium"),
            state=state,
            value=event.value,
            message=event.message,
        )

    def __call__(
        self,
        *,
        ts: datetime,
        alarm_id: str,
        rule_id: str,
        machine: str,
        tag: str,
        priority: Priority,
        state: str,
        value: NoticeValue,
        message: str,
    ) -> Notice:
        title, site = self._machines.get(machine, (machine, ""))
        return Notice(
            ts=ts,
            alarm=alarm_id,
            rule=rule_id,
            machine=machine,
            machine_name=title,
            tag=tag,
            priority=priority,
            state=state,
            value=value,
            message=message,
            site=site,
            plant=self._plant,
        )


_PRIORITY: dict[str, Priority] = {priority: priority for priority in PRIORITIES}
# An alarm shown again while its condition holds (unshelved, unsuppressed, back in service) is news.
_BACK_ACTIONS = frozenset({"unshelve", "unsuppress", "return_to_service"})


def notice_state(action: str, to_state: str) -> NoticeState | None:
    """What an alarm event (its action and new ISA-18.2 state) means to a notification, if anything.

    Raised → active; cleared → cleared; acknowledged; shelved. Unshelving (or unsuppressing) an alarm
    whose condition still holds makes it active again. Comments, suppression and service changes are
    not notified.
    """
    if action == "raise" and to_state in ("unack", "acked"):
        return "active"
    if action in _BACK_ACTIONS and to_state == "unack":
        return "active"
    states: dict[str, NoticeState] = {"clear": "cleared", "acknowledge": "acknowledged", "shelve": "shelved"}
    return states.get(action)


def notify_on_alarms(notifier: Notifier, maker: NoticeMaker) -> Callable[[Sequence[AlarmEvent]], None]:
    """An alarm-service listener that hands each batch of events to the notifier (never raises)."""

    def listener(events: Sequence[AlarmEvent]) -> None:
        notifier.submit(notice for event in events if (notice := maker.from_event(event)) is not None)

    return listener
