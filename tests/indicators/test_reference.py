"""The vectorised line search against a plain loop over anchor pairs, written from SPEC 7's wording."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mt5gateway.indicators import LineContext, OverlayParams, diagonal_lines, horizontal_lines

Candidate = tuple[float, int, int, int]  # score, first row, last row, touches


def _proximity(value: float, close: float, params: OverlayParams) -> float:
    distance = abs(close - value) / close * 100
    for bound, factor in zip(params.proximity_bands, params.proximity_factors, strict=True):
        if distance <= bound:
            return factor
    return 0.0


def _tolerance(price: float, atr: float, params: OverlayParams) -> float:
    if params.tolerance_mode == "percent":
        return price * params.tolerance_percent / 100
    return params.tolerance_atr * atr


def _common(
    ri: int, pi: float, rj: int, pj: float, touches: int, ctx: LineContext, params: OverlayParams
) -> float:
    slope = (pj - pi) / (rj - ri)
    at_newest = pi + slope * (ctx.newest_row - ri)
    return (
        25 * touches
        + 10 * min((rj - ri) / params.lookback, 1)
        + 50 * _proximity(at_newest, ctx.newest_close, params)
    )


def _angle(ri: int, pi: float, rj: int, pj: float, atr: float) -> float:
    return math.degrees(math.atan((pj - pi) / (atr * (rj - ri))))


def _reference_horizontal(
    points: list[tuple[int, float]], ctx: LineContext, params: OverlayParams
) -> list[Candidate]:
    found = []
    for i, (ri, pi) in enumerate(points):
        for rj, pj in points[i + 1 :]:
            if rj - ri < 20:
                continue
            slope = (pj - pi) / (rj - ri)
            others = [
                (rk, pk)
                for rk, pk in points
                if ri < rk < rj and abs(pk - (pi + slope * (rk - ri))) <= _tolerance(pk, ctx.atr, params)
            ]
            touches = 2 + len(others)
            if touches < 3:
                continue
            angle = _angle(ri, pi, rj, pj, ctx.atr)
            score = _common(ri, pi, rj, pj, touches, ctx, params) + 15 * (90 - abs(angle)) / 90
            found.append((score, ri, rj, touches))
    return found


def _reference_diagonal(
    first: list[tuple[int, float]],
    last: list[tuple[int, float]],
    every: list[tuple[int, float, str]],
    rising: bool,
    ctx: LineContext,
    params: OverlayParams,
) -> list[Candidate]:
    found = []
    for ri, pi in first:
        for rj, pj in last:
            if rj - ri < 80:
                continue
            slope = (pj - pi) / (rj - ri)
            angle = _angle(ri, pi, rj, pj, ctx.atr)
            if (slope > 0) != rising or slope == 0 or not 2 <= abs(angle) <= 45:
                continue
            between = [
                kind
                for rk, pk, kind in every
                if ri < rk < rj and abs(pk - (pi + slope * (rk - ri))) <= _tolerance(pk, ctx.atr, params)
            ]
            kinds = ["B" if rising else "P", *between, "P" if rising else "B"]
            runs = "".join(kinds).replace("PB", "P B").replace("BP", "B P").split()
            if len(kinds) < 4 or min(kinds.count("P"), kinds.count("B")) < 2 or max(map(len, runs)) > 2:
                continue
            changes = len(runs) - 1
            steep = 1.0 if abs(angle) >= 30 else 0.8 if abs(angle) >= 20 else 0.5
            score = (
                _common(ri, pi, rj, pj, len(kinds), ctx, params)
                + 20 * changes / (len(kinds) - 1)
                + 15 * steep
            )
            found.append((score, ri, rj, len(kinds)))
    return found


def _top(found: list[Candidate]) -> list[Candidate]:
    # best score first; equal scores keep the older anchors first
    return sorted(found, key=lambda c: (-round(c[0], 9), c[1], c[2]))[:3]


def _random_fractals(seed: int) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(400, size=40, replace=False))
    # even seeds rise, odd seeds fall, so that both directions of diagonal line get compared
    trend = 100 + (0.05 if seed % 2 == 0 else -0.05) * rows
    peaks = [(int(r), float(t + rng.uniform(0.5, 2.5))) for r, t in zip(rows[::2], trend[::2], strict=True)]
    bottoms = [
        (int(r), float(t - rng.uniform(0.5, 2.5))) for r, t in zip(rows[1::2], trend[1::2], strict=True)
    ]
    return peaks, bottoms


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("mode", ["percent", "atr"])
def test_line_search_matches_a_loop_over_pairs(seed: int, mode: str) -> None:
    peaks, bottoms = _random_fractals(seed)
    params = OverlayParams(tolerance_mode=mode, tolerance_percent=1.0, tolerance_atr=0.8)
    ctx = LineContext(atr=1.2, newest_row=420, newest_close=121.0 if seed % 2 == 0 else 79.0)

    def as_arrays(points: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
        return np.array([r for r, _ in points], dtype=np.intp), np.array([p for _, p in points])

    def summary(lines: list) -> list[Candidate]:  # type: ignore[type-arg]
        return [(line.score, line.first_row, line.last_row, line.touches) for line in lines]

    for points in (peaks, bottoms):
        got = summary(horizontal_lines(*as_arrays(points), ctx, params))
        assert got == pytest.approx(_top(_reference_horizontal(points, ctx, params)))

    every = sorted(
        [(r, p, "P") for r, p in peaks] + [(r, p, "B") for r, p in bottoms], key=lambda t: (t[0], t[2] == "B")
    )
    ascending, descending = diagonal_lines(*as_arrays(peaks), *as_arrays(bottoms), ctx, params)
    assert summary(ascending) == pytest.approx(
        _top(_reference_diagonal(bottoms, peaks, every, True, ctx, params))
    )
    assert summary(descending) == pytest.approx(
        _top(_reference_diagonal(peaks, bottoms, every, False, ctx, params))
    )
    assert ascending if seed % 2 == 0 else descending  # the trend gives the comparison lines to check
