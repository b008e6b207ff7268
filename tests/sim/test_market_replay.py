"""Replaying real bars from a CSV file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.market import Market, MarketError
from mt5gateway.sim.replay import load_replay_csv
from mt5gateway.sim.symbols import DEFAULT_SYMBOLS
from mt5gateway.terminal import constants as c

MONDAY = 1_763_337_600  # 2025-11-17 00:00 UTC
LATER_MSC = (MONDAY + 30 * 86_400) * 1000

# M5 bars of EURUSD, Monday 2025-11-17 from 10:00; the 10:10 bar claims 1 tick but needs 4
CSV = """time,open,high,low,close,tick_volume,spread
2025-11-17 10:00,1.08500,1.08530,1.08490,1.08520,120,8
2025.11.17 10:05:00,1.08521,1.08525,1.08510,1.08511,95,9
2025-11-17T10:10:00,1.08512,1.08560,1.08500,1.08550,1,7
1763374500,1.08550,1.08550,1.08550,1.08550,1,12
2025-11-17 11:00,1.08600,1.08610,1.08590,1.08600,300,10
"""


@pytest.fixture
def csv_path(tmp_path: Path) -> Path:
    path = tmp_path / "EURUSD_M5.csv"
    path.write_text(CSV)
    return path


def test_load_reads_times_in_every_format_and_infers_the_timeframe(csv_path: Path) -> None:
    bars = load_replay_csv(csv_path)
    assert bars.symbol == "EURUSD" and bars.timeframe_seconds == 300 and bars.has_spread
    assert bars.rates["time"].tolist() == [MONDAY + 36_000 + 300 * i for i in (0, 1, 2, 3, 12)]


def test_market_serves_the_replayed_bars(csv_path: Path) -> None:
    market = Market(DEFAULT_SYMBOLS, seed=1, clock=ManualClock(LATER_MSC), replay=[str(csv_path)])
    bars = market.rates_range("EURUSD", c.TIMEFRAME_M5, MONDAY, MONDAY + 86_400)
    assert bars["close"].tolist() == [1.0852, 1.08511, 1.0855, 1.0855, 1.086]
    assert bars["tick_volume"].tolist() == [120, 95, 4, 1, 300]  # raised to what the bar needs
    assert bars["spread"].tolist() == [8, 9, 7, 12, 10]
    hours = market.rates_range("EURUSD", c.TIMEFRAME_H1, MONDAY, MONDAY + 86_400)
    assert hours[["time", "open", "high", "low", "close", "tick_volume", "spread"]].tolist() == [
        (MONDAY + 36_000, 1.085, 1.0856, 1.0849, 1.0855, 220, 7),
        (MONDAY + 39_600, 1.086, 1.0861, 1.0859, 1.086, 300, 10),
    ]
    assert len(market.rates_range("GBPUSD", c.TIMEFRAME_M5, MONDAY, MONDAY + 86_399)) == 288  # generated


def test_replayed_bars_get_ticks_that_draw_them(csv_path: Path) -> None:
    market = Market(DEFAULT_SYMBOLS, seed=1, clock=ManualClock(LATER_MSC), replay=[load_replay_csv(csv_path)])
    bars = market.rates_range("EURUSD", c.TIMEFRAME_M5, MONDAY, MONDAY + 86_400)
    ticks = market.ticks_range("EURUSD", MONDAY * 1000, (MONDAY + 86_400) * 1000, c.COPY_TICKS_ALL)
    assert (np.diff(ticks["time_msc"]) > 0).all()
    times, first, count = np.unique(ticks["time_msc"] // 300_000 * 300, return_index=True, return_counts=True)
    assert times.tolist() == bars["time"].tolist() and count.tolist() == bars["tick_volume"].tolist()
    assert ticks["bid"][first].tolist() == bars["open"].tolist()
    assert ticks["bid"][first + count - 1].tolist() == bars["close"].tolist()
    assert np.maximum.reduceat(ticks["bid"], first).tolist() == bars["high"].tolist()
    assert np.minimum.reduceat(ticks["bid"], first).tolist() == bars["low"].tolist()
    assert (ticks["flags"] != 0).all()


def test_replay_live_edge_builds_the_forming_bar(csv_path: Path) -> None:
    now_msc = (MONDAY + 36_000 + 150) * 1000  # halfway through the first bar
    market = Market(DEFAULT_SYMBOLS, seed=1, clock=ManualClock(now_msc), replay=[csv_path])
    forming = market.rates_from_pos("EURUSD", c.TIMEFRAME_M5, 0, 5)
    assert len(forming) == 1 and forming["time"][0] == MONDAY + 36_000
    assert 0 < forming["tick_volume"][0] < 120
    assert market.last_tick("EURUSD").time_msc <= now_msc


def test_replay_refuses_timeframes_it_cannot_build(csv_path: Path) -> None:
    market = Market(DEFAULT_SYMBOLS, seed=1, clock=ManualClock(LATER_MSC), replay=[csv_path])
    with pytest.raises(MarketError, match="replays 300 s bars"):
        market.rates_range("EURUSD", c.TIMEFRAME_M1, MONDAY, MONDAY + 86_400)
    with pytest.raises(MarketError, match="replays"):
        market.rates_range("EURUSD", c.TIMEFRAME_M2, MONDAY, MONDAY + 86_400)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,open,high,low,close\n", "missing columns tick_volume"),
        ("time,open,high,low,close,tick_volume\n", "no bars"),
        ("time,open,high,low,close,tick_volume\n1763373600,1.1,1.0,1.0,1.05,3\n", "high/low"),
        ("time,open,high,low,close,tick_volume\n1763373600,1.1,1.2,1.0,abc,3\n", "abc"),
        ("time,open,high,low,close,tick_volume\n1763373600,1,1,1,1,1\n1763373600,1,1,1,1,1\n", "increasing"),
    ],
)
def test_load_rejects_a_malformed_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "EURUSD.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_replay_csv(path)


def test_replay_of_an_unknown_symbol_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ZZZ_M5.csv"
    path.write_text(CSV)
    with pytest.raises(KeyError, match="ZZZ"):
        Market(DEFAULT_SYMBOLS, seed=1, clock=ManualClock(LATER_MSC), replay=[path])
