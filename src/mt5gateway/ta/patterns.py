"""Candlestick patterns: which to look for, and where they occur.

TA-Lib's ``CDL...`` functions give, per bar, 0 (no pattern), a positive value for a bullish pattern
and a negative one for a bearish pattern (+-100; a few give +-200 for a confirmed pattern, such as
CDLHIKKAKE). A pattern is decided on closed bars: the forming bar's candle is not final.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mt5gateway.errors import BadRequest

from .catalogue import CATALOGUE, PATTERNS, TAFunction
from .compute import Bars, talib_function
from .specs import IndicatorSpec, SpecParser, Token, parse_list

__all__ = [
    "Direction",
    "Occurrence",
    "direction_of",
    "find_patterns",
    "parse_patterns",
    "pattern_body",
    "pattern_signals",
]

Direction = Literal["bullish", "bearish"]

_ALL = "ALL"


def direction_of(signal: int) -> Direction:
    """The direction TA-Lib's signal gives: bullish above 0, bearish below."""
    return "bullish" if signal > 0 else "bearish"


@dataclass(frozen=True)
class Occurrence:
    """A pattern completed by the bar opened at ``time``."""

    time: int
    spec: IndicatorSpec
    signal: int

    def as_dict(self) -> dict[str, Any]:
        function = self.spec.function
        return {
            "time": self.time,
            "pattern": function.name,
            "spec": self.spec.canonical,
            "name": function.display_name,
            "direction": direction_of(self.signal),
            "signal": self.signal,
        }


def pattern_body(function: TAFunction) -> dict[str, Any]:
    """A pattern as ``GET /api/patterns`` lists it."""
    return {
        "pattern": function.name,
        "name": function.display_name,
        "parameters": [p.as_dict() for p in function.parameters],
    }


def parse_patterns(texts: str | list[str], *, field: str = "patterns") -> list[IndicatorSpec]:
    """``"all"`` or comma-separated pattern specs (``CDLENGULFING``, ``ENGULFING``,
    ``CDLMORNINGSTAR(0.5)``), repeats dropped; ``BadRequest`` for anything that is not a pattern."""

    def item(parser: SpecParser) -> list[IndicatorSpec]:
        token = parser.current
        if token.kind == "name" and token.text.upper() == _ALL and parser.peek().kind in (",", "end"):
            parser.advance()
            return [IndicatorSpec(name, function.defaults) for name, function in PATTERNS.items()]
        if (
            token.kind == "name"
            and token.text.upper() not in CATALOGUE
            and "CDL" + token.text.upper() in PATTERNS
        ):
            # ENGULFING for CDLENGULFING
            parser.tokens[parser.index] = Token("name", "CDL" + token.text.upper(), token.position)
        spec = parser.spec()
        if not spec.function.candlestick:
            raise BadRequest(
                f"{spec.name} is not a candlestick pattern: GET /api/patterns lists them", field=field
            )
        return [spec]

    return parse_list(texts, what="pattern list", field=field, item=item)


def pattern_signals(spec: IndicatorSpec, bars: Bars) -> np.ndarray[Any, np.dtype[np.int32]]:
    """TA-Lib's signal for ``spec`` at every bar (0 during its lookback)."""
    columns = (bars.open, bars.high, bars.low, bars.close)
    signals: np.ndarray[Any, np.dtype[np.int32]] = talib_function(spec.name)(*columns, **spec.parameters)
    return signals


def find_patterns(specs: list[IndicatorSpec], bars: Bars, *, newest: int) -> list[Occurrence]:
    """Occurrences of ``specs`` among the ``newest`` bars of ``bars`` (all closed), newest first;
    patterns of one bar in the order of ``specs``."""
    first = max(len(bars) - newest, 0)
    found: list[tuple[int, int, Occurrence]] = []
    for order, spec in enumerate(specs):
        signals = pattern_signals(spec, bars)
        for row in np.flatnonzero(signals[first:]) + first:
            found.append((-int(row), order, Occurrence(int(bars.time[row]), spec, int(signals[row]))))
    found.sort(key=lambda item: (item[0], item[1]))
    return [occurrence for _, _, occurrence in found]
