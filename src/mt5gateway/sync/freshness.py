"""How old the mirror's copy of an account is, and the level that age falls in.

Ages are measured against an injectable clock (``Clock``: a callable returning an aware UTC
datetime) so that tests and drills can move time without waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from .settings import FreshnessConfig

__all__ = ["Clock", "Freshness", "ManualClock", "age_of", "freshness_level", "system_clock"]

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The wall clock, UTC."""
    return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told (tests, drills)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta``."""
        self._now += delta


class Freshness(StrEnum):
    """Levels of a copy's age; an account never synced is critical."""

    FRESH = "fresh"
    ACCEPTABLE = "acceptable"
    DEGRADED = "degraded"
    CRITICAL = "critical"


def freshness_level(age: timedelta | None, limits: FreshnessConfig) -> Freshness:
    """The level of a copy ``age`` old (None: never synced)."""
    if age is None:
        return Freshness.CRITICAL
    minutes = age.total_seconds() / 60.0
    if minutes < limits.fresh_minutes:
        return Freshness.FRESH
    if minutes < limits.acceptable_minutes:
        return Freshness.ACCEPTABLE
    if minutes <= limits.degraded_minutes:
        return Freshness.DEGRADED
    return Freshness.CRITICAL


def age_of(synced_at: datetime | None, now: datetime) -> timedelta | None:
    """``now - synced_at`` (never negative), None when never synced."""
    if synced_at is None:
        return None
    return max(now - synced_at, timedelta(0))
