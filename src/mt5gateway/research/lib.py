"""Helpers a strategy imports: crossings, bars since, and the moving average used in examples.

Names and meanings follow ``backtesting.lib`` so a ported strategy keeps its calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress
from numbers import Number
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["SMA", "barssince", "cross", "crossover"]


def _pair(series: Any) -> Any:
    if isinstance(series, pd.Series):
        return series.to_numpy()
    if isinstance(series, Number):
        return (series, series)
    return series


def crossover(series1: Sequence[float] | float, series2: Sequence[float] | float) -> bool:
    """True when ``series1`` crossed above ``series2`` at the newest bar (either may be a number)."""
    try:
        # arrays, the common case, without type checks (this runs once or twice a bar)
        return bool(series1[-2] < series2[-2] and series1[-1] > series2[-1])  # type: ignore[index]
    except IndexError:
        return False
    except (TypeError, KeyError):
        first, second = _pair(series1), _pair(series2)
        try:
            return bool(first[-2] < second[-2] and first[-1] > second[-1])
        except IndexError:
            return False


def cross(series1: Sequence[float] | float, series2: Sequence[float] | float) -> bool:
    """True when the two crossed either way at the newest bar."""
    return crossover(series1, series2) or crossover(series2, series1)


def barssince(condition: Sequence[bool], default: float = np.inf) -> float:
    """Bars since ``condition`` was last true (0: at the newest bar), ``default`` if never."""
    return next(compress(range(len(condition)), reversed(condition)), default)


def SMA(values: Sequence[float], n: int) -> npt.NDArray[np.float64]:
    """Simple moving average of the last ``n`` values (NaN for the first ``n - 1``)."""
    return pd.Series(values, dtype=float).rolling(n).mean().to_numpy()
