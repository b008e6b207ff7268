"""The market's live edge: it follows a manual clock and never serves the future."""

from __future__ import annotations

import numpy as np
import pytest

from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.market import Market
from mt5gateway.sim.symbols import DEFAULT_SYMBOLS
from mt5gateway.terminal import constants as c

DAY = 86_400
WEDNESDAY = 1_763_510_400  # 2025-11-19 00:00 UTC
START_MSC = (WEDNESDAY + 10 * 3600 + 15 * 60) * 1000 + 30_250  # 10:15:30.25
SEED = 5


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_MSC)


@pytest.fixture
def market(clock: ManualClock) -> Market:
    return Market(DEFAULT_SYMBOLS, seed=SEED, clock=clock)


def _history(now_msc: int) -> Market:
    """The same market seen from later, where the bars of ``now_msc`` are closed history."""
    return Market(DEFAULT_SYMBOLS, seed=SEED, clock=ManualClock(now_msc + 7 * DAY * 1000))


def test_nothing_comes_from_the_future(market: Market, clock: ManualClock) -> None:
    now = clock.now_msc()
    bars = market.rates_range("EURUSD", c.TIMEFRAME_M1, WEDNESDAY, WEDNESDAY + 2 * DAY)
    assert bars["time"][-1] * 1000 <= now
    ticks = market.ticks_range("EURUSD", (WEDNESDAY + 10 * 3600) * 1000, now + 3_600_000, c.COPY_TICKS_ALL)
    assert ticks["time_msc"][-1] <= now
    assert len(market.ticks_from("EURUSD", now + 1, 100, c.COPY_TICKS_ALL)) == 0
    assert len(market.rates_from("EURUSD", c.TIMEFRAME_H1, now // 1000 + 10 * DAY, 5)) == 5
    assert market.rates_from("EURUSD", c.TIMEFRAME_H1, now // 1000 + 10 * DAY, 5)["time"][-1] <= now // 1000


def test_current_bar_is_the_aggregate_of_the_ticks_so_far(market: Market, clock: ManualClock) -> None:
    now = clock.now_msc()
    minute = now // 60_000 * 60
    current = market.rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 1)[0]
    ticks = market.ticks_range("EURUSD", minute * 1000, now, c.COPY_TICKS_ALL)
    assert current["time"] == minute
    assert current["open"] == ticks["bid"][0] and current["close"] == ticks["bid"][-1]
    assert current["high"] == ticks["bid"].max() and current["low"] == ticks["bid"].min()
    assert current["tick_volume"] == len(ticks)
    full = _history(now).rates_range("EURUSD", c.TIMEFRAME_M1, minute, minute)[0]
    assert current["tick_volume"] < full["tick_volume"]
    hour = market.rates_from_pos("EURUSD", c.TIMEFRAME_H1, 0, 1)[0]
    minutes = market.rates_range("EURUSD", c.TIMEFRAME_M1, minute - minute % 3600, minute)
    assert hour["high"] == minutes["high"].max() and hour["close"] == minutes["close"][-1]
    assert hour["tick_volume"] == minutes["tick_volume"].sum()


def test_a_new_bar_appears_when_the_minute_turns(market: Market, clock: ManualClock) -> None:
    before = market.rates_from_pos("GBPUSD", c.TIMEFRAME_M1, 0, 3)
    clock.advance(60)
    after = market.rates_from_pos("GBPUSD", c.TIMEFRAME_M1, 0, 3)
    assert after["time"][-1] == before["time"][-1] + 60
    closed = _history(clock.now_msc()).rates_range("GBPUSD", c.TIMEFRAME_M1, *([int(before["time"][-1])] * 2))
    assert np.array_equal(after[-2:-1], closed)
    assert np.array_equal(after[:-2], before[1:-1])


def test_the_forming_bar_grows_with_the_clock(market: Market, clock: ManualClock) -> None:
    volumes = []
    for _ in range(5):
        volumes.append(int(market.rates_from_pos("XAUUSD", c.TIMEFRAME_M1, 0, 1)["tick_volume"][0]))
        clock.advance(5)
    assert volumes == sorted(volumes) and volumes[-1] > volumes[0]


def test_last_tick_is_the_newest_tick_at_or_before_now(market: Market, clock: ManualClock) -> None:
    for _ in range(20):
        now = clock.now_msc()
        tick = market.last_tick("USDJPY")
        newest = market.ticks_range("USDJPY", now - 600_000, now, c.COPY_TICKS_ALL)[-1]
        assert tick.time_msc == newest["time_msc"] <= now
        assert (tick.bid, tick.ask, tick.flags) == (newest["bid"], newest["ask"], newest["flags"])
        clock.advance(0.737)


def test_last_tick_at_the_turn_of_an_hour(market: Market, clock: ManualClock) -> None:
    clock.set_msc((WEDNESDAY + 11 * 3600) * 1000)  # before the first tick of the 11:00 chunk
    tick = market.last_tick("EURUSD")
    assert (WEDNESDAY + 10 * 3600 + 59 * 60) * 1000 <= tick.time_msc <= clock.now_msc()


def test_last_tick_on_a_weekend_is_the_close_of_friday(market: Market, clock: ManualClock) -> None:
    saturday = WEDNESDAY + 3 * DAY
    clock.set_msc((saturday + 15 * 3600) * 1000)
    tick = market.last_tick("EURUSD")
    friday_close = market.rates_range("EURUSD", c.TIMEFRAME_M1, saturday - 60, saturday)[-1]
    assert saturday * 1000 - 60_000 <= tick.time_msc < saturday * 1000
    assert tick.bid == friday_close["close"]
    assert market.rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 1)["time"][0] == saturday - 60
    crypto = market.last_tick("BTCUSD")
    assert clock.now_msc() - 60_000 < crypto.time_msc <= clock.now_msc()


def test_index_last_tick_after_the_session_close(market: Market, clock: ManualClock) -> None:
    clock.set_msc((WEDNESDAY + 24 * 3600 + 30 * 60) * 1000)  # Thursday 00:30, in the daily pause
    assert (
        (WEDNESDAY + 24 * 3600 - 60) * 1000
        <= market.last_tick("US30").time_msc
        < (WEDNESDAY + 24 * 3600) * 1000
    )


def test_last_tick_stays_at_the_close_through_the_weekend(market: Market, clock: ManualClock) -> None:
    saturday = WEDNESDAY + 3 * DAY
    clock.set_msc(saturday * 1000 + 1)
    close = market.last_tick("GBPUSD")
    for _ in range(30):
        clock.advance(1_800)
        assert market.last_tick("GBPUSD") == close
    assert clock.now_msc() > (saturday + 14 * 3600) * 1000
