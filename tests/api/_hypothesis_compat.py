"""Lets hypothesis-jsonschema 0.23 (schemathesis' generator) run on hypothesis 6.170.

hypothesis-jsonschema draws every JSON object with hypothesis' internal ``many`` helper through its
old ``more()`` / ``reject()`` loop; hypothesis 6.170 turned ``many`` into a context manager without
``more()``, so every schemathesis case with parameters failed with ``AttributeError``. No newer
hypothesis-jsonschema exists, so this gives that one module a ``many`` with the old loop, built on
the span and boolean-draw calls hypothesis still offers. Nothing else in hypothesis is touched.
"""

from __future__ import annotations

import types
from typing import Any

import hypothesis_jsonschema._from_schema as from_schema
from hypothesis.internal.conjecture import utils as conjecture_utils

__all__ = ["install"]


class _LoopMany:
    """``many`` as hypothesis-jsonschema calls it: ``while elements.more(): ... elements.reject()``."""

    def __init__(self, data: Any, min_size: int, max_size: float, average_size: float) -> None:
        self.data = data
        self.min_size = min_size
        self.max_size = max_size
        self.p_continue = conjecture_utils._calc_p_continue(average_size - min_size, max_size - min_size)
        self.count = 0
        self.rejections = 0
        self.drawn = False
        self.rejected = False
        self.force_stop = False

    def more(self) -> bool:
        if self.drawn:
            self.data.stop_span(discard=self.rejected)
        self.drawn = True
        self.rejected = False
        self.data.start_span(conjecture_utils.ONE_FROM_MANY_LABEL)
        if self.min_size == self.max_size:
            keep_going = self.count < self.min_size
        else:
            forced: bool | None = None
            if self.force_stop or self.count >= self.max_size:
                forced = False
            elif self.count < self.min_size:
                forced = True
            keep_going = self.data.draw_boolean(self.p_continue, forced=forced)
        if keep_going:
            self.count += 1
            return True
        self.data.stop_span()
        return False

    def reject(self) -> None:
        self.count -= 1
        self.rejections += 1
        self.rejected = True
        if self.rejections > max(3, 2 * self.count):
            if self.count < self.min_size:
                self.data.mark_invalid("too many rejected elements")
            self.force_stop = True


def install() -> None:
    """Give hypothesis-jsonschema the loop-style ``many`` (idempotent)."""
    if not hasattr(conjecture_utils.many, "more"):
        from_schema.cu = types.SimpleNamespace(many=_LoopMany)  # type: ignore[attr-defined]
