"""``Broker``: the trade server of a simulated MT5 server (accounts, orders, positions, deals).

The broker keeps its state in memory and writes every change through to SQLite in one transaction
per request. Before each call it processes the time that passed since the last one: pending orders
and SL/TP levels the price path crossed fire at the tick that crossed them, orders expire, and
positions pay swap at each midnight of server time (the 17:00 New York rollover with the default
server clock, ``sim.markettime``).
"""

from __future__ import annotations

import bisect
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from mt5gateway.terminal import constants as c
from mt5gateway.terminal.errors import describe_retcode
from mt5gateway.terminal.records import (
    AccountInfo,
    OrderCheckResult,
    OrderSendResult,
    Tick,
    TradeDeal,
    TradeOrder,
    TradePosition,
    TradeRequest,
)

from ..clock import Clock
from ..symbols import SymbolSpec
from ._model import COMPANY, DEFAULT_ACCOUNTS, DEFAULT_SERVER, Account, AccountConfig, Deal, Order, Position
from ._pricing import Pricing
from ._rules import (
    BUY_TYPES,
    PENDING_TYPES,
    STOP_LIMIT_TYPES,
    check_filling,
    check_pending_price,
    check_stops,
    check_volume,
)
from ._store import BrokerStore
from ._triggers import Trigger, TriggerKind, first_hits

__all__ = ["Broker", "MarketView"]

_T = TypeVar("_T")
_R = TypeVar("_R")

DAY_MSC = 86_400_000
FIRST_TICKET = 100_000
_NEVER = 2**62
_EPSILON = 1e-9

# The trade server's comments for the retcodes it answers with (others: MT5's description).
_COMMENTS: dict[int, str] = {
    c.TRADE_RETCODE_DONE: "Request executed",
    c.TRADE_RETCODE_PLACED: "Request executed",
    c.TRADE_RETCODE_REQUOTE: "Requote",
    c.TRADE_RETCODE_INVALID: "Invalid request",
    c.TRADE_RETCODE_INVALID_VOLUME: "Invalid volume",
    c.TRADE_RETCODE_INVALID_PRICE: "Invalid price",
    c.TRADE_RETCODE_INVALID_STOPS: "Invalid stops",
    c.TRADE_RETCODE_INVALID_EXPIRATION: "Invalid expiration",
    c.TRADE_RETCODE_MARKET_CLOSED: "Market closed",
    c.TRADE_RETCODE_NO_MONEY: "No money",
    c.TRADE_RETCODE_NO_CHANGES: "No changes",
    c.TRADE_RETCODE_CLIENT_DISABLES_AT: "AutoTrading disabled by client",
    c.TRADE_RETCODE_INVALID_FILL: "Unsupported filling mode",
    c.TRADE_RETCODE_INVALID_ORDER: "Invalid order",
    c.TRADE_RETCODE_POSITION_CLOSED: "Position doesn't exist",
    c.TRADE_RETCODE_INVALID_CLOSE_VOLUME: "Invalid close volume",
}

_REQUEST_DEFAULTS = TradeRequest(
    action=0,
    magic=0,
    order=0,
    symbol="",
    volume=0.0,
    price=0.0,
    stoplimit=0.0,
    sl=0.0,
    tp=0.0,
    deviation=0,
    type=0,
    type_filling=0,
    type_time=0,
    expiration=0,
    comment="",
    position=0,
    position_by=0,
)

_ORDER_REASON_OF_STOP = {TriggerKind.STOP_LOSS: c.ORDER_REASON_SL, TriggerKind.TAKE_PROFIT: c.ORDER_REASON_TP}
_DEAL_REASON_OF_STOP = {TriggerKind.STOP_LOSS: c.DEAL_REASON_SL, TriggerKind.TAKE_PROFIT: c.DEAL_REASON_TP}
# ORDER_REASON_CLIENT..EXPERT and DEAL_REASON_CLIENT..EXPERT share their values.
_DEAL_REASON_OF_ORDER = {
    c.ORDER_REASON_CLIENT: c.DEAL_REASON_CLIENT,
    c.ORDER_REASON_MOBILE: c.DEAL_REASON_MOBILE,
    c.ORDER_REASON_WEB: c.DEAL_REASON_WEB,
    c.ORDER_REASON_EXPERT: c.DEAL_REASON_EXPERT,
}
_LIMIT_OF_STOP_LIMIT = {
    c.ORDER_TYPE_BUY_STOP_LIMIT: c.ORDER_TYPE_BUY_LIMIT,
    c.ORDER_TYPE_SELL_STOP_LIMIT: c.ORDER_TYPE_SELL_LIMIT,
}
_LIMIT_TYPES = frozenset({c.ORDER_TYPE_BUY_LIMIT, c.ORDER_TYPE_SELL_LIMIT})


class MarketView(Protocol):
    """What the broker reads from ``sim.market.Market``."""

    @property
    def clock(self) -> Clock: ...
    @property
    def symbols(self) -> Mapping[str, SymbolSpec]: ...
    def last_tick(self, symbol: str) -> Tick: ...
    def is_open(self, symbol: str, t_sec: int) -> bool: ...
    def ticks_range(self, symbol: str, from_msc: int, to_msc: int, flags: int) -> npt.NDArray[np.void]: ...


class _Rejected(Exception):
    """A request the trade server refuses; ``send`` turns it into a result with the retcode."""

    def __init__(self, retcode: int, *, bid: float = 0.0, ask: float = 0.0) -> None:
        super().__init__(retcode)
        self.retcode = retcode
        self.bid = bid
        self.ask = ask


@dataclass(slots=True)
class _Exposure:
    """Open volume of one account in one symbol and direction, aggregated for fast account figures.

    ``volume_x_price`` is the sum of volume x open price, so the floating profit of all the
    positions is ``(close x volume - volume_x_price) x contract`` without visiting each one.
    """

    volume: float = 0.0
    volume_x_price: float = 0.0
    swap: float = 0.0


@dataclass(slots=True)
class _Figures:
    """An account's floating figures in its currency."""

    profit: float
    margin: float


@dataclass(slots=True)
class _Plan:
    """A checked request: what it changes in the account's margin and balance, and how to do it."""

    execute: Callable[[], OrderSendResult]
    margin_change: float = 0.0
    realised: float = 0.0


def _request(fields: Mapping[str, Any] | TradeRequest) -> TradeRequest:
    if isinstance(fields, TradeRequest):
        return fields
    known = {name: value for name, value in fields.items() if name in _REQUEST_DEFAULTS._fields}
    return _REQUEST_DEFAULTS._replace(**known)


