"""The scanner's condition grammar: ``RSI(14) < 30``, ``MACD.macd crosses_above MACD.macdsignal``,
``close > SMA(200) and ADX(14) >= 25`` (docs/ta.md). Parsed by hand, never evaluated as code.

::

    conditions  := condition { "," condition }           all must hold
    condition   := conjunction { "or" conjunction }
    conjunction := negation { "and" negation }
    negation    := "not" negation | "(" condition ")" | comparison
    comparison  := operand operator operand
    operator    := "<" | "<=" | ">" | ">=" | "==" | "!=" | "crosses_above" | "crosses_below"
    operand     := number | open | high | low | close | volume | spec

A spec of a function with several outputs names one (``MACD.macdhist``). Keywords are
case-insensitive. A comparison is evaluated at one bar: ``a crosses_above b`` holds when ``a > b``
there and ``a <= b`` at the bar before; a comparison with a missing value (the warm-up) is false.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
from numpy.typing import NDArray

from mt5gateway.errors import BadRequest

from .catalogue import COLUMNS
from .specs import IndicatorSpec, SpecParser

__all__ = [
    "COMPARISONS",
    "Comparison",
    "Condition",
    "Field",
    "Junction",
    "Negation",
    "Number",
    "Operand",
    "Values",
    "parse_conditions",
]

FloatArray = NDArray[np.float64]

_CROSSES = ("crosses_above", "crosses_below")
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "crosses_above": operator.gt,
    "crosses_below": operator.lt,
}


@dataclass(frozen=True)
class Number:
    """A constant."""

    value: float

    def __str__(self) -> str:
        return (
            str(int(self.value)) if self.value.is_integer() and abs(self.value) < 1e15 else repr(self.value)
        )


@dataclass(frozen=True)
class Field:
    """A column of the bar itself: open, high, low, close or volume (tick volume)."""

    name: str

    def __str__(self) -> str:
        return self.name


Operand: TypeAlias = Number | Field | IndicatorSpec

Values = Callable[[Field | IndicatorSpec], FloatArray]
"""Gives an operand's series over the scanned bars (an indicator's with its output selected)."""


def _text(operand: Operand) -> str:
    return operand.label if isinstance(operand, IndicatorSpec) else str(operand)


def _at(operand: Operand, values: Values, row: int) -> float:
    if isinstance(operand, Number):
        return operand.value
    if row < 0:
        return float("nan")
    return float(values(operand)[row])


@dataclass(frozen=True)
class Comparison:
    left: Operand
    operator: str
    right: Operand

    def holds(self, values: Values, row: int) -> bool:
        left, right = _at(self.left, values, row), _at(self.right, values, row)
        compare = COMPARISONS[self.operator]
        if not compare(left, right):  # False whenever a value is NaN
            return False
        if self.operator in _CROSSES:
            before_left, before_right = _at(self.left, values, row - 1), _at(self.right, values, row - 1)
            # crossing above: a <= b at the bar before (both known there)
            known = not (math.isnan(before_left) or math.isnan(before_right))
            return known and not compare(before_left, before_right)
        return True

    def operands(self) -> list[Operand]:
        return [self.left, self.right]

    def __str__(self) -> str:
        return f"{_text(self.left)} {self.operator} {_text(self.right)}"


@dataclass(frozen=True)
class Negation:
    part: Condition

    def holds(self, values: Values, row: int) -> bool:
        return not self.part.holds(values, row)

    def operands(self) -> list[Operand]:
        return self.part.operands()

    def __str__(self) -> str:
        return f"not {_grouped(self.part)}"


@dataclass(frozen=True)
class Junction:
    """Parts joined by ``and`` (all must hold) or ``or`` (one is enough)."""

    word: Literal["and", "or"]
    parts: tuple[Condition, ...]

    def holds(self, values: Values, row: int) -> bool:
        held = (part.holds(values, row) for part in self.parts)
        return all(held) if self.word == "and" else any(held)

    def operands(self) -> list[Operand]:
        return [operand for part in self.parts for operand in part.operands()]

    def __str__(self) -> str:
        return f" {self.word} ".join(_grouped(part) for part in self.parts)


Condition: TypeAlias = "Comparison | Negation | Junction"


def _grouped(condition: Condition) -> str:
    """``condition`` as text, in parentheses when it joins several parts."""
    return f"({condition})" if isinstance(condition, Junction) else str(condition)


class _ConditionParser(SpecParser):
    def conditions(self) -> list[Condition]:
        found = [self.condition()]
        while self.accept(","):
            found.append(self.condition())
        self.expect_end()
        return found

    def _keyword(self, word: str) -> bool:
        token = self.current
        if token.kind == "name" and token.text.lower() == word:
            self.advance()
            return True
        return False

    def condition(self) -> Condition:
        parts = [self.conjunction()]
        while self._keyword("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Junction("or", tuple(parts))

    def conjunction(self) -> Condition:
        parts = [self.negation()]
        while self._keyword("and"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else Junction("and", tuple(parts))

    def negation(self) -> Condition:
        if self._keyword("not"):
            return Negation(self.negation())
        if self.accept("("):
            inner = self.condition()
            self.expect(")", "')'")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        left = self.operand()
        token = self.current
        if token.kind == "op" or (token.kind == "name" and token.text.lower() in _CROSSES):
            self.advance()
            return Comparison(left, token.text.lower(), self.operand())
        raise self.error(f"expected a comparison ({', '.join(COMPARISONS)})")

    def operand(self) -> Operand:
        token = self.current
        if token.kind == "number":
            self.advance()
            return Number(float(token.text))
        if token.kind == "name" and token.text.lower() in COLUMNS and self.peek().kind != "(":
            self.advance()
            return Field(token.text.lower())
        if token.kind != "name":
            raise self.error("expected a number, a bar column or an indicator")
        spec = self.spec()
        outputs = spec.function.outputs
        if spec.output is None and len(outputs) > 1:
            raise BadRequest(
                f"{spec.call} has {len(outputs)} outputs ({', '.join(outputs)}): name one, "
                f"as in {spec.call}.{outputs[0]}",
                field=self.field,
            )
        return spec.with_output(spec.output or outputs[0])


def parse_conditions(texts: str | list[str], *, field: str = "indicators") -> list[Condition]:
    """Comma-separated conditions from one text or several, all to hold; ``BadRequest`` naming the
    problem otherwise."""
    found: list[Condition] = []
    for text in [texts] if isinstance(texts, str) else texts:
        parser = _ConditionParser(text, what="condition", field=field)
        if parser.current.kind != "end":
            found.extend(parser.conditions())
    return found


def indicator_operands(conditions: list[Condition]) -> list[IndicatorSpec]:
    """The indicator specs the conditions read, each once."""
    specs: dict[str, IndicatorSpec] = {}
    for condition in conditions:
        for operand in condition.operands():
            if isinstance(operand, IndicatorSpec):
                specs.setdefault(operand.canonical, operand)
    return list(specs.values())


def operand_values(conditions: list[Condition], values: Values, row: int) -> dict[str, Any]:
    """The value of every non-constant operand at ``row`` (None when missing), by its text."""
    found: dict[str, Any] = {}
    for condition in conditions:
        for operand in condition.operands():
            if not isinstance(operand, Number):
                value = _at(operand, values, row)
                found[_text(operand)] = None if math.isnan(value) else value
    return found
