"""Per-key rate limits: a token bucket per key, refilled continuously.

A key may make ``burst`` requests at once and ``per_minute`` steadily; past that a request is refused
with ``RateLimited`` carrying ``retry_after`` (whole seconds until one token is back), which the error
handler sends as a 429 with a ``Retry-After`` header. Buckets live in this process: with several
gateway replicas each enforces its own share.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from mt5gateway.errors import RateLimited

__all__ = ["RateLimiter"]


class RateLimiter:
    """Token buckets keyed by API key name."""

    def __init__(self, *, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.burst = burst
        self._clock = clock
        # key -> (tokens left, time of the last refill)
        self._buckets: dict[str, tuple[float, float]] = {}

    def hit(self, key: str, per_minute: int | None = None, burst: int | None = None) -> None:
        """Take one token from ``key``'s bucket (its own rate and burst if given) or raise ``RateLimited``."""
        rate = (per_minute or self.per_minute) / 60.0
        capacity = float(max(burst or self.burst, 1))
        now = self._clock()
        tokens, last = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            retry_after = max(1, math.ceil((1.0 - tokens) / rate))
            raise RateLimited(
                f"Rate limit exceeded for this key; retry in {retry_after} s",
                retry_after=retry_after,
            )
        self._buckets[key] = (tokens - 1.0, now)
