"""Alarm notifications as data: the plant file's channels and routes, which notice goes where, its text,
and how often. Pure (no I/O); runtime/notify.py does the sending."""

from __future__ import annotations

import dataclasses
import math
import re
import string
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, Field, model_validator

from linesight.domain.schema import ConfigModel, Name, Seconds

Location = tuple[str | int, ...]

Priority = Literal["critical", "high", "medium", "low"]
PRIORITIES: tuple[Priority, ...] = ("critical", "high", "medium", "low")
# What happened to an alarm, in the words a notification uses.
NoticeState = Literal["active", "cleared", "acknowledged", "shelved"]
NOTICE_STATES: tuple[NoticeState, ...] = ("active", "cleared", "acknowledged", "shelved")
NoticeValue = str | float | int | bool | None


@dataclass(frozen=True, kw_only=True)
class Notice:
    """One alarm change to tell people about; its fields are what templates may name."""

    ts: datetime  # UTC
    alarm: str
    rule: str
    machine: str
    machine_name: str
    tag: str
    priority: Priority
    state: str
    value: NoticeValue
    message: str
    site: str
    plant: str

    def fields(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON-ready data (the time as ISO 8601 UTC)."""
        found = self.fields()
        found["ts"] = self.ts.isoformat(timespec="milliseconds")
        if isinstance(self.value, float) and not math.isfinite(self.value):
            found["value"] = None  # JSON has no NaN or infinity
        return found


NOTICE_FIELDS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(Notice))


# ---------------------------------------------------------------------------------------------- templates

DEFAULT_SUBJECT = "[{priority}] {machine_name}: {message} ({state})"
DEFAULT_TEXT = (
    "{state}: {message}\n"
    "machine {machine_name} ({machine}), site {site}, plant {plant}\n"
    "tag {tag} = {value}, rule {rule}, priority {priority}\n"
    "at {ts:%Y-%m-%d %H:%M:%S} UTC"
)


def template_problem(template: str) -> str | None:
    """Why ``template`` cannot be rendered with a Notice's fields, or None when it can."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as err:
        return f"not a valid template ({err}); write a literal brace as '{{{{' or '}}}}'"
    known = ", ".join(NOTICE_FIELDS)
    for _literal, field_name, format_spec, _conversion in parts:
        if field_name is None:
            continue
        if field_name == "" or field_name.isdigit():
            return f"a template names its fields, e.g. {{machine_name}}; known fields: {known}"
        if field_name not in NOTICE_FIELDS:
            if re.match(r"^\w+$", field_name) is None:
                return (
                    f"'{{{field_name}}}': write a plain field name (no '.' or '[...]'); known fields: {known}"
                )
            return f"unknown field '{field_name}' in the template; known fields: {known}"
        if format_spec and "{" in format_spec:
            return f"'{{{field_name}:{format_spec}}}': a format may not contain another field"
    return None


def _template(value: str) -> str:
    problem = template_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Template = Annotated[str, AfterValidator(_template)]


class _LenientFormatter(string.Formatter):
    """A format that does not fit the value (``{value:.1f}`` on a text) falls back to the plain value:
    a notification always goes out."""

    def format_field(self, value: Any, format_spec: str) -> str:
        try:
            return str(super().format_field(value, format_spec))
        except (ValueError, TypeError):
            return str(value)


_FORMATTER = _LenientFormatter()


def render(template: str, notice: Notice) -> str:
    """The template with the notice's fields filled in (validated templates only)."""
    return _FORMATTER.vformat(template, (), notice.fields())


# ---------------------------------------------------------------------------------------------- channels

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
EnvName = Annotated[str, Field(pattern=_ENV_NAME)]
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_HTTP_URL = re.compile(r"^https?://[^\s/?#]+([/?#]\S*)?$")
# Header names as HTTP allows them (a token).
_HEADER_NAME = r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$"
HeaderName = Annotated[str, Field(pattern=_HEADER_NAME)]


def _http_url(value: str) -> str:
    if _HTTP_URL.match(value) is None:
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    return value


def _email_address(value: str) -> str:
    if _EMAIL.match(value) is None:
        raise ValueError(f"expected an e-mail address such as alarms@plant.example, got {value!r}")
    return value


def _absolute_path(value: str) -> str:
    if not (value.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", value)):
        raise ValueError(
            f"write the full path of the file (it is not looked up relative to anything): {value!r}"
        )
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
EmailAddress = Annotated[str, AfterValidator(_email_address)]


class RetryConfig(ConfigModel):
    # Every attempt counts, the first one too: 1 means never retry.
    attempts: int = Field(default=5, ge=1, le=100)
    initial: Seconds = Field(default=2.0, gt=0.0)
    max_delay: Seconds = Field(default=60.0, gt=0.0)
    # A notice not delivered within this long after it was queued is given up as failed.
    max_age: Seconds = Field(default=900.0, gt=0.0)


class WebhookChannel(ConfigModel):
    type: Literal["webhook"]
    url: HttpUrl
    headers: dict[HeaderName, str] = Field(default_factory=dict)
    # Header values that are secrets (tokens) come from environment variables: header → variable name.
    headers_env: dict[HeaderName, EnvName] = Field(default_factory=dict)
    timeout: Seconds = Field(default=10.0, gt=0.0)
    retry: RetryConfig = Field(default_factory=RetryConfig)

    def secret_variables(self) -> list[str]:
        return list(self.headers_env.values())


class SlackChannel(ConfigModel):
    type: Literal["slack"]
    # A Slack webhook URL is itself the secret: url_env names the variable that holds it.
    url: HttpUrl | None = None
    url_env: EnvName | None = None
    timeout: Seconds = Field(default=10.0, gt=0.0)
    retry: RetryConfig = Field(default_factory=RetryConfig)

    @model_validator(mode="after")
    def _one_url(self) -> SlackChannel:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give the webhook address as either 'url' or 'url_env' (exactly one of them)")
        return self

    def secret_variables(self) -> list[str]:
        return [] if self.url_env is None else [self.url_env]


SMTP_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


class EmailChannel(ConfigModel):
    type: Literal["email"]
    host: Annotated[str, Field(min_length=1)]
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "starttls"
    username: str | None = None
    # The name of an environment variable holding the password: a password never sits in the file.
    password_env: EnvName | None = None
    sender: EmailAddress
    to: list[EmailAddress] = Field(min_length=1)
    timeout: Seconds = Field(default=30.0, gt=0.0)
    # Trust this CA certificate (PEM) instead of the system's, for a relay with its own certificate.
    ca_file: Annotated[str, AfterValidator(_absolute_path)] | None = None
    retry: RetryConfig = Field(default_factory=RetryConfig)

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else SMTP_PORTS[self.security]

    @model_validator(mode="after")
    def _login(self) -> EmailChannel:
        if self.username is not None and self.password_env is None:
            raise ValueError("a login needs 'password_env': the environment variable holding the password")
        if self.password_env is not None and self.username is None:
            raise ValueError("'password_env' is given but no 'username' to log in with")
        if self.username is not None and self.security == "none":
            raise ValueError(
                "a login over 'security: none' would send the password in clear text; "
                "use 'security: starttls' or 'ssl'"
            )
        return self

    def secret_variables(self) -> list[str]:
        return [] if self.password_env is None else [self.password_env]


Channel = Annotated[WebhookChannel | SlackChannel | EmailChannel, Field(discriminator="type")]
CHANNEL_KINDS = ("webhook", "slack", "email")


# ---------------------------------------------------------------------------------------------- routes


def _active_only() -> list[NoticeState]:
    return ["active"]


class RouteConfig(ConfigModel):
    """Which notices go to which channels, how often, and in what words. Empty filters match all."""

    channels: list[Name] = Field(min_length=1)
    priorities: list[Priority] = Field(default_factory=list)
    machines: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)  # glob patterns
    rules: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)  # glob patterns
    states: list[NoticeState] = Field(default_factory=_active_only, min_length=1)
    # At most one notification per rule (on each machine) this often; 0 sends every one.
    min_interval: Seconds = Field(default=60.0, ge=0.0)
    subject: Template = DEFAULT_SUBJECT
    text: Template = DEFAULT_TEXT

    def matches(self, notice: Notice) -> bool:
        return (
            notice.state in self.states
            and (not self.priorities or notice.priority in self.priorities)
            and _any_glob(self.machines, notice.machine)
            and _any_glob(self.rules, notice.rule)
        )


