"""The broker's in-memory model: accounts, positions, orders and deals, and the default accounts.

These are mutable dataclasses the broker changes in place; the read methods turn them into the
MetaTrader5 record named tuples. Money amounts are in the account currency, prices in the symbol's
quote, times in epoch milliseconds UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

from mt5gateway.terminal import constants as c

__all__ = [
    "DEFAULT_ACCOUNTS",
    "DEFAULT_SERVER",
    "Account",
    "AccountConfig",
    "Deal",
    "Order",
    "Position",
]

DEFAULT_SERVER = "SimBroker-Demo"
COMPANY = "SimBroker Ltd."


@dataclass(frozen=True, kw_only=True)
class AccountConfig:
    """One account of a simulated server, as config declares it.

    Parameters
    ----------
    login, password:
        What ``mt5.login()`` / ``initialize(login=..., password=...)`` must give.
    name:
        The holder's name (``AccountInfo.name``).
    currency:
        Deposit currency; profit, margin and swap are converted into it (default ``"USD"``).
    leverage:
        Account leverage, ``100`` for 1:100.
    balance:
        The initial deposit, booked as a DEAL_TYPE_BALANCE deal when the account is created.
    margin_mode:
        ``ACCOUNT_MARGIN_MODE_RETAIL_HEDGING`` (default) or ``ACCOUNT_MARGIN_MODE_RETAIL_NETTING``.
    margin_so_call, margin_so_so:
        Margin call and stop out levels in percent of margin level (reported, see the broker doc).
    """

    login: int
    password: str
    name: str = "Demo Trader"
    currency: str = "USD"
    leverage: int = 100
    balance: float = 10_000.0
    margin_mode: int = c.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
    margin_so_call: float = 50.0
    margin_so_so: float = 30.0


# The demo accounts every simulated server has unless config replaces them (documented in the
# package docstring).
DEFAULT_ACCOUNTS: tuple[AccountConfig, ...] = (
    AccountConfig(login=5000001, password="demo1", name="Demo Hedging USD", balance=100_000.0),
    AccountConfig(
        login=5000002,
        password="demo2",
        name="Demo Netting USD",
        margin_mode=c.ACCOUNT_MARGIN_MODE_RETAIL_NETTING,
    ),
    AccountConfig(login=5000003, password="demo3", name="Demo Hedging EUR", currency="EUR", leverage=30),
    AccountConfig(login=5000004, password="demo4", name="Demo Small USD", balance=1_000.0, leverage=500),
)


@dataclass(slots=True, kw_only=True)
class Account:
    """An account's stored state: its config plus the realised balance and credit."""

    login: int
    password: str
    name: str
    currency: str
    leverage: int
    margin_mode: int
    margin_so_call: float
    margin_so_so: float
    balance: float
    credit: float = 0.0

    @property
    def hedging(self) -> bool:
        return self.margin_mode == c.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING


@dataclass(slots=True, kw_only=True)
class Position:
    """An open position. ``ticket`` and ``identifier`` are the opening order's ticket (MT5 rule)."""

    ticket: int
    login: int
    symbol: str
    type: int
    volume: float
    price_open: float
    sl: float
    tp: float
    time_msc: int
    time_update_msc: int
    magic: int
    reason: int
    swap: float
    comment: str

    @property
    def is_buy(self) -> bool:
        return self.type == c.POSITION_TYPE_BUY


@dataclass(slots=True, kw_only=True)
class Order:
    """A pending order (state PLACED) or a history order (FILLED, CANCELED, EXPIRED)."""

    ticket: int
    login: int
    symbol: str
    type: int
    state: int
    volume_initial: float
    volume_current: float
    price_open: float
    price_stoplimit: float
    price_current: float  # history orders: the fill price; pending ones are quoted live
    sl: float
    tp: float
    time_setup_msc: int
    time_done_msc: int
    time_expiration: int
    type_time: int
    type_filling: int
    magic: int
    position_id: int
    position_by_id: int
    reason: int
    comment: str

    @property
    def is_buy(self) -> bool:
        return self.type in _BUY_ORDER_TYPES


_BUY_ORDER_TYPES = frozenset(
    {c.ORDER_TYPE_BUY, c.ORDER_TYPE_BUY_LIMIT, c.ORDER_TYPE_BUY_STOP, c.ORDER_TYPE_BUY_STOP_LIMIT}
)


@dataclass(slots=True, kw_only=True)
class Deal:
    """A deal: a trade (BUY / SELL) or a balance operation (BALANCE)."""

    ticket: int
    order: int
    login: int
    time_msc: int
    type: int
    entry: int
    magic: int
    position_id: int
    reason: int
    volume: float
    price: float
    commission: float
    swap: float
    profit: float
    fee: float
    symbol: str
    comment: str
