"""How money works in a backtest: backtesting.py's unit account, or an MT5 account in lots.

The broker (``model._Broker``) fills orders by the same rules in both; an account decides what a
fill costs and what a trade earns:

- ``UnitsAccount`` (the default, backtesting.py 0.6.6's model): whole units of the asset, a relative
  ``spread`` paid once at entry, ``commission`` (a rate, ``(fixed, rate)`` or a function) at entry and
  at exit, ``margin`` as the share of a position's value an account must hold.
- ``MT5Account`` (``Backtest(..., symbol=...)``): sizes in lots on each symbol's ``volume_step``,
  buys at the ask (bid bars plus the bars' ``spread`` in points), profit = price move x contract size
  x lots converted into the account currency, commission per lot and side, swaps at each rollover,
  margin by leverage and the symbol's calculation mode (MQL5 ENUM_SYMBOL_CALC_MODE), as the
  simulator's ``order_calc_profit`` / ``order_calc_margin`` compute them. Money is rounded to cents
  as a trade server books it.

``Instrument`` is the part of a symbol's specification a backtest needs, built from the simulator's
``SymbolSpec``, a terminal's ``SymbolInfo`` or a symbol name the simulator knows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Number
from typing import Any

import numpy as np
import numpy.typing as npt

from mt5gateway.sim.symbols import DEFAULT_SYMBOLS
from mt5gateway.terminal import constants as c

from .errors import BacktestError, OrderError

__all__ = [
    "FULL_EQUITY",
    "Account",
    "Instrument",
    "MT5Account",
    "UnitsAccount",
    "instrument",
    "rollover_nights",
]

CommissionFunction = Callable[[float, float], float]
FloatArray = npt.NDArray[np.float64]
SECONDS_PER_DAY = 86_400


class Account:
    """What a fill costs and a trade earns; the broker asks, the account answers.

    ``sym`` is a symbol's position in the backtest (0 for a single symbol), ``i`` a bar's position.
    """

    units: bool = True
    """Whole units and relative spread (backtesting.py's model), as opposed to lots."""

    leverage: float = 1.0
    """How many times the free margin a position's value may be."""

    def default_size(self, sym: int) -> float:
        """The size of a ``buy()`` / ``sell()`` given none."""
        raise NotImplementedError

    def check_size(self, sym: int, size: float) -> float:
        """``size`` if it is an order size this account accepts, else ``OrderError``."""
        raise NotImplementedError

    def adjusted_price(self, size: float, price: float) -> float:
        """The price a new trade opens at after the spread (a buy pays more, a sell gets less)."""
        raise NotImplementedError

    def commission(self, sym: int, size: float, price: float) -> float:
        """The commission of one fill of ``size`` at ``price``."""
        raise NotImplementedError

    def profit(self, sym: int, size: float, entry: float, exit_price: float, i: int) -> float:
        """A trade's profit before costs, in the account currency, valued at bar ``i``."""
        raise NotImplementedError

    def notional(self, sym: int, size: float, price: float, i: int) -> float:
        """A trade's value at ``price`` (what returns in percent are relative to)."""
        raise NotImplementedError

    def margin(self, sym: int, size: float, price: float, i: int) -> float:
        """The margin a position of ``size`` at ``price`` holds."""
        raise NotImplementedError

    def portion(self, sym: int, size: float, portion: float) -> float:
        """The size that closes ``portion`` of a trade of ``size`` (same sign as ``size``)."""
        raise NotImplementedError


class UnitsAccount(Account):
    """backtesting.py's account: units, a relative spread at entry, commission at entry and exit."""

    units = True

    def __init__(
        self,
        *,
        spread: float = 0.0,
        commission: float | tuple[float, float] | CommissionFunction = 0.0,
        margin: float = 1.0,
    ) -> None:
        if not isinstance(spread, Number):
            raise BacktestError("spread must be a number: the bid-ask spread relative to the price")
        if not 0 < margin <= 1:
            raise BacktestError(f"margin must be in (0, 1] (1 / leverage), got {margin}")
        self.spread = float(spread)
        self.leverage = 1 / margin
        if callable(commission):
            self._commission: CommissionFunction = commission
        else:
            fixed, rate = commission if isinstance(commission, tuple) else (0.0, commission)
            if not isinstance(fixed, Number) or not isinstance(rate, Number):
                raise BacktestError("commission must be a rate, a (fixed, rate) pair or a function")
            if fixed < 0:
                raise BacktestError(f"the fixed commission must be >= 0, got {fixed}")
            if not -0.1 <= rate < 0.1:
                raise BacktestError(f"the commission rate must be in [-10 %, 10 %), got {rate}")
            self._fixed, self._rate = fixed, rate
            self._commission = self._fixed_and_rate

    def _fixed_and_rate(self, size: float, price: float) -> float:
        return self._fixed + abs(size) * price * self._rate

    def commission_terms(self) -> tuple[float, float] | None:
        """``(fixed, rate)`` of a plain commission, ``None`` for a function (the compiled path's input)."""
        if self._commission == self._fixed_and_rate:
            return self._fixed, self._rate
        return None

    def default_size(self, sym: int) -> float:
        return FULL_EQUITY

    def check_size(self, sym: int, size: float) -> float:
        magnitude = abs(size)
        if not (0 < magnitude < 1 or (magnitude >= 1 and round(magnitude) == magnitude)):
            raise OrderError(
                "size must be a positive fraction of equity, or a positive whole number of units"
            )
        return size

    def adjusted_price(self, size: float, price: float) -> float:
        return price * (1 + math.copysign(self.spread, size))

    def commission(self, sym: int, size: float, price: float) -> float:
        return self._commission(size, price)

    def profit(self, sym: int, size: float, entry: float, exit_price: float, i: int) -> float:
        return size * (exit_price - entry)

    def notional(self, sym: int, size: float, price: float, i: int) -> float:
        return abs(size) * price

    def margin(self, sym: int, size: float, price: float, i: int) -> float:
        return abs(size) * price / self.leverage

    def portion(self, sym: int, size: float, portion: float) -> float:
        return math.copysign(max(1, round(abs(size) * portion)), size)


FULL_EQUITY = 1 - 2.220446049250313e-16
"""The default order size of the units account: all the available margin (backtesting.py's ``.9999``)."""


# ---------------------------------------------------------------------------------------------- MT5


@dataclass(frozen=True)
class Instrument:
    """What a backtest needs of a symbol's specification (MT5 names, prices in the symbol's units)."""

    name: str
    digits: int
    contract_size: float
    tick_size: float
    volume_min: float
    volume_max: float
    volume_step: float
    currency_base: str
    currency_profit: str
    currency_margin: str
    calc_mode: int
    swap_long: float
    swap_short: float
    swap_rollover3days: int = c.DAY_OF_WEEK_WEDNESDAY
    stops_level: int = 0
    spread: int = 0
    trading_weekdays: frozenset[int] | None = None
    """Monday = 0 ... Sunday = 6; ``None``: the weekdays the bars have."""

    @property
    def point(self) -> float:
        """The price's smallest decimal, 10**-digits."""
        return float(10.0**-self.digits)


def instrument(symbol: Any) -> Instrument:
    """An ``Instrument`` from a simulator ``SymbolSpec``, a terminal's ``SymbolInfo``, an
    ``Instrument`` or the name of a symbol the simulator offers."""
    if isinstance(symbol, Instrument):
        return symbol
    if isinstance(symbol, str):
        spec = DEFAULT_SYMBOLS.get(symbol)
        if spec is None:
            raise BacktestError(
                f"unknown symbol {symbol!r}: give its SymbolInfo (mt5.symbol_info(name)) or one of "
                + ", ".join(sorted(DEFAULT_SYMBOLS))
            )
        symbol = spec
    if hasattr(symbol, "sessions") and hasattr(symbol, "contract_size"):  # a simulator SymbolSpec
        return Instrument(
            name=symbol.name,
            digits=symbol.digits,
            contract_size=symbol.contract_size,
            tick_size=symbol.tick_size,
            volume_min=symbol.volume_min,
            volume_max=symbol.volume_max,
            volume_step=symbol.volume_step,
            currency_base=symbol.currency_base,
            currency_profit=symbol.currency_profit,
            currency_margin=symbol.currency_margin,
            calc_mode=symbol.calc_mode,
            swap_long=symbol.swap_long,
            swap_short=symbol.swap_short,
            swap_rollover3days=symbol.swap_rollover3days,
            stops_level=symbol.stops_level,
            spread=symbol.spread,
            trading_weekdays=frozenset(symbol.sessions.weekdays),
        )
    if hasattr(symbol, "trade_contract_size"):  # a SymbolInfo record
        if symbol.swap_mode not in (c.SYMBOL_SWAP_MODE_DISABLED, c.SYMBOL_SWAP_MODE_POINTS):
            raise BacktestError(
                f"{symbol.name}: only swaps in points are modelled (swap_mode {symbol.swap_mode})"
            )
        swaps_on = symbol.swap_mode == c.SYMBOL_SWAP_MODE_POINTS
        return Instrument(
            name=symbol.name,
            digits=symbol.digits,
            contract_size=symbol.trade_contract_size,
            tick_size=symbol.trade_tick_size,
            volume_min=symbol.volume_min,
            volume_max=symbol.volume_max,
            volume_step=symbol.volume_step,
            currency_base=symbol.currency_base,
            currency_profit=symbol.currency_profit,
            currency_margin=symbol.currency_margin,
            calc_mode=symbol.trade_calc_mode,
            swap_long=symbol.swap_long if swaps_on else 0.0,
            swap_short=symbol.swap_short if swaps_on else 0.0,
            swap_rollover3days=symbol.swap_rollover3days,
            stops_level=symbol.trade_stops_level,
            spread=symbol.spread,
        )
    raise BacktestError(f"symbol must be a name, a SymbolSpec or a SymbolInfo, not {type(symbol).__name__}")


class _Quotes:
    """Bid closes and asks of every symbol in the backtest, for currency conversion at a bar."""

    def __init__(
        self, instruments: Sequence[Instrument], bid_close: FloatArray, ask_offset: FloatArray
    ) -> None:
        self._bid_close = bid_close
        self._ask_offset = ask_offset
        # (base, quote) -> the symbol's row that trades it
        self._pairs: dict[tuple[str, str], int] = {}
        for row, spec in enumerate(instruments):
            if spec.currency_base != spec.currency_profit:
                self._pairs.setdefault((spec.currency_base, spec.currency_profit), row)

    def path(self, source: str, target: str) -> list[tuple[int, bool]] | None:
        """How to turn ``source`` into ``target``: (symbol row, multiply by its bid?) steps."""
        if source == target:
            return []
        direct = self._pairs.get((source, target))
        if direct is not None:
            return [(direct, True)]
        inverse = self._pairs.get((target, source))
        if inverse is not None:
            return [(inverse, False)]
        if "USD" not in (source, target):
            first, second = self.path(source, "USD"), self.path("USD", target)
            if first is not None and second is not None:
                return first + second
        return None

    def rate(self, steps: list[tuple[int, bool]], i: int) -> float:
        """The conversion rate at bar ``i``'s close along ``steps``."""
        rate = 1.0
        for row, by_bid in steps:
            bid = float(self._bid_close[row, i])
            rate = rate * bid if by_bid else rate / (bid + float(self._ask_offset[row, i]))
        return rate


class MT5Account(Account):
    """An MT5 trading account over one or more symbols: lots, ask/bid, tick value, swaps, leverage."""

    units = False

    def __init__(
        self,
        instruments: Sequence[Instrument],
        *,
        currency: str,
        leverage: float,
        commission_per_lot: float,
        bid_close: FloatArray,
        ask_offset: FloatArray,
    ) -> None:
        if leverage <= 0:
            raise BacktestError(f"leverage must be positive, got {leverage}")
        if commission_per_lot < 0 or not math.isfinite(commission_per_lot):
            raise BacktestError(f"commission per lot must be >= 0, got {commission_per_lot}")
        self.instruments = list(instruments)
        self.currency = currency
        self.leverage = float(leverage)
        self.commission_per_lot = float(commission_per_lot)
        self._quotes = _Quotes(self.instruments, bid_close, ask_offset)
        self._profit_rate: list[list[tuple[int, bool]]] = []
        self._margin_rate: list[list[tuple[int, bool]]] = []
        for spec in self.instruments:
            for currency_of, rates in (
                (spec.currency_profit, self._profit_rate),
                (spec.currency_margin, self._margin_rate),
            ):
                steps = self._quotes.path(currency_of, currency)
                if steps is None:
                    raise BacktestError(
                        f"{spec.name}: no symbol in the backtest converts {currency_of} into the account "
                        f"currency {currency}; add bars of a pair that does (e.g. {currency_of}{currency})"
                    )
                rates.append(steps)

    def profit_rate(self, sym: int, i: int) -> float:
        """Profit currency -> account currency at bar ``i``."""
        return self._quotes.rate(self._profit_rate[sym], i)

    def default_size(self, sym: int) -> float:
        return self.instruments[sym].volume_min

    def check_size(self, sym: int, size: float) -> float:
        spec = self.instruments[sym]
        lots = abs(size)
        steps = lots / spec.volume_step
        if not spec.volume_min - 1e-9 <= lots <= spec.volume_max + 1e-9 or abs(steps - round(steps)) > 1e-6:
            raise OrderError(
                f"{spec.name}: size is in lots, from {spec.volume_min} to {spec.volume_max} "
                f"in steps of {spec.volume_step}; got {lots}"
            )
        return math.copysign(round(round(steps) * spec.volume_step, 8), size)

    def adjusted_price(self, size: float, price: float) -> float:
        return price  # the spread is in the ask prices a buy fills at

    def commission(self, sym: int, size: float, price: float) -> float:
        return round(self.commission_per_lot * abs(size), 2)

    def profit(self, sym: int, size: float, entry: float, exit_price: float, i: int) -> float:
        spec = self.instruments[sym]
        native = (exit_price - entry) * spec.contract_size * size
        return round(native * self._quotes.rate(self._profit_rate[sym], i), 2)

    def notional(self, sym: int, size: float, price: float, i: int) -> float:
        spec = self.instruments[sym]
        return abs(size) * spec.contract_size * price * self._quotes.rate(self._profit_rate[sym], i)

    def margin(self, sym: int, size: float, price: float, i: int) -> float:
        spec = self.instruments[sym]
        units = abs(size) * spec.contract_size
        mode = spec.calc_mode
        if mode == c.SYMBOL_CALC_MODE_FOREX:
            native = units / self.leverage
        elif mode == c.SYMBOL_CALC_MODE_FOREX_NO_LEVERAGE:
            native = units
        elif mode == c.SYMBOL_CALC_MODE_CFDLEVERAGE:
            native = units * price / self.leverage
        elif mode == c.SYMBOL_CALC_MODE_CFDINDEX:
            # x tick price / tick size, a tick being worth tick_size x contract_size
            native = units * price * spec.contract_size
        else:  # CFD and the exchange modes: the full value
            native = units * price
        return round(native * self._quotes.rate(self._margin_rate[sym], i), 2)

    def portion(self, sym: int, size: float, portion: float) -> float:
        spec = self.instruments[sym]
        lots = round(abs(size) * portion / spec.volume_step) * spec.volume_step
        lots = min(abs(size), max(spec.volume_min, lots))
        return math.copysign(round(lots, 8), size)

    def swap(self, sym: int, size: float, nights: int, i: int) -> float:
        """The swap of ``nights`` rollovers on a trade of ``size`` lots, at bar ``i``'s prices."""
        spec = self.instruments[sym]
        points = spec.swap_long if size > 0 else spec.swap_short
        native = nights * points * spec.point * spec.contract_size * abs(size)
        return round(native * self._quotes.rate(self._profit_rate[sym], i), 2)


def rollover_nights(instrument_: Instrument, times: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """For each bar, the swap nights charged at the midnights (UTC, server time) since the bar before it.

    A midnight that ends a day the symbol trades costs one night; a symbol closed on some days pays
    three at the end of its ``swap_rollover3days`` (Wednesday), as MT5 servers and the simulator book
    it. Trading days come from the symbol's sessions, or else from the weekdays the bars have.
    ``times`` are the bars' open times in epoch seconds.
    """
    nights = np.zeros(len(times), dtype=np.int64)
    if len(times) < 2:
        return nights
    days = times // SECONDS_PER_DAY
    weekdays = instrument_.trading_weekdays
    if weekdays is None:
        weekdays = frozenset(int(d) for d in np.unique((days + 3) % 7))
    closed_some_days = len(weekdays) < 7
    for i in np.nonzero(days[1:] > days[:-1])[0] + 1:
        total = 0
        for day_ended in range(int(days[i - 1]), int(days[i])):
            weekday = (day_ended + 3) % 7
            if weekday not in weekdays:
                continue
            day_of_week = (weekday + 1) % 7  # ENUM_DAY_OF_WEEK, Sunday = 0
            total += 3 if closed_some_days and day_of_week == instrument_.swap_rollover3days else 1
        nights[i] = total
    return nights
