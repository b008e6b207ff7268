"""The overlays entry point: bars in, the indicator response's ``data`` fields out (SPEC 7, issue 4).

The payload runs newest first, as the original service's contract shows it: ``ohlc`` (the last
``bars`` bars, newest first), ``horizontal`` (``peak_1..`` / ``bottom_1..``), ``diagonal``
(``ascending_1..`` / ``descending_1..``), each line a list of ``{index, value}`` points from the
newest bar (index 0) back to its first anchor, and ``fractals`` (those among the returned bars,
newest first). A point's ``index`` is its bar's position in ``ohlc``: ``ohlc[point["index"]]`` is
the bar it is drawn at. ``overlay_fragments`` gives it with every list already serialised (``orjson.Fragment``), for
the HTTP response: a Python dict per bar and per point cost several times the analysis itself.
``compute_overlays`` gives the same payload as plain Python values. ``find_overlays`` gives the
analysis as typed records for callers that want scores and touches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from mt5gateway.terminal.arrays import json_objects, numbers

from .atr import average_true_range
from .fractals import Fractals, find_fractals
from .lines import Line, LineContext, diagonal_lines, horizontal_lines
from .params import OverlayParams

__all__ = ["Overlays", "compute_overlays", "find_overlays", "overlay_fragments"]

_REQUIRED_FIELDS = ("time", "open", "high", "low", "close", "tick_volume")
_OHLC_KEYS = ("time", "open", "high", "low", "close", "volume")
_FRACTAL_KEYS = ("time", "price")
_EMPTY_LIST = orjson.Fragment(b"[]")


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


def _prices(values: NDArray[np.floating[Any]], digits: int | None) -> NDArray[np.float64]:
    """``values`` as float64, rounded to ``digits`` when given."""
    prices = np.asarray(values, dtype=np.float64)
    return prices if digits is None else np.round(prices, digits)


# _point_openers[k] is what precedes the value of the line point of index k. Every line starts at
# index 0 (the newest bar), so its points take a run of these as they are: only the values are
# written per call.
_point_openers: list[bytes] = []


def _point_openers_to(index: int) -> list[bytes]:
    """``_point_openers``, extended to hold ``index``."""
    if len(_point_openers) <= index:
        _point_openers.extend(b'},{"index":%d,"value":' % k for k in range(len(_point_openers), index + 1))
    return _point_openers


def _line_points(line: Line | None, count: int, oldest_shown: int, digits: int | None) -> orjson.Fragment:
    """One point per bar from the newest back to the line's first anchor (or the oldest returned bar)."""
    if line is None:
        return _EMPTY_LIST
    rows = np.arange(count - 1, max(line.first_row, oldest_shown) - 1, -1)
    last_index = len(rows) - 1
    parts: list[bytes] = [b""] * (2 * len(rows))
    parts[0::2] = _point_openers_to(last_index)[: last_index + 1]
    parts[1::2] = numbers(_prices(line.first_price + line.slope * (rows - line.first_row), digits))
    parts[0] = b'[{"index":0,"value":'
    return orjson.Fragment(b"".join(parts) + b"}]")


def _named_lines(
    kind: str, lines: list[Line], slots: int, count: int, oldest_shown: int, digits: int | None
) -> dict[str, orjson.Fragment]:
    """``{kind_1: points, ..., kind_<slots>: points}``, an empty list where fewer lines were found."""
    padded: list[Line | None] = [*lines, *([None] * (slots - len(lines)))]
    return {
        f"{kind}_{rank}": _line_points(line, count, oldest_shown, digits)
        for rank, line in enumerate(padded, 1)
    }


def _fractal_points(
    rows: NDArray[np.intp], times: NDArray[np.int64], prices: NDArray[np.float64], digits: int | None
) -> orjson.Fragment:
    """``{time, price}`` of the fractals at ``rows`` (oldest first), newest first."""
    newest_first = rows[::-1]
    return json_objects(_FRACTAL_KEYS, [times[newest_first], _prices(prices[newest_first], digits)])


def overlay_fragments(
    rates: NDArray[Any],
    params: OverlayParams | None = None,
    *,
    bars: int | None = None,
    digits: int | None = None,
) -> dict[str, Any]:
    """The indicator payload (newest first) of oldest-first ``rates`` (a ``RATES_DTYPE`` array), lists
    pre-serialised.

    The dict's leaves are ``orjson.Fragment``: ``orjson.dumps`` writes them as they are, so the
    payload (with anything added to it) is serialised at the cost of copying bytes.
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
    opens, highs, lows, closes = _prices(
        np.stack([shown["open"], high[oldest_shown:], low[oldest_shown:], close[oldest_shown:]]), digits
    )
    columns = [times[oldest_shown:], opens, highs, lows, closes, shown["tick_volume"]]
    ohlc = json_objects(_OHLC_KEYS, [column[::-1] for column in columns])
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


def compute_overlays(
    rates: NDArray[Any],
    params: OverlayParams | None = None,
    *,
    bars: int | None = None,
    digits: int | None = None,
) -> dict[str, Any]:
    """``overlay_fragments`` as plain Python values (ints, floats; a NaN price becomes None)."""
    payload: dict[str, Any] = orjson.loads(
        orjson.dumps(overlay_fragments(rates, params, bars=bars, digits=digits))
    )
    return payload
