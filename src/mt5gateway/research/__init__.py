"""Research: backtests of strategies over simulated, recorded or imported bars (issue 12).

The folder owns the backtester: the user model (``model``: ``Strategy``, ``Position``, ``Order``,
``Trade``, the broker, ``Backtest``), what a strategy sees bar by bar (``arrays``), money in
backtesting.py's unit model or an MT5 account (``accounts``), fills inside a bar (``intrabar``),
bars from sources (``data``), statistics (``stats``), strategy helpers (``lib``).

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

from .accounts import Instrument
from .data import bars
from .errors import BacktestError, LookAheadError, OrderError
from .lib import SMA, barssince, cross, crossover
from .model import Backtest, Order, Position, Strategy, Trade
from .stats import Stats, compute_stats

__all__ = [
    "SMA",
    "Backtest",
    "BacktestError",
    "Instrument",
    "LookAheadError",
    "Order",
    "OrderError",
    "Position",
    "Stats",
    "Strategy",
    "Trade",
    "barssince",
    "bars",
    "compute_stats",
    "cross",
    "crossover",
]
