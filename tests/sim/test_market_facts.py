"""The stylized facts of real M1 data that the market model reproduces (docs/simulator.md), each
checked on several spans and symbols: fat tails, volatility clustering that fades, weekend gaps, the
trading week in New York time, the rollover spread plateau, intraday profile peaks, spreads as a
floor with bursts, tick volume tied to activity, and jumps at scheduled releases."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pytest

from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.market import Market
from mt5gateway.sim.markettime import ServerTime
from mt5gateway.sim.releases import RELEASES, releases_between
from mt5gateway.sim.symbols import CATALOGUE
from mt5gateway.terminal import constants as c

DAY = 86_400
WEEK = 7 * DAY
MONDAY = 1_735_516_800  # 2024-12-30, server time; spans below run through 2025
NEW_YORK = ZoneInfo("America/New_York")
SEEDS = (1, 2)
SPANS = (0, 10, 23, 36)  # weeks after MONDAY: winter, spring, summer, autumn
Floats = npt.NDArray[np.float64]


@pytest.fixture(scope="module", params=SEEDS)
def market(request: pytest.FixtureRequest) -> Market:
    return Market(CATALOGUE, seed=request.param, clock=ManualClock((MONDAY + 60 * WEEK) * 1000))


def _minutes(market: Market, name: str, first_week: int, weeks: int = 2) -> npt.NDArray[np.void]:
    start = MONDAY + first_week * WEEK
    return market.rates_range(name, c.TIMEFRAME_M1, start, start + weeks * WEEK - 1)


def _returns(bars: npt.NDArray[np.void]) -> tuple[Floats, npt.NDArray[np.int64]]:
    """Log returns of consecutive minutes (none across a pause) and the time of each."""
    consecutive = np.diff(bars["time"]) == 60
    returns = np.diff(np.log(bars["close"]))[consecutive]
    return returns, bars["time"][1:][consecutive]


def _excess_kurtosis(returns: Floats) -> float:
    centered = returns - returns.mean()
    return float((centered**4).mean() / centered.var() ** 2 - 3)


def _deseasonalised_abs(returns: Floats, times: npt.NDArray[np.int64]) -> Floats:
    """|r| divided by its mean in the same half hour of the day over the span."""
    bucket = times % DAY // 1800
    size = np.abs(returns)
    means = np.bincount(bucket, weights=size, minlength=48) / np.maximum(np.bincount(bucket, minlength=48), 1)
    result: Floats = size / means[bucket]
    return result


def _autocorrelation(values: Floats, lag: int) -> float:
    centered = values - values.mean()
    return float((centered[lag:] * centered[:-lag]).mean() / centered.var())


@pytest.mark.parametrize("name", ["EURUSD", "GBPUSD", "USDJPY", "AUDUSD", "EURGBP"])
def test_fx_minute_returns_have_fat_tails(market: Market, name: str) -> None:
    kurtosis = [_excess_kurtosis(_returns(_minutes(market, name, week))[0]) for week in SPANS]
    assert min(kurtosis) > 8, kurtosis  # real files: 5-350, typically 10-50; a Gaussian model: 2-7
    assert 10 < float(np.median(kurtosis)) < 150, kurtosis


@pytest.mark.parametrize("name", ["XAUUSD", "US30", "GER40", "BTCUSD"])
def test_other_classes_have_fat_tails_too(market: Market, name: str) -> None:
    kurtosis = [_excess_kurtosis(_returns(_minutes(market, name, week))[0]) for week in SPANS]
    assert min(kurtosis) > 6 and float(np.median(kurtosis)) > 10, kurtosis


@pytest.mark.parametrize("name", ["EURUSD", "USDJPY", "XAUUSD", "US30", "BTCUSD"])
def test_volatility_clusters_and_fades_within_a_quarter_hour(market: Market, name: str) -> None:
    ratios = []
    for week in SPANS:
        size = _deseasonalised_abs(*_returns(_minutes(market, name, week, weeks=3)))
        lag1 = _autocorrelation(size, 1)
        assert lag1 > 0.1  # clustering
        ratios.append(_autocorrelation(size, 15) / lag1)
    # real files: the lag-15 autocorrelation of |r| is 0.40-0.55 of the lag-1 one
    assert 0.3 < float(np.median(ratios)) < 0.65 and max(ratios) < 0.8, ratios


def _weekend_gaps_bp(market: Market, name: str, weekends: int) -> Floats:
    gaps = []
    for week in range(1, weekends + 1):
        monday = MONDAY + week * WEEK
        friday = market.rates_range(name, c.TIMEFRAME_M1, monday - 3 * DAY, monday - 2 * DAY - 1)
        opening = market.rates_range(name, c.TIMEFRAME_M1, monday, monday + 3 * 3600)
        gaps.append(abs(np.log(opening["open"][0] / friday["close"][-1])) * 1e4)
    return np.array(gaps)


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("EURUSD", 1.5, 6.0),
        ("USDJPY", 1.5, 9.0),
        ("XAUUSD", 25.0, 80.0),
        ("US30", 7.0, 30.0),
        ("NDX100", 7.0, 35.0),
    ],
)
def test_monday_opens_away_from_the_friday_close(market: Market, name: str, low: float, high: float) -> None:
    # real medians: ~3 bp for EURUSD, 40-50 for XAUUSD, 10-20 for the indices
    gaps = _weekend_gaps_bp(market, name, 40)
    assert low < float(np.median(gaps)) < high, np.median(gaps)


def test_crypto_has_no_weekend_gap(market: Market) -> None:
    bars = _minutes(market, "BTCUSD", 5)
    assert (np.diff(bars["time"]) == 60).all()
    jumps = np.abs(np.log(bars["open"][1:] / bars["close"][:-1]))
    assert jumps.max() < 20 * np.median(np.abs(_returns(bars)[0]))


def _new_york(server_time: int, convention: ServerTime) -> datetime:
    return datetime.fromtimestamp(convention.to_utc_msc(server_time * 1000) // 1000, NEW_YORK)


@pytest.mark.parametrize("convention", [ServerTime("broker"), ServerTime("UTC"), ServerTime("UTC+3")])
@pytest.mark.parametrize(
    "week", [2, 11, 23, 44]
)  # winter, the March gap between US and EU clocks, summer, autumn
def test_fx_week_runs_sunday_to_friday_17_00_new_york(convention: ServerTime, week: int) -> None:
    market = Market(CATALOGUE, seed=3, clock=ManualClock((MONDAY + 60 * WEEK) * 1000), server_time=convention)
    start = MONDAY + week * WEEK - 2 * DAY + 12 * 3600  # Saturday noon: the span holds one whole week
    for name in ("EURUSD", "XAUUSD"):
        bars = market.rates_range(name, c.TIMEFRAME_M1, start, start + WEEK - 1)
        first, last = (_new_york(int(bars["time"][i]), convention) for i in (0, -1))
        opening_hour = 17 if name == "EURUSD" else 18  # metals open after the daily pause
        assert (first.weekday(), first.hour, first.minute) == (6, opening_hour, 0), (name, first)
        assert (last.weekday(), last.hour, last.minute) == (4, 16, 59), (name, last)
    days = market.rates_range("EURUSD", c.TIMEFRAME_D1, start, start + WEEK - 1)
    # five daily bars where the server keeps New York + 7 (UTC+3 does in US summer time), and a
    # Sunday stub where it does not
    wednesday_msc = (start + 4 * DAY) * 1000
    like_a_broker = convention.to_utc_msc(wednesday_msc) == ServerTime().to_utc_msc(wednesday_msc)
    assert len(days) == (5 if like_a_broker else 6)


def test_server_time_is_utc_plus_2_or_3_as_at_a_typical_broker() -> None:
    broker = ServerTime()
    winter = int(datetime(2025, 1, 15, 12, tzinfo=UTC).timestamp() * 1000)
    summer = int(datetime(2025, 7, 15, 12, tzinfo=UTC).timestamp() * 1000)
    assert broker.from_utc_msc(winter) - winter == 2 * 3_600_000
    assert broker.from_utc_msc(summer) - summer == 3 * 3_600_000
    assert broker.to_utc_msc(broker.from_utc_msc(summer)) == summer
    # never backwards: in the hour New York repeats in November the server clock stands still
    change = int(datetime(2025, 11, 2, 6, tzinfo=UTC).timestamp() * 1000)
    shown = [broker.from_utc_msc(change + step * 600_000) for step in range(-2, 9)]
    assert shown == sorted(shown) and shown[2] == shown[6]
    with pytest.raises(ValueError, match="broker"):
        ServerTime("EET")


@pytest.mark.parametrize("week", [3, 20, 40])
def test_rollover_spread_is_a_plateau_of_half_an_hour_or_more(market: Market, week: int) -> None:
    bars = _minutes(market, "EURUSD", week, weeks=1)
    spread = bars["spread"]
    floor = CATALOGUE["EURUSD"].spread
    minute_of_day = bars["time"] % DAY // 60
    for day_start in np.flatnonzero(minute_of_day == 0):
        wide = spread[day_start : day_start + 90] >= 2.5 * floor
        plateau = int(np.argmin(wide)) if not wide.all() else 90  # minutes until the first normal one
        assert 28 <= plateau <= 65, plateau  # 30-60 minutes several times the floor, not a blip
        assert spread[day_start : day_start + 25].mean() > 3 * floor
    london = spread[(minute_of_day >= 600) & (minute_of_day < 840)]
    assert np.median(london) == floor


@pytest.mark.parametrize(
    ("name", "busy_hours"),
    [("EURUSD", (10, 20)), ("USDJPY", (10, 20)), ("XAUUSD", (10, 20)), ("US30", (16, 23))],
)
def test_spread_is_a_floor_with_bursts(market: Market, name: str, busy_hours: tuple[int, int]) -> None:
    bars = _minutes(market, name, 12)
    hour = bars["time"] % DAY // 3600
    floor = CATALOGUE[name].spread
    busy = bars["spread"][(hour >= busy_hours[0]) & (hour < busy_hours[1])]
    assert np.mean(busy == floor) > 0.6  # most minutes sit on the floor
    assert np.mean(busy < floor) == 0
    assert 0.002 < np.mean(busy >= 2 * floor) < 0.05  # and bursts to twice the floor or more, rarely


def _hourly_profile(market: Market, name: str, first_week: int, weeks: int = 4) -> Floats:
    returns, times = _returns(_minutes(market, name, first_week, weeks))
    hour = times % DAY // 3600
    sums = np.bincount(hour, weights=np.abs(returns), minlength=24)
    counts = np.bincount(hour, minlength=24)
    profile = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    result: Floats = profile / np.nanmean(profile)
    return result


@pytest.mark.parametrize("first_week", [2, 28])  # winter and summer: the hours follow each city's clock
def test_eurusd_profile_peaks_at_london_open_and_new_york_overlap(market: Market, first_week: int) -> None:
    profile = _hourly_profile(market, "EURUSD", first_week)
    # server hours (New York + 7): London opens at 10:00, New York's 08:30 data at 15:30
    assert int(np.argmax(profile)) in (10, 15, 16)
    assert profile[10] > 1.3 and profile[15] > 1.5
    asian = profile[2:8].mean()  # Tokyo's morning
    assert 0.35 < asian < 0.75, profile.round(2)  # real: about half the mean
    again = _hourly_profile(market, "EURUSD", first_week + 8)
    assert np.corrcoef(profile, again)[0, 1] > 0.85  # the same shape span after span


def test_gold_has_an_asian_peak(market: Market) -> None:
    for first_week in (2, 28):
        profile = _hourly_profile(market, "XAUUSD", first_week)
        tokyo_open = 2 if first_week == 2 else 3  # 09:00 Tokyo in server time: winter, summer
        assert profile[tokyo_open] > 1.3 * np.mean(profile[[6, 7, 8]]), profile.round(2)
        assert int(np.nanargmax(profile)) in (15, 16, 17)


def test_index_profile_peaks_at_the_cash_open(market: Market) -> None:
    profile = _hourly_profile(market, "US30", 6)
    assert int(np.nanargmax(profile)) == 16  # 09:30 New York
    assert profile[16] > 2 * np.nanmean(profile[2:10])
    german = _hourly_profile(market, "GER40", 6)
    assert int(np.nanargmax(german)) in (10, 16)  # Frankfurt's cash open, or New York's


@pytest.mark.parametrize("name", ["EURUSD", "XAUUSD", "US30", "BTCUSD"])
def test_tick_volume_follows_activity_not_the_move_alone(market: Market, name: str) -> None:
    bars = _minutes(market, name, 15)
    returns, times = _returns(bars)
    volume = bars["tick_volume"][1:][np.diff(bars["time"]) == 60].astype(np.float64)
    correlation = np.corrcoef(volume, np.abs(returns))[0, 1]
    assert 0.3 < correlation < 0.65, correlation  # real: 0.4-0.55; |r|-driven volume gives 0.7+
    hour = times % DAY // 3600
    by_hour = [np.bincount(hour, weights=w, minlength=24) for w in (volume, np.abs(returns))]
    assert np.corrcoef(*by_hour)[0, 1] > 0.8  # busy hours are busy in both


def test_release_calendar_follows_its_rules() -> None:
    payrolls = next(r for r in RELEASES if r.name == "US non-farm payrolls")
    assert [d.isoformat() for d in payrolls.dates(2025)[9:]] == ["2025-10-03", "2025-11-07", "2025-12-05"]
    friday = int(datetime(2025, 11, 7, tzinfo=UTC).timestamp())
    found = {release.name: t for t, release in releases_between(friday, friday + DAY)}
    # 08:30 New York, EST: 13:30 UTC, 15:30 in market (and default server) time
    assert found["US non-farm payrolls"] == friday + 15 * 3600 + 30 * 60
    assert found["Canada employment"] == found["US non-farm payrolls"]
    fomc = next(r for r in RELEASES if r.name == "FOMC decision")
    assert len(fomc.dates(2026)) == 8 and all(d.weekday() == 2 for d in fomc.dates(2026))


@pytest.mark.parametrize("name", ["EURUSD", "USDJPY", "XAUUSD"])
def test_prices_jump_at_us_releases(market: Market, name: str) -> None:
    ratios = []
    for t, release in releases_between(MONDAY, MONDAY + 40 * WEEK):
        if release.name not in ("US non-farm payrolls", "US consumer prices"):
            continue
        bars = market.rates_range(name, c.TIMEFRAME_M1, t - 3600, t + 3600)
        returns, times = _returns(bars)
        at = np.abs(returns[times == t])
        before = np.abs(returns[times < t - 600])
        ratios.append(float(at[0] / np.median(before)))
    # the release minute's move against the quiet hour before it, over about twenty releases
    assert float(np.median(ratios)) > 8, sorted(ratios)
