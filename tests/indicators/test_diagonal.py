"""Diagonal lines (SPEC 7) through hand-placed peaks and bottoms."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mt5gateway.indicators import Line, LineContext, OverlayParams, diagonal_lines

Points = list[tuple[int, float]]

# a falling line price = 200 - row, touched by peak, bottom, peak, bottom: 90 bars, newest close on it
ZIGZAG_PEAKS: Points = [(0, 200.0), (60, 140.0)]
ZIGZAG_BOTTOMS: Points = [(30, 170.0), (90, 110.0)]


def _lines(
    peaks: Points,
    bottoms: Points,
    *,
    atr: float = 2.0,
    newest_row: int = 100,
    newest_close: float = 100.0,
    **params: Any,
) -> tuple[list[Line], list[Line]]:
    def split(points: Points) -> tuple[np.ndarray, np.ndarray]:
        return np.array([r for r, _ in points], dtype=np.intp), np.array(
            [p for _, p in points], dtype=np.float64
        )

    return diagonal_lines(
        *split(peaks),
        *split(bottoms),
        LineContext(atr=atr, newest_row=newest_row, newest_close=newest_close),
        OverlayParams(**params),
    )


def _descending(peaks: Points, bottoms: Points, **kwargs: Any) -> list[Line]:
    ascending, descending = _lines(peaks, bottoms, **kwargs)
    assert ascending == []
    return descending


def _mirrored(points: Points) -> Points:
    return [(row, 300.0 - price) for row, price in points]


def test_diagonal_lines_keep_a_descending_line_touched_in_alternation() -> None:
    (line,) = _descending(ZIGZAG_PEAKS, ZIGZAG_BOTTOMS)
    assert (line.first_row, line.last_row, line.touches) == (0, 90, 4)
    assert line.slope == pytest.approx(-1.0)
    assert line.angle == pytest.approx(-26.565, abs=1e-3)
    # 4 touches, alternation 3 / 3, 20-30 degrees, span 90 of 400, newest close on the line
    assert line.score == pytest.approx(25 * 4 + 20 * 1.0 + 15 * 0.8 + 10 * 90 / 400 + 50)


def test_diagonal_lines_keep_an_ascending_line_from_a_bottom_to_a_newer_peak() -> None:
    # the mirror image: bottoms at 100, 160 and peaks at 130, 190 on price = 100 + row
    ascending, descending = _lines(_mirrored(ZIGZAG_BOTTOMS), _mirrored(ZIGZAG_PEAKS), newest_close=200.0)
    assert descending == []
    (line,) = ascending
    assert (line.first_row, line.last_row, line.touches, line.slope) == (0, 90, 4, pytest.approx(1.0))
    assert line.score == pytest.approx(25 * 4 + 20 + 15 * 0.8 + 10 * 90 / 400 + 50)


def test_diagonal_lines_reject_fewer_than_four_touches() -> None:
    assert _descending([(0, 200.0)], ZIGZAG_BOTTOMS) == []


def test_diagonal_lines_reject_a_touch_outside_tolerance() -> None:
    # 173 is 3 above the line, beyond 1.5 % of 173 = 2.595
    assert _descending(ZIGZAG_PEAKS, [(30, 173.0), (90, 110.0)]) == []
    assert len(_descending(ZIGZAG_PEAKS, [(30, 172.5), (90, 110.0)])) == 1


def test_diagonal_lines_need_two_touches_of_each_type() -> None:
    peaks: Points = [(0, 200.0), (30, 170.0), (60, 140.0)]
    bottoms: Points = [(90, 110.0)]
    # P P P B: even allowing 3 in a row, one bottom is too few
    assert _descending(peaks, bottoms, diagonal_max_consecutive=3) == []
    assert len(_descending(peaks, bottoms, diagonal_max_consecutive=3, diagonal_min_per_type=1)) == 1


def test_diagonal_lines_reject_three_consecutive_touches_of_one_type() -> None:
    peaks: Points = [(0, 200.0), (20, 180.0), (40, 160.0)]
    bottoms: Points = [(60, 140.0), (90, 110.0)]
    assert _descending(peaks, bottoms) == []
    (line,) = _descending(peaks, bottoms, diagonal_max_consecutive=3)
    assert line.touches == 5


def test_diagonal_lines_keep_two_consecutive_touches_of_one_type_with_less_alternation() -> None:
    # P P B B: one type change over three steps
    (line,) = _descending([(0, 200.0), (30, 170.0)], [(60, 140.0), (90, 110.0)])
    assert line.score == pytest.approx(25 * 4 + 20 * (1 / 3) + 15 * 0.8 + 10 * 90 / 400 + 50)


def test_diagonal_lines_keep_three_alternating_touches_of_each_type() -> None:
    # the MQL5 original grouped touches by type and so refused this line; the intended rule keeps it
    peaks: Points = [(0, 200.0), (40, 160.0), (80, 120.0)]
    bottoms: Points = [(20, 180.0), (60, 140.0), (100, 100.0)]
    (line,) = _descending(peaks, bottoms, newest_row=110, newest_close=90.0)
    assert (line.first_row, line.last_row, line.touches) == (0, 100, 6)
    assert line.score == pytest.approx(25 * 6 + 20 * 1.0 + 15 * 0.8 + 10 * 100 / 400 + 50)


def test_diagonal_lines_reject_a_span_below_the_minimum() -> None:
    peaks: Points = [(0, 200.0), (50, 150.0)]
    bottoms: Points = [(25, 175.0), (75, 125.0)]
    assert _descending(peaks, bottoms) == []
    assert len(_descending(peaks, bottoms, diagonal_min_span=75)) == 1


@pytest.mark.parametrize(("atr", "kept"), [(40.0, False), (28.0, True), (1.0, True), (0.9, False)])
def test_diagonal_lines_keep_angles_between_2_and_45_degrees(atr: float, kept: bool) -> None:
    # slope -1 per bar: angle = atan(1 / ATR): 1.43, 2.05, 45.0 and 48.0 degrees
    assert len(_descending(ZIGZAG_PEAKS, ZIGZAG_BOTTOMS, atr=atr)) == int(kept)


@pytest.mark.parametrize(("atr", "factor"), [(1.5, 1.0), (2.0, 0.8), (5.0, 0.5)])
def test_diagonal_line_steepness_term_follows_the_angle_band(atr: float, factor: float) -> None:
    # atan(1 / ATR): 33.7, 26.6 and 11.3 degrees
    (line,) = _descending(ZIGZAG_PEAKS, ZIGZAG_BOTTOMS, atr=atr)
    assert line.score - (25 * 4 + 20 + 10 * 90 / 400 + 50) == pytest.approx(15 * factor)


def test_diagonal_lines_refuse_a_rising_pair_as_descending() -> None:
    # a peak followed by a higher bottom rises: no descending line, and no bottom -> peak pair to ascend
    assert _lines([(0, 100.0), (60, 160.0)], [(30, 130.0), (90, 190.0)]) == ([], [])


def test_diagonal_lines_rank_by_score_and_keep_three() -> None:
    # four parallel falling lines, each touched by P B P B; the one nearest the newest close ranks first
    peaks: Points = []
    bottoms: Points = []
    for shift in (0.0, 10.0, 20.0, 30.0):
        peaks += [(0 + int(shift), 200.0 - 2 * shift), (60 + int(shift), 140.0 - 2 * shift)]
        bottoms += [(30 + int(shift), 170.0 - 2 * shift), (90 + int(shift), 110.0 - 2 * shift)]
    descending = _descending(peaks, bottoms, newest_row=130, newest_close=70.0, tolerance_percent=0.1)
    assert len(descending) == 3
    scores = [line.score for line in descending]
    assert scores == sorted(scores, reverse=True)
    assert descending[0].value_at(130) == pytest.approx(70.0)
