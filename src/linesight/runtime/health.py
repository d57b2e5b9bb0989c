"""What the runtime knows about each connection, as immutable snapshots for screens and the CLI."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    UNAVAILABLE = "unavailable"
    STOPPED = "stopped"


@dataclass(frozen=True, kw_only=True)
class MachineHealth:
    machine: str
    driver: str
    state: ConnectionState
    last_error: str | None = None
    last_error_at: float | None = None
    last_success_at: float | None = None
    round_trip_ms: float | None = None
    round_trip_avg_ms: float | None = None
    samples_per_s: float = 0.0
    polls: int = 0
    failures: int = 0
    overruns: int = 0
    reconnects: int = 0
    next_retry_at: float | None = None
    tag_errors: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    requests_per_s: float = 0.0  # requests to the device, where its driver counts them
    dropped: int = 0  # notifications lost between device and runtime (push drivers)

    @property
    def phase(self) -> str:
        """The connection in a diagnostics screen's words: connecting, connected, backing off, stopped."""
        if self.state is ConnectionState.ONLINE:
            return "connected"
        if self.state is ConnectionState.UNAVAILABLE:
            # Down: waiting out the backoff, or (no retry time set) trying to connect again right now.
            return "backing off" if self.next_retry_at is not None else "connecting"
        return self.state.value


class RateMeter:
    """Events per second over a sliding window, from (time, count) marks."""

    def __init__(self, window_s: float = 10.0) -> None:
        self._window = window_s
        self._marks: deque[tuple[float, int]] = deque()
        self._total = 0

    def add(self, now: float, count: int) -> None:
        self._marks.append((now, count))
        self._total += count
        self._trim(now)

    def rate(self, now: float) -> float:
        self._trim(now)
        if not self._marks:
            return 0.0
        span = max(now - self._marks[0][0], 1.0)
        return self._total / min(span, self._window)

    def _trim(self, now: float) -> None:
        horizon = now - self._window
        while self._marks and self._marks[0][0] < horizon:
            self._total -= self._marks.popleft()[1]
