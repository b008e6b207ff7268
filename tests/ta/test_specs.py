"""The indicator spec syntax: canonical forms, keyword and positional parameters, outputs, and a
sentence naming the problem for every bad spec."""

from __future__ import annotations

import pytest

from mt5gateway.errors import BadRequest
from mt5gateway.ta import parse_spec, parse_specs


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("RSI(14)", "RSI(14)"),
        ("rsi", "RSI(14)"),
        ("RSI()", "RSI(14)"),
        (" Rsi ( 21 ) ", "RSI(21)"),
        ("MACD", "MACD(12,26,9)"),
        ("MACD(12,26,9)", "MACD(12,26,9)"),
        ("MACD(fastperiod=5)", "MACD(5,26,9)"),
        ("BBANDS(timeperiod=20,nbdevup=2)", "BBANDS(20,2,2,SMA)"),
        ("BBANDS(20,2,2)", "BBANDS(20,2,2,SMA)"),
        ("BBANDS(20, 2.5, nbdevdn=1.5, matype=ema)", "BBANDS(20,2.5,1.5,EMA)"),
        ("MA(30, 1)", "MA(30,EMA)"),
        ("SAR(0.02, 0.2)", "SAR(0.02,0.2)"),
        ("SAR(2e-2)", "SAR(0.02,0.2)"),
        ("MACD.macdhist", "MACD(12,26,9).macdhist"),
        ("macd(12,26,9).MACDSIGNAL", "MACD(12,26,9).macdsignal"),
        ("OBV", "OBV"),
        ("CDLMORNINGSTAR(0.5)", "CDLMORNINGSTAR(0.5)"),
    ],
)
def test_spec_has_one_canonical_form(text: str, canonical: str) -> None:
    spec = parse_spec(text)
    assert spec.canonical == canonical
    assert parse_spec(canonical) == spec  # the canonical form reads back as the same spec


def test_parameters_are_given_to_talib_by_name_with_our_values() -> None:
    spec = parse_spec("BBANDS(10, nbdevdn=3)")
    assert spec.parameters == {"timeperiod": 10, "nbdevup": 2.0, "nbdevdn": 3.0, "matype": 0}
    assert isinstance(spec.parameters["timeperiod"], int)
    assert isinstance(spec.parameters["nbdevdn"], float)


def test_spec_list_splits_on_commas_outside_parentheses_and_drops_repeats() -> None:
    specs = parse_specs("RSI(14),MACD(12,26,9), BBANDS(20,2,2) ,rsi")
    assert [s.canonical for s in specs] == ["RSI(14)", "MACD(12,26,9)", "BBANDS(20,2,2,SMA)"]
    assert [s.canonical for s in parse_specs(["RSI", "EMA(5),SMA(5)"])] == ["RSI(14)", "EMA(5)", "SMA(5)"]
    assert parse_specs("") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("RSX(14)", "Unknown indicator RSX (did you mean RSI?)"),
        ("ADD", "Unknown indicator ADD"),  # Math Operators are not served
        ("MAVP", "Unknown indicator MAVP"),
        ("RSI(1)", "RSI parameter timeperiod must be between 2 and 100000, got 1"),
        ("RSI(100001)", "must be between 2 and 100000"),
        ("RSI(14.5)", "RSI parameter timeperiod must be a whole number, got 14.5"),
        ("RSI(fast)", "RSI parameter timeperiod must be a number, got fast"),
        ("RSI(period=3)", "RSI has no parameter period; it takes timeperiod"),
        ("RSI(14, 2)", "RSI takes 1 parameter (timeperiod); 2 were given"),
        ("OBV(3)", "OBV takes 0 parameters (none); 1 were given"),
        ("RSI(timeperiod=3, timeperiod=4)", "RSI parameter timeperiod is given twice"),
        ("SMA(30, timeperiod=3)", "given both by position and by name"),
        ("BBANDS(nbdevup=1, 20)", "a positional parameter after a named one"),
        ("BBANDS(20, matype=FAST)", "BBANDS parameter matype must be a moving-average type"),
        ("BBANDS(20, matype=14)", "BBANDS parameter matype must be between 0 and 13, got 14"),
        ("SAR(-0.1)", "SAR parameter acceleration must be between 0 and 3e+37, got -0.1"),
        ("MAMA(1.5)", "MAMA parameter fastlimit must be between 0.01 and 0.99, got 1.5"),
        ("MACD.hist", "MACD has no output hist; its outputs are macd, macdsignal, macdhist"),
        ("RSI(14", "Malformed indicator 'RSI(14': expected ',' or ')' at the end"),
        ("RSI(14))", "unexpected text at position 8"),
        ("RSI(,)", "expected a number or a moving-average type at position 5"),
        ("RSI(14)$", "unexpected '$' at position 8"),
        ("14", "expected an indicator name at position 1"),
        ("RSI(1e999)", "must be a finite number"),
        ("x" * 3000, "at most 2000"),
    ],
)
def test_bad_spec_is_refused_with_a_sentence_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_spec(text)
    assert message in caught.value.message
    assert caught.value.status == 400


def test_bad_spec_in_a_list_names_the_field() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_specs("RSI(14),FOO", field="indicators")
    assert "Unknown indicator FOO" in caught.value.message
    assert caught.value.body()["field"] == "indicators"