def _any_glob(patterns: Sequence[str], value: str) -> bool:
    return not patterns or any(fnmatchcase(value, pattern) for pattern in patterns)


class NotificationsConfig(ConfigModel):
    channels: dict[Name, Channel] = Field(default_factory=dict)
    routes: list[RouteConfig] = Field(default_factory=list)
    # Notifications waiting per channel; past this the oldest is dropped (and counted).
    queue_size: int = Field(default=1000, ge=1)


def notification_issues(config: NotificationsConfig) -> list[tuple[Location, str]]:
    """Cross-references inside ``notifications:`` (locations relative to it): routes name channels."""
    issues: list[tuple[Location, str]] = []
    known = ", ".join(sorted(config.channels)) or "none are defined under 'notifications.channels'"
    for r, route in enumerate(config.routes):
        for c, name in enumerate(route.channels):
            if name not in config.channels:
                issues.append(
                    (("routes", r, "channels", c), f"no channel named '{name}'; known channels: {known}")
                )
    return issues


def notification_model_at(location: Location) -> type[BaseModel] | None:
    """The model whose fields sit at ``location`` inside ``notifications:`` (for 'unknown field' hints)."""
    parts = [part for part in location if not isinstance(part, int)]
    if not parts:
        return NotificationsConfig
    if parts[0] == "routes":
        return RouteConfig if len(parts) == 1 else None
    if parts[0] != "channels" or len(parts) < 3:
        return None
    kinds: dict[str, type[BaseModel]] = {
        "webhook": WebhookChannel,
        "slack": SlackChannel,
        "email": EmailChannel,
    }
    model = kinds.get(str(parts[2]))
    if model is None:
        return None
    if len(parts) == 3:
        return model
    return RetryConfig if parts[3:] == ["retry"] else None


