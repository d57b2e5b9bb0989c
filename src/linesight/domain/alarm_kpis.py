"""Alarm system performance (ISA-18.2 monitoring): alarm rate, floods, time in flood, most frequent alarms."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from linesight.domain.alarm_rules import AlarmOptions

US = 1_000_000
TEN_MINUTES_US = 600 * US


@dataclass(frozen=True, kw_only=True)
class AlarmKpis:
    """One look at how the alarm system performs; rates cover ``window_s`` (at most ``kpi_window``)."""

    window_s: float
    raised: int  # alarms raised (annunciated) in the window
    per_10min: float  # average alarms raised per 10 minutes over the window
    last_10min: int  # raised in the last 10 minutes
    flood: bool  # a site (or the plant) is in flood now
    flood_scopes: tuple[str, ...]  # the sites (or "plant") in flood now
    flood_pct: float  # share of the window spent in flood, 0-100
    stale: int  # alarms active longer than the stale threshold
    chattering: int  # alarms raised at least chattering_cycles times within the chattering window
    top: tuple[tuple[str, int], ...]  # (alarm id, times raised in the window), most frequent first


class _Scope:
    __slots__ = ("flood_since", "raises", "spans")

    def __init__(self) -> None:
        self.raises: deque[int] = deque()  # raise times within the flood window
        self.flood_since: int | None = None
        self.spans: deque[tuple[int, int]] = deque()  # closed flood spans within the KPI window


class FloodMonitor:
    """Counts raised alarms per scope (site or plant) and keeps when each scope was in flood."""

    def __init__(self, options: AlarmOptions, *, start_us: int) -> None:
        self.threshold = options.flood_alarms
        self.window_us = int(options.flood_window * US)
        self.kpi_window_us = int(options.kpi_window * US)
        self.start_us = start_us
        self._scopes: dict[str, _Scope] = {}
        self._raised: deque[tuple[int, str]] = deque()  # (time, alarm id) within the KPI window

    def raised(self, alarm_id: str, scope: str, ts_us: int) -> None:
        self._raised.append((ts_us, alarm_id))
        found = self._scopes.get(scope)
        if found is None:
            found = self._scopes[scope] = _Scope()
        self._expire(found, ts_us)
        found.raises.append(ts_us)
        if found.flood_since is None and len(found.raises) > self.threshold:
            found.flood_since = ts_us

    def advance(self, now_us: int) -> None:
        for scope in self._scopes.values():
            self._expire(scope, now_us)
            cutoff = now_us - self.kpi_window_us
            while scope.spans and scope.spans[0][1] < cutoff:
                scope.spans.popleft()
        cutoff = now_us - self.kpi_window_us
        raised = self._raised
        while raised and raised[0][0] < cutoff:
            raised.popleft()

    def _expire(self, scope: _Scope, now_us: int) -> None:
        raises = scope.raises
        while raises and raises[0] + self.window_us <= now_us:
            left = raises.popleft()
            if scope.flood_since is not None and len(raises) <= self.threshold:
                # The flood ended the moment this raise left the window, however late we look.
                scope.spans.append((scope.flood_since, left + self.window_us))
                scope.flood_since = None

    def in_flood(self) -> tuple[str, ...]:
        return tuple(sorted(name for name, scope in self._scopes.items() if scope.flood_since is not None))

    def kpis(self, now_us: int, *, stale: int, chattering: int, top_n: int = 10) -> AlarmKpis:
        self.advance(now_us)
        start = max(self.start_us, now_us - self.kpi_window_us)
        span = max(now_us - start, 1)
        raised = [entry for entry in self._raised if entry[0] >= start]
        last_10 = sum(1 for ts, _id in raised if ts > now_us - TEN_MINUTES_US)
        per_10 = len(raised) * TEN_MINUTES_US / max(span, TEN_MINUTES_US)
        intervals: list[tuple[int, int]] = []
        for scope in self._scopes.values():
            intervals.extend(scope.spans)
            if scope.flood_since is not None:
                intervals.append((scope.flood_since, now_us))
        flooded = _covered(intervals, start, now_us)
        counts = Counter(alarm_id for _ts, alarm_id in raised)
        scopes = self.in_flood()
        return AlarmKpis(
            window_s=span / US,
            raised=len(raised),
            per_10min=per_10,
            last_10min=last_10,
            flood=bool(scopes),
            flood_scopes=scopes,
            flood_pct=100.0 * flooded / span,
            stale=stale,
            chattering=chattering,
            top=tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top_n]),
        )


def _covered(intervals: list[tuple[int, int]], start: int, end: int) -> int:
    """Microseconds of [start, end) covered by the union of the intervals."""
    total = 0
    reach = start
    for begin, finish in sorted(intervals):
        begin, finish = max(begin, reach), min(finish, end)
        if finish > begin:
            total += finish - begin
            reach = finish
    return total
