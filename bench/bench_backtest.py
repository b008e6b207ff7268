"""The backtester (issue 12) beside backtesting.py 0.6.6 and vectorbt, in one run on the same bars.

Bars: the simulator's EURUSD M5 from 2023-01-02, the first 100,000 (what ``bars(...)`` serves).

1. Event loop, SmaCross 10/30 (the same strategy code on both, TA-Lib's SMA, each library's own
   ``crossover``: a strategy ported by changing its imports): bars per second of one run (bars,
   account, statistics) in process CPU time, ours and backtesting.py's; the target is >= 3x.
2. Compiled path, a 1,000-set SMA grid (fast 5..50 x slow 20..218) over the 100,000 bars, from
   parameters to every set's score: bar-combinations per second, ours (``Backtest.optimize`` of the
   built-in ``sma_cross``) beside vectorbt (``MA.run`` + ``Portfolio.from_signals`` long/short,
   total return per set) and backtesting.py (its own ``optimize`` over 8 sets on its process pool,
   rate per bar-combination). Targets: >= 30x backtesting.py and >= vectorbt.
3. Event-loop optimisation of 1,000 sets (SmaCross on 3,000 bars) on 1 process and on 2 local
   processes (the default fan-out): the speed-up.

Run: ``python -m bench backtest`` (needs the ``bench`` extra: ``pip install -e '.[dev,bench]'``).
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import talib
from backtesting import Strategy as OracleStrategy
from backtesting.lib import crossover as oracle_crossover

from bench._util import print_table
from mt5gateway.research import Backtest, Strategy, bars, crossover
from mt5gateway.research.strategies import SmaCross as SignalSmaCross

BARS = 100_000
FAST = list(range(5, 55, 5))
SLOW = list(range(20, 220, 2))
OPTIMIZE_BARS = 3_000


def _sma(values: np.ndarray, n: int) -> np.ndarray:
    return talib.SMA(np.asarray(values, dtype=float), timeperiod=n)


def _strategy_body(crossover: Callable[[object, object], bool]) -> dict[str, object]:
    """SmaCross as backtesting.py's docs write it, with the library's own ``crossover``."""

    def init(self: object) -> None:
        self.sma1 = self.I(_sma, self.data.Close, self.fast)  # type: ignore[attr-defined]
        self.sma2 = self.I(_sma, self.data.Close, self.slow)  # type: ignore[attr-defined]

    def next_(self: object) -> None:
        if crossover(self.sma1, self.sma2):  # type: ignore[attr-defined]
            self.position.close()  # type: ignore[attr-defined]
            self.buy()  # type: ignore[attr-defined]
        elif crossover(self.sma2, self.sma1):  # type: ignore[attr-defined]
            self.position.close()  # type: ignore[attr-defined]
            self.sell()  # type: ignore[attr-defined]

    # a module name, so that pickle finds the class (backtesting.py's optimize sends it to its pool)
    return {"init": init, "next": next_, "fast": 10, "slow": 30, "__module__": __name__}


EventSmaCross = type("EventSmaCross", (Strategy,), _strategy_body(crossover))
OracleSmaCross = type("OracleSmaCross", (OracleStrategy,), _strategy_body(oracle_crossover))


def _best_of(fn: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """The fastest of ``repeat`` calls by ``clock`` (wall time; ``time.process_time`` for one process's
    CPU time, which leaves out waits for the cores of a busy machine)."""
    times = []
    for _ in range(repeat):
        start = clock()
        fn()
        times.append(clock() - start)
    return min(times)


def _vectorbt_grid(close: pd.Series) -> pd.Series:
    """vectorbt over the grid, one fast window (100 slow windows) at a time: the whole grid at once
    would hold several 1,000 x 100,000 arrays (gigabytes) on a shared machine."""
    import vectorbt as vbt

    slow = vbt.MA.run(close, SLOW, short_name="slow").ma.to_numpy()
    returns = []
    for fast_window in FAST:
        fast = vbt.MA.run(close, fast_window, short_name="fast").ma.to_numpy().reshape(-1, 1)
        above = fast > slow
        below = fast < slow
        cross_up = above & np.vstack([np.zeros((1, len(SLOW)), dtype=bool), ~above[:-1]])
        cross_down = below & np.vstack([np.zeros((1, len(SLOW)), dtype=bool), ~below[:-1]])
        columns = pd.Index(SLOW, name="slow")
        portfolio = vbt.Portfolio.from_signals(
            close,
            entries=pd.DataFrame(cross_up, index=close.index, columns=columns),
            short_entries=pd.DataFrame(cross_down, index=close.index, columns=columns),
            init_cash=10_000,
            freq="5min",
        )
        returns.append(portfolio.total_return().to_numpy())
    return pd.Series(
        np.concatenate(returns), index=pd.MultiIndex.from_product([FAST, SLOW], names=["fast", "slow"])
    )


def main() -> None:
    warnings.simplefilter("ignore")
    from backtesting import Backtest as OracleBacktest
    from backtesting import backtesting as oracle_module

    oracle_module._tqdm = lambda seq, **_: seq  # no progress bar inside the timings
    data = bars("EURUSD", "M5", "2023-01-02", "2025-12-31").iloc[:BARS]
    frame = data[["Open", "High", "Low", "Close", "Volume"]].astype(float)
    print(f"bars: EURUSD M5 {frame.index[0]} .. {frame.index[-1]} ({len(frame):,}); cores: {os.cpu_count()}")
    rows: list[tuple[str, str, str, str]] = []

    # 1. event loop
    cpu = time.process_time
    ours = _best_of(lambda: Backtest(frame, EventSmaCross, finalize_trades=True).run(), 3, cpu)
    theirs = _best_of(lambda: OracleBacktest(frame, OracleSmaCross, finalize_trades=True).run(), 3, cpu)
    check_ours = Backtest(frame, EventSmaCross, finalize_trades=True).run()
    check_theirs = OracleBacktest(frame, OracleSmaCross, finalize_trades=True).run()
    assert check_ours["# Trades"] == check_theirs["# Trades"]
    assert np.isclose(check_ours["Equity Final [$]"], check_theirs["Equity Final [$]"], rtol=1e-9)
    ours_rate, theirs_rate = BARS / ours, BARS / theirs
    rows.append(("event loop, SmaCross (bars/s)", f"{ours_rate:,.0f}", "", ""))
    rows.append(("backtesting.py, same (bars/s)", f"{theirs_rate:,.0f}", "", ""))
    rows.append(
        (
            "event loop vs backtesting.py",
            f"{ours_rate / theirs_rate:.1f}x",
            ">= 3x",
            _ok(ours_rate >= 3 * theirs_rate),
        )
    )
    _note(rows)

    # 2. compiled grid over 1,000 sets
    grid = Backtest(frame, SignalSmaCross)
    grid.optimize(
        fast=[5, 10], slow=[20, 30], maximize="Return [%]", progress=False
    )  # compile / load the cache
    compiled = _best_of(
        lambda: grid.optimize(
            fast=FAST, slow=SLOW, maximize="Return [%]", progress=False, return_heatmap=True
        ),
        2,
    )
    cells = BARS * len(FAST) * len(SLOW)
    ours_grid = cells / compiled
    _vectorbt_grid(frame["Close"].iloc[:2_000])  # compile vectorbt's functions
    vectorbt = _best_of(lambda: _vectorbt_grid(frame["Close"]), 2)
    vectorbt_grid = cells / vectorbt
    oracle_sets = {"fast": [10, 20], "slow": [30, 40, 50, 60]}
    oracle_bt = OracleBacktest(frame, OracleSmaCross, finalize_trades=True)
    oracle_time = _best_of(lambda: oracle_bt.optimize(**oracle_sets, maximize="Return [%]"), 1)
    oracle_grid = BARS * 8 / oracle_time
    rows.append(("compiled grid, 1,000 sets (bar-sets/s)", f"{ours_grid:,.0f}", "", f"{compiled:.2f} s"))
    rows.append(("vectorbt, same grid (bar-sets/s)", f"{vectorbt_grid:,.0f}", "", f"{vectorbt:.2f} s"))
    rows.append(
        ("backtesting.py optimize (bar-sets/s)", f"{oracle_grid:,.0f}", "", f"8 sets {oracle_time:.1f} s")
    )
    rows.append(
        (
            "compiled vs backtesting.py",
            f"{ours_grid / oracle_grid:.0f}x",
            ">= 30x",
            _ok(ours_grid >= 30 * oracle_grid),
        )
    )
    rows.append(
        (
            "compiled vs vectorbt",
            f"{ours_grid / vectorbt_grid:.2f}x",
            ">= 1x",
            _ok(ours_grid >= vectorbt_grid),
        )
    )

    # 3. event-loop optimisation on 1 and 2 processes
    small = Backtest(frame.iloc[:OPTIMIZE_BARS], EventSmaCross)
    sets = {"fast": FAST, "slow": SLOW}
    one = _best_of(lambda: small.optimize(**sets, workers=1, progress=False), 1)
    two = _best_of(lambda: small.optimize(**sets, workers=2, progress=False), 1)
    rows.append(("event-loop optimise 1,000 sets, 1 process", f"{one:.1f} s", "", f"{1000 / one:.0f} runs/s"))
    rows.append(("same, 2 processes", f"{two:.1f} s", "", f"{1000 / two:.0f} runs/s"))
    rows.append(("speed-up on 2 cores", f"{one / two:.2f}x", "", ""))
    print_table(rows)


def _note(rows: list[tuple[str, str, str, str]]) -> None:
    """Show the figures so far (the whole run takes minutes)."""
    print_table(rows)
    print(flush=True)


def _ok(passed: bool) -> str:
    return "yes" if passed else "NO"
