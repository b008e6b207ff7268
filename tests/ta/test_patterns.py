"""Candlestick patterns: choosing them, and their occurrences against direct TA-Lib calls."""

from __future__ import annotations

import numpy as np
import pytest
import talib

from mt5gateway.errors import BadRequest
from mt5gateway.ta import PATTERNS, Bars, find_patterns, parse_patterns
from mt5gateway.terminal import constants as c

from .builders import DAY_START, sim_terminal


def test_all_means_every_pattern_with_our_defaults() -> None:
    chosen = parse_patterns("all")
    assert [spec.name for spec in chosen] == list(PATTERNS)
    assert len(chosen) == 61
    assert all(spec.values == PATTERNS[spec.name].defaults for spec in chosen)


def test_patterns_are_named_with_or_without_cdl_and_repeats_drop() -> None:
    chosen = parse_patterns("ENGULFING, cdlhammer,CDLENGULFING, CDLMORNINGSTAR(0.5)")
    assert [spec.canonical for spec in chosen] == ["CDLENGULFING", "CDLHAMMER", "CDLMORNINGSTAR(0.5)"]
    assert [s.canonical for s in parse_patterns(["doji", "all"])][:2] == ["CDLDOJI", "CDL2CROWS"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("RSI", "RSI is not a candlestick pattern: GET /api/patterns lists them"),
        ("CDLNOTHING", "Unknown indicator CDLNOTHING"),
        ("CDLMORNINGSTAR(-1)", "CDLMORNINGSTAR parameter penetration must be between 0 and 3e+37"),
        ("CDLDOJI,,", "expected an indicator name"),
    ],
)
def test_bad_pattern_list_is_refused(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_patterns(text)
    assert message in caught.value.message
    assert caught.value.body()["field"] == "patterns"


def test_occurrences_are_talibs_nonzero_signals_newest_first() -> None:
    with sim_terminal() as terminal:
        bars = Bars.from_rates(terminal.copy_rates_from("GBPUSD", c.TIMEFRAME_M5, DAY_START, 3_000))
    chosen = parse_patterns("all")
    newest = 1_000
    found = find_patterns(chosen, bars, newest=newest)
    expected = set()
    for spec in chosen:
        signals = getattr(talib, spec.name)(bars.open, bars.high, bars.low, bars.close)
        for row in np.flatnonzero(signals[-newest:]) + len(bars) - newest:
            expected.add((int(bars.time[row]), spec.name, int(signals[row])))
    assert {(o.time, o.spec.name, o.signal) for o in found} == expected
    assert len(found) > 50  # a thousand M5 bars show plenty of patterns
    times = [o.time for o in found]
    assert times == sorted(times, reverse=True)
    first = found[0].as_dict()
    assert first["direction"] == ("bullish" if first["signal"] > 0 else "bearish")
    assert first["name"] == PATTERNS[first["pattern"]].display_name
