"""Indicator overlays computed from a terminal's bars (SPEC 7), vectorised with NumPy.

Owns fractals, the overlays' ATR (simple mean of true range), horizontal and diagonal lines through
fractals, their parameters, and ``compute_overlays``: the one entry point the HTTP service calls for
``GET /api/indicators/{symbol}/{timeframe}``. See docs/indicators.md.

Standard indicators and candlestick patterns come from TA-Lib, in ``mt5gateway.ta`` (docs/ta.md).
"""

from __future__ import annotations

from .atr import average_true_range, true_range
from .fractals import Fractals, find_fractals
from .lines import Line, LineContext, diagonal_lines, horizontal_lines
from .overlays import Overlays, compute_overlays, find_overlays
from .params import MAX_FRACTALS_PER_TYPE, OverlayParams, minimum_history, parse_overlay_params

__all__ = [
    "MAX_FRACTALS_PER_TYPE",
    "Fractals",
    "Line",
    "LineContext",
    "OverlayParams",
    "Overlays",
    "average_true_range",
    "compute_overlays",
    "diagonal_lines",
    "find_fractals",
    "find_overlays",
    "horizontal_lines",
    "minimum_history",
    "parse_overlay_params",
    "true_range",
]
