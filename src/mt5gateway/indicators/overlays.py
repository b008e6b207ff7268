"""The overlays entry point: bars in, the indicator response's ``data`` fields out (SPEC 7, issue 4).

``compute_overlays`` returns plain Python values ready for orjson: ``ohlc`` (the last ``bars`` bars,
oldest first), ``horizontal`` (``peak_1..`` / ``bottom_1..``), ``diagonal`` (``ascending_1..`` /
``descending_1..``), each line a list of ``{index, value}`` points with index 0 = the newest bar,
and ``fractals`` (those among the returned bars). ``find_overlays`` gives the same analysis as
typed records for callers that want scores and touches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .atr import average_true_range
from .fractals import Fractals, find_fractals
from .lines import Line, LineContext, diagonal_lines, horizontal_lines
from .params import OverlayParams

__all__ = ["Overlays", "compute_overlays", "find_overlays"]

_REQUIRED_FIELDS = ("time", "open", "high", "low", "close", "tick_volume")


@dataclass(frozen=True)
class Overlays:
    """Fractals over all bars, the ATR at the newest bar, and the best lines of each kind, best first."""

    fractals: Fractals
    atr: float
    peak_lines: list[Line]
    bottom_lines: list[Line]
    ascending_lines: list[Line]
    descending_lines: list[Line]


def find_overlays(
    high: NDArray[np.float64], low: NDArray[np.float64], close: NDArray[np.float64], params: OverlayParams
) -> Overlays:
    """Fractals, ATR and lines of oldest-first bars; lines anchor on fractals of the last ``lookback`` bars."""
    count = close.shape[0]
    fractals = find_fractals(high, low, params.window)
    atr = average_true_range(high, low, close, params.atr_period)
    if count == 0:
        return Overlays(fractals, atr, [], [], [], [])
    oldest_in_lookback = count - params.lookback
    peak_rows = fractals.peaks[fractals.peaks >= oldest_in_lookback]
    bottom_rows = fractals.bottoms[fractals.bottoms >= oldest_in_lookback]
    context = LineContext(atr=atr, newest_row=count - 1, newest_close=float(close[-1]))
    ascending, descending = diagonal_lines(
        peak_rows, high[peak_rows], bottom_rows, low[bottom_rows], context, params
    )
    return Overlays(
        fractals=fractals,
        atr=atr,
        peak_lines=horizontal_lines(peak_rows, high[peak_rows], context, params),
        bottom_lines=horizontal_lines(bottom_rows, low[bottom_rows], context, params),
        ascending_lines=ascending,
        descending_lines=descending,
    )


def _to_floats(values: NDArray[np.floating[Any]], digits: int | None) -> list[Any]:
    """``values`` as nested Python floats, rounded to ``digits`` when given."""
    result: list[Any] = (values if digits is None else np.round(values, digits)).tolist()
    return result


def _line_points(
    line: Line | None, count: int, oldest_shown: int, digits: int | None
) -> list[dict[str, Any]]:
    """One point per bar from the line's first anchor (or the oldest returned bar) to the newest."""
    if line is None:
        return []
    rows = np.arange(max(line.first_row, oldest_shown), count)
    values = _to_floats(line.first_price + line.slope * (rows - line.first_row), digits)
    return [
        {"index": index, "value": value}
        for index, value in zip((count - 1 - rows).tolist(), values, strict=True)
    ]


def _named_lines(
    kind: str, lines: list[Line], slots: int, count: int, oldest_shown: int, digits: int | None
) -> dict[str, list[dict[str, Any]]]:
    """``{kind_1: points, ..., kind_<slots>: points}``, an empty list where fewer lines were found."""
    padded: list[Line | None] = [*lines, *([None] * (slots - len(lines)))]
    return {
        f"{kind}_{rank}": _line_points(line, count, oldest_shown, digits)
        for rank, line in enumerate(padded, 1)
    }


def _fractal_points(
    rows: NDArray[np.intp], times: NDArray[np.int64], prices: NDArray[np.float64], digits: int | None
) -> list[dict[str, Any]]:
    """``{time, price}`` of the fractals at ``rows``."""
    return [
        {"time": time, "price": price}
        for time, price in zip(times[rows].tolist(), _to_floats(prices[rows], digits), strict=True)
    ]


def compute_overlays(
    rates: NDArray[Any],
    params: OverlayParams | None = None,
    *,
    bars: int | None = None,
    digits: int | None = None,
) -> dict[str, Any]:
    """The indicator payload of oldest-first ``rates`` (a ``RATES_DTYPE`` array).

    ``bars`` limits ``ohlc``, the listed fractals and the drawn part of each line to the newest
    ``bars`` bars (all when None); the analysis always uses every bar given, so pass at least
    ``minimum_history(params)`` of them. ``digits`` rounds every price (the symbol's digits).
    """
    params = params or OverlayParams()
    missing = [
        name for name in _REQUIRED_FIELDS if rates.dtype.names is None or name not in rates.dtype.names
    ]
    if missing:
        raise ValueError(f"rates lack the fields {', '.join(missing)}")
    if bars is not None and bars < 1:
        raise ValueError(f"bars must be at least 1, got {bars}")
    count = rates.shape[0]
    high = np.ascontiguousarray(rates["high"], dtype=np.float64)
    low = np.ascontiguousarray(rates["low"], dtype=np.float64)
    close = np.ascontiguousarray(rates["close"], dtype=np.float64)
    overlays = find_overlays(high, low, close, params)
    oldest_shown = count - min(bars if bars is not None else count, count)
    times = np.asarray(rates["time"], dtype=np.int64)
    shown = rates[oldest_shown:]
    # the four price columns rounded in one pass rather than four
    opens, highs, lows, closes = _to_floats(
        np.stack([shown["open"], high[oldest_shown:], low[oldest_shown:], close[oldest_shown:]]), digits
    )
    ohlc = [
        {"time": t, "open": o, "high": h, "low": lo, "close": c, "volume": v}
        for t, o, h, lo, c, v in zip(
            times[oldest_shown:].tolist(),
            opens,
            highs,
            lows,
            closes,
            shown["tick_volume"].tolist(),
            strict=True,
        )
    ]
    slots = params.lines_per_kind
    fractals = overlays.fractals
    return {
        "ohlc": ohlc,
        "horizontal": {
            **_named_lines("peak", overlays.peak_lines, slots, count, oldest_shown, digits),
            **_named_lines("bottom", overlays.bottom_lines, slots, count, oldest_shown, digits),
        },
        "diagonal": {
            **_named_lines("ascending", overlays.ascending_lines, slots, count, oldest_shown, digits),
            **_named_lines("descending", overlays.descending_lines, slots, count, oldest_shown, digits),
        },
        "fractals": {
            "peaks": _fractal_points(fractals.peaks[fractals.peaks >= oldest_shown], times, high, digits),
            "bottoms": _fractal_points(
                fractals.bottoms[fractals.bottoms >= oldest_shown], times, low, digits
            ),
        },
    }
