"""The scanner's condition grammar: parsing by hand into a tree, evaluation at a bar, and a
sentence naming the problem for anything malformed (nothing is ever evaluated as code)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from mt5gateway.errors import BadRequest
from mt5gateway.ta import IndicatorSpec, parse_conditions
from mt5gateway.ta.conditions import Field, indicator_operands


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("RSI(14)<30", ["RSI(14) < 30"]),
        ("rsi < 30", ["RSI(14) < 30"]),
        ("RSI(14) < 30, ADX(14) >= 25", ["RSI(14) < 30", "ADX(14) >= 25"]),
        ("close > SMA(200) and not RSI > 70", ["close > SMA(200) and not RSI(14) > 70"]),
        ("(RSI < 30 or RSI > 70) and volume > 100", ["(RSI(14) < 30 or RSI(14) > 70) and volume > 100"]),
        (
            "MACD.macd crosses_above MACD.macdsignal",
            ["MACD(12,26,9).macd crosses_above MACD(12,26,9).macdsignal"],
        ),
        (
            "close CROSSES_BELOW BBANDS(20,2,2).lowerband",
            ["close crosses_below BBANDS(20,2,2,SMA).lowerband"],
        ),
        ("EMA(12) != EMA(26)", ["EMA(12) != EMA(26)"]),
        ("1 < 2", ["1 < 2"]),
    ],
)
def test_conditions_parse_to_one_canonical_text(text: str, canonical: list[str]) -> None:
    conditions = parse_conditions(text)
    assert [str(c) for c in conditions] == canonical
    assert [str(c) for c in parse_conditions(", ".join(canonical))] == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("RSI(14)", "expected a comparison (<, <=, >, >=, ==, !=, crosses_above, crosses_below) at the end"),
        ("RSI(14) < ", "expected a number, a bar column or an indicator at the end"),
        ("RSI(14) <> 30", "expected a number, a bar column or an indicator at position 10"),
        ("RSI(14) < 30 and", "expected a number, a bar column or an indicator at the end"),
        (
            "MACD > 0",
            "MACD(12,26,9) has 3 outputs (macd, macdsignal, macdhist): name one, as in MACD(12,26,9).macd",
        ),
        ("FOO(3) > 1", "Unknown indicator FOO"),
        ("RSI(1) < 30", "RSI parameter timeperiod must be between 2"),
        ("(RSI < 30", "expected ')' at the end"),
        ("__import__('os').system('ls') > 0", 'unexpected "\'" at position 12'),
        ("RSI < 30; DROP", "unexpected ';'"),
        ("close > open extra", "unexpected text at position 14"),
    ],
)
def test_malformed_condition_is_refused_with_a_sentence(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_conditions(text)
    assert message in caught.value.message
    assert caught.value.body()["field"] == "indicators"


def _series(values: dict[str, list[float]]) -> object:
    arrays = {name: np.array(v, dtype=np.float64) for name, v in values.items()}

    def lookup(operand: Field | IndicatorSpec) -> NDArray[np.float64]:
        return arrays[operand.name if isinstance(operand, Field) else operand.label]

    return lookup


def test_comparisons_hold_at_the_given_bar_and_never_on_missing_values() -> None:
    values = _series({"RSI(14)": [np.nan, 50, 25], "close": [1.0, 2.0, 3.0]})
    (oversold,) = parse_conditions("RSI < 30")
    assert oversold.holds(values, 2)
    assert not oversold.holds(values, 1)
    assert not oversold.holds(values, 0)  # warm-up: no value, never true
    (negated,) = parse_conditions("not RSI < 30")
    assert negated.holds(values, 1)
    (either,) = parse_conditions("RSI < 30 or close < 1.5")
    assert [either.holds(values, row) for row in range(3)] == [True, False, True]


def test_crossing_needs_the_other_side_at_the_bar_before() -> None:
    values = _series({"EMA(5)": [1, 2, 4, 4, 3, np.nan, 5], "EMA(20)": [3, 3, 3, 3, 3, 3, 3]})
    (above,) = parse_conditions("EMA(5) crosses_above EMA(20)")
    (below,) = parse_conditions("EMA(5) crosses_below EMA(20)")
    assert [above.holds(values, row) for row in range(7)] == [False, False, True, False, False, False, False]
    assert [below.holds(values, row) for row in range(7)] == [False, False, False, False, False, False, False]
    (level,) = parse_conditions("EMA(5) crosses_below 3.5")
    assert [level.holds(values, row) for row in range(7)] == [False, False, False, False, True, False, False]


def test_operands_name_each_indicator_once() -> None:
    conditions = parse_conditions("RSI < 30, RSI > 10 and MACD.macd > MACD.macdsignal")
    assert [s.canonical for s in indicator_operands(conditions)] == [
        "RSI(14).real",
        "MACD(12,26,9).macd",
        "MACD(12,26,9).macdsignal",
    ]
