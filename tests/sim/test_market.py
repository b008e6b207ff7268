"""The simulated market's history: determinism, sessions, aggregation, ticks, request semantics."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.market import Market, MarketError, UnknownSymbol
from mt5gateway.sim.symbols import DEFAULT_SYMBOLS, SessionKind
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.dtypes import RATES_DTYPE, TICKS_DTYPE

DAY = 86_400
MONDAY = 1_763_337_600  # 2025-11-17 00:00 UTC
NOW_MSC = (MONDAY + 4 * DAY + 12 * 3600) * 1000 + 30_500  # Friday 12:00:30.5
SEED = 11
# four whole weeks, Sunday 2025-09-28 to Saturday 2025-10-25, that contain October 1..25
WEEKS_FROM = 1_759_017_600
WEEKS_TO = WEEKS_FROM + 28 * DAY - 1


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(DEFAULT_SYMBOLS, seed=SEED, clock=ManualClock(NOW_MSC))


def _digest(market: Market) -> str:
    rates = market.rates_range("EURUSD", c.TIMEFRAME_M1, MONDAY, MONDAY + DAY)
    daily = market.rates_from("BTCUSD", c.TIMEFRAME_D1, MONDAY, 300)
    ticks = market.ticks_range(
        "US30", (MONDAY + 15 * 3600) * 1000, (MONDAY + 16 * 3600) * 1000, c.COPY_TICKS_ALL
    )
    return hashlib.sha256(rates.tobytes() + daily.tobytes() + ticks.tobytes()).hexdigest()


def test_history_is_identical_in_another_process(market: Market) -> None:
    script = (
        "from mt5gateway.sim.clock import ManualClock\n"
        "from mt5gateway.sim.market import Market\n"
        "from mt5gateway.sim.symbols import DEFAULT_SYMBOLS\n"
        "from tests.sim.test_market import NOW_MSC, SEED, _digest\n"
        "print(_digest(Market(DEFAULT_SYMBOLS, seed=SEED, clock=ManualClock(NOW_MSC))))\n"
    )
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120, cwd=repo
    )
    assert result.stdout.strip() == _digest(market)


def test_history_depends_on_the_seed(market: Market) -> None:
    other = Market(DEFAULT_SYMBOLS, seed=SEED + 1, clock=ManualClock(NOW_MSC))
    assert _digest(other) != _digest(market)


def test_results_have_the_module_dtypes(market: Market) -> None:
    assert market.rates_from_pos("EURUSD", c.TIMEFRAME_H1, 0, 10).dtype == RATES_DTYPE
    assert market.ticks_from("EURUSD", NOW_MSC - 60_000, 10, c.COPY_TICKS_ALL).dtype == TICKS_DTYPE


@pytest.mark.parametrize("name", sorted(DEFAULT_SYMBOLS))
def test_minute_bars_cover_exactly_the_session(market: Market, name: str) -> None:
    spec = DEFAULT_SYMBOLS[name]
    week_start = MONDAY - 7 * DAY - DAY  # Sunday, so the week has both weekend days
    bars = market.rates_range(name, c.TIMEFRAME_M1, week_start, week_start + 7 * DAY - 1)
    minutes = week_start + 60 * np.arange(7 * 1440)
    assert bars["time"].tolist() == minutes[spec.sessions.open_mask(minutes)].tolist()
    weekend = (bars["time"] // DAY + 3) % 7 >= 5
    assert weekend.any() == (spec.session is SessionKind.CRYPTO)
    if spec.session is SessionKind.INDEX:
        hours = bars["time"] % DAY // 3600
        assert hours.min() == 1 and hours.max() == 23  # the rollover hour is a pause


@pytest.mark.parametrize("name", sorted(DEFAULT_SYMBOLS))
def test_bars_are_well_formed(market: Market, name: str) -> None:
    bars = market.rates_range(name, c.TIMEFRAME_M1, MONDAY, MONDAY + DAY)
    scale = 10 ** DEFAULT_SYMBOLS[name].digits
    for field in ("open", "high", "low", "close"):
        assert np.array_equal(np.round(bars[field] * scale) / scale, bars[field])
    assert (bars["high"] >= np.maximum(bars["open"], bars["close"])).all()
    assert (bars["low"] <= np.minimum(bars["open"], bars["close"])).all()
    assert (bars["low"] > 0).all() and (bars["tick_volume"] >= 4).all() and (bars["spread"] >= 1).all()
    assert (bars["real_volume"] == 0).all()


def _reference_bars(minutes: np.ndarray, keys: np.ndarray) -> list[tuple[object, ...]]:
    """Aggregation done the slow, obvious way: one group at a time."""
    out = []
    for key in sorted(set(keys.tolist())):
        group = minutes[keys == key]
        out.append(
            (
                key,
                group["open"][0],
                group["high"].max(),
                group["low"].min(),
                group["close"][-1],
                int(group["tick_volume"].sum()),
                int(group["spread"].min()),
                0,
            )
        )
    return out


def _keys(times: np.ndarray, timeframe: int) -> np.ndarray:
    if timeframe == c.TIMEFRAME_W1:
        weekday_from_sunday = (times // DAY + 4) % 7
        return times - times % DAY - weekday_from_sunday * DAY
    if timeframe == c.TIMEFRAME_MN1:
        return times.astype("datetime64[s]").astype("datetime64[M]").astype("datetime64[s]").astype(np.int64)
    length = {c.TIMEFRAME_M5: 300, c.TIMEFRAME_M15: 900, c.TIMEFRAME_M30: 1800, c.TIMEFRAME_H1: 3600,
              c.TIMEFRAME_H4: 14_400, c.TIMEFRAME_H12: 43_200, c.TIMEFRAME_D1: DAY}[timeframe]  # fmt: skip
    return times - times % length


@pytest.mark.parametrize("name", sorted(DEFAULT_SYMBOLS))
def test_higher_timeframes_aggregate_minutes_exactly(market: Market, name: str) -> None:
    minutes = market.rates_range(name, c.TIMEFRAME_M1, WEEKS_FROM, WEEKS_TO)
    for timeframe in (c.TIMEFRAME_H1, c.TIMEFRAME_H4, c.TIMEFRAME_D1, c.TIMEFRAME_W1):
        bars = market.rates_range(name, timeframe, WEEKS_FROM, WEEKS_TO)
        assert bars.tolist() == _reference_bars(minutes, _keys(minutes["time"], timeframe)), timeframe
    assert all(
        (t // DAY + 4) % 7 == 0
        for t in market.rates_range(name, c.TIMEFRAME_W1, WEEKS_FROM, WEEKS_TO)["time"]
    )


@pytest.mark.parametrize("name", ["EURUSD", "US30", "BTCUSD", "XAUUSD"])
@pytest.mark.parametrize("timeframe", [c.TIMEFRAME_M5, c.TIMEFRAME_M15, c.TIMEFRAME_M30, c.TIMEFRAME_H12])
def test_intraday_timeframes_aggregate_minutes_exactly(market: Market, name: str, timeframe: int) -> None:
    start, end = MONDAY - 3 * DAY, MONDAY + 2 * DAY - 1  # across a weekend
    minutes = market.rates_range(name, c.TIMEFRAME_M1, start, end)
    bars = market.rates_range(name, timeframe, start, end)
    assert bars.tolist() == _reference_bars(minutes, _keys(minutes["time"], timeframe))


def test_month_bar_aggregates_its_minutes(market: Market) -> None:
    october, november = 1_759_276_800, 1_761_955_200
    minutes = market.rates_range("ETHUSD", c.TIMEFRAME_M1, october, november - 1)
    months = market.rates_range("ETHUSD", c.TIMEFRAME_MN1, october - 40 * DAY, november - 1)
    assert months["time"].tolist()[-2:] == [1_756_684_800, october]  # September 1st, October 1st
    assert months[-1:].tolist() == _reference_bars(minutes, np.full(len(minutes), october))


def _check_ticks_draw_bars(ticks: np.ndarray, bars: np.ndarray, digits: int) -> None:
    minute = ticks["time_msc"] // 60_000 * 60
    times, first, count = np.unique(minute, return_index=True, return_counts=True)
    assert times.tolist() == bars["time"].tolist()
    assert count.tolist() == bars["tick_volume"].tolist()
    assert ticks["bid"][first].tolist() == bars["open"].tolist()
    assert ticks["bid"][first + count - 1].tolist() == bars["close"].tolist()
    assert np.maximum.reduceat(ticks["bid"], first).tolist() == bars["high"].tolist()
    assert np.minimum.reduceat(ticks["bid"], first).tolist() == bars["low"].tolist()
    spread = np.rint((ticks["ask"] - ticks["bid"]) * 10**digits).astype(np.int64)
    assert np.minimum.reduceat(spread, first).tolist() == bars["spread"].tolist()


@pytest.mark.parametrize("name", ["EURUSD", "USDJPY", "US30", "BTCUSD", "XAGUSD"])
def test_ticks_reproduce_their_minute_bars(market: Market, name: str) -> None:
    start = MONDAY + 2 * DAY + 13 * 3600 + 20 * 60  # Wednesday, through the New York open
    ticks = market.ticks_range(name, start * 1000, (start + 7200) * 1000 - 1, c.COPY_TICKS_ALL)
    bars = market.rates_range(name, c.TIMEFRAME_M1, start, start + 7199)
    _check_ticks_draw_bars(ticks, bars, DEFAULT_SYMBOLS[name].digits)


def test_tick_fields_follow_the_module(market: Market) -> None:
    ticks = market.ticks_range("EURUSD", MONDAY * 1000, (MONDAY + DAY) * 1000 - 1, c.COPY_TICKS_ALL)
    assert 30 * 1440 < len(ticks) < 100 * 1440
    assert (np.diff(ticks["time_msc"]) > 0).all()
    assert (ticks["time"] == ticks["time_msc"] // 1000).all()
    assert (ticks["ask"] > ticks["bid"]).all()
    assert (ticks["last"] == 0).all() and (ticks["volume"] == 0).all() and (ticks["volume_real"] == 0).all()
    both = c.TICK_FLAG_BID | c.TICK_FLAG_ASK
    assert set(np.unique(ticks["flags"]).tolist()) <= {c.TICK_FLAG_BID, c.TICK_FLAG_ASK, both}
    # flags tell what changed since the previous tick; the first tick of each hour has both
    hour = ticks["time_msc"] // 3_600_000
    inside = hour[1:] == hour[:-1]
    bid_moved = (np.diff(ticks["bid"]) != 0)[inside]
    ask_moved = (np.diff(ticks["ask"]) != 0)[inside]
    flags = ticks["flags"][1:][inside]
    assert (ticks["flags"][1:][~inside] == both).all()
    assert np.array_equal((flags & c.TICK_FLAG_BID) != 0, bid_moved | ~(bid_moved | ask_moved))
    assert np.array_equal((flags & c.TICK_FLAG_ASK) != 0, ask_moved | ~(bid_moved | ask_moved))
    info = market.ticks_range("EURUSD", MONDAY * 1000, (MONDAY + DAY) * 1000 - 1, c.COPY_TICKS_INFO)
    assert np.array_equal(info, ticks)
    assert len(market.ticks_range("EURUSD", MONDAY * 1000, (MONDAY + DAY) * 1000, c.COPY_TICKS_TRADE)) == 0


def test_ticks_from_counts_forward_over_the_weekend(market: Market) -> None:
    saturday_msc = (MONDAY - 2 * DAY) * 1000
    ticks = market.ticks_from("EURUSD", saturday_msc, 500, c.COPY_TICKS_ALL)
    assert len(ticks) == 500
    assert ticks["time_msc"][0] >= MONDAY * 1000
    later = market.ticks_range("EURUSD", MONDAY * 1000, int(ticks["time_msc"][-1]), c.COPY_TICKS_ALL)
    assert np.array_equal(later, ticks)


def test_spreads_widen_at_rollover(market: Market) -> None:
    bars = market.rates_range("EURUSD", c.TIMEFRAME_M1, MONDAY, MONDAY + 4 * DAY)
    minute_of_day = bars["time"] % DAY // 60
    rollover = bars["spread"][(minute_of_day >= 1438) | (minute_of_day <= 2)]
    london = bars["spread"][(minute_of_day >= 600) & (minute_of_day < 720)]
    assert rollover.mean() > 2.5 * london.mean()


def test_activity_follows_the_trading_day(market: Market) -> None:
    bars = market.rates_range("EURUSD", c.TIMEFRAME_H1, MONDAY, MONDAY + 5 * DAY - 1)
    hour = bars["time"] % DAY // 3600
    busy = bars["tick_volume"][(hour >= 8) & (hour < 17)].mean()
    quiet = bars["tick_volume"][hour >= 21].mean()
    assert busy > 2 * quiet
    ranges = bars["high"] - bars["low"]
    assert ranges[(hour >= 8) & (hour < 17)].mean() > 1.5 * ranges[hour >= 21].mean()


@pytest.mark.parametrize("name", ["EURUSD", "XAUUSD", "BTCUSD", "NDX100"])
def test_prices_have_a_realistic_level_and_volatility(market: Market, name: str) -> None:
    spec = DEFAULT_SYMBOLS[name]
    daily = market.rates_from_pos(name, c.TIMEFRAME_D1, 0, 1_000)
    returns = np.diff(np.log(daily["close"]))
    days_per_year = 365.25 * len(spec.sessions.weekdays) / 7
    realised = returns.std() * np.sqrt(days_per_year)
    assert 0.5 * spec.annual_volatility < realised < 1.6 * spec.annual_volatility
    assert 1 / 4 < daily["close"][-1] / spec.start_price < 4
    # volatility clusters: squared returns are positively autocorrelated
    squared = returns**2 - (returns**2).mean()
    assert (squared[1:] * squared[:-1]).mean() > 0


def test_rates_from_returns_the_bars_opened_at_or_before_the_date(market: Market) -> None:
    date_from = MONDAY + 2 * DAY + 10 * 3600 + 17 * 60 + 5  # Wednesday 10:17:05
    bars = market.rates_from("GBPUSD", c.TIMEFRAME_M5, date_from, 50)
    assert len(bars) == 50
    assert bars["time"][-1] == date_from - date_from % 300
    assert (np.diff(bars["time"]) == 300).all()
    same = market.rates_range("GBPUSD", c.TIMEFRAME_M5, int(bars["time"][0]), date_from)
    assert np.array_equal(same, bars)


def test_rates_from_pos_walks_back_across_the_weekend() -> None:
    now_msc = (MONDAY + 30 * 60 + 20) * 1000  # Monday 00:30:20
    market = Market(DEFAULT_SYMBOLS, seed=SEED, clock=ManualClock(now_msc))
    minutes = market.rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 60)
    friday_close = MONDAY - 2 * DAY - 60
    assert minutes["time"][-1] == MONDAY + 30 * 60
    assert minutes["time"][-31] == MONDAY and minutes["time"][-32] == friday_close
    hours = market.rates_from_pos("EURUSD", c.TIMEFRAME_H1, 1, 3)
    friday_last_hour = MONDAY - 2 * DAY - 3600
    assert hours["time"].tolist() == [friday_last_hour - 7200, friday_last_hour - 3600, friday_last_hour]
    assert len(market.rates_from_pos("EURUSD", c.TIMEFRAME_M1, 10_000_000_000, 5)) == 0


def test_history_starts_in_2000(market: Market) -> None:
    assert len(market.rates_range("EURUSD", c.TIMEFRAME_D1, 0, 946_684_799)) == 0
    first = market.rates_range("EURUSD", c.TIMEFRAME_D1, 0, 946_684_800 + 3 * DAY)
    assert first["time"][0] == 946_684_800 + 2 * DAY  # 2000-01-01 was a Saturday: Monday the 3rd


def test_session_helpers(market: Market) -> None:
    assert market.is_open("US30", MONDAY + 15 * 3600) and not market.is_open("US30", MONDAY)
    assert market.open_mask("BTCUSD", [MONDAY - DAY, MONDAY]).tolist() == [True, True]
    assert len(market.session_minutes("EURUSD", MONDAY // DAY)) == 1440
    assert market.spec("EURUSD") is market.symbols["EURUSD"]


def test_bad_requests_raise_clear_errors(market: Market) -> None:
    with pytest.raises(UnknownSymbol, match="NOPE") as raised:
        market.rates_from_pos("NOPE", c.TIMEFRAME_M1, 0, 1)
    assert isinstance(raised.value, KeyError) and isinstance(raised.value, MarketError)
    with pytest.raises(MarketError, match="timeframe"):
        market.rates_from_pos("EURUSD", 7, 0, 1)
    with pytest.raises(MarketError, match="count"):
        market.rates_from("EURUSD", c.TIMEFRAME_M1, MONDAY, -1)
    with pytest.raises(MarketError, match="start_pos"):
        market.rates_from_pos("EURUSD", c.TIMEFRAME_M1, -1, 1)
    with pytest.raises(MarketError, match="flags"):
        market.ticks_range("EURUSD", 0, 1, 99)
    with pytest.raises(UnknownSymbol):
        market.last_tick("NOPE")


@pytest.mark.parametrize("timeframe", [c.TIMEFRAME_M1, c.TIMEFRAME_M20, c.TIMEFRAME_H12, c.TIMEFRAME_D1])
@pytest.mark.parametrize("name", ["EURUSD", "US30"])
def test_rates_from_pos_far_back_matches_counting_from_now(market: Market, name: str, timeframe: int) -> None:
    everything = market.rates_from_pos(name, timeframe, 0, 3_000)
    for start_pos in (0, 1, 700, 1_440, 2_000, 2_990):
        bars = market.rates_from_pos(name, timeframe, start_pos, 10)
        assert np.array_equal(
            bars, everything[len(everything) - start_pos - 10 : len(everything) - start_pos]
        )


def test_history_does_not_depend_on_what_was_asked_before() -> None:
    direct = Market(DEFAULT_SYMBOLS, seed=SEED, clock=ManualClock(NOW_MSC))
    wandering = Market(DEFAULT_SYMBOLS, seed=SEED, clock=ManualClock(NOW_MSC))
    wandering.rates_range("AUDUSD", c.TIMEFRAME_M1, 1_000_000_000, 1_000_100_000)  # 2001 first
    wandering.ticks_range(
        "AUDUSD", (MONDAY - 7 * DAY) * 1000, (MONDAY - 7 * DAY + 600) * 1000, c.COPY_TICKS_ALL
    )
    for market in (direct, wandering):
        market.last_tick("AUDUSD")
    assert np.array_equal(
        direct.rates_from_pos("AUDUSD", c.TIMEFRAME_H4, 0, 2_000),
        wandering.rates_from_pos("AUDUSD", c.TIMEFRAME_H4, 0, 2_000),
    )
    assert np.array_equal(
        direct.rates_range("AUDUSD", c.TIMEFRAME_M1, 1_000_000_000, 1_000_100_000),
        wandering.rates_range("AUDUSD", c.TIMEFRAME_M1, 1_000_000_000, 1_000_100_000),
    )


def test_results_are_copies_a_caller_may_edit(market: Market) -> None:
    bars = market.rates_range("EURUSD", c.TIMEFRAME_M1, MONDAY + 3600, MONDAY + 7200)
    ticks = market.ticks_range("EURUSD", (MONDAY + 3600) * 1000, (MONDAY + 3660) * 1000, c.COPY_TICKS_ALL)
    latest = market.rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 5)
    kept = bars.copy(), ticks.copy(), latest.copy()
    for array in (bars, ticks, latest):
        array["time"] = 0
    assert np.array_equal(market.rates_range("EURUSD", c.TIMEFRAME_M1, MONDAY + 3600, MONDAY + 7200), kept[0])
    assert np.array_equal(
        market.ticks_range("EURUSD", (MONDAY + 3600) * 1000, (MONDAY + 3660) * 1000, c.COPY_TICKS_ALL),
        kept[1],
    )
    assert np.array_equal(market.rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 5), kept[2])


@pytest.mark.parametrize("name", ["EURUSD", "XAUUSD", "US30"])
def test_a_day_is_the_same_alone_or_in_a_month(name: str) -> None:
    # January 2024 holds US jobs and inflation releases, an ECB and a BoJ decision: days with jumps,
    # generated in one batch with the others when the whole month is asked for at once.
    start, end = 1_704_153_600, 1_706_745_600  # 2024-01-02 .. 2024-02-01
    month = Market(DEFAULT_SYMBOLS, seed=SEED, clock=ManualClock(NOW_MSC))
    whole = month.rates_range(name, c.TIMEFRAME_M1, start, end)
    for day in range(start, end, DAY):
        alone = Market(DEFAULT_SYMBOLS, seed=SEED, clock=ManualClock(NOW_MSC))
        expected = alone.rates_range(name, c.TIMEFRAME_M1, day, day + DAY - 1)
        got = whole[(whole["time"] >= day) & (whole["time"] < day + DAY)]
        assert np.array_equal(got, expected), f"{name} on day {day}"
