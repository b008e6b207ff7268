"""Standard indicators through TA-Lib: names, outputs, and refusals as BadRequest."""

from __future__ import annotations

import numpy as np
import pytest

from mt5gateway.errors import BadRequest
from mt5gateway.indicators import average_true_range
from mt5gateway.indicators.standard import STANDARD_INDICATORS, standard_indicator

from .builders import rates, zigzag

BARS = zigzag([(0, 100.0), (20, 110.0), (40, 95.0), (60, 120.0)], half_range=0.5)


def test_standard_indicators_list_the_common_ones_and_candlestick_patterns() -> None:
    for name in ("SMA", "EMA", "RSI", "MACD", "BBANDS", "ATR", "STOCH", "CDLENGULFING"):
        assert name in STANDARD_INDICATORS
    assert STANDARD_INDICATORS["CDLENGULFING"] == "Pattern Recognition"
    assert "ADD" not in STANDARD_INDICATORS  # math operators are not indicators


def test_standard_indicator_sma_is_the_plain_mean_of_closes() -> None:
    result = standard_indicator("sma", BARS, timeperiod=5)
    assert list(result) == ["real"]
    assert np.isnan(result["real"][:4]).all()
    assert result["real"][-1] == pytest.approx(BARS["close"][-5:].mean())


def test_standard_indicator_names_every_output() -> None:
    result = standard_indicator("BBANDS", BARS, timeperiod=10, nbdevup=2, nbdevdn=2)
    assert list(result) == ["upperband", "middleband", "lowerband"]
    assert (result["upperband"][-1], result["lowerband"][-1]) == (
        pytest.approx(result["middleband"][-1] + 2 * BARS["close"][-10:].std()),
        pytest.approx(result["middleband"][-1] - 2 * BARS["close"][-10:].std()),
    )


def test_standard_indicator_finds_a_bullish_engulfing_bar() -> None:
    # a falling run, a small black bar, then a white bar whose body engulfs it
    opens = [110.0, 108, 106, 104, 102, 100, 98, 96, 94, 92, 90.5, 89.5]
    closes = [108.0, 106, 104, 102, 100, 98, 96, 94, 92, 90.5, 89.8, 91.5]
    bars = rates(
        [max(o, c) + 0.1 for o, c in zip(opens, closes, strict=True)],
        [min(o, c) - 0.1 for o, c in zip(opens, closes, strict=True)],
        closes,
    )
    bars["open"] = opens
    assert standard_indicator("CDLENGULFING", bars)["integer"][-1] == 100


def test_standard_atr_is_wilder_not_the_overlays_simple_mean() -> None:
    wilder = standard_indicator("ATR", BARS, timeperiod=14)["real"][-1]
    simple = average_true_range(BARS["high"], BARS["low"], BARS["close"], 14)
    assert wilder != pytest.approx(simple, rel=1e-3)


def test_standard_indicator_refuses_an_unknown_name() -> None:
    with pytest.raises(BadRequest, match="Unknown indicator NOPE"):
        standard_indicator("NOPE", BARS)


def test_standard_indicator_refuses_a_parameter_talib_would_ignore() -> None:
    with pytest.raises(BadRequest, match="period") as caught:
        standard_indicator("SMA", BARS, period=5)
    assert caught.value.extra == {"field": "period"}


def test_standard_indicator_refuses_a_bad_parameter_value() -> None:
    with pytest.raises(BadRequest, match="SMA refused"):
        standard_indicator("SMA", BARS, timeperiod=-3)


def test_standard_indicator_refuses_a_fractional_period() -> None:
    with pytest.raises(BadRequest, match="whole number") as caught:
        standard_indicator("SMA", BARS, timeperiod=5.5)
    assert caught.value.extra == {"field": "timeperiod"}
