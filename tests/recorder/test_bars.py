"""Bars built from ticks equal the simulator's own bars, and longer bars its aggregates."""

from __future__ import annotations

import numpy as np
import pytest

from mt5gateway.recorder import KEPT_TIMEFRAMES, aggregate_bars, bars_from_ticks
from mt5gateway.sim.terminal import SimTerminal
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.timeframes import TIMEFRAMES

from .conftest import NOW


@pytest.mark.parametrize("symbol", ["EURUSD", "BTCUSD", "US30", "XAUUSD", "USDJPY"])
def test_m1_bars_from_ticks_equal_the_simulators_bars(terminal: SimTerminal, symbol: str) -> None:
    start = NOW - 4 * 86_400 + 13 * 3_600  # Thursday afternoon: every symbol trades
    ticks = terminal.copy_ticks_range(symbol, start, start + 3 * 3_600, c.COPY_TICKS_ALL)
    ticks = ticks[ticks["time_msc"] < (start + 3 * 3_600) * 1000]
    info = terminal.symbol_info(symbol)
    assert info is not None
    built = bars_from_ticks(ticks, digits=info.digits)
    expected = terminal.copy_rates_range(symbol, c.TIMEFRAME_M1, start, start + 3 * 3_600 - 1)
    assert len(built) == 180
    np.testing.assert_array_equal(built, expected)


@pytest.mark.parametrize("name", ["M5", "M15", "H1", "H4", "D1"])
def test_aggregated_bars_equal_the_simulators_longer_bars(terminal: SimTerminal, name: str) -> None:
    start = NOW - 3 * 86_400  # Friday 00:00 for a whole day
    m1 = terminal.copy_rates_range("EURUSD", c.TIMEFRAME_M1, start, start + 86_400 - 1)
    expected = terminal.copy_rates_range("EURUSD", TIMEFRAMES[name], start, start + 86_400 - 1)
    np.testing.assert_array_equal(aggregate_bars(m1, name), expected)


def test_kept_timeframes_are_m1_and_the_tier_timeframes() -> None:
    assert KEPT_TIMEFRAMES == ("M1", "M5", "M15", "M30", "H1", "H2", "H4", "H8", "H12", "D1")


def test_no_ticks_make_no_bars() -> None:
    assert len(bars_from_ticks(np.empty(0, dtype=[("time_msc", "<i8")]), digits=5)) == 0
