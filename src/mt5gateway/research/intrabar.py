"""What happens inside a bar: the order in which a bar's prices reach pending orders.

A bar only says where the price opened, how far it went each way and where it closed. The
``intrabar`` option of ``Backtest`` decides what is assumed in between:

- ``"sl_first"`` (default, backtesting.py's rule, done by ``model._Broker``): orders are looked at in
  queue order, a trade's SL before its TP; an SL / TP of a trade opened by a stop or limit order in
  this bar waits for the next bar unless the direction makes it certain.
- ``"ohlc"``: the price moves open -> the nearer extreme -> the farther extreme -> close (on a tie, as
  MT5's OHLC model: a rising bar visits its low first, a falling bar its high), in straight lines.
  Orders fill in the order the path reaches them, at their price (at the open when it gaps past
  them), and an SL / TP of a trade opened inside the bar can fill later on the same path.
- ``"ticks"``: the real ticks inside each bar (the simulator's or the recorder's), like MT5's "every
  tick based on real ticks": buys trigger and fill on the ask, sells on the bid; a stop fills at the
  tick that reached it, a limit at its price. A bar without ticks falls back to ``"ohlc"``.

Market orders fill at the path's first price (the open) in every mode.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .data import tick_source

if TYPE_CHECKING:
    from .model import Order, _Broker

__all__ = ["INTRABAR_MODES", "PathFiller", "TickSource", "ohlc_path"]

INTRABAR_MODES = ("sl_first", "ohlc", "ticks")
TickSource = Callable[[str, int, int], Any]
"""``(symbol, from_msc, to_msc) -> TICKS_DTYPE array`` of the ticks with ``from_msc <= time_msc < to_msc``."""

FloatArray = npt.NDArray[np.float64]
_DAY_MSC = 86_400_000


def ohlc_path(open_: float, high: float, low: float, close: float) -> FloatArray:
    """Open, the nearer extreme, the farther extreme, close (a tie: low first when the bar rises)."""
    up, down = high - open_, open_ - low
    high_first = up < down or (up == down and close < open_)
    return np.array([open_, high, low, close] if high_first else [open_, low, high, close])


class _Path:
    """One bar's price path on both sides; positions are (point k, fraction t of the segment to k)."""

    __slots__ = ("ask", "bid", "continuous")

    def __init__(self, bid: FloatArray, ask: FloatArray, continuous: bool) -> None:
        self.bid = bid
        self.ask = ask
        self.continuous = continuous

    def price(self, points: FloatArray, k: int, t: float) -> float:
        if k == 0 or t >= 1:
            return float(points[k])
        start = float(points[k - 1])
        return start + t * (float(points[k]) - start)

    def crossing(self, order: Order, k: int, t: float) -> tuple[int, float, float] | None:
        """Where from (k, t) on the path first reaches ``order`` and the price it fills (or, for a
        stop-limit, turns into a limit) at; ``None`` if it does not in this bar."""
        is_long = order._size > 0
        points = self.ask if is_long else self.bid
        stop = order._stop
        level = stop if stop else order._limit
        if not level:
            return None
        # a stop waits for the price to rise to it (buy) / fall to it (sell); a limit the opposite
        rising = is_long if stop else not is_long
        current = self.price(points, k, t)
        if (current >= level) if rising else (current <= level):
            return k, t, current
        rest = points[k:] if t < 1 and k > 0 else points[k + 1 :]
        first = k if t < 1 and k > 0 else k + 1
        reached = rest >= level if rising else rest <= level
        if not reached.any():
            return None
        j = first + int(np.argmax(reached))
        if not self.continuous:
            return j, 1.0, float(points[j]) if stop else float(level)
        start, end = float(points[j - 1]), float(points[j])
        return j, (level - start) / (end - start) if end != start else 1.0, float(level)


