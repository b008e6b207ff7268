"""Warm-up: how many bars an indicator needs before its values can be trusted.

``warmup_bars`` = TA-Lib's lookback (the bars before its first value) + the unstable period. A
recursive indicator (EMA, RSI, ATR, ADX, KAMA, MAMA, T3, the Hilbert transforms, and everything
built on them: MACD, STOCHRSI, TRIX, ...) starts from a seed, and its value depends on where the
history starts until the seed's weight has faded. We count that fading with TA-Lib's own rule for
its "Auto, 4 digits" unstable-period level (TA-Lib C's ``test_auto_warmup``): 10 e-folds, the seed's
weight below e^-10 (4.5e-5), i.e. for a period p: EMA ceil(10 (p + 1) / 2), Wilder-smoothed ones
(RSI, ATR, NATR, CMO, DX, RVI, RMA, the DI and DM) 10 p, ADX 16 p, T3 ceil(30 (p + 1) / 2), KAMA
100 isqrt(p), the Hilbert transforms 280, MAMA 280 + ceil(20 / max(limits)), Heikin-Ashi 20.

TA-Lib 0.8 has one unstable-period setting ("knob") per recursive kernel but not that level, and
it refuses to change a setting while any stream handle is open, so nothing here touches them. The
catalogue writes down which knobs each function runs through and how many in a row
(``unstable_knobs_of``: MACD chains two EMAs); the unstable period is the sum of each knob's rule
at the spec's longest period (conservative for a composite whose inner periods are shorter, or
whose branches run side by side). ``tests/ta/test_warmup.py`` checks the written counts against
TA-Lib's own lookbacks with the knobs set, and that values past the warm-up no longer depend on
where the history starts. A path-dependent function (OBV, AD, SAR, ...) never forgets where it
started: its warm-up is its lookback, and its level depends on the history fetched (docs/ta.md).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from talib import abstract

from mt5gateway.errors import BadRequest

from .catalogue import unstable_knobs_of
from .specs import IndicatorSpec

__all__ = ["E_FOLDS", "MAX_WARMUP_BARS", "UNSTABLE_RULES", "Warmup", "checked_warmup", "warmup_of"]

E_FOLDS = 10
"""The seed's weight must fall below e^-E_FOLDS (TA-Lib's 4-digit level)."""
_DIGITS = 4
_HILBERT = 80 + 50 * _DIGITS
_MAMA_LIMITS = (0.5, 0.05)  # TA-Lib's MAMA inside MA(matype=MAMA)

MAX_WARMUP_BARS = 20_000
"""Most warm-up bars fetched for one indicator (EMA(3000) needs 18,004); beyond, the spec is refused."""


def _wilder(period: int, _limits: tuple[float, float]) -> int:
    return E_FOLDS * period if period > 1 else 0


def _ema(period: int, _limits: tuple[float, float]) -> int:
    return math.ceil(E_FOLDS * (period + 1) / 2) if period > 1 else 0


def _hilbert(_period: int, _limits: tuple[float, float]) -> int:
    return _HILBERT


UNSTABLE_RULES: Mapping[str, Callable[[int, tuple[float, float]], int]] = MappingProxyType(
    {
        "EMA": _ema,
        **dict.fromkeys(
            ("RSI", "ATR", "NATR", "CMO", "DX", "RVI", "RMA", "PLUS_DI", "MINUS_DI", "PLUS_DM", "MINUS_DM"),
            _wilder,
        ),
        "ADX": lambda p, _: (E_FOLDS + 6) * p,
        "T3": lambda p, _: math.ceil((E_FOLDS + 20) * (p + 1) / 2) if p > 1 else 0,
        "KAMA": lambda p, _: 25 * _DIGITS * math.isqrt(p) if p > 1 else 0,
        **dict.fromkeys(
            ("HT_DCPERIOD", "HT_DCPHASE", "HT_PHASOR", "HT_SINE", "HT_TRENDLINE", "HT_TRENDMODE"), _hilbert
        ),
        "MAMA": lambda _p, limits: _HILBERT + math.ceil(2 * E_FOLDS / max(limits)),
        "HA": lambda _p, _l: 2 * E_FOLDS,
    }
)
"""TA-Lib unstable-period knob -> its bars for (the spec's longest period, MAMA's limits)."""


@dataclass(frozen=True)
class Warmup:
    """The bars before an indicator's first value (``lookback``) and before it is trusted (``bars``)."""

    lookback: int
    unstable: int

    @property
    def bars(self) -> int:
        return self.lookback + self.unstable


@functools.lru_cache(maxsize=4096)
def _warmup(name: str, values: tuple[int | float, ...]) -> Warmup:
    spec = IndicatorSpec(name, values)
    parameters = spec.parameters
    function = abstract.Function(name)  # type: ignore[attr-defined]
    function.set_parameters(parameters)
    lookback: int = function.lookback
    longest = max(
        (int(v) for p, v in zip(spec.function.parameters, values, strict=True) if p.kind == "int"), default=0
    )
    limits = (
        (float(parameters["fastlimit"]), float(parameters["slowlimit"])) if name == "MAMA" else _MAMA_LIMITS
    )
    unstable = sum(
        count * UNSTABLE_RULES[knob](longest, limits)
        for knob, count in unstable_knobs_of(spec.function, values).items()
    )
    return Warmup(lookback=lookback, unstable=unstable)


def warmup_of(spec: IndicatorSpec) -> Warmup:
    """The warm-up of ``spec`` (its output selection does not matter)."""
    return _warmup(spec.name, spec.values)


def checked_warmup(spec: IndicatorSpec, *, field: str = "indicators") -> Warmup:
    """``warmup_of(spec)``; ``BadRequest`` when it exceeds ``MAX_WARMUP_BARS``."""
    warmup = warmup_of(spec)
    if warmup.bars > MAX_WARMUP_BARS:
        raise BadRequest(
            f"{spec.call} needs {warmup.bars} bars of warm-up; at most {MAX_WARMUP_BARS} are fetched "
            "(shorten its periods)",
            field=field,
        )
    return warmup
