"""Fractal rules of SPEC 7 on hand-made highs and lows."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from mt5gateway.indicators import find_fractals
from mt5gateway.indicators.fractals import sliding_extreme


def _arrays(high: list[float], low: list[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    high_array = np.array(high, dtype=np.float64)
    low_array = np.array(low, dtype=np.float64) if low is not None else high_array - 10
    return high_array, low_array


def test_find_fractals_marks_a_high_above_both_sides_as_peak() -> None:
    high, low = _arrays([1, 2, 5, 2, 1])
    assert find_fractals(high, low, 5).peaks.tolist() == [2]


def test_find_fractals_marks_a_low_below_both_sides_as_bottom() -> None:
    high = np.full(5, 10.0)
    low = np.array([5.0, 4, 1, 4, 5])
    fractals = find_fractals(high, low, 5)
    assert fractals.bottoms.tolist() == [2]


def test_find_fractals_keeps_only_the_newest_of_equal_highs() -> None:
    # rows 2 and 3 share the top: row 2 is not strictly above its newer neighbour, row 3 ties its older one
    high, low = _arrays([1, 2, 5, 5, 1, 0])
    assert find_fractals(high, low, 5).peaks.tolist() == [3]


def test_find_fractals_keeps_only_the_newest_of_equal_lows() -> None:
    high = np.full(6, 10.0)
    low = np.array([5.0, 4, 1, 1, 4, 5])
    assert find_fractals(high, low, 5).bottoms.tolist() == [3]


def test_find_fractals_refuses_a_peak_with_an_equal_high_among_the_newer_bars() -> None:
    # the tie lies two bars newer, still inside the window
    high, low = _arrays([1, 2, 5, 3, 5, 1, 0])
    assert find_fractals(high, low, 5).peaks.tolist() == [4]


def test_find_fractals_never_marks_rows_without_a_full_side() -> None:
    # the oldest and the two newest bars hold the extremes but lack S = 2 bars on one side
    high, low = _arrays([9, 1, 1, 2, 1, 0, 8, 9], [-9, 1, 1, 0, 1, 2, -8, -9])
    fractals = find_fractals(high, low, 5)
    assert fractals.peaks.tolist() == [3]
    assert fractals.bottoms.tolist() == [3]


def test_find_fractals_lets_one_bar_be_both_peak_and_bottom() -> None:
    high, low = _arrays([2, 2, 9, 2, 2], [1, 1, -9, 1, 1])
    fractals = find_fractals(high, low, 5)
    assert fractals.peaks.tolist() == [2]
    assert fractals.bottoms.tolist() == [2]


def test_find_fractals_returns_nothing_for_a_series_shorter_than_the_window() -> None:
    high, low = _arrays([1, 5, 1])
    fractals = find_fractals(high, low, 5)
    assert fractals.peaks.size == 0
    assert fractals.bottoms.size == 0


@pytest.mark.parametrize("window", [1, 2, 4, 36])
def test_find_fractals_refuses_an_even_or_too_small_window(window: int) -> None:
    high, low = _arrays([1, 2, 3])
    with pytest.raises(ValueError, match="odd"):
        find_fractals(high, low, window)


def _fractals_by_definition(high: np.ndarray, low: np.ndarray, side: int) -> tuple[list[int], list[int]]:
    peaks, bottoms = [], []
    for row in range(side, high.size - side):
        older, newer = slice(row - side, row), slice(row + 1, row + side + 1)
        if all(high[row] > high[newer]) and all(high[row] >= high[older]):
            peaks.append(row)
        if all(low[row] < low[newer]) and all(low[row] <= low[older]):
            bottoms.append(row)
    return peaks, bottoms


@pytest.mark.parametrize("window", [3, 5, 9, 35])
def test_find_fractals_matches_the_definition_on_series_full_of_ties(window: int) -> None:
    rng = np.random.default_rng(window)
    # integer prices on a narrow range make equal highs and lows common
    high = rng.integers(0, 6, 400).astype(np.float64)
    low = high - rng.integers(0, 6, 400)
    fractals = find_fractals(high, low, window)
    peaks, bottoms = _fractals_by_definition(high, low, (window - 1) // 2)
    assert fractals.peaks.tolist() == peaks
    assert fractals.bottoms.tolist() == bottoms


@pytest.mark.parametrize("highest", [True, False])
def test_sliding_extreme_matches_a_plain_window_reduction(highest: bool) -> None:
    values = np.random.default_rng(7).random(70)
    for width in range(1, 71):
        windows = sliding_window_view(values, width)
        expected = windows.max(axis=1) if highest else windows.min(axis=1)
        np.testing.assert_array_equal(sliding_extreme(values, width, highest=highest), expected)
