"""Technical analysis over TA-Lib: indicators and candlestick patterns for the API and for research.

Owns the catalogue of served functions with our own written-down defaults (``catalogue``,
``functions.toml``), the indicator spec syntax (``specs``), warm-up (``warmup``), batch computation
aligned with bars (``compute``), candlestick patterns (``patterns``), the scanner's condition
grammar (``conditions``) and evaluation (``scan``), and values carried bar by bar with TA-Lib's
stream handles (``incremental``). See docs/ta.md.

A package of its own rather than part of ``indicators/`` (our NumPy overlays, SPEC 7) or
``research/`` (backtests and strategies, which use it): it serves live market data behind the API's
tiers, and research imports it without the HTTP service importing research.
"""

from __future__ import annotations

from .catalogue import CATALOGUE, MA_TYPES, PATTERNS, Parameter, TAFunction
from .compute import Bars, compute
from .conditions import Condition, parse_conditions
from .incremental import IndicatorStream
from .patterns import Occurrence, find_patterns, parse_patterns
from .specs import IndicatorSpec, parse_spec, parse_specs
from .warmup import Warmup, checked_warmup, warmup_of

__all__ = [
    "CATALOGUE",
    "MA_TYPES",
    "PATTERNS",
    "Bars",
    "Condition",
    "IndicatorSpec",
    "IndicatorStream",
    "Occurrence",
    "Parameter",
    "TAFunction",
    "Warmup",
    "checked_warmup",
    "compute",
    "find_patterns",
    "parse_conditions",
    "parse_patterns",
    "parse_spec",
    "parse_specs",
    "warmup_of",
]
