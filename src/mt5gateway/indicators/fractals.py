"""Fractal peaks and bottoms over a window of W = 2S + 1 bars (SPEC 7), vectorised.

Row r (bars oldest-first) is a peak when its high is strictly greater than each of the S newer highs
and at least each of the S older highs, so among equal highs only the newest one qualifies; bottoms
mirror this with lows. Rows with fewer than S bars on either side are never fractals, and one bar can
be both a peak and a bottom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Fractals", "find_fractals", "sliding_extreme"]


@dataclass(frozen=True)
class Fractals:
    """Rows (oldest-first, increasing) of the peaks and of the bottoms."""

    peaks: NDArray[np.intp]
    bottoms: NDArray[np.intp]


def sliding_extreme(values: NDArray[np.float64], width: int, *, highest: bool) -> NDArray[np.float64]:
    """``result[k]`` = max (or min) of ``values[k : k + width]``, for k = 0 .. len - width.

    Doubling spans take O(N log width) vectorised steps rather than O(N x width) comparisons.
    """
    combine = np.maximum if highest else np.minimum
    covered = values
    span = 1
    while span * 2 <= width:
        # covered[k] holds the extreme of values[k : k + span]; merge two neighbours to double it
        covered = combine(covered[:-span], covered[span:])
        span *= 2
    # two overlapping spans of length span (width / 2 < span <= width) cover each window exactly
    result: NDArray[np.float64] = combine(covered[: values.shape[0] - width + 1], covered[width - span :])
    return result


def _fractal_rows(values: NDArray[np.float64], side: int, *, highest: bool) -> NDArray[np.intp]:
    """Rows whose value strictly beats the ``side`` newer values and ties or beats the ``side`` older ones."""
    count = values.shape[0]
    if count < 2 * side + 1:
        return np.empty(0, dtype=np.intp)
    # extreme[k] covers rows k .. k + side - 1: the older neighbours of row r are extreme[r - side],
    # the newer ones extreme[r + 1]
    extreme = sliding_extreme(values, side, highest=highest)
    centre = values[side : count - side]
    older = extreme[: count - 2 * side]
    newer = extreme[side + 1 :]
    is_fractal = (centre > newer) & (centre >= older) if highest else (centre < newer) & (centre <= older)
    return np.flatnonzero(is_fractal) + side


def find_fractals(high: NDArray[np.float64], low: NDArray[np.float64], window: int) -> Fractals:
    """Peaks and bottoms of oldest-first ``high`` / ``low`` for an odd ``window`` >= 3."""
    if window < 3 or window % 2 == 0:
        raise ValueError(f"window must be odd and at least 3, got {window}")
    side = (window - 1) // 2
    return Fractals(
        peaks=_fractal_rows(high, side, highest=True), bottoms=_fractal_rows(low, side, highest=False)
    )
