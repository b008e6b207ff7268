"""Inside a bar: sl_first (backtesting.py), the OHLC path, and real ticks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mt5gateway.research import Backtest, Strategy, bars
from mt5gateway.research.data import tick_source
from mt5gateway.research.intrabar import ohlc_path
from mt5gateway.terminal.dtypes import TICKS_DTYPE

from .oracle import GOOG, assert_same_run
from .test_oracle import sma_init, sma_next


def frame(*rows: tuple[float, float, float, float]) -> pd.DataFrame:
    """Daily bars from (open, high, low, close) rows."""
    return pd.DataFrame(
        rows, columns=["Open", "High", "Low", "Close"], index=pd.date_range("2024-01-01", periods=len(rows))
    )


def one_order(place: Any, *, at: int = 2) -> type[Strategy]:
    def next_(self: Any) -> None:
        if len(self.data) == at:
            place(self)

    return type("OneOrder", (Strategy,), {"init": lambda self: None, "next": next_})


def test_ohlc_path_visits_the_nearer_extreme_first() -> None:
    assert ohlc_path(100, 110, 95, 105).tolist() == [100, 95, 110, 105]
    assert ohlc_path(100, 103, 90, 95).tolist() == [100, 103, 90, 95]
    assert ohlc_path(100, 105, 95, 101).tolist() == [100, 95, 105, 101]  # a tie: a rising bar dips first
    assert ohlc_path(100, 105, 95, 99).tolist() == [100, 105, 95, 99]


def test_market_orders_fill_alike_in_every_mode() -> None:
    params = {"fast": 10, "slow": 30}
    strategy = type("Sma", (Strategy,), {"init": sma_init, "next": sma_next, **params})
    expected = Backtest(GOOG, strategy, finalize_trades=True).run()
    for mode in ("ohlc",):
        assert_same_run(expected, Backtest(GOOG, strategy, finalize_trades=True, intrabar=mode).run())


@pytest.mark.parametrize(
    ("bar", "sl_first", "ohlc"),
    [
        ((100, 110, 95, 105), 97, 97),  # the low is nearer: the SL first either way
        ((100, 103, 90, 95), 97, 102),  # the high is nearer: the path reaches the TP first
    ],
)
def test_sl_and_tp_in_one_bar(bar: tuple[float, ...], sl_first: float, ohlc: float) -> None:
    data = frame((100, 100, 100, 100), (100, 100, 100, 100), bar, (100, 100, 100, 100))
    strategy = one_order(lambda s: s.buy(size=1, sl=97, tp=102))
    for mode, exit_price in (("sl_first", sl_first), ("ohlc", ohlc)):
        trade = Backtest(data, strategy, intrabar=mode, finalize_trades=True).run()["_trades"].iloc[0]
        assert (trade["ExitBar"], trade["ExitPrice"]) == (2, exit_price), mode


def test_stop_entry_and_its_sl_in_one_bar_follow_the_path() -> None:
    data = frame((100, 100, 100, 100), (100, 100, 100, 100), (100, 103, 95, 96), (96, 97, 95, 96))
    strategy = one_order(lambda s: s.buy(size=1, stop=102, sl=97))
    with pytest.warns(UserWarning, match="same bar"):
        waited = Backtest(data, strategy, finalize_trades=True).run()["_trades"].iloc[0]
    assert (waited["EntryBar"], waited["ExitBar"], waited["ExitPrice"]) == (
        2,
        3,
        96,
    )  # the next open, below the SL
    same_bar = Backtest(data, strategy, intrabar="ohlc", finalize_trades=True).run()["_trades"].iloc[0]
    assert (same_bar["EntryPrice"], same_bar["ExitBar"], same_bar["ExitPrice"]) == (102, 2, 97)


def test_orders_gapped_through_fill_at_the_open_on_the_path() -> None:
    data = frame((100, 100, 100, 100), (100, 100, 100, 100), (105, 108, 104, 107), (107, 107, 107, 107))
    strategy = one_order(lambda s: (s.buy(size=1, stop=102), s.sell(size=1, limit=103)))
    trades = Backtest(data, strategy, intrabar="ohlc", hedging=True, finalize_trades=True).run()["_trades"]
    assert trades["EntryPrice"].tolist() == [105, 105]


def synthetic_ticks(bids_by_bar: dict[pd.Timestamp, list[float]], spread: float) -> Any:
    def source(symbol: str, from_msc: int, to_msc: int) -> np.ndarray:
        rows = []
        for start, bids in bids_by_bar.items():
            base = int(start.timestamp() * 1000)
            rows += [(base + 1000 * k, bid) for k, bid in enumerate(bids)]
        ticks = np.zeros(len(rows), dtype=TICKS_DTYPE)
        ticks["time_msc"] = [t for t, _ in rows]
        ticks["time"] = ticks["time_msc"] // 1000
        ticks["bid"] = [b for _, b in rows]
        ticks["ask"] = ticks["bid"] + spread
        return ticks[(ticks["time_msc"] >= from_msc) & (ticks["time_msc"] < to_msc)]

    return source


def test_ticks_decide_the_order_and_stops_fill_at_the_tick_that_reached_them() -> None:
    data = frame(
        (1.1000, 1.1000, 1.1000, 1.1000),
        (1.1000, 1.1000, 1.1000, 1.1000),
        (1.1000, 1.1030, 1.0950, 1.0990),
        (1.0990, 1.0990, 1.0990, 1.0990),
    )
    data["spread"] = 10
    # the high comes first on the OHLC path, but the ticks fall to the SL first, jumping past it
    ticks = synthetic_ticks({data.index[2]: [1.1000, 1.0985, 1.0968, 1.0950, 1.1030, 1.0990]}, spread=0.0001)
    strategy = one_order(lambda s: s.buy(size=0.1, sl=1.0970, tp=1.1020))
    by_path = (
        Backtest(data, strategy, symbol="EURUSD", intrabar="ohlc", finalize_trades=True)
        .run()["_trades"]
        .iloc[0]
    )
    assert by_path["ExitPrice"] == pytest.approx(1.1020)
    by_ticks = Backtest(
        data, strategy, symbol="EURUSD", intrabar="ticks", ticks=ticks, finalize_trades=True
    ).run()
    trade = by_ticks["_trades"].iloc[0]
    assert trade["EntryPrice"] == pytest.approx(1.1001)  # the first tick's ask
    assert (trade["ExitBar"], trade["ExitPrice"]) == (2, pytest.approx(1.0968))  # the tick past the SL


def test_ticks_from_the_simulator_fill_stop_losses_at_real_ticks() -> None:
    data = bars("EURUSD", "M15", "2024-02-05", "2024-02-06")

    class Scalper(Strategy):
        def init(self) -> None:
            pass

        def next(self) -> None:
            if not self.position and len(self.data) % 4 == 0:
                close = self.data.Close[-1]
                self.buy(size=0.1, sl=close - 0.0006, tp=close + 0.0006)

    stats = Backtest(
        data, Scalper, symbol="EURUSD", intrabar="ticks", ticks="sim", finalize_trades=True
    ).run()
    trades = stats["_trades"]
    assert len(trades) > 20
    ticks_of = tick_source("sim")
    stopped = trades[trades["ExitPrice"] <= trades["SL"]]
    assert len(stopped) > 3
    for trade in stopped.itertuples():
        start = int(trade.ExitTime.timestamp() * 1000)
        ticks = ticks_of("EURUSD", start, start + 15 * 60_000)
        first = ticks[ticks["bid"] <= trade.SL][0]  # entries fill at a bar's first tick: before it
        assert trade.ExitPrice == first["bid"]
