"""Market time, the exchanges' time zones, and the simulated server's clock convention.

**Market time** is New York time plus seven hours, written as epoch seconds as if it were UTC. In
it the FX week runs from Monday 00:00 to Saturday 00:00 (Sunday 17:00 to Friday 17:00 in New York,
daylight saving included) and every trading day starts at the 17:00 New York rollover, so the
market model (``sim.model``) generates whole market days, each the same length.

**Server time** is what the simulated server's clock shows and what every time the terminal hands
out (bar and tick times, order and deal times) is written in: epoch seconds of the server's wall
clock *as if it were UTC*, as real MT5 servers do. ``ServerTime`` says how that clock relates to
UTC:

- ``"broker"`` (the default): UTC+2, UTC+3 while New York keeps summer time, the common broker
  convention. Server time is then market time: five D1 bars a week, each from rollover to rollover.
- ``"UTC"``, ``"UTC+3"``, ``"UTC-5"``: a fixed whole-hour offset. The market still turns over at
  17:00 New York, so in server time the FX week opens on Sunday evening (22:00 or 21:00 at UTC) and
  a Sunday D1 bar appears, as at brokers that keep such clocks.

Clock changes: a broker clock jumps forward an hour in March and would repeat one in November; the
simulated clock instead stands still during that repeated hour, so that it never runs backwards.
Both changes fall on a Sunday morning, when only crypto trades: with a fixed-offset server a crypto
symbol's minutes skip an hour in March and lack one in November.

Zone offsets come from the IANA database (``zoneinfo``), tabulated a year at a time on first use.
"""

from __future__ import annotations

import bisect
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

__all__ = [
    "MARKET_ZONE",
    "SECONDS_PER_DAY",
    "ServerTime",
    "market_from_utc",
    "utc_from_market",
    "zone_offsets",
]

SECONDS_PER_DAY = 86_400
HOUR = 3_600
MARKET_ZONE = "America/New_York"
MARKET_AHEAD = 7 * HOUR  # market time = New York time + 7 h

IntArray = npt.NDArray[np.int64]

_FIRST_YEAR, _LAST_YEAR = 1970, 2200


