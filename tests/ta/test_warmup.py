"""Warm-up: the catalogue's unstable knobs against TA-Lib's own lookbacks with the knobs set, and
values past the warm-up that no longer depend on where the history starts."""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator

import numpy as np
import pytest
import talib
from talib import abstract

from mt5gateway.errors import BadRequest
from mt5gateway.ta import (
    CATALOGUE,
    MA_TYPES,
    Bars,
    IndicatorSpec,
    TAFunction,
    checked_warmup,
    compute,
    parse_spec,
    warmup_of,
)
from mt5gateway.ta.catalogue import unstable_knobs_of
from mt5gateway.ta.warmup import MAX_WARMUP_BARS, UNSTABLE_RULES
from mt5gateway.terminal import constants as c

from .builders import DAY_START, sim_terminal

_PROBE = 1_000


@pytest.fixture
def knobs() -> Iterator[None]:
    """TA-Lib's unstable-period knobs may be turned in the test (no stream handle open); all 0 after."""
    gc.collect()  # stream handles of earlier tests, if any still wait for the collector
    yield
    for knob in UNSTABLE_RULES:
        talib.set_unstable_period(knob, 0)


def _measured_knobs(function: TAFunction, values: tuple[int | float, ...]) -> dict[str, int]:
    """How many times TA-Lib's lookback counts each knob (ceil of its slope)."""
    call = abstract.Function(function.name)
    call.set_parameters(dict(zip([p.name for p in function.parameters], values, strict=True)))
    base = call.lookback
    measured: dict[str, int] = {}
    for knob in UNSTABLE_RULES:
        talib.set_unstable_period(knob, _PROBE)
        slope = (call.lookback - base) / _PROBE
        talib.set_unstable_period(knob, 0)
        if slope:
            measured[knob] = math.ceil(slope - 1e-9)
    return measured


def _variations(function: TAFunction) -> Iterator[tuple[int | float, ...]]:
    """Our defaults, then each moving-average-type parameter set to every type in turn."""
    yield function.defaults
    for index, parameter in enumerate(function.parameters):
        if parameter.kind == "matype":
            for value in MA_TYPES.values():
                values = list(function.defaults)
                values[index] = value
                yield tuple(values)


@pytest.mark.usefixtures("knobs")
def test_written_unstable_knobs_are_talibs() -> None:
    """Exact at our defaults; never fewer than TA-Lib counts for any moving-average type."""
    for function in CATALOGUE.values():
        for values in _variations(function):
            measured = _measured_knobs(function, values)
            written = unstable_knobs_of(function, values)
            if values == function.defaults:
                assert written == measured, function.name
            for knob, count in measured.items():
                assert written.get(knob, 0) >= count, (function.name, values, knob)


@pytest.mark.usefixtures("knobs")
def test_knobs_combine_across_several_moving_average_parameters() -> None:
    """MACDEXT's three types at once: the written counts cover TA-Lib's for every combination."""
    function = CATALOGUE["MACDEXT"]
    types = list(MA_TYPES.values())
    for fast in types:
        for signal in types:
            values = (12, fast, 26, types[(fast + signal) % len(types)], 9, signal)
            measured = _measured_knobs(function, values)
            written = unstable_knobs_of(function, values)
            assert all(written.get(k, 0) >= n for k, n in measured.items()), values


def test_warmup_is_lookback_plus_the_rule_at_the_longest_period() -> None:
    assert warmup_of(parse_spec("RSI(14)")).unstable == 140  # 10 p
    assert warmup_of(parse_spec("EMA(200)")).unstable == 1005  # ceil(10 (p + 1) / 2)
    macd = warmup_of(parse_spec("MACD(12,26,9)"))
    assert (macd.lookback, macd.unstable) == (33, 2 * 135)  # two chained EMAs at the slow period
    assert warmup_of(parse_spec("HT_SINE")).unstable == 280
    assert warmup_of(parse_spec("SMA(30)")).bars == 29
    assert warmup_of(parse_spec("OBV")).bars == 0  # path-dependent: no warm-up makes it forget its start
    assert warmup_of(parse_spec("MA(30,SMA)")).unstable == 0
    assert warmup_of(parse_spec("MA(30,EMA)")).unstable == 155


def test_warmup_beyond_the_cap_is_refused() -> None:
    assert checked_warmup(parse_spec("EMA(3000)")).bars <= MAX_WARMUP_BARS
    with pytest.raises(BadRequest) as caught:
        checked_warmup(parse_spec("EMA(5000)"))
    assert "EMA(5000) needs 30004 bars of warm-up; at most 20000" in caught.value.message


def _recursive_specs() -> list[IndicatorSpec]:
    specs = [
        IndicatorSpec(f.name, f.defaults)
        for f in CATALOGUE.values()
        if unstable_knobs_of(f, f.defaults) and not f.path_dependent
    ]
    return [
        *specs,
        parse_spec("MA(30,KAMA)"),
        parse_spec("BBANDS(20,2,2,TEMA)"),
        parse_spec("STOCH(5,3,T3,3,EMA)"),
    ]


def test_values_past_the_warmup_do_not_depend_on_where_the_history_starts() -> None:
    """Two starts 700 bars apart agree, past the later start's warm-up, to 1e-4 of the series' range."""
    with sim_terminal() as terminal:
        rates = terminal.copy_rates_from(  # H1: swings wide enough to move every indicator
            "EURUSD", c.TIMEFRAME_H1, DAY_START, 4_000
        )
    bars = Bars.from_rates(rates)
    skip = 700
    late = bars.rows(skip, len(bars))
    for spec in _recursive_specs():
        trusted_from = skip + warmup_of(spec).bars
        assert trusted_from < len(bars) - 100, spec
        early_values, late_values = compute(spec, bars), compute(spec, late)
        for output, early in early_values.items():
            a, b = early[trusted_from:], late_values[output][trusted_from - skip :]
            scale = max(float(np.nanmax(early) - np.nanmin(early)), 1e-12)
            assert np.nanmax(np.abs(a - b)) <= 1e-4 * scale, (spec.canonical, output)