class PathFiller:
    """Fills a bar's orders along its ``ohlc`` or ``ticks`` path (see the module docstring)."""

    def __init__(
        self, mode: str, symbols: Sequence[str], index: pd.Index, *, ticks: TickSource | str | None
    ) -> None:
        self._mode = mode
        self._symbols = list(symbols)
        self._times_msc: npt.NDArray[np.int64] | None = None
        if isinstance(index, pd.DatetimeIndex):
            self._times_msc = index.as_unit("ms").asi8
        if mode == "ticks":
            if self._times_msc is None:
                raise ValueError('intrabar="ticks" needs bars on a DatetimeIndex')
            if isinstance(ticks, str):
                ticks = tick_source(ticks)
        self._ticks: TickSource | None = ticks  # type: ignore[assignment]
        self._cache: dict[str, tuple[int, int, Any]] = {}
        step = np.diff(self._times_msc) if self._times_msc is not None and len(self._times_msc) > 1 else None
        self._bar_msc = int(np.median(step)) if step is not None else 0

    def _path(self, broker: _Broker, sym: int, i: int) -> _Path:
        bid_side, ask_side = broker._bid[sym], broker._ask[sym]
        if self._mode == "ticks":
            ticks = self._bar_ticks(sym, i)
            if ticks is not None and len(ticks):
                offset = 0.0 if broker.account.units else None
                bid = ticks["bid"].astype(float)
                ask = bid if offset is not None else ticks["ask"].astype(float)
                return _Path(bid, ask, continuous=False)
        bid = ohlc_path(bid_side["Open"][i], bid_side["High"][i], bid_side["Low"][i], bid_side["Close"][i])
        offset = ask_side["Open"][i] - bid_side["Open"][i]
        return _Path(bid, bid + offset if offset else bid, continuous=True)

    def _bar_ticks(self, sym: int, i: int) -> Any:
        assert self._times_msc is not None and self._ticks is not None
        symbol = self._symbols[sym]
        start = int(self._times_msc[i])
        end = int(self._times_msc[i + 1]) if i + 1 < len(self._times_msc) else start + self._bar_msc
        cached = self._cache.get(symbol)
        if cached is None or not cached[0] <= start or end > cached[1]:
            chunk_start = start - start % _DAY_MSC
            chunk_end = max(end, chunk_start + _DAY_MSC)
            loaded = self._ticks(symbol, chunk_start, chunk_end)
            cached = (chunk_start, chunk_end, loaded if loaded is not None else np.empty(0))
            self._cache[symbol] = cached
        ticks = cached[2]
        if not len(ticks):
            return None
        times = ticks["time_msc"]
        return ticks[np.searchsorted(times, start) : np.searchsorted(times, end)]

    def process(self, broker: _Broker, i: int) -> None:
        """Fill bar ``i``'s orders, symbol by symbol, in the order the path reaches them."""
        for sym in sorted({order._sym for order in broker.orders}):
            self._process_symbol(broker, sym, i)

    def _process_symbol(self, broker: _Broker, sym: int, i: int) -> None:
        path = self._path(broker, sym, i)
        trade_on_close = broker._trade_on_close
        # the open: market orders, and whatever the open already reaches, in queue order
        filled = True
        while filled:
            filled = False
            for order in list(broker.orders):
                if not order._active or order._sym != sym:
                    continue
                if order._stop or order._limit:
                    hit = path.crossing(order, 0, 1.0)
                    if hit is None or hit[0] != 0:
                        continue
                    filled |= self._reach(broker, order, hit[2], i)
                    continue
                contingent = order.is_contingent
                on_close = trade_on_close and not contingent
                if on_close:
                    price = broker.bar_prices(sym, order._size > 0)[3]
                else:
                    price = float((path.ask if order._size > 0 else path.bid)[0])
                self._fill(broker, order, price, i - 1 if on_close else i)
                filled = True
        # then along the path, the earliest crossing first (ties: queue order, SL orders first)
        k, t = 0, 1.0
        while True:
            best: tuple[int, float, float, Order] | None = None
            for order in broker.orders:
                if order._sym != sym:
                    continue
                hit = path.crossing(order, k, t)
                if hit is not None and (best is None or (hit[0], hit[1]) < (best[0], best[1])):
                    best = (*hit, order)
            if best is None:
                return
            k, t, price, order = best
            self._reach(broker, order, price, i)

    def _reach(self, broker: _Broker, order: Order, price: float, i: int) -> bool:
        """The path reached ``order`` at ``price``: a stop-limit turns into a limit, others fill."""
        if order._stop and order._limit:
            order._stop = None
            return True
        self._fill(broker, order, price, i)
        return True

    @staticmethod
    def _fill(broker: _Broker, order: Order, price: float, time_index: int) -> None:
        stop = order._stop
        if order._parent is not None:
            order._stop = None
            broker._fill_closing(order, price, time_index, stop)
            return
        order._stop = None
        broker._fill_opening(order, price, time_index)
        if order._active:  # not filled and not cancelled: cannot happen, but never loop on it
            broker.remove_order(order)