class _ZoneTable:
    """One zone's UTC offsets: transition instants (UTC seconds) and the offset from each on,
    found a year at a time when first needed (a daily sample, then a bisection to the second). Each
    year's table starts with an entry at its 1 January, so that years need not be contiguous."""

    def __init__(self, zone: str) -> None:
        self._zone = ZoneInfo(zone)
        self._years: set[int] = set()
        self._starts = np.array([np.iinfo(np.int64).min], dtype=np.int64)
        self._offsets = np.array([self._offset(_year_start(_FIRST_YEAR))], dtype=np.int64)
        self._start_list: list[int] = self._starts.tolist()  # the same, for scalar look-ups
        self._scalar_year = (0, 0)  # the UTC span of the year the last scalar look-up fell in
        self._lock = threading.Lock()

    def _offset(self, utc_sec: int) -> int:
        delta = datetime.fromtimestamp(utc_sec, self._zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    def _tabulate(self, year: int) -> None:
        start, end = _year_start(year), _year_start(year + 1)
        previous = self._offset(start)
        starts, offsets = [start], [previous]
        for day_start in range(start + SECONDS_PER_DAY, end + 1, SECONDS_PER_DAY):
            offset = self._offset(day_start)
            if offset == previous:
                continue
            low, high = day_start - SECONDS_PER_DAY, day_start  # offset(low) == previous
            while high - low > 1:
                middle = (low + high) // 2
                if self._offset(middle) == previous:
                    low = middle
                else:
                    high = middle
            starts.append(high)
            offsets.append(offset)
            previous = offset
        all_starts = np.concatenate([self._starts, starts])
        all_offsets = np.concatenate([self._offsets, offsets])
        order = np.argsort(all_starts, kind="stable")
        self._starts, self._offsets = all_starts[order], all_offsets[order]
        self._start_list = self._starts.tolist()

    def _ensure(self, utc: IntArray) -> None:
        if len(utc) == 0:
            return
        first = _year_of(int(utc.min()) - SECONDS_PER_DAY)
        last = _year_of(int(utc.max()) + SECONDS_PER_DAY)
        wanted = set(range(max(first, _FIRST_YEAR), min(last, _LAST_YEAR) + 1)) - self._years
        if wanted:
            with self._lock:
                for year in sorted(wanted - self._years):
                    self._tabulate(year)
                    self._years.add(year)

    def transition_at(self, utc_sec: int) -> tuple[int, int, int]:
        """Scalar ``transitions``: (last transition at or before ``utc_sec``, offset before, after)."""
        low, high = self._scalar_year
        if not low <= utc_sec < high:
            self._ensure(np.array([utc_sec], dtype=np.int64))
            year = _year_of(utc_sec)
            self._scalar_year = (_year_start(year) + SECONDS_PER_DAY, _year_start(year + 1) - SECONDS_PER_DAY)
        index = max(bisect.bisect_right(self._start_list, utc_sec) - 1, 1)
        return self._start_list[index], int(self._offsets[index - 1]), int(self._offsets[index])

    def offsets(self, utc: IntArray) -> IntArray:
        """The zone's UTC offset (seconds) at each UTC instant."""
        self._ensure(utc)
        found: IntArray = self._offsets[np.searchsorted(self._starts, utc, side="right") - 1]
        return found

    def transitions(self, utc: IntArray) -> tuple[IntArray, IntArray, IntArray]:
        """For each instant: the last transition at or before it, the offset before and after it."""
        self._ensure(utc)
        index = np.maximum(np.searchsorted(self._starts, utc, side="right") - 1, 1)
        return self._starts[index], self._offsets[index - 1], self._offsets[index]


def _year_start(year: int) -> int:
    return int(datetime(year, 1, 1, tzinfo=UTC).timestamp())


def _year_of(utc_sec: int) -> int:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=utc_sec)).year


_TABLES: dict[str, _ZoneTable] = {}
_TABLES_LOCK = threading.Lock()


def _table(zone: str) -> _ZoneTable:
    table = _TABLES.get(zone)
    if table is None:
        with _TABLES_LOCK:
            table = _TABLES.setdefault(zone, _ZoneTable(zone))
    return table


def zone_offsets(zone: str, utc: npt.ArrayLike) -> IntArray:
    """UTC offsets (seconds) of an IANA ``zone`` at the UTC instants ``utc`` (epoch seconds)."""
    return _table(zone).offsets(np.asarray(utc, dtype=np.int64))


def market_from_utc(utc: npt.ArrayLike, *, monotonic: bool = False) -> IntArray:
    """Market time of UTC instants. ``monotonic``: during the hour New York repeats in November the
    result stands at the moment of the change instead of stepping back."""
    instants = np.asarray(utc, dtype=np.int64)
    market: IntArray = instants + zone_offsets(MARKET_ZONE, instants) + MARKET_AHEAD
    if monotonic:
        start, before, after = _table(MARKET_ZONE).transitions(instants)
        repeated = (after < before) & (instants - start < before - after)
        market = np.where(repeated, start + before + MARKET_AHEAD, market)
    return market


def utc_from_market(market: npt.ArrayLike) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """The UTC instant of each market time, and whether it exists (the hour skipped in March does
    not; of a repeated hour's two instants the first is given)."""
    times = np.asarray(market, dtype=np.int64)
    summer = times - MARKET_AHEAD + 4 * HOUR  # New York at UTC-4
    winter = times - MARKET_AHEAD + 5 * HOUR  # New York at UTC-5
    summer_ok = market_from_utc(summer) == times
    winter_ok = market_from_utc(winter) == times
    return np.where(summer_ok, summer, winter), summer_ok | winter_ok


def _market_offset(utc_sec: int) -> int:
    """Market time minus UTC (seconds) at a UTC instant, scalar."""
    start, before, after = _table(MARKET_ZONE).transition_at(utc_sec)
    return (after if utc_sec >= start else before) + MARKET_AHEAD


