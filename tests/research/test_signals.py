"""The compiled path and the event loop give the same trades on the same signals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mt5gateway.research import Backtest, BacktestError, OrderError
from mt5gateway.research.compiled import SUMMARY_FIELDS, TRADE_DTYPE, simulate_many
from mt5gateway.research.signals import SignalStrategy
from mt5gateway.research.strategies import SmaCross

from .oracle import GOOG, assert_same_run


class RandomSignals(SignalStrategy):
    """Seeded random entries (fractions and units, both ways), exits, and SL / TP around the close."""

    seed = 0
    stops = True

    def init(self) -> None:
        rng = np.random.default_rng(self.seed)
        n = len(self.data)
        close = np.asarray(self.data.Close)
        kind = rng.random(n)
        sizes = np.where(rng.random(n) < 0.5, rng.choice([0.3, 0.6, 0.95], n), rng.integers(1, 30, n))
        entry = np.where(kind < 0.06, sizes, np.where(kind < 0.12, -sizes, 0.0))
        exits = rng.random(n) < 0.05
        if not self.stops:
            self.set_signal(entry, exits)
            return
        direction = np.sign(entry)
        sl = np.where(rng.random(n) < 0.6, close * (1 - direction * rng.uniform(0.01, 0.04, n)), np.nan)
        tp = np.where(rng.random(n) < 0.6, close * (1 + direction * rng.uniform(0.01, 0.06, n)), np.nan)
        self.set_signal(entry, exits, sl=sl, tp=tp)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"spread": 0.002, "commission": (3, 0.001)},
        {"trade_on_close": True},
        {"finalize_trades": True, "commission": 0.002},
        {"margin": 0.25, "finalize_trades": True},
        {"cash": 1_500, "spread": 0.01},
    ],
    ids=["plain", "costs", "on-close", "finalize", "margin", "small-cash"],
)
@pytest.mark.parametrize("seed", [3, 4])
def test_both_engines_give_the_same_trades(options: dict[str, Any], seed: int) -> None:
    with pytest.warns(UserWarning) if options.get("cash") else _no_warning_check():
        events = Backtest(GOOG, RandomSignals, engine="events", **options).run(seed=seed)
    compiled = Backtest(GOOG, RandomSignals, engine="compiled", **options).run(seed=seed)
    assert len(events["_trades"]) > 30
    assert_same_run(events, compiled, rtol=1e-9)


class _no_warning_check:  # noqa: N801  (a do-nothing context)
    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        pass


def test_equity_running_out_ends_both_engines_alike() -> None:
    class AllIn(SignalStrategy):
        def init(self) -> None:
            n = len(self.data)
            self.set_signal(np.where(np.arange(n) % 7 == 0, -0.95, 0.0))

    data = GOOG.iloc[:300].copy()
    data.loc[data.index[150:], ["Open", "High", "Low", "Close"]] *= 3  # a short squeezed to nothing
    events = Backtest(data, AllIn, engine="events", margin=0.1).run()
    compiled = Backtest(data, AllIn, engine="compiled", margin=0.1).run()
    assert events["Equity Final [$]"] == 0
    assert_same_run(events, compiled)


def test_auto_engine_compiles_signal_strategies_only() -> None:
    assert Backtest(GOOG, SmaCross)._compiles()
    assert not Backtest(GOOG, SmaCross, intrabar="ohlc")._compiles()
    assert not Backtest(GOOG, SmaCross, commission=lambda size, price: 1.0)._compiles()
    with pytest.raises(BacktestError, match="compiled engine runs SignalStrategy"):
        Backtest(GOOG, SmaCross, engine="compiled", intrabar="ohlc").run()


def test_invalid_stops_are_refused_by_both_engines_alike() -> None:
    class Upside(SignalStrategy):
        def init(self) -> None:
            n = len(self.data)
            close = np.asarray(self.data.Close)
            self.set_signal(np.where(np.arange(n) == 40, 1.0, 0.0), sl=close * 1.01)  # an SL above the price

    messages = []
    for engine in ("events", "compiled"):
        with pytest.raises(OrderError) as raised:
            Backtest(GOOG, Upside, engine=engine).run()
        messages.append(str(raised.value))
    assert messages[0] == messages[1] and messages[0].startswith("Long orders require: SL (")


def test_many_sets_at_once_summarise_as_full_runs() -> None:
    params = [{"fast": fast, "slow": slow} for fast in (5, 10, 20) for slow in (30, 50)]
    backtest = Backtest(GOOG, SmaCross, commission=0.001)
    prices = [
        np.ascontiguousarray(GOOG[col].to_numpy(dtype=float)) for col in ("Open", "High", "Low", "Close")
    ]
    signals = [backtest._prepare(p) for p in params]
    entries = np.array([s[0].signals()[0] for s in signals])
    exits = np.array([s[0].signals()[1] for s in signals])
    starts = np.array([s[4] for s in signals])
    summaries = np.empty((len(params), len(SUMMARY_FIELDS)))
    errors = np.empty((len(params), 2), dtype=np.int64)
    empty = np.empty((0, 0))
    simulate_many(
        *prices,
        entries,
        exits,
        empty,
        empty,
        starts,
        10_000.0,
        0.0,
        0.0,
        0.001,
        1.0,
        False,
        False,
        summaries,
        errors,
    )
    assert (errors[:, 0] == -1).all()
    for row, p in enumerate(params):
        full = backtest.run(**p)
        for column, key in enumerate(SUMMARY_FIELDS):
            assert summaries[row, column] == pytest.approx(full[key], rel=1e-9, nan_ok=True), key
    assert TRADE_DTYPE.names[:3] == ("size", "entry_bar", "exit_bar")


def test_trade_records_keep_the_event_loops_column_types() -> None:
    events = Backtest(GOOG, RandomSignals, engine="events", finalize_trades=True).run(stops=False)
    compiled = Backtest(GOOG, RandomSignals, finalize_trades=True).run(stops=False)
    pd.testing.assert_frame_equal(events["_trades"], compiled["_trades"])
