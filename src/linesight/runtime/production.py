"""What operators enter about production — stop codings and rejects — checked, stored and applied.

Entries go to the historian (the record, and what the cloud forwarder sends) and to the machine
tracker, so that the running shift's OEE, timeline and uncoded stops change at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from linesight.domain.errors import HistorianError, InvalidEntry
from linesight.domain.plant import PlantConfig
from linesight.domain.reasons import DowntimeCode, ReasonTree, RejectEntry
from linesight.runtime.machines import MachineTracker

log = logging.getLogger(__name__)

MAX_REJECTS_PER_ENTRY = 100_000
# A clock a little ahead of the runtime's (a panel PC's) must not refuse "now".
FUTURE_SLACK = timedelta(seconds=60)


class ProductionStore(Protocol):
    def record_downtime_code(self, code: DowntimeCode) -> int: ...
    def downtime_codes(self, machines: list[str], start: datetime, end: datetime) -> list[DowntimeCode]: ...
    def record_reject(self, entry: RejectEntry) -> int: ...
    def rejects(self, machines: list[str], start: datetime, end: datetime) -> list[RejectEntry]: ...


class ProductionBook:
    """Checks and records codings and rejects; runs on the runtime loop (store calls go to a thread)."""

    def __init__(
        self,
        plant: PlantConfig,
        store: ProductionStore | None,
        tracker: MachineTracker,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._machines = {machine.id for _s, _l, machine in plant.machines()}
        self._order = [machine.id for _s, _l, machine in plant.machines()]
        self.reasons = ReasonTree(plant.downtime_reasons)
        self.reject_reasons = {reason.id: reason for reason in plant.reject_reasons}
        self._store = store
        self._tracker = tracker
        self._clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _check_machine(self, machine: str) -> None:
        if machine not in self._machines:
            raise InvalidEntry(f"no machine '{machine}' in the plant")

    async def code_stop(
        self,
        machine: str,
        *,
        start: datetime,
        end: datetime | None,
        reason: str,
        user: str,
        comment: str = "",
    ) -> DowntimeCode:
        """Code [start, end) of the machine's stop time with a reason; end None: until the stop ends."""
        self._check_machine(machine)
        if reason not in self.reasons:
            known = ", ".join(r.id for r in self.reasons.reasons())
            raise InvalidEntry(f"no downtime reason '{reason}'; the reasons are: {known}")
        now = self._now()
        if start.tzinfo is None or (end is not None and end.tzinfo is None):
            raise InvalidEntry("a coding's start and end must carry their time zone")
        if start > now + FUTURE_SLACK:
            raise InvalidEntry(f"a stop cannot be coded in the future (start {start:%Y-%m-%d %H:%M:%S} UTC)")
        if end is not None and end <= start:
            raise InvalidEntry(f"the coding ends ({end:%H:%M:%S}) before it starts ({start:%H:%M:%S})")
        if not user:
            raise InvalidEntry("a coding needs the name of the person who made it")
        code = DowntimeCode(
            machine=machine, start=start, end=end, reason=reason, user=user, coded_at=now, comment=comment
        )
        if self._store is not None:
            await asyncio.to_thread(self._store.record_downtime_code, code)
        self._tracker.add_code(code)
        log.info(
            "machine %s: %s coded %s from %s to %s", machine, user, reason, start, end or "the stop's end"
        )
        return code

    async def record_rejects(
        self,
        machine: str,
        *,
        count: int,
        reason: str,
        user: str,
        comment: str = "",
        ts: datetime | None = None,
    ) -> RejectEntry:
        self._check_machine(machine)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 < count <= MAX_REJECTS_PER_ENTRY:
            raise InvalidEntry(
                f"a reject count is a whole number from 1 to {MAX_REJECTS_PER_ENTRY}, not {count!r}"
            )
        if reason not in self.reject_reasons:
            known = ", ".join(self.reject_reasons)
            raise InvalidEntry(f"no reject reason '{reason}'; the reasons are: {known}")
        if not user:
            raise InvalidEntry("rejects need the name of the person who entered them")
        entry = RejectEntry(
            machine=machine, ts=ts or self._now(), count=count, reason=reason, user=user, comment=comment
        )
        if self._store is not None:
            await asyncio.to_thread(self._store.record_reject, entry)
        self._tracker.add_rejects(entry)
        log.info("machine %s: %s entered %d rejects (%s)", machine, user, count, reason)
        return entry

    async def restore(self, since: datetime) -> None:
        """After a restart, give the tracker the codings and rejects of the running shifts."""
        if self._store is None:
            return
        end = self._now() + FUTURE_SLACK
        try:
            codes = await asyncio.to_thread(self._store.downtime_codes, self._order, since, end)
            rejects = await asyncio.to_thread(self._store.rejects, self._order, since, end)
        except HistorianError as err:
            log.error("cannot restore this shift's stop codings and rejects: %s", err)
            return
        for code in codes:
            self._tracker.add_code(code)
        for entry in rejects:
            self._tracker.add_rejects(entry)

    async def codes(self, machines: list[str], start: datetime, end: datetime) -> list[DowntimeCode]:
        if self._store is None:
            return []
        return await asyncio.to_thread(self._store.downtime_codes, machines, start, end)

    async def rejects(self, machines: list[str], start: datetime, end: datetime) -> list[RejectEntry]:
        if self._store is None:
            return []
        return await asyncio.to_thread(self._store.rejects, machines, start, end)
