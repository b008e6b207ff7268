"""Standard indicators and candlestick patterns, from TA-Lib rather than hand-written (SPEC 7).

A thin, validated door onto TA-Lib's abstract API: ``standard_indicator("BBANDS", rates,
timeperiod=20)`` returns each output by TA-Lib's own name (``upperband``, ``middleband``,
``lowerband``), aligned with the bars (NaN during the warm-up). TA-Lib's ``ATR`` is Wilder's smoothed
ATR; the overlays use their own simple-mean ATR (``average_true_range``), as SPEC 7 defines it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import talib
from numpy.typing import NDArray
from talib import abstract

from mt5gateway.errors import BadRequest

__all__ = ["STANDARD_INDICATORS", "standard_indicator"]

_GROUPS = (
    "Cycle Indicators",
    "Momentum Indicators",
    "Overlap Studies",
    "Pattern Recognition",
    "Price Transform",
    "Statistic Functions",
    "Volatility Indicators",
    "Volume Indicators",
)

# TA-Lib ships type stubs for its plain functions only: the listing and the abstract API are untyped
_FUNCTION_GROUPS: dict[str, list[str]] = talib.get_function_groups()  # type: ignore[no-untyped-call]

STANDARD_INDICATORS: Mapping[str, str] = MappingProxyType(
    {name: group for group, names in _FUNCTION_GROUPS.items() if group in _GROUPS for name in names}
)
"""TA-Lib function name (``SMA``, ``EMA``, ``RSI``, ``MACD``, ``BBANDS``, ``ATR``, ``CDLDOJI``, ...) -> its group."""


def standard_indicator(name: str, rates: NDArray[Any], **parameters: float) -> dict[str, NDArray[np.float64]]:
    """TA-Lib's ``name`` over oldest-first ``rates`` (a ``RATES_DTYPE`` array); ``BadRequest`` on bad input.

    ``parameters`` are the function's own (``timeperiod``, ``nbdevup``, ...); unknown ones are refused
    rather than silently ignored as TA-Lib does. Volume is the tick volume.
    """
    key = name.upper()
    if key not in STANDARD_INDICATORS:
        raise BadRequest(f"Unknown indicator {name}: see the TA-Lib function list", field="indicator")
    function = abstract.Function(key)  # type: ignore[attr-defined]
    accepted = function.info["parameters"]
    unknown = sorted(set(parameters) - set(accepted))
    if unknown:
        raise BadRequest(
            f"{key} has no parameter {', '.join(unknown)}; it takes {', '.join(accepted) or 'none'}",
            field=unknown[0],
        )
    values = {
        parameter: _coerced(key, parameter, value, accepted[parameter])
        for parameter, value in parameters.items()
    }
    inputs = {
        field: np.ascontiguousarray(rates[source], dtype=np.float64)
        for field, source in (
            ("open", "open"),
            ("high", "high"),
            ("low", "low"),
            ("close", "close"),
            ("volume", "tick_volume"),
        )
    }
    try:
        outputs = function(inputs, **values)
    except Exception as exc:  # TA-Lib reports every failure (a bad period, ...) as a bare Exception
        raise BadRequest(f"{key} refused its parameters: {exc}", field="parameters") from exc
    names: list[str] = function.output_names
    arrays = [outputs] if len(names) == 1 else outputs
    return {output: np.asarray(array, dtype=np.float64) for output, array in zip(names, arrays, strict=True)}


def _coerced(function: str, parameter: str, value: float, default: float) -> float:
    """``value`` as the type of the parameter's default: TA-Lib refuses an int for a float and vice versa."""
    if isinstance(default, float):
        return float(value)
    if float(value).is_integer():
        return int(value)
    raise BadRequest(f"{function} parameter {parameter} must be a whole number, got {value}", field=parameter)
