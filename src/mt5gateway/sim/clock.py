"""The simulator's sense of "now": a clock the market reads to know where the live edge is.

Clocks tell **server time** (``sim.markettime``): epoch milliseconds of the simulated server's wall
clock written as if it were UTC, as every time an MT5 terminal hands out is; with the default
convention that is UTC+2, UTC+3 in US summer time. ``SystemClock`` follows the real clock, optionally
faster (a demo that plays a day in an hour) or from another origin (a replay that starts last
Monday), and converts it to server time; ``ManualClock`` only moves when a test tells it to, and is
set in server time directly.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

from .markettime import ServerTime

__all__ = ["Clock", "ManualClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the simulated server time as epoch milliseconds."""

    def now_msc(self) -> int: ...


class SystemClock:
    """Server time of the simulated UTC instant ``origin_msc`` + real time elapsed since construction
    x ``speed``.

    ``origin_msc`` (UTC) defaults to the real time at construction, so ``SystemClock()`` is the wall
    clock as the server shows it (the conversion costs about a microsecond).
    """

    def __init__(
        self, speed: float = 1.0, origin_msc: int | None = None, server_time: ServerTime | None = None
    ) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self.speed = speed
        self.origin_msc = time.time_ns() // 1_000_000 if origin_msc is None else int(origin_msc)
        self.server_time = server_time or ServerTime()
        # monotonic, so that a wall-clock step (NTP) never moves simulated time backwards
        self._started_ns = time.monotonic_ns()

    def utc_msc(self) -> int:
        """The simulated instant, UTC epoch milliseconds."""
        elapsed_ms = (time.monotonic_ns() - self._started_ns) / 1_000_000
        return self.origin_msc + int(elapsed_ms * self.speed)

    def now_msc(self) -> int:
        return self.server_time.from_utc_msc(self.utc_msc())

    def __repr__(self) -> str:
        return (
            f"SystemClock(speed={self.speed}, origin_msc={self.origin_msc}, server_time={self.server_time})"
        )


class ManualClock:
    """A clock that stands still until ``set_msc()`` or ``advance()`` moves it (tests, drills)."""

    def __init__(self, start_msc: int) -> None:
        self._now_msc = int(start_msc)
        self._lock = threading.Lock()

    def now_msc(self) -> int:
        # reading one int attribute is atomic under the GIL; only writers take the lock
        return self._now_msc

    def set_msc(self, msc: int) -> None:
        """Jump to ``msc`` (backwards too: a test may rewind)."""
        with self._lock:
            self._now_msc = int(msc)

    def advance(self, seconds: float) -> int:
        """Move forward by ``seconds`` (fractions allowed); returns the new time in msc."""
        if seconds < 0:
            raise ValueError(f"advance() takes a non-negative duration, got {seconds}")
        with self._lock:
            self._now_msc += round(seconds * 1000)
            return self._now_msc

    def __repr__(self) -> str:
        return f"ManualClock(now_msc={self._now_msc})"
