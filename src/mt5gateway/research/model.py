"""The backtester's user model, in reading order: ``Strategy``, ``Position``, ``Order``, ``Trade``,
the broker that fills orders (``_Broker``), and ``Backtest``, which runs a strategy over bars.

The names and meanings are backtesting.py's (0.6.6), so a strategy written for it runs here after
changing its import, with the same fills, trades and statistics:

- market orders fill at the next bar's open (``trade_on_close``: at this bar's close);
- a stop order becomes a market (or, with ``limit``, a limit) order once the bar reaches its stop,
  filling at the stop or at the open when the bar gaps through it; a limit order fills at its
  limit or at a better open;
- a trade's SL is looked at before its TP in the same bar (``intrabar="sl_first"``), and a market
  entry's SL/TP apply in the entry bar already;
- the spread is paid once at entry, the commission at entry and at exit; sizes are whole units (a
  size in (0, 1) is that share of the available margin); an order the margin cannot carry is
  cancelled; ``finalize_trades`` closes what is open at the last bar's open.

Beyond backtesting.py: several symbols on one account (``data`` a mapping of symbol to bars, orders
with ``symbol=``), the MT5 account model (``symbol=``: lots, contract size, tick value, spread from
the bars, commission per lot, swaps, margin by leverage; see ``accounts``), and the intrabar paths
``"ohlc"`` and ``"ticks"`` (see ``intrabar``).
"""

from __future__ import annotations

import contextlib
import math
import re
import warnings
from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from difflib import get_close_matches
from itertools import chain
from numbers import Number
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .accounts import Account, Instrument, MT5Account, UnitsAccount, instrument, rollover_nights
from .arrays import Data, Series
from .data import frame_of, spread_points
from .errors import BacktestError, LookAheadError, OrderError
from .intrabar import INTRABAR_MODES, PathFiller, TickSource
from .optimize import optimize as search
from .stats import Stats, compute_stats, records_frame

__all__ = ["AccountView", "Backtest", "Order", "Position", "Strategy", "Trade"]


class _OutOfMoney(Exception):
    """Equity reached zero: the broker closed everything and the run ends."""


def _as_str(value: Any) -> str:
    """A short label of an indicator argument (``SMA(C,10)``)."""
    if isinstance(value, Number | str):
        return str(value)
    if isinstance(value, pd.DataFrame):
        return "df"
    name = str(getattr(value, "name", "") or "")
    if name in ("Open", "High", "Low", "Close", "Volume"):
        return name[:1]
    if callable(value):
        name = getattr(value, "__name__", value.__class__.__name__).replace("<lambda>", "λ")
    if len(name) > 10:
        name = name[:9] + "…"
    return name


def _talib_function(name: str) -> Callable[..., Any]:
    import talib  # noqa: PLC0415  (TA-Lib takes a while to load: only when a strategy names a function)

    function = getattr(talib, name.upper(), None)
    if function is None or not callable(function):
        raise BacktestError(
            f"unknown indicator {name!r}: give a TA-Lib function name (SMA, RSI, ...) or a callable"
        )
    return function  # type: ignore[no-any-return]


class AccountView(NamedTuple):
    """The account at the current bar, as MT5's ``account_info`` names it."""

    balance: float
    equity: float
    margin: float
    margin_free: float
    margin_level: float


