"""Gaps and completeness: the trading minutes a symbol's sessions promise vs the M1 bars stored.

A minute is expected when the symbol's session is open at its start (``Sessions`` of the simulator's
symbol specifications, which the configured symbols follow; read in the default, broker, server
clock, where sessions are set). A gap is a run of consecutive expected minutes without a stored M1
bar; it may span a closed period (a weekend) when minutes on both sides are missing. Completeness is
present / expected minutes per day, of server time as bar times are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from mt5gateway.errors import SymbolNotFound
from mt5gateway.sim.symbols import CATALOGUE, Sessions
from mt5gateway.store import DayCompleteness, Store

__all__ = [
    "Gap",
    "day_name",
    "expected_minutes",
    "find_gaps",
    "measure_completeness",
    "sessions_of",
]

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Gap:
    """Missing M1 bars of ``symbol`` from ``start`` to ``end`` (epoch seconds, end exclusive)."""

    symbol: str
    start: int
    end: int
    minutes: int  # expected minutes missing within [start, end)


def sessions_of(symbol: str) -> Sessions:
    """The trading sessions of a known symbol; ``SymbolNotFound`` for any other."""
    spec = CATALOGUE.get(symbol)
    if spec is None:
        raise SymbolNotFound(f"unknown symbol {symbol!r}", symbol=symbol)
    return spec.sessions


def day_name(day: int) -> str:
    """Epoch day number -> ISO date (``"2024-01-10"``)."""
    return datetime.fromtimestamp(day * SECONDS_PER_DAY, UTC).date().isoformat()


def expected_minutes(sessions: Sessions, from_time: int, to_time: int) -> NDArray[np.int64]:
    """Open times (epoch s) of the expected minutes starting in ``[from_time, to_time)``, ascending."""
    first_day, last_day = from_time // SECONDS_PER_DAY, (to_time - 1) // SECONDS_PER_DAY
    if to_time <= from_time:
        return np.empty(0, dtype=np.int64)
    minutes = np.concatenate([sessions.minutes(day) for day in range(first_day, last_day + 1)])
    return minutes[(minutes >= from_time) & (minutes < to_time)]


def find_gaps(store: Store, symbol: str, from_time: int, to_time: int) -> list[Gap]:
    """The gaps of ``symbol``'s M1 bars in ``[from_time, to_time)``, oldest first."""
    expected = expected_minutes(sessions_of(symbol), from_time, to_time)
    present = store.bar_times(symbol, "M1", from_time, to_time)
    missing_at = np.flatnonzero(~np.isin(expected, present))
    if missing_at.size == 0:
        return []
    # a new gap starts wherever the missing minutes are not neighbours among the expected ones
    starts = np.flatnonzero(np.concatenate(([True], np.diff(missing_at) != 1)))
    ends = np.append(starts[1:], missing_at.size) - 1
    return [
        Gap(
            symbol=symbol,
            start=int(expected[missing_at[first]]),
            end=int(expected[missing_at[last]]) + 60,
            minutes=int(last - first + 1),
        )
        for first, last in zip(starts, ends, strict=True)
    ]


def measure_completeness(store: Store, symbol: str, from_time: int, to_time: int) -> list[DayCompleteness]:
    """Completeness of each UTC day touching ``[from_time, to_time)`` (whole days), saved in the store."""
    sessions = sessions_of(symbol)
    first_day, last_day = from_time // SECONDS_PER_DAY, (to_time - 1) // SECONDS_PER_DAY
    start, end = first_day * SECONDS_PER_DAY, (last_day + 1) * SECONDS_PER_DAY
    present = store.bar_times(symbol, "M1", start, end)
    days = []
    for day in range(first_day, last_day + 1):
        expected = sessions.minutes(day)
        days.append(
            DayCompleteness(
                symbol=symbol,
                day=day_name(day),
                expected_minutes=int(expected.size),
                present_minutes=int(np.count_nonzero(np.isin(expected, present))),
            )
        )
    store.save_completeness(days)
    return days
