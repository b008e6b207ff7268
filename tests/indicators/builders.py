"""Hand-made bar series for the indicator tests: explicit prices or a zig-zag through pivot points."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from mt5gateway.terminal.dtypes import RATES_DTYPE

__all__ = ["BAR_SECONDS", "START_TIME", "rates", "zigzag"]

START_TIME = 1_700_000_000
BAR_SECONDS = 3600


Prices = Sequence[float] | NDArray[np.float64]


def rates(high: Prices, low: Prices, close: Prices | None = None) -> NDArray[np.void]:
    """Bars oldest-first with the given highs and lows; close (and open) default to the middle."""
    count = len(high)
    bars = np.zeros(count, dtype=RATES_DTYPE)
    bars["time"] = START_TIME + BAR_SECONDS * np.arange(count)
    bars["high"] = high
    bars["low"] = low
    bars["close"] = close if close is not None else (np.asarray(high) + np.asarray(low)) / 2
    bars["open"] = bars["close"]
    bars["tick_volume"] = np.arange(count) + 10
    return bars


def zigzag(pivots: Sequence[tuple[int, float]], *, half_range: float = 0.01) -> NDArray[np.void]:
    """Bars whose closes run straight between pivots ``(row, price)``; high / low = close -+ ``half_range``.

    Rows 0 .. last pivot's row; a pivot higher (lower) than its neighbours is a peak (bottom) for any
    window whose side fits between pivots.
    """
    pivot_rows = [row for row, _ in pivots]
    close = np.interp(np.arange(pivot_rows[-1] + 1), pivot_rows, [price for _, price in pivots])
    return rates(close + half_range, close - half_range, close)