class Broker:
    """The trade server of one simulated MT5 server, persisted in ``db_path``.

    Parameters
    ----------
    market:
        The price source (``sim.market.Market``); its clock is the broker's clock.
    server:
        The server name accounts report (default ``"SimBroker-Demo"``).
    db_path:
        SQLite file of the server's state, ``":memory:"`` for a throwaway one.
    accounts:
        Accounts to create when the file does not have them yet (default ``DEFAULT_ACCOUNTS``);
        accounts already stored keep their balance and history.
    seed:
        Seed of the random requotes (``requote_rate``).
    """

    def __init__(
        self,
        market: MarketView,
        *,
        server: str = DEFAULT_SERVER,
        db_path: str = ":memory:",
        accounts: Iterable[AccountConfig] | None = None,
        seed: int = 0,
    ) -> None:
        self.server = server
        self.requote_rate = 0.0
        """Share (0..1) of market orders answered with TRADE_RETCODE_REQUOTE (the requote fault)."""
        self._market = market
        self._clock = market.clock
        self._specs: dict[str, SymbolSpec] = dict(market.symbols)
        self._pricing = Pricing(self._specs, market.last_tick)
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._store = BrokerStore(db_path)
        self._request_id = 0
        self._load()
        configs = list(DEFAULT_ACCOUNTS if accounts is None else accounts)
        # Inside the write lock, so two processes opening a new file create each account once.
        self._run(lambda: self._open_accounts(configs))

    # ------------------------------------------------------------------ state

    def _load(self) -> None:
        """(Re)build the in-memory model from the file."""
        state = self._store.load()
        self._accounts: dict[int, Account] = {a.login: a for a in state.accounts}
        self._positions: dict[int, Position] = {}
        self._positions_of: dict[int, dict[int, Position]] = {login: {} for login in self._accounts}
        self._netting: dict[tuple[int, str], Position] = {}
        self._exposure: dict[int, dict[tuple[str, bool], _Exposure]] = {login: {} for login in self._accounts}
        self._armed: dict[int, Position] = {}
        self._pending: dict[int, Order] = {}
        self._pending_of: dict[int, dict[int, Order]] = {login: {} for login in self._accounts}
        self._history_of: dict[int, list[Order]] = {login: [] for login in self._accounts}
        self._deals_of: dict[int, list[Deal]] = {login: [] for login in self._accounts}
        for position in state.positions:
            self._register_position(position)
        for order in state.orders:
            if order.state == c.ORDER_STATE_PLACED:
                self._pending[order.ticket] = order
                self._pending_of[order.login][order.ticket] = order
            else:
                self._history_of[order.login].append(order)
        for deal in state.deals:
            self._deals_of[deal.login].append(deal)
        self._next_ticket = state.meta.get("next_ticket", FIRST_TICKET)
        self._last_msc = state.meta.get("last_msc", self._clock.now_msc())

    def _commit(self) -> None:
        self._store.set_meta("next_ticket", self._next_ticket)
        self._store.set_meta("last_msc", self._last_msc)
        self._store.commit()

    def _begin(self, now_msc: int) -> None:
        """Start a write: take the file's write lock, catch up with other writers and with time."""
        if self._store.begin():
            self._load()
        self._advance(now_msc)

    def _run(self, body: Callable[[], _T], now_msc: int | None = None) -> _T:
        """Process time up to ``now_msc`` (default: the clock's now), then run ``body``, in one write
        transaction; on an unexpected error its changes are dropped and the model reloaded."""
        with self._lock:
            try:
                self._begin(self._clock.now_msc() if now_msc is None else now_msc)
                result = body()
            except BaseException:
                self._store.rollback()
                self._load()
                raise
            self._commit()
            return result

    def _sync(self, now_msc: int) -> None:
        """Catch up with other writers and process the time up to ``now_msc`` (cheap when idle)."""
        if self._store.changed_elsewhere():
            self._load()
        if now_msc <= self._last_msc:
            return
        rollover_due = bool(self._positions) and now_msc // DAY_MSC > self._last_msc // DAY_MSC
        if self._pending or self._armed or rollover_due:
            self._run(lambda: None, now_msc)
        else:
            self._last_msc = now_msc

    def _take_ticket(self) -> int:
        ticket = self._next_ticket
        self._next_ticket += 1
        return ticket

    def _account(self, login: int) -> Account:
        account = self._accounts.get(login)
        if account is None:
            raise KeyError(f"no account {login} on {self.server}")
        return account

    def _open_accounts(self, configs: Iterable[AccountConfig]) -> None:
        for config in configs:
            if config.login not in self._accounts:
                self._open_account(config)

    def _open_account(self, config: AccountConfig) -> None:
        account = Account(
            login=config.login,
            password=config.password,
            name=config.name,
            currency=config.currency,
            leverage=config.leverage,
            margin_mode=config.margin_mode,
            margin_so_call=config.margin_so_call,
            margin_so_so=config.margin_so_so,
            balance=0.0,
        )
        self._accounts[account.login] = account
        for index in (self._positions_of, self._exposure, self._pending_of):
            index[account.login] = {}
        self._history_of[account.login] = []
        self._deals_of[account.login] = []
        self._book_balance(account, config.balance, "Initial deposit")

    def _book_balance(self, account: Account, amount: float, comment: str) -> None:
        """A balance operation: a DEAL_TYPE_BALANCE deal and the balance it changes."""
        account.balance = round(account.balance + amount, 2)
        self._add_deal(
            Deal(
                ticket=self._take_ticket(),
                order=0,
                login=account.login,
                time_msc=self._clock.now_msc(),
                type=c.DEAL_TYPE_BALANCE,
                entry=c.DEAL_ENTRY_IN,
                magic=0,
                position_id=0,
                reason=c.DEAL_REASON_CLIENT,
                volume=0.0,
                price=0.0,
                commission=0.0,
                swap=0.0,
                profit=round(amount, 2),
                fee=0.0,
                symbol="",
                comment=comment,
            )
        )
        self._store.save(account)

    def _add_deal(self, deal: Deal) -> None:
        self._deals_of[deal.login].append(deal)
        self._store.save(deal)

    # ------------------------------------------------------------------ positions index

    def _register_position(self, position: Position) -> None:
        self._positions[position.ticket] = position
        self._positions_of[position.login][position.ticket] = position
        if not self._accounts[position.login].hedging:
            self._netting[(position.login, position.symbol)] = position
        self._expose(position, 1.0)
        if position.sl or position.tp:
            self._armed[position.ticket] = position

    def _expose(self, position: Position, sign: float) -> None:
        key = (position.symbol, position.is_buy)
        book = self._exposure[position.login]
        exposure = book.get(key)
        if exposure is None:
            exposure = book[key] = _Exposure()
        exposure.volume += sign * position.volume
        exposure.volume_x_price += sign * position.volume * position.price_open
        exposure.swap += sign * position.swap
        if exposure.volume < _EPSILON:
            del book[key]

    def _add_position(self, position: Position) -> None:
        self._register_position(position)
        self._store.save(position)

    def _update_position(self, position: Position, **changes: Any) -> None:
        self._expose(position, -1.0)
        for name, value in changes.items():
            setattr(position, name, value)
        self._expose(position, 1.0)
        if position.sl or position.tp:
            self._armed[position.ticket] = position
        else:
            self._armed.pop(position.ticket, None)
        self._store.save(position)

    def _remove_position(self, position: Position) -> None:
        self._expose(position, -1.0)
        del self._positions[position.ticket]
        del self._positions_of[position.login][position.ticket]
        self._netting.pop((position.login, position.symbol), None)
        self._armed.pop(position.ticket, None)
        self._store.delete_position(position.ticket)

    def _add_pending(self, order: Order) -> None:
        self._pending[order.ticket] = order
        self._pending_of[order.login][order.ticket] = order
        self._store.save(order)

    def _archive(self, order: Order, state: int, time_msc: int) -> None:
        """Move an order to the history with its final state."""
        self._pending.pop(order.ticket, None)
        self._pending_of[order.login].pop(order.ticket, None)
        order.state = state
        order.time_done_msc = time_msc
        self._add_history(order)

    def _add_history(self, order: Order) -> None:
        # Kept in ticket order (= setup order), the order a reload from the file gives too.
        bisect.insort(self._history_of[order.login], order, key=lambda o: o.ticket)
        self._store.save(order)

    # ------------------------------------------------------------------ account figures

    def _figures(self, account: Account) -> _Figures:
        """Floating profit (swap included) and margin of the account's positions at current prices."""
        profit = 0.0
        margin = 0.0
        for (symbol, is_buy), exposure in self._exposure[account.login].items():
            spec = self._specs[symbol]
            tick = self._market.last_tick(symbol)
            close = tick.bid if is_buy else tick.ask
            move = close * exposure.volume - exposure.volume_x_price
            native = (move if is_buy else -move) * spec.contract_size
            profit += native * self._pricing.rate(spec.currency_profit, account.currency) + exposure.swap
            margin_price = tick.ask if is_buy else tick.bid
            margin += self._pricing.margin_in(
                account.currency, spec, exposure.volume, margin_price, account.leverage
            )
        return _Figures(profit=round(profit, 2), margin=round(margin, 2))

    def _margin(self, account: Account, spec: SymbolSpec, volume: float, price: float) -> float:
        return self._pricing.margin_in(account.currency, spec, volume, price, account.leverage)

    def _margin_change(
        self, account: Account, spec: SymbolSpec, is_buy: bool, volume: float, price: float
    ) -> float:
        """How much the account's margin grows when a deal of ``volume`` opens (or nets) at ``price``."""
        held = None if account.hedging else self._netting.get((account.login, spec.name))
        if held is None or held.is_buy == is_buy:
            return self._margin(account, spec, volume, price)
        excess = volume - held.volume
        if excess > _EPSILON:
            return self._margin(account, spec, excess, price) - self._margin(
                account, spec, held.volume, price
            )
        return -self._margin(account, spec, volume, price)

    def _require_margin(self, account: Account, margin_change: float) -> None:
        if margin_change <= 0:
            return
        figures = self._figures(account)
        equity = account.balance + account.credit + figures.profit
        if equity - (figures.margin + margin_change) < 0:
            raise _Rejected(c.TRADE_RETCODE_NO_MONEY)

    # ------------------------------------------------------------------ time

    def process(self, now_msc: int) -> None:
        """Process the price path up to ``now_msc``: triggers, expirations and swap rollovers."""
        with self._lock:
            self._sync(now_msc)

    def _advance(self, now_msc: int) -> None:
        """Walk the time from the last processed instant to ``now_msc``, one day at a time."""
        start = self._last_msc
        while start < now_msc:
            midnight = (start // DAY_MSC + 1) * DAY_MSC
            end = min(now_msc, midnight)
            if self._pending or self._armed:
                self._scan(start, end)
            if self._pending:
                self._expire(end)
            if end == midnight and self._positions:
                self._roll_over(midnight)
            start = end
        self._last_msc = max(self._last_msc, now_msc)

    def _triggers(self, symbol: str) -> list[Trigger]:
        triggers: list[Trigger] = []
        for order in self._pending.values():
            if order.symbol != symbol:
                continue
            buys = order.is_buy
            rising = (order.type in _LIMIT_TYPES) != buys  # buy limits wait for a fall, buy stops a rise
            triggers.append(
                Trigger(
                    TriggerKind.PENDING, order.ticket, order.price_open, buys, rising, self._deadline(order)
                )
            )
        for position in self._armed.values():
            if position.symbol != symbol:
                continue
            # A buy closes at the bid, a sell at the ask: that side is watched.
            on_ask = not position.is_buy
            if position.sl:
                triggers.append(
                    Trigger(TriggerKind.STOP_LOSS, position.ticket, position.sl, on_ask, on_ask, _NEVER)
                )
            if position.tp:
                triggers.append(
                    Trigger(TriggerKind.TAKE_PROFIT, position.ticket, position.tp, on_ask, not on_ask, _NEVER)
                )
        return triggers

    def _scan(self, start_msc: int, end_msc: int) -> None:
        """Fire, in time order, every trigger the ticks in (start, end] cross."""
        symbols = {o.symbol for o in self._pending.values()} | {p.symbol for p in self._armed.values()}
        for symbol in sorted(symbols):
            ticks = self._market.ticks_range(symbol, start_msc + 1, end_msc, c.COPY_TICKS_ALL)
            bid, ask, times = ticks["bid"], ticks["ask"], ticks["time_msc"]
            offset = 0
            while offset < len(ticks):
                triggers = self._triggers(symbol)
                hits = first_hits(bid[offset:], ask[offset:], times[offset:], triggers)
                fired = np.flatnonzero(hits >= 0)
                if len(fired) == 0:
                    break
                first = int(fired[np.argmin(hits[fired])])
                offset += int(hits[first])
                self._fire(triggers[first], float(bid[offset]), float(ask[offset]), int(times[offset]))

    def _fire(self, trigger: Trigger, bid: float, ask: float, time_msc: int) -> None:
        if trigger.kind == TriggerKind.PENDING:
            order = self._pending[trigger.ticket]
            if order.type in STOP_LIMIT_TYPES:
                self._place_limit_of(order, time_msc)
            else:
                self._activate(order, bid, ask, time_msc)
            return
        position = self._positions[trigger.ticket]
        # A take profit fills at its price, a stop loss at the tick that crossed it.
        stop_price = (
            (bid if position.is_buy else ask) if trigger.kind == TriggerKind.STOP_LOSS else trigger.level
        )
        self._close_at_stop(position, trigger.kind, trigger.level, stop_price, time_msc)

    def _place_limit_of(self, order: Order, time_msc: int) -> None:
        """A stop-limit reached its stop: it leaves the book and a limit order at its stoplimit price
        takes its place."""
        self._archive(order, c.ORDER_STATE_FILLED, time_msc)
        self._add_pending(
            Order(
                ticket=self._take_ticket(),
                login=order.login,
                symbol=order.symbol,
                type=_LIMIT_OF_STOP_LIMIT[order.type],
                state=c.ORDER_STATE_PLACED,
                volume_initial=order.volume_current,
                volume_current=order.volume_current,
                price_open=order.price_stoplimit,
                price_stoplimit=0.0,
                price_current=0.0,
                sl=order.sl,
                tp=order.tp,
                time_setup_msc=time_msc,
                time_done_msc=0,
                time_expiration=order.time_expiration,
                type_time=order.type_time,
                type_filling=order.type_filling,
                magic=order.magic,
                position_id=0,
                position_by_id=0,
                reason=order.reason,
                comment=order.comment,
            )
        )

    def _activate(self, order: Order, bid: float, ask: float, time_msc: int) -> None:
        """A limit or stop order reached its price: it becomes a deal, unless margin is short."""
        account = self._accounts[order.login]
        spec = self._specs[order.symbol]
        is_buy = order.is_buy
        # A limit fills at its price, a stop at the tick that reached it.
        price = order.price_open if order.type in _LIMIT_TYPES else (ask if is_buy else bid)
        try:
            self._require_margin(
                account, self._margin_change(account, spec, is_buy, order.volume_current, price)
            )
        except _Rejected:
            self._archive(order, c.ORDER_STATE_REJECTED, time_msc)
            return
        deal = self._deal(
            account,
            spec,
            order,
            is_buy=is_buy,
            volume=order.volume_current,
            price=price,
            time_msc=time_msc,
            closing=None,
            sl=order.sl,
            tp=order.tp,
            reason=_DEAL_REASON_OF_ORDER.get(order.reason, c.DEAL_REASON_EXPERT),
        )
        order.position_id = deal.position_id
        order.volume_current = 0.0
        order.price_current = price
        self._archive(order, c.ORDER_STATE_FILLED, time_msc)

    def _close_at_stop(
        self, position: Position, kind: int, level: float, price: float, time_msc: int
    ) -> None:
        """SL or TP: an order of the server closes the whole position."""
        account = self._accounts[position.login]
        order = Order(
            ticket=self._take_ticket(),
            login=position.login,
            symbol=position.symbol,
            type=c.ORDER_TYPE_SELL if position.is_buy else c.ORDER_TYPE_BUY,
            state=c.ORDER_STATE_FILLED,
            volume_initial=position.volume,
            volume_current=0.0,
            price_open=level,
            price_stoplimit=0.0,
            price_current=price,
            sl=position.sl,
            tp=position.tp,
            time_setup_msc=time_msc,
            time_done_msc=time_msc,
            time_expiration=0,
            type_time=c.ORDER_TIME_GTC,
            type_filling=c.ORDER_FILLING_FOK,
            magic=position.magic,
            position_id=position.ticket,
            position_by_id=0,
            reason=_ORDER_REASON_OF_STOP[kind],
            comment=f"[{'sl' if kind == TriggerKind.STOP_LOSS else 'tp'} {level}]",
        )
        self._deal(
            account,
            self._specs[position.symbol],
            order,
            is_buy=not position.is_buy,
            volume=position.volume,
            price=price,
            time_msc=time_msc,
            closing=position,
            sl=0.0,
            tp=0.0,
            reason=_DEAL_REASON_OF_STOP[kind],
        )
        self._add_history(order)

    def _deadline(self, order: Order) -> int:
        """The last millisecond a pending order may fill (ORDER_TIME_*)."""
        if order.type_time == c.ORDER_TIME_DAY:
            return (order.time_setup_msc // DAY_MSC + 1) * DAY_MSC - 1
        if order.type_time == c.ORDER_TIME_SPECIFIED:
            return order.time_expiration * 1000
        if order.type_time == c.ORDER_TIME_SPECIFIED_DAY:
            return (order.time_expiration * 1000 // DAY_MSC + 1) * DAY_MSC - 1
        return _NEVER

    def _expire(self, now_msc: int) -> None:
        for order in list(self._pending.values()):
            deadline = self._deadline(order)
            if deadline < now_msc:
                self._archive(order, c.ORDER_STATE_EXPIRED, deadline)

    def _roll_over(self, midnight_msc: int) -> None:
        """Charge a night's swap on the positions held through ``midnight_msc``.

        A symbol pays for each day it traded; one that is closed at weekends pays the weekend
        with a triple swap on its ``swap_rollover3days`` (Wednesday), as MT5 servers do.
        """
        day_ended = midnight_msc // DAY_MSC - 1
        weekday = (day_ended + 3) % 7  # Monday = 0; 1970-01-01 was a Thursday
        day_of_week = (weekday + 1) % 7  # ENUM_DAY_OF_WEEK: Sunday = 0
        for position in list(self._positions.values()):
            if position.time_msc >= midnight_msc:
                continue
            spec = self._specs[position.symbol]
            if not spec.sessions.day_is_open(day_ended):
                continue
            closed_some_days = len(spec.sessions.weekdays) < 7
            nights = 3 if closed_some_days and day_of_week == spec.swap_rollover3days else 1
            account = self._accounts[position.login]
            charge = nights * self._pricing.swap_in(account.currency, spec, position.is_buy, position.volume)
            self._update_position(position, swap=round(position.swap + charge, 2))

    # ------------------------------------------------------------------ deals

    def _deal(
        self,
        account: Account,
        spec: SymbolSpec,
        order: Order,
        *,
        is_buy: bool,
        volume: float,
        price: float,
        time_msc: int,
        closing: Position | None,
        sl: float,
        tp: float,
        reason: int,
        exit_entry: int = c.DEAL_ENTRY_OUT,
    ) -> Deal:
        """Execute a deal for ``order``: open, add to, reduce, close or reverse a position.

        ``exit_entry`` is the entry of a deal that reduces or closes (OUT_BY for a close-by).
        """
        held = closing if account.hedging else self._netting.get((account.login, spec.name))
        profit = swap = 0.0
        if held is None:
            entry = c.DEAL_ENTRY_IN
            position_id = order.ticket
            self._add_position(
                Position(
                    ticket=order.ticket,
                    login=account.login,
                    symbol=spec.name,
                    type=c.POSITION_TYPE_BUY if is_buy else c.POSITION_TYPE_SELL,
                    volume=volume,
                    price_open=price,
                    sl=sl,
                    tp=tp,
                    time_msc=time_msc,
                    time_update_msc=time_msc,
                    magic=order.magic,
                    reason=order.reason,
                    swap=0.0,
                    comment=order.comment,
                )
            )
        elif held.is_buy == is_buy:
            # Netting: the same direction adds to the position at the volume-weighted price.
            entry = c.DEAL_ENTRY_IN
            position_id = held.ticket
            total = held.volume + volume
            self._update_position(
                held,
                volume=round(total, 8),
                price_open=round((held.price_open * held.volume + price * volume) / total, spec.digits + 3),
                sl=sl or held.sl,
                tp=tp or held.tp,
                time_update_msc=time_msc,
            )
        else:
            position_id = held.ticket
            closed = min(volume, held.volume)
            profit = round(
                self._pricing.profit_in(account.currency, spec, held.is_buy, closed, held.price_open, price),
                2,
            )
            swap = round(held.swap * closed / held.volume, 2)
            remaining = held.volume - volume
            if remaining > _EPSILON:
                entry = exit_entry
                self._update_position(
                    held,
                    volume=round(remaining, 8),
                    swap=round(held.swap - swap, 2),
                    time_update_msc=time_msc,
                )
            elif remaining > -_EPSILON:
                entry = exit_entry
                self._remove_position(held)
            else:
                # Netting reversal: the position turns over and keeps its identifier.
                entry = c.DEAL_ENTRY_INOUT
                self._update_position(
                    held,
                    type=c.POSITION_TYPE_BUY if is_buy else c.POSITION_TYPE_SELL,
                    volume=round(-remaining, 8),
                    price_open=price,
                    swap=0.0,
                    sl=sl,
                    tp=tp,
                    time_update_msc=time_msc,
                )
            account.balance = round(account.balance + profit + swap, 2)
            self._store.save(account)
        order.position_id = position_id
        deal = Deal(
            ticket=self._take_ticket(),
            order=order.ticket,
            login=account.login,
            time_msc=time_msc,
            type=c.DEAL_TYPE_BUY if is_buy else c.DEAL_TYPE_SELL,
            entry=entry,
            magic=order.magic,
            position_id=position_id,
            reason=reason,
            volume=volume,
            price=price,
            commission=0.0,
            swap=swap,
            profit=profit,
            fee=0.0,
            symbol=spec.name,
            comment=order.comment,
        )
        self._add_deal(deal)
        return deal

    # ------------------------------------------------------------------ requests

    def send(
        self, login: int, request: Mapping[str, Any] | TradeRequest, *, autotrading: bool = True
    ) -> OrderSendResult:
        """``order_send``: carry out a trade request for ``login``; the result carries the retcode.

        ``request`` is a dict of TradeRequest fields (missing ones take the module's defaults).
        ``autotrading=False`` (the terminal's AutoTrading button) refuses every request.
        """
        req = _request(request)

        def body() -> OrderSendResult:
            self._request_id += 1
            try:
                if not autotrading:
                    raise _Rejected(c.TRADE_RETCODE_CLIENT_DISABLES_AT)
                plan = self._plan(self._account(login), req)
                requoted = req.action == c.TRADE_ACTION_DEAL and self._rng.random() < self.requote_rate
                if requoted:
                    tick = self._market.last_tick(req.symbol)
                    raise _Rejected(c.TRADE_RETCODE_REQUOTE, bid=tick.bid, ask=tick.ask)
                return plan.execute()
            except _Rejected as rejected:
                return self._result(req, rejected.retcode, bid=rejected.bid, ask=rejected.ask)

        return self._run(body)

    def check(self, login: int, request: Mapping[str, Any] | TradeRequest) -> OrderCheckResult:
        """``order_check``: whether the request would pass, and the account's figures after it."""
        req = _request(request)

        def body() -> OrderCheckResult:
            account = self._account(login)
            retcode, margin_change, realised = 0, 0.0, 0.0
            try:
                plan = self._plan(account, req)
                margin_change, realised = plan.margin_change, plan.realised
            except _Rejected as rejected:
                retcode = rejected.retcode
            figures = self._figures(account)
            balance = round(account.balance + realised, 2)
            profit = round(figures.profit - realised, 2)
            equity = round(balance + account.credit + profit, 2)
            margin = round(max(0.0, figures.margin + margin_change), 2)
            return OrderCheckResult(
                retcode=retcode,
                balance=balance,
                equity=equity,
                profit=profit,
                margin=margin,
                margin_free=round(equity - margin, 2),
                margin_level=round(equity / margin * 100, 2) if margin else 0.0,
                comment="Done" if retcode == 0 else self._comment(retcode),
                request=req,
            )

        return self._run(body)

    def _result(
        self,
        req: TradeRequest,
        retcode: int,
        *,
        deal: int = 0,
        order: int = 0,
        volume: float = 0.0,
        price: float = 0.0,
        bid: float = 0.0,
        ask: float = 0.0,
    ) -> OrderSendResult:
        return OrderSendResult(
            retcode=retcode,
            deal=deal,
            order=order,
            volume=volume,
            price=price,
            bid=bid,
            ask=ask,
            comment=self._comment(retcode),
            request_id=self._request_id,
            retcode_external=0,
            request=req,
        )

    @staticmethod
    def _comment(retcode: int) -> str:
        return _COMMENTS.get(retcode) or describe_retcode(retcode)

    def _plan(self, account: Account, req: TradeRequest) -> _Plan:
        """Check a request against the account and the market; raise ``_Rejected`` or return a plan."""
        planners = {
            c.TRADE_ACTION_DEAL: self._plan_market,
            c.TRADE_ACTION_PENDING: self._plan_pending,
            c.TRADE_ACTION_SLTP: self._plan_sltp,
            c.TRADE_ACTION_MODIFY: self._plan_modify,
            c.TRADE_ACTION_REMOVE: self._plan_remove,
            c.TRADE_ACTION_CLOSE_BY: self._plan_close_by,
        }
        planner = planners.get(req.action)
        if planner is None:
            raise _Rejected(c.TRADE_RETCODE_INVALID)
        return planner(account, req)

    def _spec(self, symbol: str) -> SymbolSpec:
        spec = self._specs.get(symbol)
        if spec is None:
            raise _Rejected(c.TRADE_RETCODE_INVALID)
        return spec

    def _open_tick(self, spec: SymbolSpec) -> Tick:
        """The current quote; MARKET_CLOSED outside the symbol's session."""
        now_msc = self._clock.now_msc()
        if not self._market.is_open(spec.name, now_msc // 1000):
            raise _Rejected(c.TRADE_RETCODE_MARKET_CLOSED)
        return self._market.last_tick(spec.name)

    def _own_position(self, account: Account, ticket: int) -> Position:
        position = self._positions_of[account.login].get(ticket)
        if position is None:
            raise _Rejected(c.TRADE_RETCODE_POSITION_CLOSED)
        return position

    def _own_order(self, account: Account, ticket: int) -> Order:
        order = self._pending_of[account.login].get(ticket)
        if order is None:
            raise _Rejected(c.TRADE_RETCODE_INVALID_ORDER)
        return order

    @staticmethod
    def _require(retcode: int | None) -> None:
        if retcode is not None:
            raise _Rejected(retcode)

    def _plan_market(self, account: Account, req: TradeRequest) -> _Plan:
        spec = self._spec(req.symbol)
        if req.type not in (c.ORDER_TYPE_BUY, c.ORDER_TYPE_SELL):
            raise _Rejected(c.TRADE_RETCODE_INVALID_ORDER)
        is_buy = req.type == c.ORDER_TYPE_BUY
        closing = self._own_position(account, req.position) if req.position else None
        if closing is not None and (closing.symbol != spec.name or closing.is_buy == is_buy):
            raise _Rejected(c.TRADE_RETCODE_INVALID)
        self._require(check_volume(spec, req.volume))
        if closing is not None and req.volume > closing.volume + _EPSILON:
            raise _Rejected(c.TRADE_RETCODE_INVALID_CLOSE_VOLUME)
        self._require(check_filling(spec.filling_mode, req.type, req.type_filling))
        tick = self._open_tick(spec)
        price = tick.ask if is_buy else tick.bid
        if closing is None:
            self._require(check_stops(spec, is_buy, tick.bid if is_buy else tick.ask, req.sl, req.tp))
        if req.price > 0 and abs(req.price - price) > req.deviation * spec.point + _EPSILON:
            raise _Rejected(c.TRADE_RETCODE_REQUOTE, bid=tick.bid, ask=tick.ask)
        realised = 0.0
        if closing is None:
            margin_change = self._margin_change(account, spec, is_buy, req.volume, price)
            self._require_margin(account, margin_change)
        else:
            margin_change = -self._margin(account, spec, req.volume, tick.ask if closing.is_buy else tick.bid)
            realised = self._pricing.profit_in(
                account.currency, spec, closing.is_buy, req.volume, closing.price_open, price
            )

        def execute() -> OrderSendResult:
            now_msc = self._clock.now_msc()
            order = self._new_order(
                account, req, spec, state=c.ORDER_STATE_FILLED, price=price, now_msc=now_msc
            )
            order.volume_current = 0.0
            order.time_done_msc = now_msc
            deal = self._deal(
                account,
                spec,
                order,
                is_buy=is_buy,
                volume=req.volume,
                price=price,
                time_msc=now_msc,
                closing=closing,
                sl=0.0 if closing else req.sl,
                tp=0.0 if closing else req.tp,
                reason=c.DEAL_REASON_EXPERT,
            )
            self._add_history(order)
            return self._result(
                req,
                c.TRADE_RETCODE_DONE,
                deal=deal.ticket,
                order=order.ticket,
                volume=req.volume,
                price=price,
                bid=tick.bid,
                ask=tick.ask,
            )

        return _Plan(execute, margin_change, realised)

    def _new_order(
        self, account: Account, req: TradeRequest, spec: SymbolSpec, *, state: int, price: float, now_msc: int
    ) -> Order:
        return Order(
            ticket=self._take_ticket(),
            login=account.login,
            symbol=spec.name,
            type=req.type,
            state=state,
            volume_initial=req.volume,
            volume_current=req.volume,
            price_open=price,
            price_stoplimit=round(req.stoplimit, spec.digits) if req.type in STOP_LIMIT_TYPES else 0.0,
            price_current=price,
            sl=round(req.sl, spec.digits),
            tp=round(req.tp, spec.digits),
            time_setup_msc=now_msc,
            time_done_msc=0,
            time_expiration=int(req.expiration),
            type_time=req.type_time,
            type_filling=req.type_filling,
            magic=req.magic,
            position_id=0,
            position_by_id=0,
            reason=c.ORDER_REASON_EXPERT,
            comment=req.comment,
        )

    def _check_pending(self, spec: SymbolSpec, req: TradeRequest, order_type: int) -> tuple[float, float]:
        """The checks of a pending order's prices and expiry; its normalised price and stoplimit."""
        tick = self._open_tick(spec)
        price = round(req.price, spec.digits)
        stoplimit = round(req.stoplimit, spec.digits)
        self._require(check_pending_price(spec, order_type, price, stoplimit, tick.bid, tick.ask))
        fills_at = stoplimit if order_type in STOP_LIMIT_TYPES else price
        self._require(check_stops(spec, order_type in BUY_TYPES, fills_at, req.sl, req.tp))
        if req.type_time not in (
            c.ORDER_TIME_GTC,
            c.ORDER_TIME_DAY,
            c.ORDER_TIME_SPECIFIED,
            c.ORDER_TIME_SPECIFIED_DAY,
        ):
            raise _Rejected(c.TRADE_RETCODE_INVALID_EXPIRATION)
        dated = req.type_time in (c.ORDER_TIME_SPECIFIED, c.ORDER_TIME_SPECIFIED_DAY)
        if dated and req.expiration * 1000 <= self._clock.now_msc():
            raise _Rejected(c.TRADE_RETCODE_INVALID_EXPIRATION)
        return price, stoplimit

    def _plan_pending(self, account: Account, req: TradeRequest) -> _Plan:
        spec = self._spec(req.symbol)
        if req.type not in PENDING_TYPES:
            raise _Rejected(c.TRADE_RETCODE_INVALID_ORDER)
        self._require(check_volume(spec, req.volume))
        self._require(check_filling(spec.filling_mode, req.type, req.type_filling))
        price, stoplimit = self._check_pending(spec, req, req.type)
        fills_at = stoplimit if req.type in STOP_LIMIT_TYPES else price
        margin_change = self._margin_change(account, spec, req.type in BUY_TYPES, req.volume, fills_at)

        def execute() -> OrderSendResult:
            order = self._new_order(
                account, req, spec, state=c.ORDER_STATE_PLACED, price=price, now_msc=self._clock.now_msc()
            )
            self._add_pending(order)
            return self._result(req, c.TRADE_RETCODE_PLACED, order=order.ticket, volume=req.volume)

        return _Plan(execute, margin_change)

    def _plan_sltp(self, account: Account, req: TradeRequest) -> _Plan:
        if not req.position:
            raise _Rejected(c.TRADE_RETCODE_INVALID)
        position = self._own_position(account, req.position)
        if req.symbol and req.symbol != position.symbol:
            raise _Rejected(c.TRADE_RETCODE_INVALID)
        spec = self._specs[position.symbol]
        tick = self._open_tick(spec)
        sl, tp = round(req.sl, spec.digits), round(req.tp, spec.digits)
        if sl == position.sl and tp == position.tp:
            raise _Rejected(c.TRADE_RETCODE_NO_CHANGES)
        self._require(check_stops(spec, position.is_buy, tick.bid if position.is_buy else tick.ask, sl, tp))

        def execute() -> OrderSendResult:
            self._update_position(position, sl=sl, tp=tp, time_update_msc=self._clock.now_msc())
            return self._result(req, c.TRADE_RETCODE_DONE)

        return _Plan(execute)

    def _plan_modify(self, account: Account, req: TradeRequest) -> _Plan:
        order = self._own_order(account, req.order)
        spec = self._specs[order.symbol]
        price, stoplimit = self._check_pending(spec, req, order.type)
        sl, tp = round(req.sl, spec.digits), round(req.tp, spec.digits)
        unchanged = (order.price_open, order.sl, order.tp, order.type_time, order.time_expiration) == (
            price,
            sl,
            tp,
            req.type_time,
            req.expiration,
        )
        if unchanged and (order.type not in STOP_LIMIT_TYPES or stoplimit == order.price_stoplimit):
            raise _Rejected(c.TRADE_RETCODE_NO_CHANGES)

        def execute() -> OrderSendResult:
            order.price_open = price
            order.price_stoplimit = stoplimit if order.type in STOP_LIMIT_TYPES else 0.0
            order.sl, order.tp = sl, tp
            order.type_time, order.time_expiration = req.type_time, int(req.expiration)
            self._store.save(order)
            return self._result(req, c.TRADE_RETCODE_DONE, order=order.ticket)

        return _Plan(execute)

    def _plan_remove(self, account: Account, req: TradeRequest) -> _Plan:
        order = self._own_order(account, req.order)
        self._open_tick(self._specs[order.symbol])

        def execute() -> OrderSendResult:
            self._archive(order, c.ORDER_STATE_CANCELED, self._clock.now_msc())
            return self._result(req, c.TRADE_RETCODE_DONE, order=order.ticket)

        return _Plan(execute)

    def _plan_close_by(self, account: Account, req: TradeRequest) -> _Plan:
        if not account.hedging:
            raise _Rejected(c.TRADE_RETCODE_INVALID)
        position = self._own_position(account, req.position)
        opposite = self._own_position(account, req.position_by)
        if position.symbol != opposite.symbol or position.is_buy == opposite.is_buy:
            raise _Rejected(c.TRADE_RETCODE_INVALID)
        spec = self._specs[position.symbol]
        tick = self._open_tick(spec)
        volume = min(position.volume, opposite.volume)
        realised = self._pricing.profit_in(
            account.currency, spec, position.is_buy, volume, position.price_open, opposite.price_open
        )
        released = sum(
            self._margin(account, spec, volume, tick.ask if p.is_buy else tick.bid)
            for p in (position, opposite)
        )

        def execute() -> OrderSendResult:
            now_msc = self._clock.now_msc()
            order = self._new_order(
                account,
                req._replace(type=c.ORDER_TYPE_CLOSE_BY, volume=volume),
                spec,
                state=c.ORDER_STATE_FILLED,
                price=0.0,
                now_msc=now_msc,
            )
            order.position_by_id = opposite.ticket
            order.volume_current = 0.0
            order.time_done_msc = now_msc
            # The position closes at the opposite one's open price, which closes at its own: the
            # pair's whole result lands on the first deal, as on an MT5 server.
            first = self._close_by_deal(account, spec, order, position, opposite.price_open, volume, now_msc)
            self._close_by_deal(account, spec, order, opposite, opposite.price_open, volume, now_msc)
            order.position_id = position.ticket
            self._add_history(order)
            return self._result(
                req,
                c.TRADE_RETCODE_DONE,
                deal=first.ticket,
                order=order.ticket,
                volume=volume,
                price=opposite.price_open,
                bid=tick.bid,
                ask=tick.ask,
            )

        return _Plan(execute, -released, realised)

    def _close_by_deal(
        self,
        account: Account,
        spec: SymbolSpec,
        order: Order,
        position: Position,
        price: float,
        volume: float,
        now_msc: int,
    ) -> Deal:
        return self._deal(
            account,
            spec,
            order,
            is_buy=not position.is_buy,
            volume=volume,
            price=price,
            time_msc=now_msc,
            closing=position,
            sl=0.0,
            tp=0.0,
            reason=c.DEAL_REASON_EXPERT,
            exit_entry=c.DEAL_ENTRY_OUT_BY,
        )

    # ------------------------------------------------------------------ accounts

    def authenticate(self, login: int, password: str) -> bool:
        """Whether ``password`` opens account ``login`` on this server."""
        account = self._accounts.get(login)
        return account is not None and account.password == password

    def default_login(self) -> int:
        """The first account of the server (what a terminal logs into when config names none)."""
        return min(self._accounts)

    def logins(self) -> list[int]:
        """Every account login of the server."""
        return sorted(self._accounts)

    def add_account(self, config: AccountConfig) -> None:
        """Create an account (with its initial deposit deal); an existing login is left as it is."""
        self._run(lambda: self._open_accounts([config]))

    def deposit(self, login: int, amount: float, comment: str = "Deposit") -> None:
        """A balance operation (a withdrawal when negative), booked as a DEAL_TYPE_BALANCE deal."""
        self._run(lambda: self._book_balance(self._account(login), amount, comment))

    def account_info(self, login: int) -> AccountInfo | None:
        """``account_info()`` of ``login`` with floating figures at current prices (None: unknown)."""
        with self._lock:
            self._sync(self._clock.now_msc())
            account = self._accounts.get(login)
            if account is None:
                return None
            figures = self._figures(account)
            equity = round(account.balance + account.credit + figures.profit, 2)
            return AccountInfo(
                login=account.login,
                trade_mode=c.ACCOUNT_TRADE_MODE_DEMO,
                leverage=account.leverage,
                limit_orders=200,
                margin_so_mode=c.ACCOUNT_STOPOUT_MODE_PERCENT,
                trade_allowed=True,
                trade_expert=True,
                margin_mode=account.margin_mode,
                currency_digits=2,
                fifo_close=False,
                balance=account.balance,
                credit=account.credit,
                profit=figures.profit,
                equity=equity,
                margin=figures.margin,
                margin_free=round(equity - figures.margin, 2),
                margin_level=round(equity / figures.margin * 100, 2) if figures.margin else 0.0,
                margin_so_call=account.margin_so_call,
                margin_so_so=account.margin_so_so,
                margin_initial=0.0,
                margin_maintenance=0.0,
                assets=0.0,
                liabilities=0.0,
                commission_blocked=0.0,
                name=account.name,
                server=self.server,
                currency=account.currency,
                company=COMPANY,
            )

    def calc_margin(self, login: int, order_type: int, symbol: str, volume: float, price: float) -> float:
        """``order_calc_margin``: margin in the account currency of ``volume`` lots at ``price``.

        ``order_type`` (ORDER_TYPE_BUY / SELL) is taken for the module's signature: the margin
        formulas do not depend on the side.
        """
        with self._lock:
            account = self._account(login)
            return round(self._margin(account, self._specs[symbol], volume, price), 2)

    def calc_profit(
        self, login: int, order_type: int, symbol: str, volume: float, price_open: float, price_close: float
    ) -> float:
        """``order_calc_profit``: profit in the account currency of a buy or sell between two prices."""
        with self._lock:
            account = self._account(login)
            is_buy = order_type == c.ORDER_TYPE_BUY
            spec = self._specs[symbol]
            return round(
                self._pricing.profit_in(account.currency, spec, is_buy, volume, price_open, price_close), 2
            )

    # ------------------------------------------------------------------ reads

    def positions(self, login: int, ticket: int | None = None) -> list[TradePosition]:
        """Open positions of ``login`` (only ``ticket``'s when given), with current price and profit."""
        with self._lock:
            self._sync(self._clock.now_msc())
            account = self._account(login)
            return [self._position_record(account, p) for p in _mine(self._positions_of[login], ticket)]

    def _position_record(self, account: Account, position: Position) -> TradePosition:
        spec = self._specs[position.symbol]
        tick = self._market.last_tick(position.symbol)
        current = tick.bid if position.is_buy else tick.ask
        profit = self._pricing.profit_in(
            account.currency, spec, position.is_buy, position.volume, position.price_open, current
        )
        return TradePosition(
            ticket=position.ticket,
            time=position.time_msc // 1000,
            time_msc=position.time_msc,
            time_update=position.time_update_msc // 1000,
            time_update_msc=position.time_update_msc,
            type=position.type,
            magic=position.magic,
            identifier=position.ticket,
            reason=position.reason,
            volume=position.volume,
            price_open=position.price_open,
            sl=position.sl,
            tp=position.tp,
            price_current=current,
            swap=position.swap,
            profit=round(profit, 2),
            symbol=position.symbol,
            comment=position.comment,
            external_id="",
        )

    def orders(self, login: int, ticket: int | None = None) -> list[TradeOrder]:
        """Pending orders of ``login`` (only ``ticket``'s when given)."""
        with self._lock:
            self._sync(self._clock.now_msc())
            self._account(login)
            records = []
            for order in _mine(self._pending_of[login], ticket):
                tick = self._market.last_tick(order.symbol)
                records.append(_order_record(order, tick.ask if order.is_buy else tick.bid))
            return records

    def history_orders(self, login: int, from_msc: int, to_msc: int) -> list[TradeOrder]:
        """History orders of ``login`` set up within [from_msc, to_msc] (epoch milliseconds)."""
        with self._lock:
            self._sync(self._clock.now_msc())
            self._account(login)
            return [
                _order_record(o, o.price_current)
                for o in self._history_of[login]
                if from_msc <= o.time_setup_msc <= to_msc
            ]

    def history_deals(self, login: int, from_msc: int, to_msc: int) -> list[TradeDeal]:
        """Deals of ``login`` within [from_msc, to_msc] (epoch milliseconds), balance deals included."""
        with self._lock:
            self._sync(self._clock.now_msc())
            self._account(login)
            return [_deal_record(d) for d in self._deals_of[login] if from_msc <= d.time_msc <= to_msc]

    def close(self) -> None:
        """Release the database file."""
        with self._lock:
            self._store.close()


def _order_record(order: Order, price_current: float) -> TradeOrder:
    return TradeOrder(
        ticket=order.ticket,
        time_setup=order.time_setup_msc // 1000,
        time_setup_msc=order.time_setup_msc,
        time_done=order.time_done_msc // 1000,
        time_done_msc=order.time_done_msc,
        time_expiration=order.time_expiration,
        type=order.type,
        type_time=order.type_time,
        type_filling=order.type_filling,
        state=order.state,
        magic=order.magic,
        position_id=order.position_id,
        position_by_id=order.position_by_id,
        reason=order.reason,
        volume_initial=order.volume_initial,
        volume_current=order.volume_current,
        price_open=order.price_open,
        sl=order.sl,
        tp=order.tp,
        price_current=price_current,
        price_stoplimit=order.price_stoplimit,
        symbol=order.symbol,
        comment=order.comment,
        external_id="",
    )


def _deal_record(deal: Deal) -> TradeDeal:
    return TradeDeal(
        ticket=deal.ticket,
        order=deal.order,
        time=deal.time_msc // 1000,
        time_msc=deal.time_msc,
        type=deal.type,
        entry=deal.entry,
        magic=deal.magic,
        position_id=deal.position_id,
        reason=deal.reason,
        volume=deal.volume,
        price=deal.price,
        commission=deal.commission,
        swap=deal.swap,
        profit=deal.profit,
        fee=deal.fee,
        symbol=deal.symbol,
        comment=deal.comment,
        external_id="",
    )


def _mine(by_ticket: dict[int, _R], ticket: int | None) -> Iterable[_R]:
    """Every record of an account's map, or only ``ticket``'s: asking for one builds one record."""
    if ticket is None:
        return by_ticket.values()
    found = by_ticket.get(ticket)
    return () if found is None else (found,)
