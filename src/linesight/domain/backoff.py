"""Retry delays that double up to a cap, with jitter so that many edges do not retry in step."""

from __future__ import annotations

import random


def backoff_delay(
    attempt: int, rng: random.Random, *, initial: float, cap: float, jitter: float, factor: float = 2.0
) -> float:
    """The wait before retry number ``attempt`` (1 for the first retry): ``initial`` times ``factor``
    per attempt up to ``cap``, scaled by a random factor in [1 - jitter, 1 + jitter]."""
    base = min(cap, initial * factor ** max(0, attempt - 1))
    return max(0.0, base * (1.0 + jitter * (2.0 * rng.random() - 1.0)))
