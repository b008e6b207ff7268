"""compute_overlays: the indicator payload's shapes, indices, rounding and windows on hand-made bars."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mt5gateway.indicators import OverlayParams, compute_overlays, find_overlays
from mt5gateway.terminal.dtypes import RATES_DTYPE

from .builders import BAR_SECONDS, START_TIME, rates, zigzag

# peaks at rows 22, 42, 62 rising 100 -> 102 -> 104 (one line, slope 0.1 per bar); bottoms at 12, 32, 52
RISING_PEAKS = zigzag([(0, 95), (12, 90), (22, 100), (32, 90), (42, 102), (52, 90), (62, 104), (69, 95)])
SMALL = OverlayParams(window=5, lookback=50)


def test_compute_overlays_has_the_issue_shape() -> None:
    data = compute_overlays(RISING_PEAKS, SMALL)
    assert list(data) == ["ohlc", "horizontal", "diagonal", "fractals"]
    assert list(data["horizontal"]) == ["peak_1", "peak_2", "peak_3", "bottom_1", "bottom_2", "bottom_3"]
    assert list(data["diagonal"]) == [
        "ascending_1",
        "ascending_2",
        "ascending_3",
        "descending_1",
        "descending_2",
        "descending_3",
    ]
    assert list(data["fractals"]) == ["peaks", "bottoms"]
    assert orjson.loads(orjson.dumps(data)) == data


def test_compute_overlays_lists_ohlc_newest_first_as_python_values() -> None:
    ohlc = compute_overlays(RISING_PEAKS, SMALL)["ohlc"]
    assert len(ohlc) == 70
    assert ohlc[-1] == {
        "time": START_TIME,
        "open": 95.0,
        "high": 95.01,
        "low": 94.99,
        "close": 95.0,
        "volume": 10,
    }
    assert ohlc[0]["time"] == START_TIME + 69 * BAR_SECONDS
    assert all(type(bar["time"]) is int and type(bar["volume"]) is int for bar in ohlc)
    assert all(type(bar[key]) is float for bar in ohlc for key in ("open", "high", "low", "close"))


def test_compute_overlays_draws_a_line_from_index_zero_back_to_its_first_anchor() -> None:
    data = compute_overlays(RISING_PEAKS, SMALL)
    points = data["horizontal"]["peak_1"]
    # first anchor row 22 of 70 bars: indices 0 .. 47, one per bar, the newest first
    assert [point["index"] for point in points] == list(range(48))
    assert points[-1]["value"] == pytest.approx(100.01)
    assert points[0]["value"] == pytest.approx(100.01 + 0.1 * (69 - 22))
    assert data["horizontal"]["peak_2"] == []


def test_a_points_index_is_its_bars_position_in_ohlc() -> None:
    """As the original contract's example reads it: ohlc[point.index] is the bar a point is drawn at."""
    data = compute_overlays(RISING_PEAKS, SMALL)
    anchor = data["horizontal"]["peak_1"][-1]  # the line's first anchor, the peak at row 22
    assert data["ohlc"][anchor["index"]]["time"] == START_TIME + 22 * BAR_SECONDS
    assert data["ohlc"][anchor["index"]]["high"] == pytest.approx(anchor["value"])


def test_compute_overlays_anchors_lines_only_on_fractals_within_the_lookback() -> None:
    # the bottoms 12, 32, 52 make a line unless the lookback (rows 20 ..) leaves out row 12
    assert compute_overlays(RISING_PEAKS, SMALL)["horizontal"]["bottom_1"] == []
    wider = compute_overlays(RISING_PEAKS, OverlayParams(window=5, lookback=60))
    assert wider["horizontal"]["bottom_1"][-1]["index"] == 69 - 12


def test_compute_overlays_lists_fractals_among_the_returned_bars() -> None:
    fractals = compute_overlays(RISING_PEAKS, SMALL)["fractals"]
    assert fractals["peaks"] == [
        {"time": START_TIME + row * BAR_SECONDS, "price": pytest.approx(price)}
        for row, price in [(62, 104.01), (42, 102.01), (22, 100.01)]
    ]
    # row 12 lies outside the lookback but among the returned bars: listed, not used for lines
    assert [point["time"] for point in fractals["bottoms"]] == [
        START_TIME + row * BAR_SECONDS for row in (52, 32, 12)
    ]


def test_compute_overlays_limits_everything_drawn_to_the_requested_bars() -> None:
    data = compute_overlays(RISING_PEAKS, SMALL, bars=30)
    assert len(data["ohlc"]) == 30
    assert data["ohlc"][-1]["time"] == START_TIME + 40 * BAR_SECONDS
    assert [point["index"] for point in data["horizontal"]["peak_1"]] == list(range(30))
    assert [point["time"] for point in data["fractals"]["peaks"]] == [
        START_TIME + r * BAR_SECONDS for r in (62, 42)
    ]
    assert [point["time"] for point in data["fractals"]["bottoms"]] == [START_TIME + 52 * BAR_SECONDS]


