"""The plant file's ``cloud:`` section: where and how the edge forwards its history (docs/cloud/edge.md).

Pure data: the forwarder (``linesight.cloud.forwarder``) reads files and the environment for secrets.
"""

from __future__ import annotations

import random
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from linesight.domain.backoff import backoff_delay
from linesight.domain.schema import ConfigModel, Seconds

# Tenant, site and edge as they appear in MQTT topics (lower case: topics are case-sensitive).
CLOUD_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_CLOUD_NAME = re.compile(CLOUD_NAME_PATTERN)


def _cloud_name(value: str) -> str:
    if not _CLOUD_NAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid name in cloud topics: lower-case letters, digits, '_' and '-', "
            "starting with a letter or digit, at most 63 characters"
        )
    return value


CloudName = Annotated[str, AfterValidator(_cloud_name)]
MIB = 1024 * 1024


class CloudTlsConfig(ConfigModel):
    """TLS to the broker; with ``cert`` and ``key`` the edge also proves who it is (mutual TLS)."""

    ca: str | None = None  # PEM file of the CA that signed the broker's certificate; None: the system's
    cert: str | None = None  # the edge's client certificate (PEM)
    key: str | None = None  # its private key (PEM)
    # Skip the check that the broker's certificate names the host: for a test bench only.
    insecure: bool = False

    @model_validator(mode="after")
    def _pair(self) -> CloudTlsConfig:
        if (self.cert is None) != (self.key is None):
            raise ValueError("a client certificate needs both cert and key (mutual TLS), or neither")
        return self


class ReconnectPolicy(ConfigModel):
    """Waits between connection attempts: doubling from ``initial`` up to ``cap``, each scaled by a
    random factor in [1 - jitter, 1 + jitter] so that a fleet of edges does not reconnect in step."""

    initial: Seconds = Field(default=1.0, gt=0.0)
    cap: Seconds = Field(default=60.0, gt=0.0)
    jitter: float = Field(default=0.2, ge=0.0, le=1.0)

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait before retry number ``attempt`` (1 for the first retry)."""
        return backoff_delay(attempt, rng, initial=self.initial, cap=self.cap, jitter=self.jitter)


class CloudConfig(ConfigModel):
    """The ``cloud:`` section. Sync is off unless ``enabled`` (or a manager switches it on)."""

    enabled: bool = False
    host: Annotated[str, Field(min_length=1)]
    port: int | None = Field(default=None, ge=1, le=65535)  # None: 8883 with TLS, else 1883
    tls: CloudTlsConfig | None = None
    username: str | None = None
    # The password: given here, read from a file (first line), or from an environment variable.
    password: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    tenant: CloudName
    site: CloudName
    edge: CloudName
    # The MQTT client id of the persistent session; None: linesight-{tenant}-{edge}.
    client_id: str | None = None
    keepalive: Seconds = Field(default=30.0, ge=5.0)
    # When sync is switched on, history older than this is not sent (it is reported as a gap).
    max_backlog_age: Seconds = Field(default=7 * 86400.0, gt=0.0)
    # Retention keeps unforwarded rows past their age, up to this many; beyond it, the oldest go and
    # the dropped range is sent as a gap event. None: never drop unforwarded rows.
    max_unforwarded_rows: int | None = Field(default=50_000_000, ge=1000)
    # Samples per message, and the size caps of one message before and after compression.
    batch_rows: int = Field(default=5000, ge=1, le=100_000)
    max_message_bytes: int = Field(default=1 * MIB, ge=4096, le=4 * MIB)
    max_compressed_bytes: int = Field(default=256 * 1024, ge=4096, le=4 * MIB)
    compression: Literal["zstd", "none"] = "zstd"
    reconnect: ReconnectPolicy = Field(default_factory=ReconnectPolicy)
    # The backend confirms on .../ack what it stored (docs/cloud/edge.md, "No loss, no duplicate"); a
    # range the broker acknowledged but the backend did not confirm is sent again once the backend has
    # confirmed something sent later and confirm_grace has passed since. Retention then keeps every
    # unconfirmed row. Off for a consumer that never confirms: the broker's PUBACK is the last word.
    confirm: bool = True
    confirm_grace: Seconds = Field(default=10.0, gt=0.0)
    # Ranges unconfirmed and not a word from the backend (no confirmation) nor anything sent for this
    # long: one message of the newest unconfirmed range goes again, to ask (the last messages of all
    # may be the lost ones, and nothing later would ever be confirmed).
    confirm_probe: Seconds = Field(default=60.0, gt=0.0)
    # host:port of a local Prometheus /metrics endpoint (opt-in), e.g. "127.0.0.1:9108".
    metrics_listen: str | None = None
    # The fleet API the HMI's Fleet screen reads (docs/cloud/fleet.md), and its key: given here, read
    # from a file (first line), or from an environment variable.
    api_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    api_key: str | None = None
    api_key_file: str | None = None
    api_key_env: str | None = None

    @model_validator(mode="after")
    def _one_password(self) -> CloudConfig:
        for names in (
            ("password", "password_file", "password_env"),
            ("api_key", "api_key_file", "api_key_env"),
        ):
            given = [name for name in names if getattr(self, name)]
            if len(given) > 1:
                raise ValueError(f"give only one of {', '.join(names)} (got {', '.join(given)})")
        given = [name for name in ("password", "password_file", "password_env") if getattr(self, name)]
        if given and not self.username:
            raise ValueError(f"{given[0]} needs a username")
        if self.metrics_listen is not None:
            host, _sep, port = self.metrics_listen.rpartition(":")
            if not host or not port.isdigit() or not 0 <= int(port) < 65536:
                raise ValueError(
                    f"metrics_listen {self.metrics_listen!r} is not host:port, e.g. 127.0.0.1:9108"
                )
        return self

    @property
    def broker_port(self) -> int:
        if self.port is not None:
            return self.port
        return 8883 if self.tls is not None else 1883

    @property
    def session_id(self) -> str:
        return self.client_id or f"linesight-{self.tenant}-{self.edge}"
