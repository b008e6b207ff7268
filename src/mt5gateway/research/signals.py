"""``SignalStrategy``: a strategy given as arrays, run by the event loop or compiled.

A subclass computes, in ``init``, what to do at each bar and hands it over with ``set_signal``:

- ``entry_size``: > 0 go long, < 0 go short, 0 / NaN nothing; the magnitude is an order size
  (a fraction of the available margin in (0, 1), or whole units; ``True`` is one unit);
- ``exit``: true closes the position;
- ``sl`` / ``tp``: the stop-loss / take-profit price for an entry at that bar (NaN: none).

One position at a time: at each bar the position closes when ``exit`` says so or the entry points
the other way, and an entry opens when flat or against the position (a reversal); an entry in the
position's own direction is ignored. Orders are market orders filled at the next bar's open, as
``Strategy.next`` would place them.

``Backtest.run`` simulates such a strategy with the compiled path (``compiled.simulate``) when the
backtest allows it (backtesting.py's account with a plain commission, one symbol, ``sl_first``) and
with the event loop otherwise; ``engine="events"`` forces the loop. Both give the same trades.
``optimize`` runs many parameter sets in one compiled, multi-threaded call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .compiled import ERROR_LONG_STOPS, TRADE_DTYPE, simulate
from .errors import BacktestError, OrderError
from .model import Strategy

if TYPE_CHECKING:
    import pandas as pd

    from .accounts import UnitsAccount

__all__ = ["SignalStrategy", "run_compiled"]

_simulate: Any = simulate  # Numba's dispatcher, called with plain arrays and scalars

FloatArray = npt.NDArray[np.float64]


def _line(values: Any, length: int, what: str) -> FloatArray:
    array = np.asarray(values, dtype=float)
    if array.ndim == 0:
        array = np.full(length, float(array))
    if array.shape != (length,):
        raise BacktestError(f"{what} must be one value per bar ({length}), got shape {array.shape}")
    return array


class SignalStrategy(Strategy):
    """A strategy whose entries, exits, stops and sizes are arrays (see the module docstring).

    Subclasses override ``init`` and call ``self.set_signal(...)`` in it; they do not override
    ``next`` (one that does runs on the event loop only).
    """

    _signal_entry: Any = None
    _signal_exit: Any = None
    _signal_sl: Any = None
    _signal_tp: Any = None

    def set_signal(
        self,
        entry_size: Sequence[float] | Any,
        exit: Sequence[bool] | Any = None,
        *,
        sl: Sequence[float] | Any = None,
        tp: Sequence[float] | Any = None,
        plot: bool = True,
    ) -> None:
        """Hand over the signals (each one value per bar, or a scalar for every bar)."""
        length = len(self.data)
        entry = _line(entry_size, length, "entry_size")
        sizes = np.abs(entry[np.isfinite(entry) & (entry != 0)])
        if len(sizes) and not np.all((sizes < 1) | (np.round(sizes) == sizes)):
            raise OrderError("entry sizes must be fractions in (0, 1) or whole numbers of units")
        closing = np.zeros(length) if exit is None else _line(exit, length, "exit")
        self._signal_entry = self._signal_line(entry, "entry size", plot)
        self._signal_exit = self._signal_line(closing, "exit", plot)
        if sl is not None:
            stop_loss = _line(sl, length, "sl")
            self._signal_sl = self._signal_line(np.where(stop_loss == 0, np.nan, stop_loss), "sl", plot)
        if tp is not None:
            take_profit = _line(tp, length, "tp")
            self._signal_tp = self._signal_line(np.where(take_profit == 0, np.nan, take_profit), "tp", plot)

    def _signal_line(self, values: FloatArray, name: str, plot: bool) -> Any:
        return self.I(lambda: values, name=name, plot=plot, overlay=False, scatter=True)

    def init(self) -> None:
        """Compute the signals and call ``set_signal``."""

    def next(self) -> None:
        """Act on this bar's signals (the event loop's version of the compiled rules)."""
        wanted = float(self._signal_entry[-1])
        if math.isnan(wanted):  # NaN
            wanted = 0.0
        position = self.position
        held = position.size
        if held and (self._signal_exit[-1] or (wanted and (wanted > 0) != (held > 0))):
            position.close()
        if wanted and (not held or (wanted > 0) != (held > 0)):
            sl = float(self._signal_sl[-1]) if self._signal_sl is not None else np.nan
            tp = float(self._signal_tp[-1]) if self._signal_tp is not None else np.nan
            place = self.buy if wanted > 0 else self.sell
            place(size=abs(wanted), sl=None if math.isnan(sl) else sl, tp=None if math.isnan(tp) else tp)

    def signals(self) -> tuple[FloatArray, npt.NDArray[np.bool_], FloatArray, FloatArray]:
        """The signal arrays right after ``init`` (entry sizes, exits, SL, TP; SL and TP empty when
        neither was given)."""
        if self._signal_entry is None:
            raise BacktestError(f"{type(self).__name__}.init() must call self.set_signal(...)")
        entry = np.asarray(self._signal_entry, dtype=float)
        closing = np.asarray(self._signal_exit, dtype=float) != 0
        if self._signal_sl is None and self._signal_tp is None:
            return entry, closing, np.empty(0), np.empty(0)
        none = np.full(len(entry), np.nan)
        sl = none if self._signal_sl is None else np.asarray(self._signal_sl, dtype=float)
        tp = none if self._signal_tp is None else np.asarray(self._signal_tp, dtype=float)
        return entry, closing, sl, tp

    @classmethod
    def compiles(cls) -> bool:
        """Whether this class's orders are the compiled path's (it does not override ``next``)."""
        return cls.next is SignalStrategy.next


def run_compiled(
    strategy: SignalStrategy,
    frame: pd.DataFrame,
    account: UnitsAccount,
    *,
    cash: float,
    start: int,
    trade_on_close: bool,
    finalize: bool,
) -> tuple[npt.NDArray[np.void], FloatArray, float]:
    """Simulate ``strategy``'s signals over ``frame``: (trade records, equity with NaN before the
    start, the final cash). An invalid order raises the event loop's ``OrderError``."""
    fixed, rate = account.commission_terms() or (0.0, 0.0)
    entry, closing, sl, tp = strategy.signals()
    prices = [
        np.ascontiguousarray(frame[col].to_numpy(dtype=float)) for col in ("Open", "High", "Low", "Close")
    ]
    equity = np.full(len(frame), np.nan)
    records = np.empty(len(frame), dtype=TRADE_DTYPE)
    # plain floats and bools: one compiled signature, cached across runs and processes
    count, bad_bar, code, left = _simulate(
        *prices, entry, closing, sl, tp, int(start), float(cash), float(account.spread), float(fixed),
        float(rate), float(account.leverage), bool(trade_on_close), bool(finalize), equity, records,
    )  # fmt: skip
    if bad_bar >= 0:
        close = prices[3][bad_bar]
        size = entry[bad_bar]
        price = account.adjusted_price(size, close)
        stop, take = (sl[bad_bar], tp[bad_bar]) if len(sl) else (np.nan, np.nan)
        shown = [None if math.isnan(value) else float(value) for value in (stop, take)]
        if code == ERROR_LONG_STOPS:
            raise OrderError(f"Long orders require: SL ({shown[0]}) < LIMIT ({price}) < TP ({shown[1]})")
        raise OrderError(f"Short orders require: TP ({shown[1]}) < LIMIT ({price}) < SL ({shown[0]})")
    return records[:count], equity, left