_FIXED = re.compile(r"^UTC(?:([+-])(\d{1,2}))?$")


@dataclass(frozen=True)
class ServerTime:
    """The simulated server's clock convention: ``"broker"`` or a fixed ``"UTC+N"`` (see the module
    docstring). Raises ValueError for anything else."""

    convention: str = "broker"
    fixed_offset: int | None = field(init=False, default=None)  # seconds east of UTC; None: broker

    def __post_init__(self) -> None:
        name = self.convention.strip()
        if name.lower() == "broker":
            object.__setattr__(self, "convention", "broker")
            return
        match = _FIXED.match(name.upper())
        if match is None or int(match.group(2) or 0) > 14:
            raise ValueError(
                f"unknown server time convention {self.convention!r}: use 'broker' (UTC+2, UTC+3 in "
                "US summer time), 'UTC' or a whole-hour offset such as 'UTC+3'"
            )
        hours = int(match.group(2) or 0) * (-1 if match.group(1) == "-" else 1)
        object.__setattr__(self, "convention", f"UTC{hours:+d}" if hours else "UTC")
        object.__setattr__(self, "fixed_offset", hours * HOUR)

    @property
    def is_market_time(self) -> bool:
        """Whether server time is market time (the broker convention): no conversion needed."""
        return self.fixed_offset is None

    def from_utc_msc(self, utc_msc: int) -> int:
        """Server time (ms) of a UTC instant (ms); never steps back (see the module docstring)."""
        if self.fixed_offset is not None:
            return utc_msc + self.fixed_offset * 1000
        seconds = utc_msc // 1000
        start, before, after = _table(MARKET_ZONE).transition_at(seconds)
        if seconds < start:  # before the first transition on record
            after = before
        elif after < before and seconds - start < before - after:
            return (start + before + MARKET_AHEAD) * 1000  # the repeated hour: stand still
        return utc_msc + (after + MARKET_AHEAD) * 1000

    def to_utc_msc(self, server_msc: int) -> int:
        """The UTC instant (ms) of a server time (ms); of a repeated hour, its first pass."""
        if self.fixed_offset is not None:
            return server_msc - self.fixed_offset * 1000
        seconds, millis = divmod(server_msc, 1000)
        return int(utc_from_market(np.array([seconds]))[0][0]) * 1000 + millis

    def market_msc(self, server_msc: int) -> int:
        """Scalar ``market_from_server`` in milliseconds."""
        if self.fixed_offset is None:
            return server_msc
        utc_msc = server_msc - self.fixed_offset * 1000
        return utc_msc + _market_offset(utc_msc // 1000) * 1000

    def server_msc(self, market_msc: int) -> int:
        """Scalar ``server_from_market`` in milliseconds (a time that does not exist: the next that
        does)."""
        if self.fixed_offset is None:
            return market_msc
        seconds, millis = divmod(market_msc, 1000)
        for ahead in (4 * HOUR, 5 * HOUR):  # New York at UTC-4, then UTC-5
            utc = seconds - MARKET_AHEAD + ahead
            if utc + _market_offset(utc) == seconds:
                return (utc + self.fixed_offset) * 1000 + millis
        return (seconds - MARKET_AHEAD + 4 * HOUR + self.fixed_offset) * 1000  # skipped: its end

    def market_from_server(self, server: npt.ArrayLike) -> IntArray:
        """Market time of server times (epoch seconds)."""
        times = np.asarray(server, dtype=np.int64)
        if self.fixed_offset is None:
            return times
        return market_from_utc(times - self.fixed_offset)

    def server_from_market(self, market: npt.ArrayLike) -> tuple[IntArray, npt.NDArray[np.bool_]]:
        """Server time of market times, and whether each exists (see ``utc_from_market``)."""
        times = np.asarray(market, dtype=np.int64)
        if self.fixed_offset is None:
            return times, np.ones(times.shape, dtype=bool)
        utc, exists = utc_from_market(times)
        return utc + self.fixed_offset, exists

    def __str__(self) -> str:
        return self.convention
