"""The scheduled releases of the market model: jobs, inflation and central-bank decisions.

A release moves the symbols of its currency with a jump in the minute it is published, and their
volatility stays raised for a while after (``sim.model``). Dates follow fixed rules, so the calendar
is the same every run and covers any year: each rule names its months, a weekday, and the first day
of the month it may fall on ("the first Friday": weekday 4 from the 1st; "the Wednesday between the
10th and the 16th": weekday 2 from the 10th). The times are the publishers' own local times, so
daylight saving in either place moves them as it moves the real ones. The rules approximate the real
calendars (real meeting dates drift by a week from year to year); holidays are not modelled.

``impact`` is the size of the jump and of the volatility burst, relative to the other releases
(non-farm payrolls 3, a central bank 2, a second-tier figure 1.5).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from .markettime import market_from_utc

__all__ = ["RELEASES", "Release", "releases_between"]

_ALL_MONTHS = tuple(range(1, 13))


@dataclass(frozen=True)
class Release:
    """A scheduled release: who publishes what, when (local time), and how much it moves."""

    name: str
    currency: str
    zone: str
    hour: int
    minute: int
    impact: float
    weekday: int  # Monday = 0
    from_day: int  # the first day of the month the release may fall on
    months: tuple[int, ...] = _ALL_MONTHS

    def dates(self, year: int) -> list[date]:
        """The release's dates in ``year``."""
        found = []
        for month in self.months:
            first = date(year, month, self.from_day)
            found.append(first + timedelta(days=(self.weekday - first.weekday()) % 7))
        return found

    def utc_times(self, year: int) -> list[int]:
        """The release's instants in ``year``, UTC epoch seconds."""
        zone = ZoneInfo(self.zone)
        return [
            int(datetime(d.year, d.month, d.day, self.hour, self.minute, tzinfo=zone).timestamp())
            for d in self.dates(year)
        ]


_MON, _TUE, _WED, _THU, _FRI = range(5)

RELEASES: tuple[Release, ...] = (
    Release("US non-farm payrolls", "USD", "America/New_York", 8, 30, 3.0, _FRI, 1),
    Release("US consumer prices", "USD", "America/New_York", 8, 30, 2.5, _WED, 10),
    Release("FOMC decision", "USD", "America/New_York", 14, 0, 2.5, _WED, 15, (1, 3, 5, 6, 7, 9, 11, 12)),
    Release("ECB decision", "EUR", "Europe/Berlin", 14, 15, 2.0, _THU, 8, (1, 3, 4, 6, 7, 9, 10, 12)),
    Release("BoE decision", "GBP", "Europe/London", 12, 0, 2.0, _THU, 1, (2, 3, 5, 6, 8, 9, 11, 12)),
    Release("UK consumer prices", "GBP", "Europe/London", 7, 0, 1.5, _WED, 14),
    Release("BoJ decision", "JPY", "Asia/Tokyo", 12, 0, 1.5, _FRI, 15, (1, 3, 4, 6, 7, 9, 10, 12)),
    Release("SNB decision", "CHF", "Europe/Zurich", 9, 30, 2.0, _THU, 15, (3, 6, 9, 12)),
    Release("BoC decision", "CAD", "America/Toronto", 9, 45, 2.0, _WED, 1, (1, 3, 4, 6, 7, 9, 10, 12)),
    Release("Canada employment", "CAD", "America/Toronto", 8, 30, 1.5, _FRI, 1),
    Release("RBA decision", "AUD", "Australia/Sydney", 14, 30, 2.0, _TUE, 1, (2, 3, 5, 7, 8, 9, 11, 12)),
    Release("Australia employment", "AUD", "Australia/Sydney", 11, 30, 1.5, _THU, 13),
    Release("RBNZ decision", "NZD", "Pacific/Auckland", 14, 0, 2.0, _WED, 8, (2, 4, 5, 7, 8, 10, 11)),
)

_YEARS: dict[int, tuple[npt.NDArray[np.int64], tuple[Release, ...]]] = {}
_YEARS_LOCK = threading.Lock()


def _year(year: int) -> tuple[npt.NDArray[np.int64], tuple[Release, ...]]:
    """Every release of ``year``: market times (sorted) and the release of each."""
    found = _YEARS.get(year)
    if found is None:
        pairs = sorted(
            ((t, release) for release in RELEASES for t in release.utc_times(year)), key=lambda pair: pair[0]
        )
        utc = np.array([t for t, _ in pairs], dtype=np.int64)
        found = (market_from_utc(utc), tuple(release for _, release in pairs))
        with _YEARS_LOCK:
            _YEARS[year] = found
    return found


def releases_between(from_market: int, to_market: int) -> list[tuple[int, Release]]:
    """The releases published in ``[from_market, to_market)`` (market time), oldest first."""
    first = datetime.fromtimestamp(from_market - 86_400 * 2, tz=ZoneInfo("UTC")).year
    last = datetime.fromtimestamp(to_market + 86_400 * 2, tz=ZoneInfo("UTC")).year
    found: list[tuple[int, Release]] = []
    for year in range(first, last + 1):
        times, releases = _year(year)
        lo, hi = np.searchsorted(times, [from_market, to_market])
        found.extend(zip(times[lo:hi].tolist(), releases[lo:hi], strict=True))
    return found