class Strategy(metaclass=ABCMeta):
    """A trading strategy: subclass it, declare parameters as class attributes, override ``init``
    (declare indicators with ``self.I``) and ``next`` (decide, once per closed bar).

    ``Backtest.run(**params)`` sets the parameters on the instance; an unknown one is refused.
    """

    def __init__(self, broker: _Broker, data: Mapping[str, Data], params: Mapping[str, Any]) -> None:
        self._broker = broker
        self._datas = data
        self._data = next(iter(data.values()))
        self._indicators: list[Series] = []
        self._params = self._check_params(dict(params))

    def __repr__(self) -> str:
        return f"<Strategy {self}>"

    def __str__(self) -> str:
        params = ",".join(f"{key}={_as_str(value)}" for key, value in self._params.items())
        return f"{type(self).__name__}({params})" if params else type(self).__name__

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        """The strategy's parameters and their defaults (public, non-callable class attributes)."""
        names: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            if klass in (Strategy, object) or issubclass(Strategy, klass):
                continue
            for key, value in vars(klass).items():
                if (
                    key.startswith("_")
                    or callable(value)
                    or isinstance(value, property | classmethod | staticmethod)
                ):
                    continue
                names[key] = value
        return names

    def _check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        for key, value in params.items():
            if not hasattr(self, key):
                hint = get_close_matches(key, [a for a in dir(self) if not a.startswith("_")])
                raise BacktestError(
                    f"Strategy '{type(self).__name__}' has no parameter '{key}'"
                    + (f" (did you mean {', '.join(hint)}?)" if hint else "")
                    + f"; its parameters are: {', '.join(self.parameters()) or 'none'}",
                    field=key,
                )
            setattr(self, key, value)
        return params

    def I(  # noqa: E743
        self,
        func: Callable[..., Any] | str,
        *args: Any,
        name: str | Sequence[str] | None = None,
        plot: bool = True,
        overlay: bool | None = None,
        color: str | None = None,
        scatter: bool = False,
        **kwargs: Any,
    ) -> Series:
        """Declare an indicator: ``func(*args, **kwargs)`` over the full bars, revealed bar by bar.

        ``func`` is a callable returning an array (or a tuple / 2-D array of lines) as long as the
        data, or a TA-Lib function's name (``self.I("SMA", self.data.Close, 20)``). The run starts
        at the first bar where every indicator has a value (no NaN warm-up left).
        """
        function = _talib_function(func) if isinstance(func, str) else func
        if name is None:
            params = ",".join(filter(None, map(_as_str, chain(args, kwargs.values()))))
            label: str | list[str] = f"{_as_str(function)}({params})" if params else _as_str(function)
        elif isinstance(name, str):
            label = name.format(*map(_as_str, args), **{k: _as_str(v) for k, v in kwargs.items()})
        elif all(isinstance(item, str) for item in name):
            label = [item.format(*map(_as_str, args)) for item in name]
        else:
            raise BacktestError(
                f"indicator name must be a str or a sequence of str, not {type(name).__name__}"
            )
        try:
            value = function(*args, **kwargs)
        except BacktestError:
            raise
        except Exception as exc:
            raise BacktestError(f'indicator "{label}" failed: {exc}') from exc
        if isinstance(value, pd.DataFrame):
            value = value.to_numpy().T
        array = np.asarray(value, order="C") if value is not None else None
        length = len(self._data)
        if array is not None and array.ndim == 2 and array.shape[0] == length and array.shape[1] != length:
            array = array.T
        if array is None or not 1 <= array.ndim <= 2 or array.shape[-1] != length:
            raise BacktestError(
                f'indicator "{label}" must return an array (or lines) as long as the data ({length} bars); '
                f"got shape {getattr(array, 'shape', None)}"
            )
        if isinstance(label, list) and np.atleast_2d(array).shape[0] != len(label):
            raise BacktestError(
                f"{len(label)} names for an indicator of {np.atleast_2d(array).shape[0]} lines"
            )
        if overlay is None and np.issubdtype(array.dtype, np.number):
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = array / self._data._columns["Close"]
                overlay = bool(((ratio < 1.4) & (ratio > 0.6)).mean() > 0.6)
        series = Series.full(
            array,
            name=label,
            index=self._data._frame.index,
            plot=plot,
            overlay=overlay,
            color=color,
            scatter=scatter,
        )
        self._indicators.append(series)
        return series

    @abstractmethod
    def init(self) -> None:
        """Declare indicators and precompute what can be computed over all bars at once."""

    @abstractmethod
    def next(self) -> None:
        """Decide on the newest closed bar (``self.data.Close[-1]``); called once per bar."""

    def buy(
        self,
        *,
        size: float | None = None,
        limit: float | None = None,
        stop: float | None = None,
        sl: float | None = None,
        tp: float | None = None,
        tag: object = None,
        symbol: str | None = None,
    ) -> Order:
        """Place a long order: market (fills at the next open), ``limit``, ``stop`` or stop-limit,
        with optional ``sl`` / ``tp`` prices for the trade it opens.

        ``size``: units (or a fraction of the available margin in (0, 1); default: all of it), or
        lots in MT5 mode (default: the symbol's minimum). ``symbol``: which symbol (default: the first).
        """
        return self._order(1, size, limit, stop, sl, tp, tag, symbol)

    def sell(
        self,
        *,
        size: float | None = None,
        limit: float | None = None,
        stop: float | None = None,
        sl: float | None = None,
        tp: float | None = None,
        tag: object = None,
        symbol: str | None = None,
    ) -> Order:
        """Place a short order (see ``buy``). It does not close a long trade unless the backtest
        runs with ``exclusive_orders`` or without ``hedging`` (then it first reduces opposite trades);
        use ``Position.close()`` or ``Trade.close()`` to exit."""
        return self._order(-1, size, limit, stop, sl, tp, tag, symbol)

    def _order(
        self,
        sign: int,
        size: float | None,
        limit: float | None,
        stop: float | None,
        sl: float | None,
        tp: float | None,
        tag: object,
        symbol: str | None,
    ) -> Order:
        broker = self._broker
        sym = broker.symbol_id(symbol)
        account = broker.account
        chosen = account.default_size(sym) if size is None else account.check_size(sym, size)
        return broker.new_order(sign * chosen, limit, stop, sl, tp, tag, sym=sym)

    @property
    def equity(self) -> float:
        """Account equity now: cash plus the open trades' profit at the current close."""
        return self._broker.equity

    @property
    def account(self) -> AccountView:
        """Balance, equity, margin, free margin and margin level now (MT5's names)."""
        broker = self._broker
        equity = broker.equity
        used = broker.margin_used
        return AccountView(
            balance=broker.cash,
            equity=equity,
            margin=used,
            margin_free=equity - used,
            margin_level=equity / used * 100 if used else 0.0,
        )

    @property
    def data(self) -> Data:
        """The bars so far (of the first symbol): ``data.Close[-1]`` is the newest close."""
        return self._data

    @property
    def datas(self) -> Mapping[str, Data]:
        """Every symbol's bars so far, by symbol."""
        return self._datas

    @property
    def position(self) -> Position:
        """The position in the first symbol."""
        return self._broker.positions[0]

    @property
    def positions(self) -> Mapping[str, Position]:
        """The position in each symbol, by symbol."""
        return dict(zip(self._broker.symbols, self._broker.positions, strict=True))

    @property
    def orders(self) -> tuple[Order, ...]:
        """Orders waiting to fill (contingent SL / TP orders included)."""
        return tuple(self._broker.orders)

    @property
    def trades(self) -> tuple[Trade, ...]:
        """Open trades."""
        return tuple(self._broker.trades)

    @property
    def closed_trades(self) -> tuple[Trade, ...]:
        """Closed trades, in the order they closed."""
        return tuple(self._broker.closed_trades)


class Position:
    """The open trades of one symbol taken together; true when there is any."""

    __slots__ = ("_broker", "_sym")

    def __init__(self, broker: _Broker, sym: int) -> None:
        self._broker = broker
        self._sym = sym

    def __bool__(self) -> bool:
        return self._broker.position_size(self._sym) != 0

    @property
    def size(self) -> float:
        """Units (lots in MT5 mode) held, negative when short."""
        return self._broker.position_size(self._sym)

    @property
    def pl(self) -> float:
        """Profit or loss of the open trades at the current close, in cash."""
        return self._broker.position_pl(self._sym)

    @property
    def pl_pct(self) -> float:
        """Profit or loss in percent of the open trades' entry value."""
        invested = self._broker.position_value(self._sym)
        return self.pl / invested * 100 if invested else 0

    @property
    def is_long(self) -> bool:
        """True when the position is long."""
        return self.size > 0

    @property
    def is_short(self) -> bool:
        """True when the position is short."""
        return self.size < 0

    def close(self, portion: float = 1.0) -> None:
        """Close ``portion`` of every open trade of the symbol at the next market price."""
        for trade in self._broker.trades:
            if trade._sym == self._sym:
                trade.close(portion)

    def __repr__(self) -> str:
        count = sum(1 for t in self._broker.trades if t._sym == self._sym)
        return f"<Position: {self.size} ({count} trades)>"


