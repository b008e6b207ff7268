"""The scanner's decision for one symbol: on the last closed bar (the newest bar is forming)."""

from __future__ import annotations

import talib

from mt5gateway.ta import Bars, compute, parse_conditions, parse_patterns, parse_spec, warmup_of
from mt5gateway.ta.scan import ScanQuery, scan_bars
from mt5gateway.terminal import constants as c

from .builders import DAY_START, sim_terminal


def _bars() -> Bars:
    with sim_terminal() as terminal:
        return Bars.from_rates(terminal.copy_rates_from("USDJPY", c.TIMEFRAME_M5, DAY_START, 2_000))


def _query(patterns: str = "", conditions: str = "") -> ScanQuery:
    return ScanQuery(tuple(parse_patterns(patterns)), tuple(parse_conditions(conditions)))


def test_conditions_are_judged_on_the_last_closed_bar_not_the_forming_one() -> None:
    bars = _bars()
    rsi = compute(parse_spec("RSI(14)"), bars)["real"]
    closed = float(rsi[-2])
    assert rsi[-1] != closed
    hit = scan_bars(_query(conditions=f"RSI(14) <= {closed!r}"), bars)
    assert hit is not None
    assert hit["time"] == int(bars.time[-2])
    assert hit["close"] == float(bars.close[-2])
    assert hit["values"] == {"RSI(14)": closed}
    assert scan_bars(_query(conditions=f"RSI(14) < {closed!r}"), bars) is None


def test_patterns_on_the_last_closed_bar_match_and_any_of_them_is_enough() -> None:
    bars = _bars()
    for end in range(len(bars), 200, -1):
        window = bars.rows(0, end)
        firing = [
            name
            for name in ("CDLDOJI", "CDLSPINNINGTOP", "CDLHIGHWAVE", "CDLLONGLEGGEDDOJI")
            if getattr(talib, name)(window.open, window.high, window.low, window.close)[-2]
        ]
        if firing:
            break
    hit = scan_bars(_query(patterns=f"CDLENGULFING,{firing[0]}"), window)
    assert hit is not None
    assert firing[0] in [p["pattern"] for p in hit["patterns"]]
    assert hit["patterns"][0]["time"] == int(window.time[-2])


def test_a_symbol_needs_a_pattern_and_every_condition() -> None:
    bars = _bars()
    assert scan_bars(_query(conditions="close > 0, close < 0"), bars) is None
    assert scan_bars(_query(conditions="close > 0 or close < 0"), bars) is not None
    never = "CDLCONCEALBABYSWALL"  # rare enough not to sit on this bar
    assert not talib.CDLCONCEALBABYSWALL(bars.open, bars.high, bars.low, bars.close)[-2]
    assert scan_bars(_query(patterns=never, conditions="close > 0"), bars) is None


def test_history_covers_the_longest_warmup_the_crossing_and_the_forming_bar() -> None:
    query = _query(patterns="CDLMORNINGSTAR", conditions="EMA(50) crosses_above SMA(200)")
    assert query.history_bars == warmup_of(parse_spec("EMA(50)")).bars + 3
