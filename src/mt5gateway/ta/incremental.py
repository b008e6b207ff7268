"""Indicators carried bar by bar: TA-Lib's stream handles (TA-Lib >= 0.8.1), O(1) per update.

A handle is opened on the closed bars of a history and then fed each bar as it closes
(``update``); ``peek`` gives the values the forming bar would get, without committing it, as often
as ticks revise it. TA-Lib guarantees both equal, bit for bit, what its batch function gives for the
same bar over the same history (``tests/ta/test_incremental.py`` checks it over a simulated day).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import talib
from talib import stream as talib_stream

from .catalogue import COLUMNS
from .compute import Bars
from .specs import IndicatorSpec

__all__ = ["BarValues", "IndicatorStream"]

BarValues = Sequence[float]
"""One bar as its five columns, in ``COLUMNS`` order (open, high, low, close, tick volume)."""


class IndicatorStream:
    """One spec's TA-Lib stream handle over a history; values by output name."""

    __slots__ = ("_handle", "_outputs", "_positions", "_selected", "spec")

    def __init__(self, spec: IndicatorSpec, handle: Any) -> None:
        self.spec = spec
        self._handle = handle
        function = spec.function
        self._positions = tuple(COLUMNS.index(column) for column in function.inputs)
        self._outputs = function.outputs
        # indices of the selected outputs among the function's
        self._selected = tuple(function.outputs.index(name) for name in spec.outputs)

    @classmethod
    def open(cls, spec: IndicatorSpec, history: Bars) -> IndicatorStream | None:
        """A handle over ``history`` (closed bars, oldest first); None while it is too short."""
        opener = getattr(talib_stream, spec.name)
        try:
            handle = opener(*(history.column(c) for c in spec.function.inputs), **spec.parameters)
        except talib.InsufficientHistory:  # type: ignore[attr-defined]  # missing from TA-Lib's stubs
            return None
        return cls(spec, handle)

    def _named(self, result: Any) -> dict[str, float]:
        values = (result,) if len(self._outputs) == 1 else result
        return {self._outputs[i]: float(values[i]) for i in self._selected}

    def update(self, bar: BarValues) -> dict[str, float]:
        """Feed a bar that has closed; its values."""
        return self._named(self._handle.update(*(bar[i] for i in self._positions)))

    def peek(self, bar: BarValues) -> dict[str, float]:
        """The values ``bar`` (the forming one) would get; nothing is committed."""
        return self._named(self._handle.peek(*(bar[i] for i in self._positions)))

    @property
    def value(self) -> dict[str, float]:
        """The values at the last bar fed."""
        return self._named(self._handle.value)