class Order:
    """An order waiting to fill; placed by ``Strategy.buy`` / ``sell``, ``Trade.close`` or as a trade's
    SL / TP. Orders are good till cancelled; to change one, cancel it and place another."""

    __slots__ = ("_active", "_broker", "_limit", "_parent", "_size", "_sl", "_stop", "_sym", "_tag", "_tp")

    def __init__(
        self,
        broker: _Broker,
        size: float,
        limit: float | None,
        stop: float | None,
        sl: float | None,
        tp: float | None,
        parent_trade: Trade | None,
        tag: object,
        sym: int,
    ) -> None:
        self._broker = broker
        self._size = size
        self._limit = limit
        self._stop = stop
        self._sl = sl
        self._tp = tp
        self._parent = parent_trade
        self._tag = tag
        self._sym = sym
        self._active = True

    def __repr__(self) -> str:
        fields = (
            ("size", self._size),
            ("limit", self._limit),
            ("stop", self._stop),
            ("sl", self._sl),
            ("tp", self._tp),
            ("contingent", self.is_contingent),
            ("tag", self._tag),
        )
        shown = ", ".join(
            f"{k}={round(v, 5) if isinstance(v, float) else v!r}" for k, v in fields if v is not None
        )
        return f"<Order {shown}>"

    def cancel(self) -> None:
        """Cancel the order (a trade's SL / TP order: the trade no longer has that SL / TP)."""
        self._broker.remove_order(self)
        trade = self._parent
        if trade is not None:
            if self is trade._sl_order:
                trade._sl_order = None
            elif self is trade._tp_order:
                trade._tp_order = None

    @property
    def size(self) -> float:
        """Units (or lots; a fraction in (0, 1) of the available margin), negative for a sell."""
        return self._size

    @property
    def limit(self) -> float | None:
        """The limit price, ``None`` for a market order."""
        return self._limit

    @property
    def stop(self) -> float | None:
        """The stop price, ``None`` when there is none or it has been reached."""
        return self._stop

    @property
    def sl(self) -> float | None:
        """The stop-loss the trade this order opens will get."""
        return self._sl

    @property
    def tp(self) -> float | None:
        """The take-profit the trade this order opens will get."""
        return self._tp

    @property
    def tag(self) -> object:
        """Any value given at placing; the trade opened inherits it."""
        return self._tag

    @property
    def symbol(self) -> str:
        """The symbol the order trades."""
        return self._broker.symbols[self._sym]

    @property
    def parent_trade(self) -> Trade | None:
        """The trade this order closes (SL, TP, ``Trade.close``), if any."""
        return self._parent

    @property
    def is_long(self) -> bool:
        """True for a buy."""
        return self._size > 0

    @property
    def is_short(self) -> bool:
        """True for a sell."""
        return self._size < 0

    @property
    def is_contingent(self) -> bool:
        """True for a trade's SL or TP order (cancelled when the trade closes)."""
        parent = self._parent
        return parent is not None and (self is parent._sl_order or self is parent._tp_order)


class Trade:
    """A filled order's position: open in ``Strategy.trades``, then in ``Strategy.closed_trades``."""

    __slots__ = (
        "_booked",
        "_broker",
        "_commissions",
        "_entry_bar",
        "_entry_price",
        "_exit_bar",
        "_exit_price",
        "_size",
        "_sl_order",
        "_swap",
        "_sym",
        "_tag",
        "_tp_order",
    )

    def __init__(
        self, broker: _Broker, size: float, entry_price: float, entry_bar: int, tag: object, sym: int
    ) -> None:
        self._broker = broker
        self._size = size
        self._entry_price = entry_price
        self._exit_price: float | None = None
        self._entry_bar = entry_bar
        self._exit_bar: int | None = None
        self._sl_order: Order | None = None
        self._tp_order: Order | None = None
        self._tag = tag
        self._sym = sym
        self._commissions = 0.0
        self._swap = 0.0
        self._booked: tuple[float, float] | None = None  # (pl, pl_pct) once closed

    def __repr__(self) -> str:
        tag = f" tag={self._tag}" if self._tag is not None else ""
        return (
            f"<Trade size={self._size} time={self._entry_bar}-{self._exit_bar or ''} "
            f"price={self._entry_price}-{self._exit_price or ''} pl={self.pl:.0f}{tag}>"
        )

    def _copy(self, size: float) -> Trade:
        twin = Trade(self._broker, size, self._entry_price, self._entry_bar, self._tag, self._sym)
        twin._swap = self._swap
        return twin

    def close(self, portion: float = 1.0) -> None:
        """Close ``portion`` (0..1] of the trade at the next market price."""
        if not 0 < portion <= 1:
            raise OrderError(f"portion must be a fraction in (0, 1], got {portion}")
        size = -self._broker.account.portion(self._sym, self._size, portion)
        order = Order(self._broker, size, None, None, None, None, self, self._tag, self._sym)
        self._broker.orders.insert(0, order)

    @property
    def size(self) -> float:
        """Units (lots in MT5 mode), negative when short."""
        return self._size

    @property
    def symbol(self) -> str:
        """The symbol traded."""
        return self._broker.symbols[self._sym]

    @property
    def entry_price(self) -> float:
        """The price the trade opened at (the spread included)."""
        return self._entry_price

    @property
    def exit_price(self) -> float | None:
        """The price the trade closed at, ``None`` while open."""
        return self._exit_price

    @property
    def entry_bar(self) -> int:
        """Position of the bar the trade opened in."""
        return self._entry_bar

    @property
    def exit_bar(self) -> int | None:
        """Position of the bar the trade closed in, ``None`` while open."""
        return self._exit_bar

    @property
    def tag(self) -> object:
        """The tag of the order that opened the trade."""
        return self._tag

    @property
    def entry_time(self) -> Any:
        """Time of the entry bar."""
        return self._broker.index[self._entry_bar]

    @property
    def exit_time(self) -> Any:
        """Time of the exit bar, ``None`` while open."""
        return None if self._exit_bar is None else self._broker.index[self._exit_bar]

    @property
    def is_long(self) -> bool:
        """True for a long trade."""
        return self._size > 0

    @property
    def is_short(self) -> bool:
        """True for a short trade."""
        return not self.is_long

    @property
    def swap(self) -> float:
        """Swap booked at rollovers so far (MT5 mode; 0 otherwise)."""
        return self._swap

    @property
    def pl(self) -> float:
        """Profit or loss in cash (at the current close while open); commissions count once closed."""
        if self._booked is not None:
            return self._booked[0]
        price = self._exit_price or self._broker.current_price(self._sym, self._size)
        broker = self._broker
        return (
            broker.account.profit(self._sym, self._size, self._entry_price, price, broker.i)
            + self._swap
            - self._commissions
        )

    @property
    def pl_pct(self) -> float:
        """Profit or loss as a fraction of the entry value (commissions and swap included once closed)."""
        if self._booked is not None:
            return self._booked[1]
        price = self._exit_price or self._broker.current_price(self._sym, self._size)
        gross = math.copysign(1, self._size) * (price / self._entry_price - 1)
        costs = self._commissions - self._swap
        if not costs:
            return gross
        value = self._broker.account.notional(self._sym, self._size, self._entry_price, self._broker.i)
        return gross - costs / value

    @property
    def value(self) -> float:
        """The trade's value at the current close (exit price once closed)."""
        price = self._exit_price or self._broker.current_price(self._sym, self._size)
        return self._broker.account.notional(self._sym, self._size, price, self._broker.i)

    @property
    def sl(self) -> float | None:
        """The stop-loss price; assign a price to set or move it, ``None`` to remove it."""
        order = self._sl_order
        return order._stop if order is not None else None

    @sl.setter
    def sl(self, price: float | None) -> None:
        self._set_contingent("sl", price)

    @property
    def tp(self) -> float | None:
        """The take-profit price; assign a price to set or move it, ``None`` to remove it."""
        order = self._tp_order
        return order._limit if order is not None else None

    @tp.setter
    def tp(self, price: float | None) -> None:
        self._set_contingent("tp", price)

    def _set_contingent(self, kind: str, price: float | None) -> None:
        if price is not None and not 0 < price < math.inf:
            raise OrderError(f"{kind.upper()} price must be in (0, inf), got {price}")
        current = self._sl_order if kind == "sl" else self._tp_order
        if current is not None:
            current.cancel()
        if price:
            broker = self._broker
            if kind == "sl":
                self._sl_order = broker.new_order(
                    -self._size, None, price, None, None, self._tag, sym=self._sym, trade=self
                )
            else:
                self._tp_order = broker.new_order(
                    -self._size, price, None, None, None, self._tag, sym=self._sym, trade=self
                )


