"""Horizontal (support / resistance) and diagonal (trend) lines through fractals (SPEC 7), vectorised.

Every candidate line runs through two anchor fractals (rows ``ri < rj``, oldest-first). The fractals
strictly between the anchors that lie within their tolerance of the line are its touches, together
with the two anchors. Candidates are evaluated as matrices, one row per anchor pair and one column
per fractal, in chunks that keep memory bounded whatever the parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .params import OverlayParams

__all__ = ["Line", "LineContext", "diagonal_lines", "fractal_tolerances", "horizontal_lines"]

_CHUNK_ELEMENTS = 1 << 18
"""Anchor pairs x fractals evaluated at once: a few MB of temporaries at most."""


@dataclass(frozen=True)
class Line:
    """A chosen line: anchors, slope per bar, signed angle in degrees, touches and score."""

    first_row: int
    last_row: int
    first_price: float
    slope: float
    angle: float
    touches: int
    score: float

    def value_at(self, row: int) -> float:
        """The line's price at ``row``."""
        return self.first_price + self.slope * (row - self.first_row)


@dataclass(frozen=True)
class LineContext:
    """What scoring needs from the bars: ATR, the newest row and its close."""

    atr: float
    newest_row: int
    newest_close: float


@dataclass(frozen=True)
class _Candidates:
    """Anchor pairs as parallel arrays: indices into the fractal arrays, rows, first price, slope, angle."""

    first: NDArray[np.intp]
    last: NDArray[np.intp]
    first_rows: NDArray[np.intp]
    last_rows: NDArray[np.intp]
    first_prices: NDArray[np.float64]
    slopes: NDArray[np.float64]
    angles: NDArray[np.float64]

    def select(self, keep: NDArray[np.bool_]) -> _Candidates:
        return _Candidates(
            first=self.first[keep],
            last=self.last[keep],
            first_rows=self.first_rows[keep],
            last_rows=self.last_rows[keep],
            first_prices=self.first_prices[keep],
            slopes=self.slopes[keep],
            angles=self.angles[keep],
        )


def fractal_tolerances(prices: NDArray[np.float64], atr: float, params: OverlayParams) -> NDArray[np.float64]:
    """How far from a line each fractal still touches it: % of its price, or a multiple of ATR."""
    if params.tolerance_mode == "percent":
        result: NDArray[np.float64] = prices * (params.tolerance_percent / 100.0)
        return result
    return np.full(prices.shape, params.tolerance_atr * atr)


def _candidates(
    first: NDArray[np.intp],
    last: NDArray[np.intp],
    rows: NDArray[np.intp],
    prices: NDArray[np.float64],
    *,
    atr: float,
    min_span: int,
) -> _Candidates:
    """Pairs whose newer anchor lies at least ``min_span`` bars after the older one."""
    first_rows, last_rows = rows[first], rows[last]
    keep = last_rows - first_rows >= min_span
    first, last, first_rows, last_rows = first[keep], last[keep], first_rows[keep], last_rows[keep]
    spans = (last_rows - first_rows).astype(np.float64)
    rises = prices[last] - prices[first]
    # arctan2 equals atan(rise / (ATR x span)) for ATR > 0, and stays defined (0 or +-90) when ATR is 0
    angles = np.degrees(np.arctan2(rises, atr * spans))
    return _Candidates(first, last, first_rows, last_rows, prices[first], rises / spans, angles)


