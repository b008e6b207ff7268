"""Batch computation: a spec's outputs over a run of bars, aligned with them.

``Bars`` holds the columns TA-Lib reads, as contiguous float64 arrays made once per run of bars and
shared by every indicator computed over it. ``compute(spec, bars)`` calls TA-Lib's function with
every parameter given explicitly (our values, never TA-Lib's defaults) and returns each output by
TA-Lib's name as float64, one value per bar, NaN before the function's first value (TA-Lib fills
an integer output's lookback with 0s: those become NaN too, they are not values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import talib
from numpy.typing import NDArray

from .catalogue import COLUMNS
from .specs import IndicatorSpec
from .warmup import warmup_of

__all__ = ["Bars", "compute", "talib_function"]

FloatArray = NDArray[np.float64]

# TA-Lib names the tick volume ``volume``; a bar array's ``tick_volume`` stands in for it.
_RATE_FIELDS = {"open": "open", "high": "high", "low": "low", "close": "close", "volume": "tick_volume"}


@dataclass(frozen=True)
class Bars:
    """Bars oldest first: open times (epoch s) and the five columns TA-Lib reads."""

    time: NDArray[np.int64]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    @classmethod
    def from_rates(cls, rates: NDArray[Any]) -> Bars:
        """``rates`` (a ``RATES_DTYPE`` array, oldest first) as columns."""
        columns = {
            name: np.ascontiguousarray(rates[field], dtype=np.float64) for name, field in _RATE_FIELDS.items()
        }
        return cls(time=np.ascontiguousarray(rates["time"], dtype=np.int64), **columns)

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def column(self, name: str) -> FloatArray:
        """One of ``COLUMNS``."""
        column: FloatArray = getattr(self, name)
        return column

    def rows(self, start: int, stop: int) -> Bars:
        """Bars ``start`` to ``stop`` (exclusive), views of these."""
        return Bars(self.time[start:stop], *(self.column(name)[start:stop] for name in COLUMNS))


def talib_function(name: str) -> Callable[..., Any]:
    """TA-Lib's function API entry for ``name``."""
    function: Callable[..., Any] = getattr(talib, name)
    return function


def compute(spec: IndicatorSpec, bars: Bars) -> dict[str, FloatArray]:
    """Each of ``spec``'s outputs over ``bars``, by TA-Lib's output name, NaN before its first value."""
    function = spec.function
    result = talib_function(spec.name)(*(bars.column(c) for c in function.inputs), **spec.parameters)
    arrays = (result,) if len(function.outputs) == 1 else result
    lookback = warmup_of(spec).lookback
    outputs: dict[str, FloatArray] = {}
    for name, array in zip(function.outputs, arrays, strict=True):
        if name not in spec.outputs:
            continue
        values = np.asarray(array, dtype=np.float64)
        if values.dtype != array.dtype:
            # an integer output (a candlestick, HT_TRENDMODE): its lookback holds 0s, not values
            values[: min(lookback, values.shape[0])] = np.nan
        outputs[name] = values
    return outputs
