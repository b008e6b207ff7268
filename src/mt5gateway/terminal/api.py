"""The terminal contract: the 32 functions of the MetaTrader5 module, as a Protocol.

Every backend (the simulator, the official module, a remote agent) implements ``TerminalAPI``.
Failures follow the module's convention: the function returns ``None`` (or ``False`` for
``initialize``/``login``/``symbol_select``) and ``last_error()`` tells why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .records import (
    AccountInfo,
    BookInfo,
    OrderCheckResult,
    OrderSendResult,
    SymbolInfo,
    TerminalInfo,
    Tick,
    TradeDeal,
    TradeOrder,
    TradePosition,
)

__all__ = ["API_FUNCTIONS", "TerminalAPI", "TimeArg"]

# Dates are epoch seconds (int, or float truncated) or a datetime; the module takes a datetime's
# timestamp(), so a naive one is read in the host's local time zone.
TimeArg = datetime | int | float

API_FUNCTIONS: tuple[str, ...] = (
    "initialize",
    "login",
    "shutdown",
    "version",
    "last_error",
    "account_info",
    "terminal_info",
    "symbols_total",
    "symbols_get",
    "symbol_info",
    "symbol_info_tick",
    "symbol_select",
    "market_book_add",
    "market_book_get",
    "market_book_release",
    "copy_rates_from",
    "copy_rates_from_pos",
    "copy_rates_range",
    "copy_ticks_from",
    "copy_ticks_range",
    "orders_total",
    "orders_get",
    "order_calc_margin",
    "order_calc_profit",
    "order_check",
    "order_send",
    "positions_total",
    "positions_get",
    "history_orders_total",
    "history_orders_get",
    "history_deals_total",
    "history_deals_get",
)


@runtime_checkable
class TerminalAPI(Protocol):
    """What every terminal backend offers: the MetaTrader5 module's functions, in its call forms.

    Positional-only parameters (before ``/``) are those the module takes only by position, and
    keyword-only ones (after ``*``) those it takes only by name (``terminal.callforms`` has the
    details: ``initialize`` and ``login`` also ignore keywords they do not know, ``order_send`` also
    takes the request's fields as keywords).
    """

    def initialize(
        self,
        path: str | None = None,
        *,
        login: int | None = None,
        password: str | None = None,
        server: str | None = None,
        timeout: int | None = None,
        portable: bool = False,
    ) -> bool: ...

    def login(
        self,
        login: int,
        password: str | None = None,
        server: str | None = None,
        *,
        timeout: int | None = None,
    ) -> bool: ...

    def shutdown(self) -> bool: ...

    def version(self) -> tuple[int, int, str] | None: ...

    def last_error(self) -> tuple[int, str]: ...

    def account_info(self) -> AccountInfo | None: ...

    def terminal_info(self) -> TerminalInfo | None: ...

    def symbols_total(self) -> int: ...

    def symbols_get(self, group: str | None = None) -> tuple[SymbolInfo, ...] | None: ...

    def symbol_info(self, symbol: str, /) -> SymbolInfo | None: ...

    def symbol_info_tick(self, symbol: str, /) -> Tick | None: ...

    def symbol_select(self, symbol: str, enable: bool = True, /) -> bool: ...

    def market_book_add(self, symbol: str, /) -> bool: ...

    def market_book_get(self, symbol: str, /) -> tuple[BookInfo, ...] | None: ...

    def market_book_release(self, symbol: str, /) -> bool: ...

    def copy_rates_from(
        self, symbol: str, timeframe: int, date_from: TimeArg, count: int, /
    ) -> np.ndarray | None: ...

    def copy_rates_from_pos(
        self, symbol: str, timeframe: int, start_pos: int, count: int, /
    ) -> np.ndarray | None: ...

    def copy_rates_range(
        self, symbol: str, timeframe: int, date_from: TimeArg, date_to: TimeArg, /
    ) -> np.ndarray | None: ...

    def copy_ticks_from(
        self, symbol: str, date_from: TimeArg, count: int, flags: int, /
    ) -> np.ndarray | None: ...

    def copy_ticks_range(
        self, symbol: str, date_from: TimeArg, date_to: TimeArg, flags: int, /
    ) -> np.ndarray | None: ...

    def orders_total(self) -> int | None: ...

    def orders_get(
        self, *, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> tuple[TradeOrder, ...] | None: ...

    def order_calc_margin(self, action: int, symbol: str, volume: float, price: float, /) -> float | None: ...

    def order_calc_profit(
        self, action: int, symbol: str, volume: float, price_open: float, price_close: float, /
    ) -> float | None: ...

    def order_check(self, request: dict[str, Any], /) -> OrderCheckResult | None: ...

    def order_send(self, request: dict[str, Any], /) -> OrderSendResult | None: ...

    def positions_total(self) -> int | None: ...

    def positions_get(
        self, *, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> tuple[TradePosition, ...] | None: ...

    def history_orders_total(self, date_from: TimeArg, date_to: TimeArg, /) -> int | None: ...

    def history_orders_get(
        self,
        date_from: TimeArg | None = None,
        date_to: TimeArg | None = None,
        /,
        *,
        group: str | None = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> tuple[TradeOrder, ...] | None: ...

    def history_deals_total(self, date_from: TimeArg, date_to: TimeArg, /) -> int | None: ...

    def history_deals_get(
        self,
        date_from: TimeArg | None = None,
        date_to: TimeArg | None = None,
        /,
        *,
        group: str | None = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> tuple[TradeDeal, ...] | None: ...
