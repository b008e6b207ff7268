"""MT5 mode: lots, ask/bid, profit, margin and swap as the simulator's trade server books them."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mt5gateway.sim as mt5
from mt5gateway.research import Backtest, OrderError, Strategy, bars, crossover
from mt5gateway.research.accounts import MT5Account, instrument
from mt5gateway.sim import ClockSpec, SimConfig, SimTerminal
from mt5gateway.sim.symbols import DEFAULT_SYMBOLS

START, END = "2024-01-02", "2024-01-31"


@pytest.fixture
def terminal() -> Iterator[SimTerminal]:
    """A simulated terminal on a manual clock, logged into the USD 1:100 demo account."""
    sim = SimTerminal(
        SimConfig(db_path=":memory:", clock=ClockSpec(manual=True, origin_msc=1_704_153_600_000))
    )
    assert sim.initialize()
    yield sim
    sim.shutdown()


class Cross(Strategy):
    fast = 8
    slow = 21
    lots = 0.3

    def init(self) -> None:
        self.fast_ma = self.I("SMA", self.data.Close, self.fast)
        self.slow_ma = self.I("SMA", self.data.Close, self.slow)
        self.margins: list[tuple[int, float, float]] = []

    def next(self) -> None:
        if crossover(self.fast_ma, self.slow_ma):
            self.position.close()
            self.buy(size=self.lots)
        elif crossover(self.slow_ma, self.fast_ma):
            self.position.close()
            self.sell(size=self.lots * 2)
        if len(self.trades) == 1:
            trade = self.trades[0]
            self.margins.append((len(self.data) - 1, trade.size, self.account.margin))


@pytest.mark.parametrize("symbol", ["EURUSD", "XAUUSD", "US30"])
def test_trade_profit_equals_order_calc_profit(symbol: str, terminal: SimTerminal) -> None:
    stats = Backtest(
        bars(symbol, "H1", START, END), Cross, symbol=symbol, commission=2.5, finalize_trades=True
    ).run()
    trades = stats["_trades"]
    assert len(trades) > 10
    for trade in trades.itertuples():
        side = mt5.ORDER_TYPE_BUY if trade.Size > 0 else mt5.ORDER_TYPE_SELL
        profit = terminal.order_calc_profit(side, symbol, abs(trade.Size), trade.EntryPrice, trade.ExitPrice)
        assert trade.PnL == pytest.approx(profit + trade.Swap - trade.Commission, abs=1e-9)
        assert trade.Commission == pytest.approx(2 * 2.5 * abs(trade.Size))
    assert stats["Equity Final [$]"] == pytest.approx(10_000 + trades["PnL"].sum())


def test_margin_in_a_run_equals_order_calc_margin(terminal: SimTerminal) -> None:
    frame = bars("EURUSD", "H1", START, END)
    stats = Backtest(frame, Cross, symbol="EURUSD", finalize_trades=True).run()
    margins = stats["_strategy"].margins
    assert len(margins) > 100
    times = frame.index.as_unit("ms").asi8
    for i, size, margin in margins[::25]:
        # the bar's close is the last tick before the next bar: the simulator converts EUR at it
        terminal.control("clock_set", time_msc=int(times[i]) + 3_600_000 - 1)
        side = mt5.ORDER_TYPE_BUY if size > 0 else mt5.ORDER_TYPE_SELL
        assert margin == terminal.order_calc_margin(side, "EURUSD", abs(size), frame["Close"].iloc[i])


def test_profit_and_margin_formulas_equal_the_simulator_for_every_symbol(terminal: SimTerminal) -> None:
    specs = [instrument(spec) for spec in DEFAULT_SYMBOLS.values()]
    ticks = [terminal.symbol_info_tick(spec.name) for spec in specs]
    account = MT5Account(
        specs,
        currency="USD",
        leverage=100,
        commission_per_lot=0,
        bid_close=np.array([[tick.bid] for tick in ticks]),
        ask_offset=np.array([[tick.ask - tick.bid] for tick in ticks]),
    )
    rng = np.random.default_rng(7)
    for row, (spec, tick) in enumerate(zip(specs, ticks, strict=True)):
        for _ in range(5):
            lots = round(spec.volume_min * int(rng.integers(1, 40)), 8)
            entry = round(tick.bid * rng.uniform(0.97, 1.03), spec.digits)
            exit_ = round(tick.bid * rng.uniform(0.97, 1.03), spec.digits)
            for sign, side in ((1, mt5.ORDER_TYPE_BUY), (-1, mt5.ORDER_TYPE_SELL)):
                assert account.profit(row, sign * lots, entry, exit_, 0) == terminal.order_calc_profit(
                    side, spec.name, lots, entry, exit_
                ), spec.name
            assert account.margin(row, lots, entry, 0) == terminal.order_calc_margin(
                mt5.ORDER_TYPE_BUY, spec.name, lots, entry
            ), spec.name


def test_swaps_equal_the_simulators_rollovers(terminal: SimTerminal) -> None:
    frame = bars("EURUSD", "H1", START, END)
    entry_bar, exit_bar = 20, 20 + 24 * 6  # held over a Wednesday (triple) and a weekend

    class Hold(Strategy):
        def init(self) -> None:
            pass

        def next(self) -> None:
            if len(self.data) == entry_bar:
                self.buy(size=0.5)
            elif len(self.data) == exit_bar:
                self.position.close()

    trade = Backtest(frame, Hold, symbol="EURUSD").run()["_trades"].iloc[0]
    times = frame.index.as_unit("ms").asi8
    terminal.control("clock_set", time_msc=int(times[trade.EntryBar]))
    ask = terminal.symbol_info_tick("EURUSD").ask
    sent = terminal.order_send(
        {
            "action": mt5.TRADE_ACTION_DEAL,
            "symbol": "EURUSD",
            "volume": 0.5,
            "type": mt5.ORDER_TYPE_BUY,
            "price": ask,
        }
    )
    assert sent.retcode == mt5.TRADE_RETCODE_DONE
    terminal.control("clock_set", time_msc=int(times[trade.ExitBar]))
    (position,) = terminal.positions_get()
    assert trade.Swap == position.swap != 0


def test_buys_fill_at_the_ask_from_the_bars_spread() -> None:
    frame = bars("EURUSD", "H1", START, END)

    class Once(Strategy):
        def init(self) -> None:
            pass

        def next(self) -> None:
            if len(self.data) == 5:
                self.buy(size=0.1)
                self.sell(size=0.2)

    trades = Backtest(frame, Once, symbol="EURUSD", hedging=True, finalize_trades=True).run()["_trades"]
    point = DEFAULT_SYMBOLS["EURUSD"].point
    assert trades["EntryPrice"].tolist() == pytest.approx(
        [frame["Open"].iloc[5] + frame["spread"].iloc[5] * point, frame["Open"].iloc[5]]
    )
    assert trades["Size"].tolist() == [0.1, -0.2]


def test_sizes_are_lots_on_the_volume_step() -> None:
    def run(size: Any) -> pd.Series:
        strategy = type(
            "S", (Strategy,), {"init": lambda s: None, "next": lambda s: s.position or s.buy(size=size)}
        )
        return Backtest(
            bars("EURUSD", "H1", START, END), strategy, symbol="EURUSD", finalize_trades=True
        ).run()

    assert run(None)["_trades"]["Size"].iloc[0] == DEFAULT_SYMBOLS["EURUSD"].volume_min
    assert run(1.25)["_trades"]["Size"].iloc[0] == 1.25
    with pytest.raises(OrderError, match=r"in steps of 0\.01"):
        run(0.015)
    with pytest.raises(OrderError, match=r"from 0\.01 to 100\.0"):
        run(150)


def test_stops_closer_than_the_stops_level_are_refused() -> None:
    def next_(self: Any) -> None:
        self.buy(size=0.1, sl=self.data.Close[-1] - 0.05)  # US30 wants 10 points (0.10) at least

    strategy = type("S", (Strategy,), {"init": lambda s: None, "next": next_})
    with pytest.raises(OrderError, match="stops level"):
        Backtest(bars("US30", "H1", START, END), strategy, symbol="US30").run()


def test_several_symbols_share_one_account() -> None:
    data = {name: bars(name, "H1", START, END) for name in ("EURUSD", "GBPUSD", "USDJPY")}

    class Pair(Strategy):
        def init(self) -> None:
            self.peak_margin = 0.0

        def next(self) -> None:
            if len(self.data) < 5:
                return
            for name, bars_of in self.datas.items():
                close = bars_of.Close
                position = self.positions[name]
                if close[-1] > close[-5] and not position:
                    self.buy(size=0.5, symbol=name)
                elif close[-1] < close[-5] and position:
                    position.close()
            used = self.account.margin
            self.peak_margin = max(self.peak_margin, used)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = Backtest(data, Pair, symbol={name: name for name in data}, finalize_trades=True).run()
    trades = stats["_trades"]
    assert set(trades["Symbol"]) == set(data)
    # one account: the final equity is the cash plus every symbol's booked profit
    assert stats["Equity Final [$]"] == pytest.approx(10_000 + trades["PnL"].sum())
    # three positions of 0.5 lot at 1:100 hold margin of each at once
    assert stats["_strategy"].peak_margin > 2 * 0.5 * 100_000 / 100
