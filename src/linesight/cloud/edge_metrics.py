"""Backlog health of the cloud forwarder: a snapshot for the HMI and Prometheus metrics on an opt-in /metrics.

Each forwarder has its own registry (not the process-wide default), so that tests and restarts never
collide over metric names.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class BacklogHealth:
    """What the diagnostics screen shows of cloud sync, at one moment."""

    enabled: bool
    connected: bool
    backlog_rows: int  # samples stored but not yet acknowledged by the broker
    oldest_age_s: float | None  # age of the oldest of them (None: no backlog)
    publish_rate: float  # samples acknowledged per second over the last few seconds
    published_samples: int
    published_events: int
    retries: int  # connection attempts that failed, and publishes that were not acknowledged
    gaps: int  # ranges of samples dropped unforwarded (retention cap, or older than max_backlog_age)
    watermark: int  # highest sequence number below which everything is acknowledged (durably)
    # Samples the broker acknowledged that the backend has not yet confirmed storing (None: confirmations
    # are off), and samples and events sent again because a later confirmation showed them lost.
    unconfirmed: int | None = None
    resent: int = 0
    last_error: str | None
    last_error_at: float | None


class _Rate:
    """Events per second over a sliding window."""

    def __init__(self, window: float = 5.0) -> None:
        self._window = window
        self._points: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def add(self, now: float, count: int) -> None:
        with self._lock:
            self._points.append((now, count))
            self._trim(now)

    def rate(self, now: float) -> float:
        with self._lock:
            self._trim(now)
            total = sum(count for _t, count in self._points)
        return total / self._window

    def _trim(self, now: float) -> None:
        while self._points and self._points[0][0] < now - self._window:
            self._points.popleft()


class EdgeMetrics:
    """The forwarder's counters and gauges (``backlog_rows``, ``backlog_oldest_age_seconds``,
    ``publish_retry_total``, ``published_samples_total``, ...)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.backlog_rows = Gauge(
            "backlog_rows", "Samples stored but not yet acknowledged by the broker", registry=r
        )
        self.backlog_oldest_age = Gauge(
            "backlog_oldest_age_seconds",
            "Age of the oldest sample not yet acknowledged by the broker",
            registry=r,
        )
        self.publish_retry = Counter(
            "publish_retry", "Failed connection attempts and unacknowledged publishes", registry=r
        )
        self.published_samples = Counter(
            "published_samples", "Samples acknowledged by the broker", registry=r
        )
        self.published_events = Counter("published_events", "Events acknowledged by the broker", registry=r)
        self.published_messages = Counter(
            "published_messages", "Messages acknowledged by the broker", registry=r
        )
        self.published_bytes = Counter(
            "published_bytes", "Payload bytes acknowledged by the broker", registry=r
        )
        self.gaps = Counter("backlog_gap", "Ranges of samples dropped before they were forwarded", registry=r)
        self.unconfirmed = Gauge(
            "backlog_unconfirmed_rows",
            "Samples acknowledged by the broker, not yet confirmed stored by the backend",
            registry=r,
        )
        self.resent = Counter(
            "resent_rows",
            "Samples and events sent again after a later confirmation showed them lost",
            registry=r,
        )
        self.connected = Gauge("broker_connected", "1 while connected to the broker", registry=r)
        self.sync_enabled = Gauge("cloud_sync_enabled", "1 while cloud sync is switched on", registry=r)
        self.live_lag = Gauge(
            "live_lag_seconds", "Age of the newest sample when its message was acknowledged", registry=r
        )
        self.rate = _Rate()
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def serve(self, listen: str) -> tuple[str, int]:
        """Serve /metrics on ``host:port`` (port 0: a free one) in a daemon thread; returns the address."""
        host, _sep, port = listen.rpartition(":")
        server, thread = start_http_server(int(port), addr=host, registry=self.registry)
        self._server, self._thread = server, thread
        address = server.server_address
        log.info("cloud sync metrics on http://%s:%s/metrics", address[0], address[1])
        return str(address[0]), int(address[1])

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
