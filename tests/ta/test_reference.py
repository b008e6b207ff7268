"""TA-Lib's published regression values on its 252-bar reference series, through our specs and
``compute`` (and so through our written-down defaults)."""

from __future__ import annotations

import numpy as np
import pytest

from mt5gateway.ta import Bars, compute, find_patterns, parse_spec, warmup_of

from .builders import reference_bars

# (spec, output, bar index, TA-Lib's value): ta_regtest's test_ma.c, test_rsi.c, test_macd.c, test_bbands.c
REGRESSION_VALUES = [
    ("SMA(30)", "real", 29, 90.42),
    ("EMA(10)", "real", 9, 93.22),
    ("RSI(14)", "real", 14, 49.14),
    ("RSI(14)", "real", 15, 52.32),
    ("RSI(14)", "real", 16, 46.07),
    ("MACD(12,26,9)", "macd", 33, -1.9738),
    ("MACD(12,26,9)", "macdsignal", 33, -2.7071),
    ("BBANDS(20,2,2)", "upperband", 19, 98.0734),
    ("BBANDS(20,2,2)", "middleband", 19, 92.8910),
    ("BBANDS(20,2,2)", "lowerband", 19, 87.7086),
]


@pytest.mark.parametrize(("text", "output", "index", "expected"), REGRESSION_VALUES)
def test_regression_value_on_the_reference_series(
    text: str, output: str, index: int, expected: float
) -> None:
    spec = parse_spec(text)
    values = compute(spec, reference_bars())[output]
    assert values[index] == pytest.approx(expected, abs=0.01)
    # null (NaN) exactly during TA-Lib's lookback, a value at every bar after it
    lookback = warmup_of(spec).lookback
    assert np.isnan(values[:lookback]).all()
    assert not np.isnan(values[lookback:]).any()


def test_documented_defaults_give_the_same_values_as_the_explicit_spec() -> None:
    bars = reference_bars()
    for short, explicit in (("BBANDS", "BBANDS(20,2,2,SMA)"), ("MACD", "MACD(12,26,9)"), ("RSI", "RSI(14)")):
        implied, spelled = compute(parse_spec(short), bars), compute(parse_spec(explicit), bars)
        assert implied.keys() == spelled.keys()
        for name in implied:
            np.testing.assert_array_equal(implied[name], spelled[name])


def _three_black_crows_bars() -> Bars:
    # TA-Lib's own 20-bar CDL3BLACKCROWS test vector (ta-lib-python tests/test_func.py)
    o = [39.00] * 14 + [40.32, 40.51, 38.09, 35.00, 27.66, 30.80]
    h = [40.84] * 14 + [41.69, 40.84, 38.12, 35.50, 31.74, 32.51]
    low = [35.80] * 14 + [39.26, 36.73, 33.37, 30.03, 27.03, 28.31]
    c = [40.29] * 14 + [40.46, 37.08, 33.37, 30.03, 31.46, 28.31]
    columns = [np.array(values, dtype=np.float64) for values in (o, h, low, c, [1.0] * 20)]
    return Bars(np.arange(20, dtype=np.int64) * 86_400, *columns)


def test_three_black_crows_on_its_vector_is_bearish_at_index_17_only() -> None:
    bars = _three_black_crows_bars()
    signals = compute(parse_spec("CDL3BLACKCROWS"), bars)["integer"]
    lookback = int(np.isnan(signals).sum())
    expected = np.zeros(20)
    expected[17] = -100
    np.testing.assert_array_equal(signals[lookback:], expected[lookback:])
    occurrences = find_patterns([parse_spec("CDL3BLACKCROWS")], bars, newest=20)
    assert [(o.time // 86_400, o.signal, o.as_dict()["direction"]) for o in occurrences] == [
        (17, -100, "bearish")
    ]
