"""What the pool reports about each terminal: status snapshots, call statistics, worker log lines."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["CallStats", "LogLine", "TerminalStatus", "UptimeMeter", "health_summary"]


@dataclass(frozen=True)
class LogLine:
    """One log record of a worker (or of the supervisor about that worker)."""

    time: datetime
    level: str
    message: str


@dataclass(frozen=True)
class TerminalStatus:
    """A snapshot of one terminal, as the admin API shows it."""

    terminal_id: str
    backend: str
    status: str
    symbols: tuple[str, ...]
    accounts: tuple[int, ...]
    pid: int | None
    started_at: datetime | None
    uptime_pct: float
    restarts: int
    reconnects: int
    calls: int
    errors: int
    last_error: str | None
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    last_check: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """Plain data (datetimes stay datetimes; the API layer serialises them)."""
        return asdict(self)


@dataclass
class CallStats:
    """Counters and a window of recent latencies for one terminal's calls."""

    window: int = 1000
    calls: int = 0
    errors: int = 0
    last_error: str | None = None
    _latencies: deque[float] = field(default_factory=deque)

    def record(self, seconds: float, error: str | None = None) -> None:
        """Count one call: its duration and, when it failed, why."""
        self.calls += 1
        if len(self._latencies) >= self.window:
            self._latencies.popleft()
        self._latencies.append(seconds)
        if error is not None:
            self.record_failure(error, counted=True)

    def record_failure(self, error: str, *, counted: bool = False) -> None:
        """Count a failed call (``counted``: already counted in ``calls`` by ``record``)."""
        if not counted:
            self.calls += 1
        self.errors += 1
        self.last_error = error

    def percentile_ms(self, q: float) -> float | None:
        """The ``q``th percentile of recent call latencies in milliseconds (None before any call)."""
        if not self._latencies:
            return None
        ordered = sorted(self._latencies)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000


class UptimeMeter:
    """The share of time a terminal has been up since it first came up.

    The first start is not downtime: a pool that has just started shows 100 %, not the share of
    its life spent spawning workers.
    """

    def __init__(self) -> None:
        self._first_up: float | None = None
        self._up_total = 0.0
        self._up_since: float | None = None

    def set_up(self, up: bool) -> None:
        """Record a transition to up or down."""
        now = time.monotonic()
        if up and self._up_since is None:
            if self._first_up is None:
                self._first_up = now
            self._up_since = now
        elif not up and self._up_since is not None:
            self._up_total += now - self._up_since
            self._up_since = None

    def percent(self) -> float:
        """Uptime in percent, 0..100 (0 for a terminal that never came up)."""
        if self._first_up is None:
            return 0.0
        now = time.monotonic()
        up = self._up_total + (now - self._up_since if self._up_since is not None else 0.0)
        elapsed = now - self._first_up
        return round(100.0 * up / elapsed, 2) if elapsed > 0 else 100.0


def health_summary(statuses: list[TerminalStatus]) -> dict[str, Any]:
    """SPEC 5's summary: ``ok`` (all up), ``degraded`` (some down), ``error`` (none up), with totals."""
    up = sum(1 for s in statuses if s.status == "up")
    overall = "ok" if up == len(statuses) else ("error" if up == 0 else "degraded")
    return {
        "status": overall,
        "terminals": len(statuses),
        "up": up,
        "down": len(statuses) - up,
        "calls": sum(s.calls for s in statuses),
        "errors": sum(s.errors for s in statuses),
        "restarts": sum(s.restarts for s in statuses),
        "reconnects": sum(s.reconnects for s in statuses),
        "checked_at": datetime.now(UTC),
    }
