"""Horizontal lines (SPEC 7) through hand-placed fractals of one type."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mt5gateway.indicators import Line, LineContext, OverlayParams, horizontal_lines


def _lines(
    rows: list[int],
    prices: list[float],
    *,
    atr: float = 1.0,
    newest_row: int = 100,
    newest_close: float = 100.0,
    **params: Any,
) -> list[Line]:
    return horizontal_lines(
        np.array(rows, dtype=np.intp),
        np.array(prices, dtype=np.float64),
        LineContext(atr=atr, newest_row=newest_row, newest_close=newest_close),
        OverlayParams(**params),
    )


def test_horizontal_lines_keep_a_line_with_exactly_three_touches() -> None:
    # |101.52 - 100| = 1.52 <= 1.5 % of 101.52 = 1.5228
    lines = _lines([0, 20, 40], [100.0, 101.52, 100.0])
    assert [(line.first_row, line.last_row, line.touches) for line in lines] == [(0, 40, 3)]


def test_horizontal_lines_reject_a_third_touch_just_outside_tolerance() -> None:
    # |101.53 - 100| = 1.53 > 1.5 % of 101.53 = 1.52295
    assert _lines([0, 20, 40], [100.0, 101.53, 100.0]) == []


def test_horizontal_lines_reject_a_span_below_the_minimum() -> None:
    assert _lines([0, 9, 19], [100.0, 100.0, 100.0]) == []
    assert [line.first_row for line in _lines([0, 10, 20], [100.0, 100.0, 100.0])] == [0]


def test_horizontal_lines_need_three_fractals() -> None:
    assert _lines([0, 40], [100.0, 100.0]) == []
    assert _lines([], []) == []


def test_horizontal_lines_count_only_fractals_between_the_anchors() -> None:
    # for the pair (0, 40), the fractal at row 60 lies on the line's extension: 2 touches only
    lines = _lines([0, 40, 60], [100.0, 100.0, 100.0], horizontal_min_span=40)
    assert [(line.first_row, line.last_row, line.touches) for line in lines] == [(0, 60, 3)]


def test_horizontal_lines_accept_a_sloped_line() -> None:
    lines = _lines([0, 20, 40], [100.0, 110.0, 120.0])
    assert len(lines) == 1
    assert lines[0].slope == pytest.approx(0.5)
    assert lines[0].value_at(100) == pytest.approx(150.0)


def test_horizontal_lines_atr_tolerance_is_a_multiple_of_atr() -> None:
    # 1.5 x ATR 1.0 = 1.5 absolute, tighter than 1.5 % of ~101.5
    assert len(_lines([0, 20, 40], [100.0, 101.5, 100.0], tolerance_mode="atr")) == 1
    assert _lines([0, 20, 40], [100.0, 101.51, 100.0], tolerance_mode="atr") == []
    assert len(_lines([0, 20, 40], [100.0, 101.51, 100.0], tolerance_mode="percent")) == 1
    assert len(_lines([0, 20, 40], [100.0, 102.9, 100.0], tolerance_mode="atr", atr=2.0)) == 1


def test_horizontal_lines_percent_tolerance_follows_the_setting() -> None:
    assert _lines([0, 20, 40], [100.0, 101.0, 100.0], tolerance_percent=0.9) == []
    assert len(_lines([0, 20, 40], [100.0, 101.0, 100.0], tolerance_percent=1.0)) == 1


def test_horizontal_line_score_adds_touches_flatness_length_and_proximity() -> None:
    # 3 touches, flat, span 40 of lookback 400, newest close on the line
    (line,) = _lines([0, 20, 40], [100.0, 100.0, 100.0])
    assert line.score == pytest.approx(25 * 3 + 15 * 1.0 + 10 * 0.1 + 50 * 1.0)


def test_horizontal_line_score_uses_the_angle_against_atr() -> None:
    # rise 40 over 40 bars with ATR 1: atan(1) = 45 degrees, flatness (90 - 45) / 90
    (line,) = _lines([0, 20, 40], [100.0, 120.0, 140.0], newest_close=200.0, newest_row=100)
    assert line.angle == pytest.approx(45.0)
    assert line.score == pytest.approx(25 * 3 + 15 * 0.5 + 10 * 0.1 + 50 * 1.0)


def test_horizontal_line_length_term_saturates_at_the_lookback() -> None:
    (line,) = _lines([0, 30, 60], [100.0, 100.0, 100.0], lookback=50)
    assert line.score == pytest.approx(25 * 3 + 15 + 10 * 1.0 + 50)


@pytest.mark.parametrize(
    ("newest_close", "factor"),
    [
        (100.0, 1.0),
        (100.03, 1.0),
        (100.07, 0.93),
        (100.2, 0.80),
        (100.4, 0.60),
        (100.8, 0.40),
        (101.5, 0.20),
        (103.0, 0.0),
    ],
)
def test_horizontal_line_proximity_bands(newest_close: float, factor: float) -> None:
    (line,) = _lines([0, 20, 40], [100.0, 100.0, 100.0], newest_close=newest_close)
    assert line.score - (25 * 3 + 15 + 10 * 0.1) == pytest.approx(50 * factor)


@pytest.mark.parametrize(("line_price", "factor"), [(99.75, 0.80), (99.5, 0.60), (99.0, 0.40), (98.0, 0.20)])
def test_horizontal_line_proximity_band_bounds_are_inclusive(line_price: float, factor: float) -> None:
    # distances of exactly 0.25, 0.5, 1 and 2 % of the close 100 stay in the nearer band
    (line,) = _lines([0, 20, 40], [line_price] * 3, newest_close=100.0)
    assert line.score - (25 * 3 + 15 + 10 * 0.1) == pytest.approx(50 * factor)


def test_horizontal_lines_rank_by_score_and_keep_three() -> None:
    # five fractals on one level: (0, 80) has 5 touches, (0, 60) and (20, 80) 4 each, then 3-touch lines
    lines = _lines([0, 20, 40, 60, 80], [100.0] * 5)
    assert [(line.first_row, line.last_row, line.touches) for line in lines] == [
        (0, 80, 5),
        (0, 60, 4),
        (20, 80, 4),
    ]
    assert lines[0].score > lines[1].score == lines[2].score


def test_horizontal_lines_per_kind_follows_the_setting() -> None:
    assert len(_lines([0, 20, 40, 60, 80], [100.0] * 5, lines_per_kind=5)) == 5
