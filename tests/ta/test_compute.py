"""``compute`` against direct TA-Lib calls (its abstract API, another path into the library) on the
same simulated bars, for every served function."""

from __future__ import annotations

import numpy as np
import pytest
from talib import abstract

from mt5gateway.indicators import average_true_range
from mt5gateway.ta import CATALOGUE, Bars, IndicatorSpec, compute, parse_spec, warmup_of
from mt5gateway.terminal import constants as c

from .builders import DAY_START, sim_terminal


@pytest.fixture(scope="module")
def bars() -> Bars:
    with sim_terminal() as terminal:
        return Bars.from_rates(terminal.copy_rates_from("XAUUSD", c.TIMEFRAME_M15, DAY_START, 2_000))


def _direct(spec: IndicatorSpec, bars: Bars) -> list[np.ndarray]:
    function = abstract.Function(spec.name)
    function.set_parameters(spec.parameters)
    inputs = {name: bars.column(name) for name in ("open", "high", "low", "close", "volume")}
    result = function(inputs)
    return result if isinstance(result, list) else [result]


_SPECS = [IndicatorSpec(f.name, f.defaults) for f in CATALOGUE.values()] + [
    parse_spec(text)
    for text in (
        "RSI(5)",
        "MACD(5,35,5)",
        "BBANDS(50,1.5,2.5,EMA)",
        "STOCH(14,3,EMA,3,WMA)",
        "SAR(0.01,0.1)",
        "T3(8,0.5)",
    )
]


@pytest.mark.parametrize("spec", _SPECS, ids=str)
def test_every_output_equals_a_direct_talib_call(spec: IndicatorSpec, bars: Bars) -> None:
    ours = compute(spec, bars)
    direct = _direct(spec, bars)
    lookback = warmup_of(spec).lookback
    assert list(ours) == list(spec.function.outputs)
    for (name, values), expected in zip(ours.items(), direct, strict=True):
        assert values.shape == (len(bars),)
        # bit for bit where TA-Lib gives a value; NaN (served as null) during the lookback
        np.testing.assert_array_equal(values[lookback:], expected[lookback:].astype(np.float64), err_msg=name)
        assert np.isnan(values[:lookback]).all(), name


def test_selected_output_is_the_only_one_computed_and_returned(bars: Bars) -> None:
    full = compute(parse_spec("MACD"), bars)
    hist = compute(parse_spec("MACD.macdhist"), bars)
    assert list(hist) == ["macdhist"]
    np.testing.assert_array_equal(hist["macdhist"], full["macdhist"])


def test_volume_is_the_tick_volume(bars: Bars) -> None:
    with sim_terminal() as terminal:
        rates = terminal.copy_rates_from("XAUUSD", c.TIMEFRAME_M15, DAY_START, 2_000)
    np.testing.assert_array_equal(bars.volume, rates["tick_volume"].astype(np.float64))


def test_talib_atr_is_wilders_not_the_overlays_simple_mean(bars: Bars) -> None:
    wilder = compute(parse_spec("ATR(14)"), bars)["real"][-1]
    simple = average_true_range(bars.high, bars.low, bars.close, 14)
    assert wilder != pytest.approx(simple, rel=1e-3)
