"""Fan-out of sample batches to the historian writer, the live cache and later OEE and alarms."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from linesight.domain.tags import Sample

log = logging.getLogger(__name__)

BatchSink = Callable[[Sequence[Sample]], None]


class SampleBus:
    """Synchronous fan-out on the runtime loop: sinks must be quick and must not block.

    A sink that raises is logged with its traceback and stays subscribed; the other sinks still
    receive the batch, so one faulty consumer cannot starve the historian.
    """

    def __init__(self) -> None:
        self._sinks: list[BatchSink] = []

    def subscribe(self, sink: BatchSink) -> Callable[[], None]:
        self._sinks.append(sink)

        def unsubscribe() -> None:
            if sink in self._sinks:
                self._sinks.remove(sink)

        return unsubscribe

    def publish(self, batch: Sequence[Sample]) -> None:
        if not batch:
            return
        for sink in tuple(self._sinks):
            try:
                sink(batch)
            except Exception:
                log.exception("sample subscriber %r failed on a batch of %d samples", sink, len(batch))
