"""Research: backtests of strategies over simulated, recorded or imported bars (issue 12).

The folder owns the backtester: the user model (``model``: ``Strategy``, ``Position``, ``Order``,
``Trade``, the broker, ``Backtest``), what a strategy sees bar by bar (``arrays``), money in
backtesting.py's unit model or an MT5 account (``accounts``), fills inside a bar (``intrabar``),
bars from sources (``data``), statistics (``stats``), strategy helpers (``lib``), strategies given
as arrays (``signals``) and their compiled simulation (``compiled``), parameter search and
walk-forward (``optimize``), reports (``report``), built-in strategies (``strategies``), the
``mt5gateway backtest`` command (``cli``), and backtest jobs for the gateway (``service``, ``settings``).

    from mt5gateway.research import Backtest, Strategy, bars, crossover

    class SmaCross(Strategy):
        fast, slow = 10, 30

        def init(self):
            self.fast_ma = self.I("SMA", self.data.Close, self.fast)
            self.slow_ma = self.I("SMA", self.data.Close, self.slow)

        def next(self):
            if crossover(self.fast_ma, self.slow_ma):
                self.position.close()
                self.buy()
            elif crossover(self.slow_ma, self.fast_ma):
                self.position.close()
                self.sell()

    stats = Backtest(bars("EURUSD", "H1", "2024-01-01", "2024-06-30"), SmaCross).run()

See docs/research.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .accounts import Instrument
    from .data import bars
    from .errors import BacktestError, LookAheadError, OrderError
    from .lib import SMA, barssince, cross, crossover
    from .model import Backtest, Order, Position, Strategy, Trade
    from .optimize import WalkForward, walk_forward
    from .report import html_report, trades_csv, write_report
    from .signals import SignalStrategy
    from .stats import Stats, compute_stats

# name -> the module that defines it; resolved on first use, so that importing a light part of the
# package (``research.settings``, read by the gateway's config) does not import pandas and Numba
_EXPORTS = {
    "Instrument": "accounts",
    "bars": "data",
    "BacktestError": "errors",
    "LookAheadError": "errors",
    "OrderError": "errors",
    "SMA": "lib",
    "barssince": "lib",
    "cross": "lib",
    "crossover": "lib",
    "Backtest": "model",
    "Order": "model",
    "Position": "model",
    "Strategy": "model",
    "Trade": "model",
    "WalkForward": "optimize",
    "walk_forward": "optimize",
    "html_report": "report",
    "trades_csv": "report",
    "write_report": "report",
    "SignalStrategy": "signals",
    "Stats": "stats",
    "compute_stats": "stats",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = [
    "SMA",
    "Backtest",
    "BacktestError",
    "Instrument",
    "LookAheadError",
    "Order",
    "OrderError",
    "Position",
    "SignalStrategy",
    "Stats",
    "Strategy",
    "Trade",
    "WalkForward",
    "bars",
    "barssince",
    "compute_stats",
    "cross",
    "crossover",
    "html_report",
    "trades_csv",
    "walk_forward",
    "write_report",
]
