"""The scanner's decision for one symbol: a pattern on the last closed bar, conditions that hold there.

The newest bar of a run is the forming one (MT5's position 0, as for an Expert Advisor's ``shift
1``): the scanner looks at the bar before it, which is closed. A symbol matches when one of the
patterns asked for (if any) completes on that bar and every condition (if any) holds there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .compute import Bars, compute
from .conditions import Condition, Field, indicator_operands, operand_values
from .patterns import Occurrence, pattern_signals
from .specs import IndicatorSpec
from .warmup import warmup_of

__all__ = ["ScanQuery", "scan_bars"]


@dataclass(frozen=True)
class ScanQuery:
    """What to look for: any of ``patterns`` (none: no pattern needed), all of ``conditions``."""

    patterns: tuple[IndicatorSpec, ...]
    conditions: tuple[Condition, ...]

    @property
    def indicators(self) -> list[IndicatorSpec]:
        """The indicator specs the conditions read."""
        return indicator_operands(list(self.conditions))

    @property
    def history_bars(self) -> int:
        """Bars to fetch: the longest warm-up, the bar before the last closed one (a crossing looks
        at it) and the forming bar."""
        needed = [warmup_of(spec).bars for spec in self.indicators]
        needed += [warmup_of(spec).lookback for spec in self.patterns]
        return max(needed, default=0) + 3


def _values_of(
    bars: Bars, specs: list[IndicatorSpec]
) -> Callable[[Field | IndicatorSpec], NDArray[np.float64]]:
    """An operand's series over ``bars``, each function call computed once."""
    computed: dict[str, dict[str, NDArray[np.float64]]] = {}
    for spec in specs:
        if spec.call not in computed:
            computed[spec.call] = compute(spec.with_output(None), bars)

    def values(operand: Field | IndicatorSpec) -> NDArray[np.float64]:
        if isinstance(operand, Field):
            return bars.column(operand.name)
        assert operand.output is not None  # conditions always name the output
        return computed[operand.call][operand.output]

    return values


def scan_bars(query: ScanQuery, bars: Bars) -> dict[str, Any] | None:
    """What ``query`` finds on the last closed bar of ``bars`` (the newest bar is forming), or None."""
    row = len(bars) - 2
    if row < 0:
        return None
    found: list[Occurrence] = []
    for spec in query.patterns:
        # only the bars the pattern reads, up to the closed bar
        start = max(row - warmup_of(spec).lookback, 0)
        signal = int(pattern_signals(spec, bars.rows(start, row + 1))[-1])
        if signal:
            found.append(Occurrence(int(bars.time[row]), spec, signal))
    if query.patterns and not found:
        return None
    values = _values_of(bars, query.indicators)
    if not all(condition.holds(values, row) for condition in query.conditions):
        return None
    return {
        "time": int(bars.time[row]),
        "close": float(bars.close[row]),
        "patterns": [occurrence.as_dict() for occurrence in found],
        "values": operand_values(list(query.conditions), values, row),
    }
