"""Retry delays that double up to a cap, with jitter so that many edges do not retry in step."""

from __future__ import annotations

import random
from dataclasses import dataclass

from linesight.domain.backoff import backoff_delay


@dataclass(frozen=True, kw_only=True)
class Backoff:
    initial: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    jitter: float = 0.2  # each delay is scaled by a random factor in [1 - jitter, 1 + jitter]

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait before retry number ``attempt`` (1 for the first retry)."""
        return backoff_delay(
            attempt, rng, initial=self.initial, cap=self.cap, jitter=self.jitter, factor=self.factor
        )
