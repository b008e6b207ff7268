"""Draw one simulated week beside the stylized facts it reproduces (docs/market_week.png, shown in
docs/simulator.md).

Run: ``.venv/bin/python docs/market_week.py [OUTPUT.png]`` (matplotlib is a dev dependency). Seed 7
and a fixed clock give the same picture on every run. Left: EURUSD M1 over the week of 8 December
2025 in server time (US consumer prices on Wednesday, the ECB on Thursday): price, |return|, spread
and tick volume. Right, over the eight weeks before it: the hourly volatility profile of three
classes, the autocorrelation of |r| with the intraday pattern removed, the distribution of M1
returns against a Gaussian, and the weekend gaps by class.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt

from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.market import Market
from mt5gateway.sim.releases import releases_between
from mt5gateway.sim.symbols import CATALOGUE
from mt5gateway.terminal import constants as c

DAY = 86_400
WEEK_START = 1_765_152_000  # Monday 2025-12-08 00:00 server time (Sunday 17:00 New York)
FACTS_FROM = WEEK_START - 8 * 7 * DAY
SEED = 7
Floats = npt.NDArray[np.float64]


def _returns(bars: npt.NDArray[np.void]) -> tuple[Floats, npt.NDArray[np.int64]]:
    consecutive = np.diff(bars["time"]) == 60
    return np.diff(np.log(bars["close"]))[consecutive], bars["time"][1:][consecutive]


def _week_panels(market: Market, axes: list[plt.Axes]) -> None:
    bars = market.rates_range("EURUSD", c.TIMEFRAME_M1, WEEK_START, WEEK_START + 5 * DAY - 1)
    days = (bars["time"] - WEEK_START) / DAY
    returns, times = _returns(bars)
    price, size, spread, volume = axes
    price.plot(days, bars["close"], lw=0.6, color="tab:blue")
    price.set_ylabel("EURUSD close")
    size.plot((times - WEEK_START) / DAY, np.abs(returns) * 1e4, lw=0.4, color="tab:red")
    size.set_ylabel("|M1 return| (bp)")
    spread.plot(days, bars["spread"], lw=0.6, color="tab:green")
    spread.set_ylabel("spread (points)")
    spread.set_ylim(0, 6 * CATALOGUE["EURUSD"].spread)
    five = bars["tick_volume"][: len(bars) // 5 * 5].reshape(-1, 5).sum(axis=1)
    volume.bar(days[::5][: len(five)], five, width=5 / 1440, color="tab:gray")
    volume.set_ylabel("ticks per 5 min")
    volume.set_xlabel("days from Monday 00:00 server time (= Sunday 17:00 New York)")
    for moment, release in releases_between(WEEK_START, WEEK_START + 5 * DAY):
        if release.currency in ("EUR", "USD"):
            for axis in axes:
                axis.axvline((moment - WEEK_START) / DAY, color="orange", lw=0.8, ls="--")
            price.annotate(
                release.name,
                ((moment - WEEK_START) / DAY, 1.0),
                xycoords=("data", "axes fraction"),
                fontsize=7,
            )
    zoom = spread.inset_axes((0.72, 0.45, 0.27, 0.5))
    night = (days > 2 - 1.5 / 24) & (days < 2 + 2.5 / 24)  # Tuesday's rollover, from 22:30 to 02:30
    zoom.plot((days[night] - 2) * 24, bars["spread"][night], lw=0.8, color="tab:green")
    zoom.set_title("the rollover, hours from 17:00 New York", fontsize=7)
    zoom.tick_params(labelsize=6)
    price.set_title("one simulated week, EURUSD M1 (seed 7)")


def _profile(market: Market, name: str) -> Floats:
    returns, times = _returns(market.rates_range(name, c.TIMEFRAME_M1, FACTS_FROM, WEEK_START - 1))
    hour = times % DAY // 3600
    counts = np.bincount(hour, minlength=24)
    profile = np.bincount(hour, weights=np.abs(returns), minlength=24) / np.maximum(counts, 1)
    profile[counts == 0] = np.nan
    result: Floats = profile / np.nanmean(profile)
    return result


def _deseasonalised_acf(market: Market, name: str, lags: npt.NDArray[np.int64]) -> Floats:
    returns, times = _returns(market.rates_range(name, c.TIMEFRAME_M1, FACTS_FROM, WEEK_START - 1))
    bucket = times % DAY // 1800
    size = np.abs(returns)
    means = np.bincount(bucket, weights=size, minlength=48) / np.maximum(np.bincount(bucket, minlength=48), 1)
    x = size / means[bucket]
    x -= x.mean()
    return np.array([(x[lag:] * x[:-lag]).mean() / x.var() for lag in lags])


def _fact_panels(market: Market, axes: list[plt.Axes]) -> None:
    profile, acf, tails, gaps = axes
    for name in ("EURUSD", "XAUUSD", "US30"):
        profile.plot(range(24), _profile(market, name), marker=".", label=name)
    profile.axhline(1.0, color="gray", lw=0.5)
    profile.set_xticks(range(0, 24, 3))
    profile.set_xlabel("server hour (London opens 10:00, New York data 15:30)")
    profile.set_ylabel("mean |r| / daily mean")
    profile.set_title("intraday profile, 8 weeks")
    profile.legend(fontsize=7)

    lags = np.arange(1, 61)
    for name in ("EURUSD", "XAUUSD", "BTCUSD"):
        values = _deseasonalised_acf(market, name, lags)
        acf.plot(lags, values, label=f"{name}: lag 15 / lag 1 = {values[14] / values[0]:.2f}")
    acf.set_xlabel("lag (minutes)")
    acf.set_ylabel("autocorrelation of |r|")
    acf.set_title("clustering that fades (intraday pattern removed)")
    acf.legend(fontsize=7)

    returns, _ = _returns(market.rates_range("EURUSD", c.TIMEFRAME_M1, FACTS_FROM, WEEK_START - 1))
    standard = (returns - returns.mean()) / returns.std()
    edges = np.linspace(-12, 12, 121)
    density, _ = np.histogram(standard, bins=edges, density=True)
    centers = (edges[1:] + edges[:-1]) / 2
    kurtosis = float((standard**4).mean() - 3)
    tails.semilogy(centers, density, label=f"EURUSD M1, excess kurtosis {kurtosis:.0f}")
    tails.semilogy(centers, np.exp(-(centers**2) / 2) / np.sqrt(2 * np.pi), label="Gaussian", ls="--")
    tails.set_ylim(1e-6, 1)
    tails.set_xlabel("return / standard deviation")
    tails.set_title("fat tails")
    tails.legend(fontsize=7)

    mondays = WEEK_START - 7 * DAY * np.arange(1, 27)
    by_class = {}
    for name in ("EURUSD", "XAUUSD", "US30"):
        found = []
        for monday in mondays.tolist():
            friday = market.rates_range(name, c.TIMEFRAME_M1, monday - 3 * DAY, monday - 2 * DAY - 1)
            opening = market.rates_range(name, c.TIMEFRAME_M1, monday, monday + 3 * 3600)
            found.append(abs(np.log(opening["open"][0] / friday["close"][-1])) * 1e4)
        by_class[name] = found
    gaps.boxplot(
        list(by_class.values()),
        tick_labels=[f"{n}\nmedian {np.median(v):.0f} bp" for n, v in by_class.items()],
    )
    gaps.set_yscale("log")
    gaps.set_ylabel("|Monday open / Friday close| (bp)")
    gaps.set_title("weekend gaps, 26 weeks")


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("market_week.png")
    market = Market(CATALOGUE, seed=SEED, clock=ManualClock((WEEK_START + 7 * DAY) * 1000))
    figure = plt.figure(figsize=(15, 10), layout="constrained")
    grid = figure.add_gridspec(4, 2, width_ratios=(1.6, 1))
    week_axes = [figure.add_subplot(grid[row, 0]) for row in range(4)]
    for axis in week_axes[1:]:
        axis.sharex(week_axes[0])
    _week_panels(market, week_axes)
    _fact_panels(market, [figure.add_subplot(grid[row, 1]) for row in range(4)])
    figure.savefig(output, dpi=90)
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
