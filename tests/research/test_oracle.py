"""Our fills, trades and statistics against backtesting.py 0.6.6 run in the same test on the same bars."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mt5gateway.research import SMA, OrderError, crossover

from .oracle import GOOG, SHORT, assert_same_run, both


def sma_init(self: Any) -> None:
    self.sma1 = self.I(SMA, self.data.Close, self.fast)
    self.sma2 = self.I(SMA, self.data.Close, self.slow)


def sma_next(self: Any) -> None:
    if crossover(self.sma1, self.sma2):
        self.position.close()
        self.buy()
    elif crossover(self.sma2, self.sma1):
        self.position.close()
        self.sell()


def nothing(self: Any) -> None:
    pass


GOLDEN = {  # backtesting.py's own test_compute_stats figures (GOOG, SmaCross 10/30, finalize_trades)
    "# Trades": 66,
    "Equity Final [$]": 51422.98999999996,
    "Max. Drawdown [%]": -47.98012705007589,
    "Sharpe Ratio": 0.5806232244485349,
    "Sortino Ratio": 1.0853434352488662,
    "Return (Ann.) [%]": 21.191099249053224,
    "Volatility (Ann.) [%]": 36.49716090702389,
    "CAGR [%]": 21.160245705962623,
    "SQN": 1.0766187356697705,
    "Kelly Criterion": 0.1518705127029717,
    "Alpha [%]": 394.37391142027462,
    "Beta": 0.03803390709192,
    "Avg. Drawdown Duration": pd.Timedelta("41 days"),
    "Max. Drawdown Duration": pd.Timedelta("584 days"),
}


def test_compute_stats_equal_backtesting_py_on_goog_sma_cross() -> None:
    expected, got = both(GOOG, sma_init, sma_next, params={"fast": 10, "slow": 30}, finalize_trades=True)
    assert_same_run(expected, got)
    for key, value in GOLDEN.items():
        assert got[key] == pytest.approx(value, rel=1e-8) if isinstance(value, float) else got[key] == value
    assert len(got["_trades"]) == 66
    assert {"Entry_SMA(C,10)", "Exit_SMA(C,30)"} <= set(got["_trades"].columns)
    assert str(got["_strategy"]) == "Ours(fast=10,slow=30)"


@pytest.mark.parametrize(
    "options",
    [
        {"spread": 0.002},
        {"commission": 0.01},
        {"commission": (5, 0.002)},
        {"commission": lambda size, price: abs(size) * price * 0.001 + 1},
        {"margin": 0.1, "trade_on_close": True},
        {"hedging": True},
        {"exclusive_orders": True},
        {"spread": 0.001, "commission": 0.001, "finalize_trades": True},
    ],
    ids=["spread", "commission", "fixed+rate", "function", "margin+on-close", "hedging", "exclusive", "all"],
)
def test_sma_cross_variants_equal_backtesting_py(options: dict[str, Any]) -> None:
    assert_same_run(*both(GOOG, sma_init, sma_next, params={"fast": 10, "slow": 30}, **options))


def random_init(self: Any) -> None:
    self.rng = np.random.default_rng(self.seed)


def random_next(self: Any) -> None:
    """Every kind of order and change a strategy can make, chosen by a seeded generator."""
    rng, close = self.rng, float(self.data.Close[-1])
    roll = rng.random()
    size = float(rng.choice([0.2, 0.5, 0.9])) if rng.random() < 0.5 else int(rng.integers(1, 8))
    sl = close * (1 - rng.uniform(0.01, 0.05)) if rng.random() < 0.5 else None
    tp = close * (1 + rng.uniform(0.01, 0.08)) if rng.random() < 0.5 else None
    try:
        if roll < 0.08:
            self.buy(size=size, sl=sl, tp=tp, tag="m")
        elif roll < 0.14:
            self.sell(size=size, sl=tp and close * 2 - tp, tp=sl and close * 2 - sl)
        elif roll < 0.18:
            self.buy(size=size, limit=close * 0.99, sl=sl and sl * 0.99, tp=tp)
        elif roll < 0.22:
            self.sell(size=size, stop=close * 0.98, sl=close * 1.02)
        elif roll < 0.25:
            self.buy(size=size, stop=close * 1.01, limit=close * 1.015, tp=tp and tp * 1.02)
        elif roll < 0.29 and self.trades:
            self.trades[int(rng.integers(len(self.trades)))].close(float(rng.choice([0.3, 0.5, 1.0])))
        elif roll < 0.31:
            self.position.close()
        elif roll < 0.35 and self.trades:
            trade = self.trades[int(rng.integers(len(self.trades)))]
            if trade.is_long:
                trade.sl = close * 0.97
            else:
                trade.tp = close * 0.96
        elif roll < 0.37 and self.orders:
            self.orders[int(rng.integers(len(self.orders)))].cancel()
    except (ValueError, AssertionError):
        pass  # both engines refuse the same orders (OrderError is a ValueError)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"spread": 0.003, "commission": (1, 0.001)},
        {"hedging": True, "margin": 0.2},
        {"exclusive_orders": True},
        {"trade_on_close": True, "commission": 0.002},
        {"finalize_trades": True, "hedging": True, "spread": 0.001},
    ],
    ids=["plain", "costs", "hedging", "exclusive", "on-close", "finalize"],
)
@pytest.mark.parametrize("seed", [1, 2])
def test_random_orders_equal_backtesting_py(options: dict[str, Any], seed: int) -> None:
    expected, got = both(GOOG.iloc[:700], random_init, random_next, params={"seed": seed}, **options)
    assert len(got["_trades"]) > 20
    assert_same_run(expected, got)


def at_bar(n: int, action: Any) -> Any:
    def next_(self: Any) -> None:
        if len(self.data) == n:
            action(self)

    return next_


def test_sl_is_filled_before_tp_in_one_bar() -> None:
    def next_(self: Any) -> None:
        if len(self.data) == 4:
            self.buy()
        if len(self.data) == 5:
            self.trades[0].sl = 105
            self.trades[0].tp = 107.9

    expected, got = both(SHORT, nothing, next_, finalize_trades=True)
    assert got["_trades"]["ExitPrice"].iloc[0] == 104.95
    assert_same_run(expected, got)


def test_gap_through_sl_fills_at_the_open_and_keeps_the_sl() -> None:
    expected, got = both(SHORT, nothing, at_bar(9, lambda s: s.buy(size=1, sl=99.5)), finalize_trades=True)
    trade = got["_trades"].iloc[0]
    assert (trade["ExitPrice"], trade["SL"]) == (99.19, 99.5)
    assert_same_run(expected, got)


def test_gap_through_tp_fills_at_the_better_open() -> None:
    # a short from bar 9's open (102.70); bar 9 stays above the TP (low 99.67), bar 10 opens below it
    expected, got = both(SHORT, nothing, at_bar(9, lambda s: s.sell(size=1, tp=99.5)), finalize_trades=True)
    trade = got["_trades"].iloc[0]
    assert (trade["ExitPrice"], trade["TP"], trade["ExitBar"]) == (99.19, 99.5, 10)
    assert_same_run(expected, got)


def test_sl_hit_in_the_entry_bar_of_a_market_order() -> None:
    day = pd.Timestamp("2012-10-17")

    def next_(self: Any) -> None:
        if self.data.index[-1] == day:
            self.buy(sl=720)

    expected, got = both(GOOG, nothing, next_, finalize_trades=True)
    assert got["_trades"].iloc[0]["ExitPrice"] == 720
    assert_same_run(expected, got)


def test_stop_entry_with_sl_in_its_bar_waits_for_the_next_bar() -> None:
    day = pd.Timestamp("2012-10-17")

    def next_(self: Any) -> None:
        if self.data.index[-1] == day:
            self.buy(stop=758, sl=720)

    with pytest.warns(UserWarning, match="same bar"):
        expected, got = both(GOOG, nothing, next_, finalize_trades=True)
        from mt5gateway.research import Backtest, Strategy

        Backtest(GOOG, type("S", (Strategy,), {"init": nothing, "next": next_}), finalize_trades=True).run()
    assert got["_trades"].iloc[0]["ExitPrice"] == 705.58
    assert_same_run(expected, got)


def test_stop_entry_between_sl_and_tp_fills_at_the_stop() -> None:
    day = pd.Timestamp("2004-09-09")

    def next_(self: Any) -> None:
        if self.data.index[-1] == day:
            self.buy(stop=104, sl=103, tp=110)

    expected, got = both(GOOG, nothing, next_, finalize_trades=True)
    assert got["_trades"].iloc[0]["EntryPrice"] == 104
    assert_same_run(expected, got)


def test_stop_entry_and_its_tp_in_one_bar() -> None:
    expected, got = both(
        SHORT, nothing, at_bar(3, lambda s: s.sell(stop=108, tp=105, sl=113)), finalize_trades=True
    )
    assert (got["_trades"]["ExitBar"].iloc[0], got["_trades"]["ExitPrice"].iloc[0]) == (3, 105)
    assert_same_run(expected, got)


def test_stop_limit_orders_fill_at_the_stop() -> None:
    def action(self: Any) -> None:
        self.buy(stop=112, limit=113, size=1)
        self.sell(stop=107, limit=105, size=1)

    expected, got = both(SHORT, nothing, at_bar(2, action), finalize_trades=True)
    assert got["_trades"].filter(like="Price").stack().tolist() == [112, 107]
    assert_same_run(expected, got)


def test_limit_entry_fills_at_its_price_or_a_better_open() -> None:
    def action(self: Any) -> None:
        close = self.data.Close[-1]
        self.buy(limit=close * 0.995, size=3)
        self.sell(limit=close * 1.05, size=2)
        self.buy(limit=close * 1.02, size=1)  # above the price: fills at the next open

    assert_same_run(*both(SHORT, nothing, at_bar(3, action), finalize_trades=True))


def test_spread_and_commission_as_backtesting_py_charges_them() -> None:
    def next_(self: Any) -> None:
        if not self.position:
            self.buy()
        elif len(self.data) < 10:
            self.position.close()

    for options in (
        {"spread": 0.01, "commission": 0.01},
        {"commission": (100, 0.01)},
        {"commission": lambda s, p: s * p * 0.01},
    ):
        expected, got = both(SHORT, nothing, next_, cash=10_000, finalize_trades=True, **options)
        assert_same_run(expected, got)
    assert got["Commissions [$]"] > 0


def coroutine_body(steps: Any) -> tuple[Any, Any]:
    def init(self: Any) -> None:
        self.steps = steps(self)

    def next_(self: Any) -> None:
        next(self.steps, None)

    return init, next_


def test_hedging_keeps_opposite_trades_open() -> None:
    def steps(self: Any) -> Any:
        yield self.buy(size=2)
        assert len(self.trades) == 1
        yield self.sell(size=1)
        assert len(self.trades) == 2

    assert_same_run(*both(SHORT, *coroutine_body(steps), hedging=True, finalize_trades=True))


def test_exclusive_orders_close_the_position_first() -> None:
    def steps(self: Any) -> Any:
        yield self.buy(size=2)
        assert len(self.trades) == 1
        yield self.sell(size=3)
        assert len(self.trades) == 1 and self.trades[0].size == -3

    assert_same_run(*both(SHORT, *coroutine_body(steps), exclusive_orders=True, finalize_trades=True))


def test_trade_on_close_fills_at_this_bars_close() -> None:
    def steps(self: Any) -> Any:
        yield self.buy(size=1, sl=90) and self.buy(size=1, sl=80)
        yield self.trades[0].close()
        yield

    arr = np.r_[100, 101, 102, 50, 51]
    frame = pd.DataFrame(
        {"Open": arr - 10, "Close": arr, "High": arr, "Low": arr},
        index=pd.date_range("2024-01-01", periods=5),
    )
    for on_close in (True, False):
        expected, got = both(
            frame, *coroutine_body(steps), cash=250, trade_on_close=on_close, finalize_trades=True
        )
        assert_same_run(expected, got)
    assert got["_trades"]["ExitPrice"].tolist() == [40, 40]


def test_partial_closes_and_tags() -> None:
    def steps(self: Any) -> Any:
        yield self.buy(size=6, tag="a")
        yield self.trades[0].close(0.5)
        yield self.sell(size=2, tag="s")
        yield self.position.close(0.5)
        yield self.buy(tag=2)
        yield self.position.close()

    expected, got = both(SHORT, *coroutine_body(steps), spread=0.002, finalize_trades=True)
    assert_same_run(expected, got)
    assert set(got["_trades"]["Tag"]) == {"a", 2}


def test_insufficient_margin_cancels_like_backtesting_py() -> None:
    expected, got = both(GOOG.iloc[:3], nothing, lambda s: s.buy(size=10_000), cash=1000)
    assert got["# Trades"] == 0
    assert_same_run(expected, got)


def test_order_breaking_sl_price_tp_is_refused() -> None:
    from mt5gateway.research import Backtest, Strategy

    strategy = type("S", (Strategy,), {"init": nothing, "next": lambda s: s.buy(tp=s.data.Close[-1] * 1.01)})
    with pytest.raises(OrderError, match=r"SL .* < LIMIT .* < TP"):
        Backtest(SHORT, strategy, spread=0.02).run()
