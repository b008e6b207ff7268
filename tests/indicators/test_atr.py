"""The overlays' ATR: simple mean of true range (SPEC 7), not TA-Lib's Wilder smoothing."""

from __future__ import annotations

import numpy as np
import pytest
import talib

from mt5gateway.indicators import average_true_range, true_range


def test_true_range_reaches_to_the_previous_close_across_gaps() -> None:
    high = np.array([10.0, 12, 8, 9])
    low = np.array([9.0, 11, 7, 8.5])
    close = np.array([9.5, 11.5, 7.5, 8.8])
    # bar 0: H - L; bar 1 gaps up from 9.5; bar 2 gaps down from 11.5; bar 3 inside its range
    np.testing.assert_allclose(true_range(high, low, close), [1.0, 2.5, 4.5, 1.5])


def test_average_true_range_is_the_simple_mean_of_the_last_period_ranges() -> None:
    ranges = np.arange(1.0, 21.0)  # bar k spans k, close in the middle: no gaps reach outside
    high, low = 100 + ranges / 2, 100 - ranges / 2
    close = np.full(20, 100.0)
    assert average_true_range(high, low, close, 14) == pytest.approx(np.mean(ranges[-14:]))


def test_average_true_range_uses_the_real_previous_close_of_the_oldest_averaged_bar() -> None:
    high = np.array([20.0, 11, 11])
    low = np.array([19.0, 10, 10])
    close = np.array([19.5, 10.5, 10.5])
    # the oldest averaged bar (row 1) reaches up to row 0's close 19.5: TR 9.5, then 1
    assert average_true_range(high, low, close, 2) == pytest.approx((9.5 + 1.0) / 2)


def test_average_true_range_averages_every_bar_when_fewer_than_period() -> None:
    high, low, close = np.array([2.0, 3.0]), np.array([1.0, 1.0]), np.array([1.5, 2.0])
    assert average_true_range(high, low, close, 14) == pytest.approx((1.0 + 2.0) / 2)


def test_average_true_range_of_no_bars_is_zero() -> None:
    empty = np.empty(0)
    assert average_true_range(empty, empty, empty, 14) == 0.0


def test_average_true_range_refuses_a_period_below_one() -> None:
    one = np.ones(3)
    with pytest.raises(ValueError, match="period"):
        average_true_range(one, one, one, 0)


def test_average_true_range_differs_from_talib_wilder_atr() -> None:
    # widening ranges: Wilder's recursive smoothing lags the plain 14-bar mean
    ranges = np.linspace(1.0, 5.0, 60)
    high, low, close = 100 + ranges / 2, 100 - ranges / 2, np.full(60, 100.0)
    ours = average_true_range(high, low, close, 14)
    wilder = float(talib.ATR(high, low, close, timeperiod=14)[-1])
    assert ours == pytest.approx(np.mean(ranges[-14:]))
    assert abs(ours - wilder) > 0.1
