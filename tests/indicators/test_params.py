"""Overlay parameters: SPEC 7 defaults, explicit ranges, query parsing into BadRequest."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mt5gateway.errors import BadRequest
from mt5gateway.indicators import OverlayParams, minimum_history, parse_overlay_params


def test_overlay_params_defaults_are_the_spec_ones() -> None:
    params = OverlayParams()
    assert (params.window, params.side, params.lookback, params.atr_period) == (35, 17, 400, 14)
    assert (params.tolerance_mode, params.tolerance_percent, params.tolerance_atr) == ("percent", 1.5, 1.5)
    assert (params.horizontal_min_span, params.horizontal_min_touches) == (20, 3)
    assert (params.diagonal_min_span, params.diagonal_min_touches, params.diagonal_min_per_type) == (80, 4, 2)
    assert (params.diagonal_max_consecutive, params.diagonal_min_angle, params.diagonal_max_angle) == (
        2,
        2.0,
        45.0,
    )
    assert params.proximity_bands == (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
    assert params.proximity_factors == (1.0, 0.93, 0.8, 0.6, 0.4, 0.2)
    assert params.lines_per_kind == 3


def test_minimum_history_is_lookback_plus_window_plus_atr_period() -> None:
    assert minimum_history(OverlayParams()) == 400 + 35 + 14
    assert minimum_history(OverlayParams(lookback=1000, window=21, atr_period=20)) == 1041


def test_overlay_params_are_frozen_and_hashable_for_cache_keys() -> None:
    params = OverlayParams(window=21)
    assert hash(params) == hash(OverlayParams(window=21))
    assert params != OverlayParams()
    with pytest.raises(ValidationError):
        params.window = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    "bad",
    [
        {"window": 34},
        {"window": 1},
        {"lookback": 49},
        {"lookback": 5001},
        {"tolerance_mode": "pips"},
        {"tolerance_percent": 0},
        {"tolerance_atr": -1},
        {"diagonal_min_angle": 50, "diagonal_max_angle": 40},
        {"proximity_bands": (0.1, 0.05), "proximity_factors": (1.0, 0.5)},
        {"proximity_bands": (0.1,), "proximity_factors": (1.0, 0.5)},
        {"proximity_factors": (1.0, 0.93, 0.8, 0.6, 0.4, 1.2)},
        {"diagonal_min_touches": 3},
        {"window": 3, "lookback": 1000},
        {"unknown": 1},
        {"touch_weight": float("nan")},
        {"proximity_bands": (float("nan"),) * 6},
        {"tolerance_atr": float("inf")},
    ],
)
def test_overlay_params_refuse_out_of_range_values(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        OverlayParams(**bad)


def test_overlay_params_bound_the_fractal_count_by_window_and_lookback() -> None:
    # at most 300 fractals of a type fit: lookback // ((window + 1) / 2)
    assert OverlayParams(window=3, lookback=601).lookback == 601
    assert OverlayParams(window=35, lookback=5000).lookback == 5000


def test_parse_overlay_params_converts_query_strings() -> None:
    params = parse_overlay_params(
        {"window": "21", "tolerance_mode": "atr", "tolerance_atr": "0.5", "proximity_bands": "0.1,1"}
        | {"proximity_factors": ["1", "0.5"]}
    )
    assert (params.window, params.tolerance_mode, params.tolerance_atr) == (21, "atr", 0.5)
    assert params.proximity_bands == (0.1, 1.0)
    assert params.proximity_factors == (1.0, 0.5)


def test_parse_overlay_params_reports_the_field_and_its_limit() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_overlay_params({"lookback": "10"})
    assert caught.value.extra == {"field": "lookback"}
    assert "lookback" in caught.value.message
    assert "50" in caught.value.message
    assert caught.value.status == 400


def test_parse_overlay_params_refuses_unknown_names() -> None:
    with pytest.raises(BadRequest, match="bars"):
        parse_overlay_params({"bars": "1000"})


def test_parse_overlay_params_explains_an_even_window() -> None:
    with pytest.raises(BadRequest, match="window must be odd"):
        parse_overlay_params({"window": "20"})


def test_parse_overlay_params_refuses_nan() -> None:
    with pytest.raises(BadRequest, match="proximity_bands"):
        parse_overlay_params({"proximity_bands": "nan,nan,nan,nan,nan,nan"})
