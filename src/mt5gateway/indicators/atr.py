"""True range and the overlays' ATR: the simple mean of the last ``period`` true ranges (SPEC 7).

This is deliberately not TA-Lib's ``ATR``: TA-Lib smooths true range with Wilder's recursive
average, which gives a different value at the newest bar; the MQL5 indicators the overlays
reproduce use the plain 14-bar mean.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["average_true_range", "true_range"]


def true_range(
    high: NDArray[np.float64], low: NDArray[np.float64], close: NDArray[np.float64]
) -> NDArray[np.float64]:
    """max(H, previous C) - min(L, previous C) per bar; the oldest bar, without a previous close, gives H - L."""
    previous_close = np.empty_like(close)
    # the oldest bar stands in with its own close, which lies within its range: H - L
    previous_close[:1] = close[:1]
    previous_close[1:] = close[:-1]
    result: NDArray[np.float64] = np.maximum(high, previous_close) - np.minimum(low, previous_close)
    return result


def average_true_range(
    high: NDArray[np.float64], low: NDArray[np.float64], close: NDArray[np.float64], period: int
) -> float:
    """ATR at the newest bar: the mean true range of the last ``period`` bars (all bars when fewer; 0 when none)."""
    if period < 1:
        raise ValueError(f"period must be at least 1, got {period}")
    if close.shape[0] == 0:
        return 0.0
    # one extra older bar so that every averaged bar has its real previous close when history allows
    start = max(close.shape[0] - period - 1, 0)
    ranges = true_range(high[start:], low[start:], close[start:])
    return float(ranges[-period:].mean())