def _touch_chunks(
    candidates: _Candidates,
    rows: NDArray[np.intp],
    prices: NDArray[np.float64],
    tolerances: NDArray[np.float64],
) -> Iterator[tuple[slice, NDArray[np.bool_]]]:
    """Per chunk of pairs: which fractals lie strictly between the anchors and within tolerance of the line."""
    columns = np.arange(rows.shape[0])
    # rows are sorted, so the fractals strictly between two anchors form one run of columns
    after_first = np.searchsorted(rows, candidates.first_rows, side="right")
    before_last = np.searchsorted(rows, candidates.last_rows, side="left")
    rows_as_float = rows.astype(np.float64)
    step = max(1, _CHUNK_ELEMENTS // max(rows.shape[0], 1))
    for start in range(0, candidates.first.shape[0], step):
        part = slice(start, start + step)
        # |price - (first price + slope x (row - first row))|, computed in place on one buffer
        gap = rows_as_float[None, :] - candidates.first_rows[part, None]
        gap *= candidates.slopes[part, None]
        gap += candidates.first_prices[part, None]
        np.subtract(prices[None, :], gap, out=gap)
        np.abs(gap, out=gap)
        touching = gap <= tolerances[None, :]
        touching &= columns[None, :] >= after_first[part, None]
        touching &= columns[None, :] < before_last[part, None]
        yield part, touching


def _proximity_factors(
    candidates: _Candidates, context: LineContext, params: OverlayParams
) -> NDArray[np.float64]:
    """The proximity table's factor for each line's distance from the newest close, in % of that close."""
    at_newest = candidates.first_prices + candidates.slopes * (context.newest_row - candidates.first_rows)
    if context.newest_close == 0:
        return np.zeros(at_newest.shape)
    distance_percent = np.abs(context.newest_close - at_newest) / abs(context.newest_close) * 100.0
    table = np.array((*params.proximity_factors, 0.0))
    # "at most" each band's bound: a distance equal to a bound stays in that band
    result: NDArray[np.float64] = table[np.searchsorted(np.array(params.proximity_bands), distance_percent)]
    return result


def _common_score(
    candidates: _Candidates, touches: NDArray[np.intp], context: LineContext, params: OverlayParams
) -> NDArray[np.float64]:
    """Touches, length and proximity terms, shared by both kinds of line."""
    spans = candidates.last_rows - candidates.first_rows
    result: NDArray[np.float64] = (
        params.touch_weight * touches
        + params.length_weight * np.minimum(spans / params.lookback, 1.0)
        + params.proximity_weight * _proximity_factors(candidates, context, params)
    )
    return result


def _best(
    candidates: _Candidates, touches: NDArray[np.intp], scores: NDArray[np.float64], count: int
) -> list[Line]:
    """The ``count`` best-scoring lines; equal scores keep the older anchors first."""
    order = np.argsort(-scores, kind="stable")[:count]
    return [
        Line(
            first_row=int(candidates.first_rows[k]),
            last_row=int(candidates.last_rows[k]),
            first_price=float(candidates.first_prices[k]),
            slope=float(candidates.slopes[k]),
            angle=float(candidates.angles[k]),
            touches=int(touches[k]),
            score=float(scores[k]),
        )
        for k in order
    ]


def horizontal_lines(
    rows: NDArray[np.intp], prices: NDArray[np.float64], context: LineContext, params: OverlayParams
) -> list[Line]:
    """The best lines through fractals of one type (``rows`` increasing, within the lookback).

    A pair spanning at least ``horizontal_min_span`` bars is kept with at least
    ``horizontal_min_touches`` touches; score = touch_weight x touches + flatness_weight x
    (90 - |angle|) / 90 + length + proximity.
    """
    first, last = np.triu_indices(rows.shape[0], k=1)
    candidates = _candidates(
        first.astype(np.intp),
        last.astype(np.intp),
        rows,
        prices,
        atr=context.atr,
        min_span=params.horizontal_min_span,
    )
    tolerances = fractal_tolerances(prices, context.atr, params)
    touches = np.full(candidates.first.shape, 2, dtype=np.intp)
    for part, touching in _touch_chunks(candidates, rows, prices, tolerances):
        touches[part] += touching.sum(axis=1)
    keep = touches >= params.horizontal_min_touches
    candidates, touches = candidates.select(keep), touches[keep]
    scores = _common_score(candidates, touches, context, params) + params.flatness_weight * (
        (90.0 - np.abs(candidates.angles)) / 90.0
    )
    return _best(candidates, touches, scores, params.lines_per_kind)


@dataclass(frozen=True)
class _TouchSequence:
    """Per pair: touches, peak touches, type changes and the longest run of one type."""

    touches: NDArray[np.intp]
    peaks: NDArray[np.intp]
    changes: NDArray[np.intp]
    longest_run: NDArray[np.intp]


def _touch_sequence(touching: NDArray[np.bool_], is_peak: NDArray[np.bool_]) -> _TouchSequence:
    """Summarise each row of ``touching`` (fractals in time order) as a sequence of peak / bottom types.

    Every row must hold at least one touch (the anchors). The touches are walked as one flat list in
    row-major order, so each pair's touches are consecutive and in time order: the cost follows the
    number of touches, not pairs x fractals.
    """
    pairs = touching.shape[0]
    pair_of, column = np.nonzero(touching)
    kinds = is_peak[column]
    same_pair = pair_of[1:] == pair_of[:-1]
    type_change = same_pair & (kinds[1:] != kinds[:-1])
    # a run of one type starts at each pair's first touch and at every change of type
    run_starts = np.flatnonzero(np.concatenate(([True], ~same_pair | type_change)))
    run_lengths = np.diff(np.append(run_starts, pair_of.shape[0]))
    run_pairs = pair_of[run_starts]
    first_run_of_pair = np.flatnonzero(np.concatenate(([True], run_pairs[1:] != run_pairs[:-1])))
    return _TouchSequence(
        touches=np.bincount(pair_of, minlength=pairs),
        peaks=np.bincount(pair_of[kinds], minlength=pairs),
        changes=np.bincount(pair_of[1:][type_change], minlength=pairs),
        longest_run=np.maximum.reduceat(run_lengths, first_run_of_pair),
    )


def _diagonal_direction(
    first: NDArray[np.intp],
    last: NDArray[np.intp],
    rows: NDArray[np.intp],
    prices: NDArray[np.float64],
    is_peak: NDArray[np.bool_],
    tolerances: NDArray[np.float64],
    *,
    rising: bool,
    context: LineContext,
    params: OverlayParams,
) -> list[Line]:
    """The best lines of one direction among anchor pairs ``first`` (older) x ``last`` (newer)."""
    first_grid, last_grid = np.meshgrid(first, last, indexing="ij")
    candidates = _candidates(
        first_grid.ravel(),
        last_grid.ravel(),
        rows,
        prices,
        atr=context.atr,
        min_span=params.diagonal_min_span,
    )
    steepness = np.abs(candidates.angles)
    direction_ok = candidates.slopes > 0 if rising else candidates.slopes < 0
    candidates = candidates.select(
        direction_ok & (steepness >= params.diagonal_min_angle) & (steepness <= params.diagonal_max_angle)
    )
    summaries: list[_TouchSequence] = []
    for part, touching in _touch_chunks(candidates, rows, prices, tolerances):
        anchored = touching.copy()
        chunk_rows = np.arange(anchored.shape[0])
        anchored[chunk_rows, candidates.first[part]] = True
        anchored[chunk_rows, candidates.last[part]] = True
        summaries.append(_touch_sequence(anchored, is_peak))
    if not summaries:
        return []
    touches = np.concatenate([s.touches for s in summaries])
    peaks = np.concatenate([s.peaks for s in summaries])
    changes = np.concatenate([s.changes for s in summaries])
    longest_run = np.concatenate([s.longest_run for s in summaries])
    keep = (
        (touches >= params.diagonal_min_touches)
        & (peaks >= params.diagonal_min_per_type)
        & (touches - peaks >= params.diagonal_min_per_type)
        & (longest_run <= params.diagonal_max_consecutive)
    )
    candidates, touches, changes = candidates.select(keep), touches[keep], changes[keep]
    steepness = np.abs(candidates.angles)
    steepness_factor = np.where(steepness >= 30.0, 1.0, np.where(steepness >= 20.0, 0.8, 0.5))
    scores = (
        _common_score(candidates, touches, context, params)
        + params.alternation_weight * changes / (touches - 1)
        + params.steepness_weight * steepness_factor
    )
    return _best(candidates, touches, scores, params.lines_per_kind)


def diagonal_lines(
    peak_rows: NDArray[np.intp],
    peak_prices: NDArray[np.float64],
    bottom_rows: NDArray[np.intp],
    bottom_prices: NDArray[np.float64],
    context: LineContext,
    params: OverlayParams,
) -> tuple[list[Line], list[Line]]:
    """The best ascending (bottom -> newer peak) and descending (peak -> newer bottom) trend lines.

    Touches are the anchors and the peaks and bottoms between them within tolerance, in time order
    (at one bar, the peak before the bottom). A line spanning at least ``diagonal_min_span`` bars
    with ``diagonal_min_angle <= |angle| <= diagonal_max_angle`` is kept with enough touches, enough
    of each type and no longer run of one type than ``diagonal_max_consecutive``.
    """
    rows = np.concatenate([peak_rows, bottom_rows])
    is_peak = np.concatenate([np.ones(peak_rows.shape, dtype=bool), np.zeros(bottom_rows.shape, dtype=bool)])
    order = np.lexsort((~is_peak, rows))
    rows, is_peak = rows[order], is_peak[order]
    prices = np.concatenate([peak_prices, bottom_prices])[order]
    tolerances = fractal_tolerances(prices, context.atr, params)
    peaks, bottoms = np.flatnonzero(is_peak), np.flatnonzero(~is_peak)
    shared = (rows, prices, is_peak, tolerances)
    ascending = _diagonal_direction(bottoms, peaks, *shared, rising=True, context=context, params=params)
    descending = _diagonal_direction(peaks, bottoms, *shared, rising=False, context=context, params=params)
    return ascending, descending