def test_compute_overlays_returns_every_bar_when_more_are_requested() -> None:
    assert len(compute_overlays(RISING_PEAKS, SMALL, bars=5000)["ohlc"]) == 70


def test_compute_overlays_rounds_prices_to_digits() -> None:
    data = compute_overlays(RISING_PEAKS, SMALL, digits=1)
    assert data["ohlc"][-1] == {
        "time": START_TIME,
        "open": 95.0,
        "high": 95.0,
        "low": 95.0,
        "close": 95.0,
        "volume": 10,
    }
    assert data["horizontal"]["peak_1"][0]["value"] == 104.7
    assert data["fractals"]["peaks"][-1]["price"] == 100.0


def test_compute_overlays_follows_lines_per_kind() -> None:
    data = compute_overlays(RISING_PEAKS, OverlayParams(window=5, lookback=50, lines_per_kind=1))
    assert list(data["horizontal"]) == ["peak_1", "bottom_1"]
    assert list(data["diagonal"]) == ["ascending_1", "descending_1"]


def test_compute_overlays_lists_an_outside_bar_as_peak_and_bottom() -> None:
    bars = rates([2, 2, 9, 2, 2], [1, 1, -9, 1, 1])
    fractals = compute_overlays(bars, SMALL)["fractals"]
    assert fractals["peaks"] == [{"time": START_TIME + 2 * BAR_SECONDS, "price": 9.0}]
    assert fractals["bottoms"] == [{"time": START_TIME + 2 * BAR_SECONDS, "price": -9.0}]


def test_compute_overlays_draws_the_chosen_diagonal_lines_to_index_zero() -> None:
    # a falling zig-zag: peaks 1 above and bottoms 1 below price = 200 - 0.02 x row, 40 bars apart
    pivots = [(0, 199.0)]
    for k, row in enumerate(range(20, 261, 40)):
        pivots.append((row, 200 - 0.02 * row + (1 if k % 2 == 0 else -1)))
    pivots.append((280, 193.0))
    bars = zigzag(pivots)
    params = OverlayParams(window=5, lookback=280)
    overlays = find_overlays(bars["high"], bars["low"], bars["close"], params)
    data = compute_overlays(bars, params)
    assert overlays.descending_lines and not overlays.ascending_lines
    newest = bars.shape[0] - 1
    for line, key in zip(
        overlays.descending_lines, ("descending_1", "descending_2", "descending_3"), strict=False
    ):
        points = data["diagonal"][key]
        assert points[-1]["index"] == newest - line.first_row
        assert points[0] == {"index": 0, "value": pytest.approx(line.value_at(newest))}
        assert line.touches >= 4


def test_compute_overlays_of_no_bars_is_empty() -> None:
    data = compute_overlays(np.empty(0, dtype=RATES_DTYPE))
    assert data["ohlc"] == []
    assert all(points == [] for points in data["horizontal"].values())
    assert data["fractals"] == {"peaks": [], "bottoms": []}


def test_compute_overlays_refuses_rates_without_the_bar_fields() -> None:
    with pytest.raises(ValueError, match="tick_volume"):
        compute_overlays(
            np.zeros(
                3, dtype=[("time", "<i8"), ("open", "<f8"), ("high", "<f8"), ("low", "<f8"), ("close", "<f8")]
            )
        )


def test_compute_overlays_refuses_fewer_than_one_bar() -> None:
    with pytest.raises(ValueError, match="bars"):
        compute_overlays(RISING_PEAKS, SMALL, bars=0)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    count=st.integers(0, 600),
    window=st.sampled_from([3, 5, 11, 35]),
    lookback=st.integers(50, 600),
    mode=st.sampled_from(["percent", "atr"]),
    tolerance=st.floats(0.01, 50),
    flat=st.booleans(),
)
def test_compute_overlays_holds_its_shape_for_any_valid_parameters(
    seed: int, count: int, window: int, lookback: int, mode: str, tolerance: float, flat: bool
) -> None:
    rng = np.random.default_rng(seed)
    # flat series (ATR 0, every high equal) probe the degenerate corners
    close = np.full(count, 100.0) if flat else 100 + np.cumsum(rng.normal(0, 0.5, count))
    spread = np.zeros(count) if flat else rng.uniform(0, 0.5, count)
    bars = rates(close + spread, close - spread, close)
    params = OverlayParams(
        window=window,
        lookback=min(lookback, 300 * (window + 1) // 2),
        tolerance_mode=mode,  # type: ignore[arg-type]
        tolerance_percent=tolerance,
        tolerance_atr=tolerance,
        diagonal_min_span=20,
    )
    shown = int(rng.integers(1, 700))
    data = compute_overlays(bars, params, bars=shown, digits=3)
    assert len(data["ohlc"]) == min(shown, count)
    for points in (*data["horizontal"].values(), *data["diagonal"].values()):
        assert [point["index"] for point in points] == list(range(len(points)))
        assert len(points) <= min(shown, count)
    orjson.dumps(data)