class _Broker:
    """Fills orders bar by bar over one account; keeps cash, trades and the equity curve."""

    def __init__(
        self,
        *,
        account: Account,
        symbols: Sequence[str],
        bid: Sequence[Mapping[str, list[float]]],
        ask: Sequence[Mapping[str, list[float]]],
        index: pd.Index,
        cash: float,
        trade_on_close: bool,
        hedging: bool,
        exclusive_orders: bool,
        swap_nights: Sequence[Sequence[int]] | None,
        path: PathFiller | None,
    ) -> None:
        if not cash > 0:
            raise BacktestError(f"cash must be positive, got {cash}")
        self.account = account
        self.symbols = list(symbols)
        self.index = index
        self._bid = bid
        self._ask = ask
        self._cash = float(cash)
        self._trade_on_close = trade_on_close
        self._hedging = hedging
        self._exclusive = exclusive_orders
        self._swap_nights = swap_nights
        self._swapped_at = -1
        self._path = path
        self._units = account.units
        self._single = len(self.symbols) == 1
        self._fast_equity = self._units and self._single
        self._close0 = bid[0]["Close"]
        self._equity: list[float] = [math.nan] * len(index)  # a list: a bar's write is a plain store
        self.orders: list[Order] = []
        self.trades: list[Trade] = []
        self.closed_trades: list[Trade] = []
        self.positions = [Position(self, sym) for sym in range(len(self.symbols))]
        self.i = 0
        # per symbol: (size, sum |size| x entry, sum size x entry); None when trades changed
        self._aggregates: list[tuple[float, float, float]] | None = None

    def __repr__(self) -> str:
        return f"<Broker: {self._cash:.0f}{self.positions[0].pl:+.1f} ({len(self.trades)} trades)>"

    def symbol_id(self, symbol: str | None) -> int:
        """The position of ``symbol`` in the backtest (``None``: the first)."""
        if symbol is None:
            return 0
        try:
            return self.symbols.index(symbol)
        except ValueError:
            raise OrderError(
                f"symbol {symbol!r} is not in this backtest ({', '.join(self.symbols)})"
            ) from None

    # -- positions and equity --

    def _aggregate(self) -> list[tuple[float, float, float]]:
        aggregates = self._aggregates
        if aggregates is None:
            sums = [[0.0, 0.0, 0.0] for _ in self.symbols]
            units = self._units
            for trade in self.trades:
                row = sums[trade._sym]
                row[0] += int(trade._size) if units else trade._size
                row[1] += abs(trade._size) * trade._entry_price
                row[2] += trade._size * trade._entry_price
            aggregates = self._aggregates = [(float(a), float(b), float(c)) for a, b, c in sums]
            if not units:
                self._aggregates = aggregates = [(round(a, 8), b, c) for a, b, c in aggregates]
        return aggregates

    def position_size(self, sym: int) -> float:
        """Net units or lots held in ``sym``."""
        return self._aggregate()[sym][0]

    def position_value(self, sym: int) -> float:
        """Entry value of the open trades of ``sym``."""
        if self._units:
            return self._aggregate()[sym][1]
        account, i = self.account, self.i
        return sum(account.notional(sym, t._size, t._entry_price, i) for t in self.trades if t._sym == sym)

    def position_pl(self, sym: int) -> float:
        """Open profit of ``sym``'s trades at the current close."""
        if self._units:
            size, _, size_entry = self._aggregate()[sym]
            return self._bid[sym]["Close"][self.i] * size - size_entry
        return sum(t.pl for t in self.trades if t._sym == sym)

    def current_price(self, sym: int, size: float) -> float:
        """The price an open trade of ``size`` is valued at now (bid for longs; ask for shorts in MT5)."""
        side = self._bid if size > 0 else self._ask
        return side[sym]["Close"][self.i]

    @property
    def equity(self) -> float:
        """Cash plus open profit (and swap) at the current close."""
        i = self.i
        if self._units:
            if not self.trades:
                return self._cash
            if self._single:
                size, _, size_entry = self._aggregate()[0]
                return self._cash + (self._close0[i] * size - size_entry)
            open_pl = 0.0
            for sym, (size, _, size_entry) in enumerate(self._aggregate()):
                if size or size_entry:
                    open_pl += self._bid[sym]["Close"][i] * size - size_entry
            return self._cash + open_pl
        account = self.account
        total = self._cash
        for t in self.trades:
            price = (self._bid if t._size > 0 else self._ask)[t._sym]["Close"][i]
            total += account.profit(t._sym, t._size, t._entry_price, price, i) + t._swap
        return total

    @property
    def margin_used(self) -> float:
        """The margin the open trades hold at the current prices."""
        account, i = self.account, self.i
        return sum(
            account.margin(t._sym, t._size, self.current_price(t._sym, t._size), i) for t in self.trades
        )

    @property
    def margin_available(self) -> float:
        """Equity less the margin the open trades hold (never below 0)."""
        return max(0, self.equity - self.margin_used)

    # -- orders --

    def new_order(
        self,
        size: float,
        limit: float | None = None,
        stop: float | None = None,
        sl: float | None = None,
        tp: float | None = None,
        tag: object = None,
        *,
        sym: int = 0,
        trade: Trade | None = None,
    ) -> Order:
        """Queue an order after checking its prices (long: SL < price < TP; short: TP < price < SL)."""
        size = float(size)
        stop = stop and float(stop)
        limit = limit and float(limit)
        sl = sl and float(sl)
        tp = tp and float(tp)
        if not size:
            raise OrderError("an order needs a non-zero size")
        reference = self.account.adjusted_price(
            size, (self._ask if size > 0 else self._bid)[sym]["Close"][self.i]
        )
        price = limit or stop or reference
        if size > 0:
            if not (sl or -np.inf) < price < (tp or np.inf):
                raise OrderError(f"Long orders require: SL ({sl}) < LIMIT ({price}) < TP ({tp})")
        elif not (tp or -np.inf) < price < (sl or np.inf):
            raise OrderError(f"Short orders require: TP ({tp}) < LIMIT ({price}) < SL ({sl})")
        if not self._units:
            self._check_stops_level(sym, price, sl, tp, limit or stop)
        order = Order(self, size, limit, stop, sl, tp, trade, tag, sym)
        if trade is None and self._exclusive:
            # iterating the live list while cancelling skips an order after each cancelled one, as
            # backtesting.py 0.6.6 does: kept for equal fills
            for other in self.orders:
                if other._sym == sym and not other.is_contingent:
                    other.cancel()
            for open_trade in self.trades:
                if open_trade._sym == sym:
                    open_trade.close()
        self.orders.insert(0 if trade is not None and stop else len(self.orders), order)
        return order

    def _check_stops_level(
        self, sym: int, price: float, sl: float | None, tp: float | None, pending: float | None
    ) -> None:
        spec = self.account.instruments[sym]  # type: ignore[attr-defined]
        minimum = spec.stops_level * spec.point
        if not minimum:
            return
        market = self._bid[sym]["Close"][self.i]
        for kind, level, against in (("SL", sl, price), ("TP", tp, price), ("stop/limit", pending, market)):
            if level and abs(level - against) < minimum - 1e-12:
                raise OrderError(
                    f"{spec.name}: {kind} {level} is closer than the stops level "
                    f"({spec.stops_level} points) to {against}"
                )

    def remove_order(self, order: Order) -> None:
        """Take ``order`` off the book (filled or cancelled)."""
        if order._active:
            order._active = False
            self.orders.remove(order)

    # -- the bar --

    def next(self, i: int) -> None:
        """Process bar ``i``: swaps at rollover, orders, then the equity at its close."""
        self.i = i
        trades = self.trades
        if trades and self._swap_nights is not None and self._swapped_at != i:
            self._charge_swaps(i)
        if self.orders:
            if self._path is None:
                self._process_orders()
            else:
                self._path.process(self, i)
        if not trades:
            equity = self._cash
        elif self._fast_equity:
            size, _, size_entry = (self._aggregates or self._aggregate())[0]
            equity = self._cash + (self._close0[i] * size - size_entry)
        else:
            equity = self.equity
        self._equity[i] = equity
        if equity <= 0:
            for trade in list(self.trades):
                self._close_trade(trade, self.current_price(trade._sym, trade._size), i)
            self._cash = 0.0
            self._equity[i:] = [0.0] * (len(self._equity) - i)
            raise _OutOfMoney

    @property
    def equity_curve(self) -> np.ndarray:
        """Equity at each bar's close (NaN before the first bar the strategy ran on)."""
        return np.array(self._equity)

    def _charge_swaps(self, i: int) -> None:
        self._swapped_at = i
        nights = self._swap_nights
        assert nights is not None
        account = self.account
        assert isinstance(account, MT5Account)
        for trade in self.trades:
            count = nights[trade._sym][i]
            if count:
                trade._swap = round(trade._swap + account.swap(trade._sym, trade._size, count, i - 1), 2)

    def bar_prices(self, sym: int, is_long: bool) -> tuple[float, float, float, float]:
        """Open, high, low and previous close of the current bar on the side an order fills at."""
        side = (self._ask if is_long else self._bid)[sym]
        i = self.i
        return side["Open"][i], side["High"][i], side["Low"][i], side["Close"][i - 1]

    def _process_orders(self) -> None:
        """Fill what the current bar reaches, in queue order (SL orders sit first): sl_first."""
        i = self.i
        reprocess = False
        for order in list(self.orders):
            if not order._active:
                continue
            is_long = order._size > 0
            open_, high, low, prev_close = self.bar_prices(order._sym, is_long)
            stop_price = order._stop
            if stop_price:
                if not (high >= stop_price if is_long else low <= stop_price):
                    continue
                order._stop = None  # a reached stop turns into a market / limit order
            limit = order._limit
            if limit:
                limit_hit = low <= limit if is_long else high >= limit
                # stop and limit both in this bar: the limit counts only if reached after the stop
                limit_before_stop = limit_hit and (
                    limit <= (stop_price or -np.inf) if is_long else limit >= (stop_price or np.inf)
                )
                if not limit_hit or limit_before_stop:
                    continue
                price = min(stop_price or open_, limit) if is_long else max(stop_price or open_, limit)
            else:
                contingent = order.is_contingent
                price = prev_close if self._trade_on_close and not contingent else open_
                if stop_price:
                    price = max(price, stop_price) if is_long else min(price, stop_price)
            is_market = not limit and not stop_price
            time_index = i - 1 if is_market and self._trade_on_close and not order.is_contingent else i
            if order._parent is not None:
                self._fill_closing(order, price, time_index, stop_price)
                continue
            opened = self._fill_opening(order, price, time_index)
            if opened and (order._sl or order._tp):
                sl, tp = order._sl, order._tp
                if is_market:
                    reprocess = True  # a market entry's SL / TP apply in its own bar
                elif (
                    stop_price
                    and not limit
                    and tp
                    and (
                        (is_long and tp <= high and (sl or -np.inf) < low)
                        or (not is_long and tp >= low and (sl or np.inf) > high)
                    )
                ):
                    reprocess = True  # stop entry and TP in one direction: not ambiguous
                elif low <= (sl or -np.inf) <= high or low <= (tp or -np.inf) <= high:
                    warnings.warn(
                        f"({self.index[i]}) A contingent SL/TP order would execute in the same bar its parent "
                        "stop/limit order was turned into a trade; the order of prices inside a bar is unknown, "
                        "so it waits for the next bar (intrabar='ohlc' or 'ticks' decide it).",
                        UserWarning,
                        stacklevel=2,
                    )
        if reprocess:
            self._process_orders()

    def _fill_closing(self, order: Order, price: float, time_index: int, stop_price: float | None) -> None:
        """Fill an SL, TP or ``Trade.close`` order against its trade."""
        trade = order._parent
        assert trade is not None
        size = math.copysign(min(abs(trade._size), abs(order._size)), order._size)
        if trade in self.trades:
            self._reduce_trade(trade, price, size, time_index)
            if order is trade._sl_order:
                order._stop = stop_price  # the trades table shows the SL, even one gapped through
        if order is not trade._sl_order and order is not trade._tp_order:
            self.remove_order(order)

    def _fill_opening(self, order: Order, price: float, time_index: int) -> bool:
        """Fill a stand-alone order: size it, net it against opposite trades, open the rest.

        Returns whether a new trade opened. An order the margin cannot carry is cancelled.
        """
        account = self.account
        size = order._size
        sym = order._sym
        adjusted = account.adjusted_price(size, price)
        per_unit_cost = adjusted + account.commission(sym, size, price) / abs(size)
        if self._units and -1 < size < 1:
            size = math.copysign(
                int((self.margin_available * account.leverage * abs(size)) // per_unit_cost), size
            )
            if not size:
                self._cancel_for_margin(order, "the relative-sized order")
                return False
        need = int(size) if self._units else size
        if not self._hedging:
            for trade in list(self.trades):
                if trade._sym != sym or (trade._size > 0) == (size > 0):
                    continue
                if abs(need) >= abs(trade._size):
                    self._close_trade(trade, price, time_index)
                    need += trade._size
                else:
                    self._reduce_trade(trade, price, need, time_index)
                    need = 0
                if not self._units:
                    need = round(need, 8)
                if not need:
                    break
        if need and not self._affordable(sym, need, adjusted, per_unit_cost):
            self._cancel_for_margin(order, "the order")
            return False
        if need:
            self._open_trade(adjusted, need, order._sl, order._tp, time_index, order._tag, sym)
        self.remove_order(order)
        return bool(need)

    def _affordable(self, sym: int, need: float, adjusted: float, per_unit_cost: float) -> bool:
        account = self.account
        if self._units:
            return not abs(need) * per_unit_cost > self.margin_available * account.leverage
        required = account.margin(sym, need, adjusted, self.i) + account.commission(sym, need, adjusted)
        return required <= self.margin_available

    def _cancel_for_margin(self, order: Order, what: str) -> None:
        warnings.warn(
            f"time={self.i}: Broker canceled {what} due to insufficient margin "
            f"(equity={self.equity:.2f}, margin_available={self.margin_available:.2f}).",
            UserWarning,
            stacklevel=2,
        )
        self.remove_order(order)

    def _reduce_trade(self, trade: Trade, price: float, size: float, time_index: int) -> None:
        self._aggregates = None
        left = trade._size + size
        if not self._units:
            left = round(left, 8)
        if not left:
            closing = trade
        else:
            # shrink the trade, and close a copy of the part that goes
            share = -size / trade._size
            trade._size = left
            if trade._sl_order is not None:
                trade._sl_order._size = -left
            if trade._tp_order is not None:
                trade._tp_order._size = -left
            closing = trade._copy(-size)
            if trade._swap:
                closing._swap = round(trade._swap * share, 2)
                trade._swap = round(trade._swap - closing._swap, 2)
            self.trades.append(closing)
        self._close_trade(closing, price, time_index)

    def _close_trade(self, trade: Trade, price: float, time_index: int) -> None:
        self._aggregates = None
        self.trades.remove(trade)
        if trade._sl_order is not None:
            self.remove_order(trade._sl_order)
        if trade._tp_order is not None:
            self.remove_order(trade._tp_order)
        trade._exit_price = price
        trade._exit_bar = time_index
        self.closed_trades.append(trade)
        account = self.account
        exit_commission = account.commission(trade._sym, trade._size, price)
        self._cash += trade.pl - exit_commission
        # the entry's commission is counted here, on the size that closed
        trade._commissions = exit_commission + account.commission(trade._sym, trade._size, trade._entry_price)
        trade._booked = (trade.pl, trade.pl_pct)  # at this bar's conversion rates

    def _open_trade(
        self,
        price: float,
        size: float,
        sl: float | None,
        tp: float | None,
        time_index: int,
        tag: object,
        sym: int,
    ) -> None:
        trade = Trade(self, size, price, time_index, tag, sym)
        self.trades.append(trade)
        self._aggregates = None
        self._cash -= self.account.commission(sym, size, price)
        if tp:
            trade.tp = tp
        if sl:
            trade.sl = sl

    @property
    def cash(self) -> float:
        """Cash (balance) now."""
        return self._cash


def _warmup_bars(indicators: Sequence[Series]) -> int:
    """Bars before every plotted line of every indicator has a value."""
    counts = [
        int(np.isnan(np.asarray(series, dtype=float)).argmin(axis=-1).max())
        for series in indicators
        if not series.options.get("scatter")
    ]
    return max(counts, default=0)


class Backtest:
    """A strategy over bars, with an account; ``run`` it once or ``optimize`` its parameters.

    ``data``: a DataFrame of ``Open, High, Low, Close[, Volume]`` on a DatetimeIndex (or a
    ``copy_rates`` frame), or a mapping of symbol to such frames for a portfolio on one account.
    ``bars(...)`` loads them from the simulator, the store or files.

    backtesting.py's options: ``cash``, ``commission`` (rate, ``(fixed, rate)`` or function;
    in MT5 mode: money per lot and side), ``spread`` (relative; in MT5 mode points, used where
    the bars have no ``spread`` column), ``margin`` (1 / leverage), ``trade_on_close``, ``hedging``,
    ``exclusive_orders``, ``finalize_trades``.

    MT5 mode: ``symbol`` (a name the simulator knows, a ``SymbolSpec`` or a terminal's
    ``SymbolInfo``; for several symbols, a mapping of name to either), ``leverage``, ``currency``.

    ``engine``: ``"auto"`` runs a ``SignalStrategy`` compiled when it can, anything else on the
    event loop; ``"events"`` always the loop; ``"compiled"`` insists on the compiled path.

    ``intrabar``: ``"sl_first"`` (backtesting.py's rule), ``"ohlc"`` (open, nearer extreme, farther
    extreme, close) or ``"ticks"`` (the real ticks inside each bar, from ``ticks=``: ``"sim"``,
    ``"store"`` or a function ``(symbol, from_msc, to_msc) -> TICKS_DTYPE array``).
    """

    def __init__(
        self,
        data: pd.DataFrame | Mapping[str, pd.DataFrame],
        strategy: type[Strategy],
        *,
        cash: float = 10_000,
        commission: float | tuple[float, float] | Callable[[float, float], float] = 0.0,
        spread: float = 0.0,
        margin: float = 1.0,
        trade_on_close: bool = False,
        hedging: bool = False,
        exclusive_orders: bool = False,
        finalize_trades: bool = False,
        symbol: Any = None,
        leverage: float = 100.0,
        currency: str = "USD",
        intrabar: str = "sl_first",
        ticks: TickSource | str | None = None,
        engine: str = "auto",
    ) -> None:
        if not (isinstance(strategy, type) and issubclass(strategy, Strategy)):
            raise BacktestError("strategy must be a Strategy subclass (the class, not an instance)")
        if engine not in ("auto", "events", "compiled"):
            raise BacktestError(f"engine must be auto, events or compiled, not {engine!r}")
        self._engine = engine
        if intrabar not in INTRABAR_MODES:
            raise BacktestError(f"intrabar must be one of {', '.join(INTRABAR_MODES)}, not {intrabar!r}")
        if not cash > 0:
            raise BacktestError(f"cash must be positive, got {cash}")
        frames = self._frames(data, symbol)
        self._symbols = list(frames)
        self._data = _aligned(frames)
        self._strategy = strategy
        self._cash = float(cash)
        self._options = {
            "trade_on_close": trade_on_close,
            "hedging": hedging,
            "exclusive_orders": exclusive_orders,
        }
        self._finalize_trades = bool(finalize_trades)
        self._intrabar = intrabar
        self._mt5 = symbol is not None
        self._commission = commission
        self._spread = spread
        self._margin = margin
        self._leverage = leverage
        self._currency = currency
        self._instruments: list[Instrument] = []
        if self._mt5:
            specs = symbol if isinstance(symbol, Mapping) else {self._symbols[0]: symbol}
            self._instruments = [instrument(specs.get(name, name)) for name in self._symbols]
            if not isinstance(commission, Number):
                raise BacktestError("in MT5 mode commission is money per lot and side (a number)")
        else:
            UnitsAccount(spread=spread, commission=commission, margin=margin)  # checks the options now
            first = next(iter(self._data.values()))
            if np.any(first["Close"].to_numpy() > cash):
                warnings.warn(
                    "Some prices are larger than initial cash value: sizes are whole units, so such a "
                    "bar cannot be bought; raise cash or use MT5 mode (lots).",
                    stacklevel=2,
                )
        self._ticks = ticks
        if intrabar == "ticks" and ticks is None:
            raise BacktestError('intrabar="ticks" needs ticks= ("sim", "store" or a function)')
        self._results: Stats | None = None
        self.progress: Callable[[int, int], None] | None = None
        """Called with (bars done, bars in all) every few thousand bars of ``run``."""

    @staticmethod
    def _frames(data: pd.DataFrame | Mapping[str, pd.DataFrame], symbol: Any) -> dict[str, pd.DataFrame]:
        if isinstance(data, pd.DataFrame):
            name = _symbol_name(symbol) if symbol is not None and not isinstance(symbol, Mapping) else None
            if symbol is not None and isinstance(symbol, Mapping):
                raise BacktestError("with symbol= a mapping, data must be a mapping of the same symbols")
            name = name or str(data.attrs.get("symbol") or "data")
            return {name: frame_of(data, what=name)}
        if isinstance(data, Mapping) and data:
            return {str(name): frame_of(frame, what=str(name)) for name, frame in data.items()}
        raise BacktestError(
            "data must be a pandas DataFrame of bars or a non-empty mapping of symbol to DataFrame"
        )

    @property
    def data(self) -> pd.DataFrame:
        """The bars of the first symbol, as the backtest uses them."""
        return next(iter(self._data.values()))

    @property
    def strategy(self) -> type[Strategy]:
        """The strategy class."""
        return self._strategy

    def _account(self) -> tuple[Account, list[dict[str, list[float]]], list[dict[str, list[float]]]]:
        bid = self._bid_prices()
        if not self._mt5:
            account: Account = UnitsAccount(
                spread=self._spread, commission=self._commission, margin=self._margin
            )
            return account, bid, bid
        offsets = np.array(
            [
                spread_points(frame, default=spec.spread if not self._spread else self._spread) * spec.point
                for frame, spec in zip(self._data.values(), self._instruments, strict=True)
            ]
        )
        closes = np.array([frame["Close"].to_numpy(dtype=float) for frame in self._data.values()])
        account = MT5Account(
            self._instruments,
            currency=self._currency,
            leverage=self._leverage,
            commission_per_lot=float(self._commission),  # type: ignore[arg-type]
            bid_close=closes,
            ask_offset=offsets,
        )
        ask = [
            {col: (np.asarray(side[col]) + offset).tolist() for col in side}
            for side, offset in zip(bid, offsets, strict=True)
        ]
        return account, bid, ask

    def _prepare(
        self, params: Mapping[str, Any]
    ) -> tuple[Strategy, _Broker, dict[str, Data], list[tuple[str, Series]], int]:
        """A broker and the strategy with ``params``, initialised: (strategy, broker, datas, the
        strategy's indicator attributes, the first bar it trades on)."""
        datas = {name: Data(frame.copy(deep=False), name) for name, frame in self._data.items()}
        account, bid, ask = self._account()
        index = next(iter(self._data.values())).index
        nights = None
        if isinstance(account, MT5Account) and isinstance(index, pd.DatetimeIndex):
            seconds = index.as_unit("s").asi8
            nights = [rollover_nights(spec, seconds).tolist() for spec in self._instruments]
        path = None
        if self._intrabar != "sl_first":
            path = PathFiller(self._intrabar, self._symbols, index, ticks=self._ticks)
        broker = _Broker(
            account=account,
            symbols=self._symbols,
            bid=bid,
            ask=ask,
            index=index,
            cash=self._cash,
            swap_nights=nights,
            path=path,
            **self._options,
        )
        strategy = self._strategy(broker, datas, params)
        strategy.init()
        for data in datas.values():
            data._refresh()
        indicators = [(attr, value) for attr, value in vars(strategy).items() if isinstance(value, Series)]
        return strategy, broker, datas, indicators, 1 + _warmup_bars([value for _, value in indicators])

    def _bid_prices(self) -> list[dict[str, list[float]]]:
        """The bars' prices as lists (fast scalar reads in the loop), made once per backtest."""
        cached: list[dict[str, list[float]]] | None = self.__dict__.get("_bid_cache")
        if cached is None:
            cached = [
                {col: frame[col].to_numpy(dtype=float).tolist() for col in ("Open", "High", "Low", "Close")}
                for frame in self._data.values()
            ]
            self.__dict__["_bid_cache"] = cached
        return cached

    def run(self, **params: Any) -> Stats:
        """Run the strategy with ``params`` (overriding its class attributes); the statistics.

        Returns backtesting.py's statistics (``stats["Sharpe Ratio"]``, ...) with ``_trades``,
        ``_equity_curve`` and ``_strategy``.
        """
        strategy, broker, datas, indicators, start = self._prepare(params)
        length = len(broker.index)
        if self._compiles():
            self._results = self._run_compiled(strategy, broker.account, start)  # type: ignore[arg-type]
            return self._results
        finished = _run_bars(strategy, broker, datas, indicators, start, length, self.progress)
        if finished and self._finalize_trades and start < length:
            for trade in reversed(broker.trades):
                trade.close()
            with contextlib.suppress(_OutOfMoney):
                broker.next(length - 1)
        elif finished and broker.trades and not self._finalize_trades:
            warnings.warn(
                "Some trades remain open at the end of backtest. Use `Backtest(..., finalize_trades=True)` "
                "to close them and include them in stats.",
                stacklevel=2,
            )
        for data in datas.values():
            data._set_length(length)
        equity = pd.Series(broker.equity_curve).bfill().fillna(broker.cash).to_numpy()
        self._results = compute_stats(
            trades=broker.closed_trades,
            equity=equity,
            ohlc=self.data,
            strategy=strategy,
            warmup=start - 1,
            symbols=self._symbols if (self._mt5 or len(self._symbols) > 1) else None,
        )
        return self._results

    def _compiles(self) -> bool:
        """Whether ``run`` takes the compiled path (see ``signals``)."""
        if self._engine == "events":
            return False
        from .signals import SignalStrategy  # noqa: PLC0415  (signals builds on this module)

        supported = (
            issubclass(self._strategy, SignalStrategy)
            and self._strategy.compiles()
            and not self._mt5
            and len(self._symbols) == 1
            and self._intrabar == "sl_first"
            and not callable(self._commission)
        )
        if self._engine == "compiled" and not supported:
            raise BacktestError(
                "the compiled engine runs SignalStrategy subclasses that do not override next(), on one "
                "symbol, without MT5 mode, with intrabar='sl_first' and a plain commission"
            )
        return supported

    def _run_compiled(self, strategy: Any, account: UnitsAccount, start: int) -> Stats:
        from .signals import run_compiled  # noqa: PLC0415  (signals builds on this module)

        records, equity, cash = run_compiled(
            strategy,
            self.data,
            account,
            cash=self._cash,
            start=start,
            trade_on_close=self._options["trade_on_close"],
            finalize=self._finalize_trades,
        )
        curve = np.asarray(pd.Series(equity).bfill().fillna(cash), dtype=np.float64)
        return compute_stats(
            trades=records_frame(records, self.data.index, strategy),
            equity=curve,
            ohlc=self.data,
            strategy=strategy,
            warmup=start - 1,
        )

    def optimize(self, **kwargs: Any) -> Any:
        """Search the strategy's parameters; see ``mt5gateway.research.optimize.optimize``."""
        return search(self, **kwargs)

    def evolve(self, **changes: Any) -> Backtest:
        """A copy of this backtest over other data or options (``data=...``, ``cash=...``)."""
        clone = object.__new__(Backtest)
        clone.__dict__.update(self.__dict__)
        if "data" in changes:
            frames = self._frames(changes.pop("data"), None)
            clone._data = _aligned(dict(zip(self._symbols, frames.values(), strict=True)))
        for key, value in changes.items():
            attribute = f"_{key}"
            if key in clone._options:
                clone._options = {**clone._options, key: value}
            elif attribute in clone.__dict__:
                setattr(clone, attribute, value)
            else:
                raise BacktestError(f"unknown backtest option {key!r}")
        clone._results = None
        clone.__dict__.pop("_bid_cache", None)
        return clone


_OUT_OF_BOUNDS = re.compile(r"index (-?\d+) is out of bounds for axis \d+ with size (\d+)")


def _run_bars(
    strategy: Strategy,
    broker: _Broker,
    datas: Mapping[str, Data],
    indicators: Sequence[tuple[str, Series]],
    start: int,
    length: int,
    progress: Callable[[int, int], None] | None = None,
) -> bool:
    """The event loop: reveal bar ``i``, let the broker fill, let the strategy decide.

    Returns whether it reached the last bar (not stopped by equity reaching zero). ``progress``
    hears (bars done, bars in all) every few thousand bars."""
    namespace = strategy.__dict__
    flat = [(attr, value) for attr, value in indicators if value.ndim == 1]
    lines = [(attr, value) for attr, value in indicators if value.ndim != 1]
    data_list = list(datas.values())
    next_bar = strategy.next
    broker_next = broker.next
    step = 4096 if progress is not None else max(1, length - start)
    i = start
    with np.errstate(invalid="ignore"):
        try:
            for first in range(start, length, step):
                last = min(length, first + step)
                if len(data_list) == 1 and not lines:
                    # the common case (one symbol, single-line indicators), with nothing more per bar
                    data = data_list[0]
                    views = data._views
                    for i in range(first, last):
                        end = i + 1
                        data._length = end
                        if views:
                            views.clear()
                        for attr, value in flat:
                            namespace[attr] = value[:end]
                        broker_next(i)
                        next_bar()
                else:
                    for i in range(first, last):
                        end = i + 1
                        for data in data_list:
                            data._length = end
                            data._views.clear()
                        for attr, value in flat:
                            namespace[attr] = value[:end]
                        for attr, value in lines:
                            namespace[attr] = value[..., :end]
                        broker_next(i)
                        next_bar()
                if progress is not None:
                    progress(last - start, length - start)
        except _OutOfMoney:
            return False
        except IndexError as exc:
            found = _OUT_OF_BOUNDS.search(str(exc))
            if found and int(found.group(1)) >= int(found.group(2)) == i + 1:
                raise LookAheadError(
                    f"{strategy} read bar {found.group(1)} while bar {i} ({broker.index[i]}) is the newest "
                    "closed one: in next(), data and indicators end at the current bar (use [-1] for it)"
                ) from exc
            raise
    return True


def _symbol_name(symbol: Any) -> str:
    if isinstance(symbol, str):
        return symbol
    name = getattr(symbol, "name", None)
    if not isinstance(name, str):
        raise BacktestError(
            f"symbol must be a name, a SymbolSpec or a SymbolInfo, not {type(symbol).__name__}"
        )
    return name


def _aligned(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Several symbols' bars on one time axis: a symbol without a bar at a time gets a flat bar at its
    last close (no volume), and the run starts where every symbol has begun."""
    if len(frames) == 1:
        return frames
    indexes = [frame.index for frame in frames.values()]
    union = indexes[0]
    for other in indexes[1:]:
        union = union.union(other)
    start = max(index[0] for index in indexes)
    union = union[union >= start]
    aligned: dict[str, pd.DataFrame] = {}
    for name, original in frames.items():
        frame = original.reindex(union)
        close = frame["Close"].ffill()
        missing = frame["Open"].isna()
        for col in ("Open", "High", "Low"):
            frame[col] = frame[col].where(~missing, close)
        frame["Close"] = close
        if "Volume" in frame:
            frame["Volume"] = frame["Volume"].where(~missing, 0)
        if "spread" in frame:
            frame["spread"] = frame["spread"].ffill()
        aligned[name] = frame
    return aligned
