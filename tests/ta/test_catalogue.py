"""The written-down catalogue against the installed TA-Lib (the pinned range, >= 0.8.1, < 0.9):
the served set, defaults, ranges, inputs, outputs and flags."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import talib
from talib import abstract

from mt5gateway.ta import CATALOGUE, MA_TYPES, PATTERNS, Parameter, TAFunction

_EXCLUDED_GROUPS = ("Math Operators", "Math Transform")


def _info(name: str) -> dict[str, Any]:
    info: dict[str, Any] = abstract.Function(name).info
    return info


def _inputs() -> dict[str, np.ndarray[Any, np.dtype[np.float64]]]:
    rng = np.random.default_rng(5)
    close = 100 + np.cumsum(rng.normal(0, 1, 300))
    return {
        "open": close + rng.normal(0, 0.2, 300),
        "high": close + 1 + rng.random(300),
        "low": close - 1 - rng.random(300),
        "close": close,
        "volume": rng.integers(1, 100, 300).astype(np.float64),
    }


def test_installed_talib_is_in_the_pinned_range() -> None:
    major, minor, patch = (int(part) for part in talib.__version__.split(".")[:3])
    assert (0, 8, 1) <= (major, minor, patch) < (0, 9, 0)


def test_served_functions_are_talibs_analysis_groups_without_mavp() -> None:
    expected = {
        name
        for group, names in talib.get_function_groups().items()
        if group not in _EXCLUDED_GROUPS
        for name in names
    } - {"MAVP"}
    assert set(CATALOGUE) == expected
    assert set(PATTERNS) == {name for name in expected if name.startswith("CDL")}


def test_documented_defaults_are_the_ones_talib_08_changed() -> None:
    bbands = CATALOGUE["BBANDS"].parameter("timeperiod")
    assert bbands is not None and bbands.default == 20  # 5 before TA-Lib 0.8
    for name in ("APO", "PPO"):
        matype = CATALOGUE[name].parameter("matype")
        assert matype is not None and matype.default == MA_TYPES["EMA"]  # SMA before TA-Lib 0.8


@pytest.mark.parametrize("function", CATALOGUE.values(), ids=lambda f: f.name)
def test_catalogue_entry_matches_installed_talib(function: TAFunction) -> None:
    info = _info(function.name)
    assert function.group == info["group"]
    assert function.display_name == info["display_name"]
    flattened = [
        column
        for value in info["input_names"].values()
        for column in (value if isinstance(value, list) else [value])
    ]
    assert list(function.inputs) == flattened
    assert list(function.outputs) == info["output_names"]
    assert dict(zip([p.name for p in function.parameters], function.defaults, strict=True)) == dict(
        info["parameters"]
    )
    flags = info["function_flags"] or []
    assert function.unstable == ("Function has an unstable period" in flags)
    assert function.path_dependent == ("Output is path-dependent" in flags)
    assert function.candlestick == ("Output is a candlestick" in flags)


def _accepted(function: TAFunction, parameter: Parameter, value: int | float, inputs: dict[str, Any]) -> bool:
    call = abstract.Function(function.name)
    call.set_parameters(
        {
            **dict(zip([p.name for p in function.parameters], function.defaults, strict=True)),
            parameter.name: value,
        }
    )
    try:
        call(inputs)
    except Exception as exc:
        assert "BAD_PARAM" in str(exc), exc
        return False
    return True


def _beyond(parameter: Parameter, value: int | float, direction: float) -> int | float:
    if parameter.kind == "float":
        return math.nextafter(float(value), direction)
    return int(value) + (1 if direction > 0 else -1)


@pytest.mark.parametrize(
    ("function", "parameter"),
    [(f, p) for f in CATALOGUE.values() for p in f.parameters],
    ids=lambda item: item.name,
)
def test_parameter_range_ends_are_accepted_and_beyond_refused(
    function: TAFunction, parameter: Parameter
) -> None:
    inputs = _inputs()
    assert _accepted(function, parameter, parameter.minimum, inputs)
    assert _accepted(function, parameter, parameter.maximum, inputs)
    assert not _accepted(function, parameter, _beyond(parameter, parameter.minimum, -math.inf), inputs)
    assert not _accepted(function, parameter, _beyond(parameter, parameter.maximum, math.inf), inputs)


def test_ma_types_are_talibs() -> None:
    assert dict(MA_TYPES) == {name: getattr(talib.MA_Type, name) for name in MA_TYPES}
    assert sorted(MA_TYPES.values()) == list(range(len(MA_TYPES)))