def strip_channel_kind(location: Location) -> Location:
    """Pydantic puts a channel's type into error locations (channels.mail.email.host); people do not."""
    if len(location) >= 3 and location[0] == "channels" and location[2] in CHANNEL_KINDS:
        return (*location[:2], *location[3:])
    return location


# ---------------------------------------------------------------------------------------------- sending plan


@dataclass(frozen=True, kw_only=True)
class Outgoing:
    """One notification for one channel, its text rendered."""

    channel: str
    route: int
    notice: Notice
    subject: str
    text: str


T = TypeVar("T")


@dataclass
class _Window(Generic[T]):
    sent_at: float
    interval: float
    sent_state: str
    held: T | None = None
    held_state: str = ""
    held_count: int = 0


class Throttle(Generic[T]):
    """At most one item per key per interval (times are passed in).

    An item offered too soon is held, the latest one replacing the earlier; when the window ends,
    ``due`` gives it back if its state differs from the one last sent, so that people are never left
    believing an alarm is active when it cleared (or the other way round) inside the window.
    """

    def __init__(self) -> None:
        self._windows: dict[Hashable, _Window[T]] = {}

    def offer(self, key: Hashable, now: float, interval: float, state: str, item: T) -> bool:
        """True: send ``item`` now. False: it is held (or dropped as a repeat) until the window ends."""
        window = self._windows.get(key)
        if window is None or now - window.sent_at >= window.interval or interval <= 0.0:
            self._windows[key] = _Window(sent_at=now, interval=interval, sent_state=state)
            return True
        window.held = item
        window.held_state = state
        window.held_count += 1
        return False

    def due(self, now: float) -> list[T]:
        """Held items whose window has ended and that change what was last sent; forgets old windows."""
        found: list[T] = []
        for key, window in list(self._windows.items()):
            if now - window.sent_at < window.interval:
                continue
            if window.held is not None and window.held_state != window.sent_state:
                found.append(window.held)
                self._windows[key] = _Window(
                    sent_at=now, interval=window.interval, sent_state=window.held_state
                )
            else:
                del self._windows[key]
        return found

    def __len__(self) -> int:
        return len(self._windows)


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What to send now for one notice, and how many route deliveries the rate limit held back."""

    outgoing: tuple[Outgoing, ...]
    held: int


class Router:
    """Matches notices to routes, applies each route's rate limit and renders the texts."""

    def __init__(self, config: NotificationsConfig) -> None:
        self._routes = list(config.routes)
        self._throttle: Throttle[tuple[int, Notice]] = Throttle()

    def plan(self, notice: Notice, now: float) -> Plan:
        outgoing: list[Outgoing] = []
        held = 0
        for index, route in enumerate(self._routes):
            if not route.matches(notice):
                continue
            key = (index, notice.machine, notice.rule)
            if self._throttle.offer(key, now, route.min_interval, notice.state, (index, notice)):
                outgoing.extend(self._render(index, notice))
            else:
                held += 1
        return Plan(outgoing=tuple(outgoing), held=held)

    def due(self, now: float) -> list[Outgoing]:
        """Notices held back by a rate limit that are now owed (their alarm changed state meanwhile)."""
        return [item for index, notice in self._throttle.due(now) for item in self._render(index, notice)]

    def _render(self, index: int, notice: Notice) -> list[Outgoing]:
        route = self._routes[index]
        subject = render(route.subject, notice)
        text = render(route.text, notice)
        return [
            Outgoing(channel=channel, route=index, notice=notice, subject=subject, text=text)
            for channel in route.channels
        ]


def missing_secrets(
    channel: WebhookChannel | SlackChannel | EmailChannel, environ: Mapping[str, str]
) -> list[str]:
    """The environment variables the channel needs that are not set (or empty)."""
    return [name for name in channel.secret_variables() if not environ.get(name)]
