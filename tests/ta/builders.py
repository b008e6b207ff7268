"""Bars for the TA tests: TA-Lib's own 252-bar reference series, and a day of simulated bars and ticks.

``data/talib_reference_252.csv`` holds the daily open, high, low, close and volume of TA-Lib's
regression-test series (TA-Lib C, ``src/tools/ta_regtest/test_data.c``), the input of its published
regression values; the numbers are facts, written here as CSV.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mt5gateway.sim.terminal import ClockSpec, SimConfig, SimTerminal
from mt5gateway.ta import Bars
from mt5gateway.terminal import constants as c

__all__ = ["DAY_END", "DAY_START", "reference_bars", "sim_day", "sim_terminal"]

_REFERENCE = Path(__file__).with_name("data") / "talib_reference_252.csv"

# A Wednesday: every symbol's market is open all day.
DAY_START = int(datetime(2024, 1, 10, tzinfo=UTC).timestamp())
DAY_END = DAY_START + 86_400


def reference_bars() -> Bars:
    """TA-Lib's 252-bar reference series (one bar a day)."""
    table = np.genfromtxt(_REFERENCE, delimiter=",", names=True, dtype=np.float64)
    count = table.shape[0]
    return Bars(
        time=np.arange(count, dtype=np.int64) * 86_400,
        open=np.ascontiguousarray(table["open"]),
        high=np.ascontiguousarray(table["high"]),
        low=np.ascontiguousarray(table["low"]),
        close=np.ascontiguousarray(table["close"]),
        volume=np.ascontiguousarray(table["volume"]),
    )


@contextmanager
def sim_terminal(at: int = DAY_END) -> Iterator[SimTerminal]:
    """A simulated terminal whose clock stands at ``at`` (epoch s), initialized; closed afterwards."""
    terminal = SimTerminal(
        SimConfig(seed=11, clock=ClockSpec(origin_msc=at * 1000, manual=True), db_path=":memory:")
    )
    assert terminal.initialize(), terminal.last_error()
    try:
        yield terminal
    finally:
        terminal.close()


def sim_day(
    terminal: SimTerminal, symbol: str, *, history: int
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """``history`` M1 bars before ``DAY_START``, the day's M1 bars, and the day's ticks."""
    before = terminal.copy_rates_from(symbol, c.TIMEFRAME_M1, DAY_START - 1, history)
    day = terminal.copy_rates_range(symbol, c.TIMEFRAME_M1, DAY_START, DAY_END - 1)
    ticks = terminal.copy_ticks_range(symbol, DAY_START, DAY_END, c.COPY_TICKS_ALL)
    assert before is not None and day is not None and ticks is not None, terminal.last_error()
    return before, day, ticks
