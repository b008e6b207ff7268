"""``SimTerminal``: the 32 MetaTrader5 functions over the simulated market and broker.

It behaves as the official module does towards a connected terminal: the same argument forms and
checks (``terminal.callforms``: what is positional, what is keyword, the types each takes and the
messages when they are wrong), the record named tuples and numpy arrays it returns, and on failure
``None`` (``False`` for ``initialize``, ``login``, ``symbol_select`` and the market book calls) with
``last_error()`` set to the official code. Every call but ``last_error`` fails with -10004 "No IPC
connection" before ``initialize()`` and while the ``disconnect`` fault is on (wrong arguments are
refused before that, as the module refuses them before asking its terminal). Each call first lets
the broker process the time that has passed, so SL/TP and pending orders trigger as the price path
crosses them.

``SimConfig`` is plain, picklable data: the pool builds one ``SimTerminal`` from it in each worker.
"""

from __future__ import annotations

import functools
import os
import random
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import numpy as np

from mt5gateway.terminal import constants as c
from mt5gateway.terminal.callforms import FORMS, ArgumentError, leaked_error
from mt5gateway.terminal.errors import ERROR_MESSAGES
from mt5gateway.terminal.records import (
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
from mt5gateway.terminal.timeframes import TIMEFRAME_SECONDS

from .broker import DEFAULT_SERVER, Broker
from .clock import Clock, ManualClock, SystemClock
from .faults import Faults
from .groups import group_matcher
from .market import Market, MarketError, UnknownSymbol
from .markettime import ServerTime
from .symbols import CATALOGUE, SymbolSpec

__all__ = ["SIM_BUILD", "ClockSpec", "SimConfig", "SimTerminal"]

SIM_BUILD = 4755
SIM_BUILD_DATE = "24 Jan 2025"
TERMINAL_NAME = "MetaTrader 5 (simulated)"
TERMINAL_COMPANY = "mt5gateway"
MAX_BARS = 100_000
BOOK_DEPTH = 10

_OK = (c.RES_S_OK, ERROR_MESSAGES[c.RES_S_OK])
_COPY_TICKS_FLAGS = frozenset({c.COPY_TICKS_ALL, c.COPY_TICKS_INFO, c.COPY_TICKS_TRADE})
# History calls given only a ticket or a position look at all time, as the module does.
_ALL_TIME = (0, 2**53)

P = ParamSpec("P")
R = TypeVar("R")


def _wall_msc() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


@dataclass(frozen=True)
class ClockSpec:
    """How to build the simulator's clock.

    Parameters
    ----------
    speed:
        Sim seconds per real second of a running clock (default 1.0, real time).
    origin_msc:
        The simulated instant at start (epoch ms UTC); default: now. The clock shows it in server
        time (``sim.markettime``).
    manual:
        A ``ManualClock`` that only moves through ``set``/``advance`` (tests, drills).
    """

    speed: float = 1.0
    origin_msc: int | None = None
    manual: bool = False

    def build(self, server_time: ServerTime | None = None) -> Clock:
        """The clock this spec describes, telling ``server_time`` (default: the broker convention)."""
        server_time = server_time or ServerTime()
        if self.manual:
            origin = self.origin_msc if self.origin_msc is not None else _wall_msc()
            return ManualClock(server_time.from_utc_msc(origin))
        return SystemClock(speed=self.speed, origin_msc=self.origin_msc, server_time=server_time)


@dataclass(frozen=True)
class SimConfig:
    """Everything a simulated terminal is built from (plain data, picklable).

    Parameters
    ----------
    server:
        The simulated trade server's name (``AccountInfo.server``; ``initialize(server=...)`` must match).
    seed:
        The market's seed: history is a pure function of (seed, symbol, time).
    clock:
        A ``ClockSpec`` or a ready ``Clock`` (a test keeps a ``ManualClock`` handle this way).
    db_path:
        The broker's SQLite file; ``":memory:"`` for state that ends with the process. Default:
        ``$MT5GW_DATA_DIR/sim/<server>.db``, ``./data/sim/<server>.db`` without the variable.
    extra_symbols:
        Symbols offered besides the server's catalogue (``sim.symbols.CATALOGUE``).
    replay:
        CSV files of real bars or ticks the market replays instead of generating.
    login:
        The account ``initialize()`` logs into when it is given none (default: the server's first).
    server_time:
        The server clock's convention (``sim.markettime.ServerTime``): ``"broker"`` (UTC+2, UTC+3
        in US summer time; the default), ``"UTC"`` or a whole-hour offset such as ``"UTC+3"``.
    """

    server: str = DEFAULT_SERVER
    seed: int = 0
    clock: ClockSpec | Clock = field(default_factory=ClockSpec)
    db_path: str | None = None
    extra_symbols: tuple[SymbolSpec, ...] = ()
    replay: tuple[str, ...] = ()
    login: int | None = None
    server_time: str = "broker"

    def __post_init__(self) -> None:
        ServerTime(self.server_time)  # a bad convention fails here, not at initialize()

    @classmethod
    def from_env(cls, **overrides: Any) -> SimConfig:
        """A config from ``MT5GW_SIM_SEED``, ``MT5GW_SIM_SPEED``, ``MT5GW_SIM_MEMORY=1`` and
        ``MT5GW_SIM_SERVER_TIME``, then ``overrides``."""
        fields: dict[str, Any] = {}
        if server_time := os.environ.get("MT5GW_SIM_SERVER_TIME"):
            fields["server_time"] = server_time
        if seed := os.environ.get("MT5GW_SIM_SEED"):
            fields["seed"] = int(seed)
        if speed := os.environ.get("MT5GW_SIM_SPEED"):
            fields["clock"] = ClockSpec(speed=float(speed))
        if os.environ.get("MT5GW_SIM_MEMORY") == "1":
            fields["db_path"] = ":memory:"
        fields.update(overrides)
        return cls(**fields)

    def resolved_db_path(self) -> str:
        """The broker database this config names, its folder created when it is a file."""
        if self.db_path == ":memory:":
            return self.db_path
        path = Path(self.db_path) if self.db_path else _data_dir() / "sim" / f"{self.server}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return str(path)


def _data_dir() -> Path:
    return Path(os.environ.get("MT5GW_DATA_DIR") or "data")


class _CallFailed(Exception):
    """Ends an API call: the call returns its failure value and ``last_error()`` gives ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(ERROR_MESSAGES[code])
        self.code = code


def _api_call(
    failure: Any, *, needs_connection: bool = True
) -> Callable[[Callable[Concatenate[SimTerminal, P], R]], Callable[..., R]]:
    """Wrap an API method: the module's argument checks (``terminal.callforms``), faults, the
    connection check, the broker's clock step and ``last_error``.

    The method receives the arguments as the form hands them over (dates as epoch seconds, a trade
    request with every field); its signature is the contract's (``TerminalAPI``).
    """

    def wrap(method: Callable[Concatenate[SimTerminal, P], R]) -> Callable[..., R]:
        name = method.__name__
        form = FORMS[name]

        @functools.wraps(method)
        def call(self: SimTerminal, /, *args: Any, **kwargs: Any) -> R:
            try:
                args, kwargs = form(args, kwargs)
            except ArgumentError as refused:
                self._last_error = (c.RES_E_INVALID_PARAMS, refused.message)
                if refused.leaked is not None:
                    raise SystemError(leaked_error(name)) from refused.leaked
                # the method's declared result type includes its failure value (None, False or 0)
                return cast("R", failure)
            self.faults.before_call()
            try:
                if needs_connection:
                    self._require_connection()
                result = method(self, *args, **kwargs)
            except _CallFailed as failed:
                code = failed.code
            except UnknownSymbol:
                code = c.RES_E_NOT_FOUND
            except MarketError:
                # e.g. a timeframe a replayed symbol's bars cannot make
                code = c.RES_E_INVALID_PARAMS
            else:
                self._last_error = _OK
                return result
            self._last_error = (code, ERROR_MESSAGES[code])
            return cast("R", failure)

        return call

    return wrap


# ----------------------------------------------------------------------------------- arguments
# The forms have checked types and converted dates; what is left is what the terminal itself checks.


def _msc_span(start_s: int, end_s: int) -> tuple[int, int]:
    """Epoch-second bounds as milliseconds, the end's whole second included (times are seconds)."""
    if end_s < start_s:
        raise _CallFailed(c.RES_E_INVALID_PARAMS)
    return start_s * 1000, end_s * 1000 + 999


def _count(count: int) -> int:
    if count <= 0:
        raise _CallFailed(c.RES_E_INVALID_PARAMS)
    return count


def _index(index: int) -> int:
    if index < 0:
        raise _CallFailed(c.RES_E_INVALID_PARAMS)
    return index


def _timeframe(timeframe: int) -> int:
    if timeframe not in TIMEFRAME_SECONDS:
        raise _CallFailed(c.RES_E_INVALID_PARAMS)
    return timeframe


def _tick_flags(flags: int) -> int:
    if flags not in _COPY_TICKS_FLAGS:
        raise _CallFailed(c.RES_E_INVALID_PARAMS)
    return flags


def _order_side(order_type: int) -> int:
    if order_type not in (c.ORDER_TYPE_BUY, c.ORDER_TYPE_SELL):
        raise _CallFailed(c.RES_E_INVALID_PARAMS)
    return order_type


def _volume(lots: float) -> float:
    if not lots > 0:
        raise _CallFailed(c.RES_E_INVALID_PARAMS)
    return lots


def _found(array: np.ndarray) -> np.ndarray:
    """A counted copy's result: no bars or ticks at all means no history there."""
    if len(array) == 0:
        raise _CallFailed(c.RES_E_NOT_FOUND)
    return array


def _filtered(
    records: Iterable[Any],
    *,
    symbol: str | None = None,
    group: str | None = None,
    ticket: int | None = None,
    ticket_field: str = "ticket",
    position: int | None = None,
) -> tuple[Any, ...]:
    """Records kept by the module's filters (``symbol``, ``group`` mask, ``ticket``, ``position``)."""
    in_group = group_matcher(group) if group is not None else None
    return tuple(
        record
        for record in records
        if (symbol is None or record.symbol == symbol)
        and (in_group is None or in_group(record.symbol))
        and (ticket is None or getattr(record, ticket_field) == ticket)
        and (position is None or record.position_id == position)
    )


# ----------------------------------------------------------------------------------- the terminal


class SimTerminal:
    """A simulated MetaTrader 5 terminal: implements ``TerminalAPI`` (the module's 32 functions).

    The market, broker and clock are built on the first ``initialize()`` (or the first use of
    ``market`` / ``broker`` / ``clock``), so constructing one is cheap. ``faults`` and ``control``
    switch faults and move a manual clock at run time.
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        self._config = config
        self.faults = Faults()
        self._market: Market | None = None
        self._broker: Broker | None = None
        self._clock: Clock | None = None
        self._symbols: dict[str, SymbolSpec] = {}
        self._connected = False
        self._login: int | None = None
        self._path: str | None = None
        self._last_error: tuple[int, str] = _OK
        self._hidden: set[str] = set()
        self._books: set[str] = set()

    # ------------------------------------------------------------------ construction, control

    @property
    def config(self) -> SimConfig:
        """The config in use (read from the environment when none was given)."""
        if self._config is None:
            self._config = SimConfig.from_env()
        return self._config

    def configure(self, config: SimConfig) -> None:
        """Start afresh from ``config`` at the next ``initialize()``: shut down, faults cleared."""
        self.close()
        self._config = config
        self.faults = Faults()
        self._hidden.clear()
        self._path = None

    def _build_engine(self) -> None:
        config = self.config
        server_time = ServerTime(config.server_time)
        self._clock = config.clock if isinstance(config.clock, Clock) else config.clock.build(server_time)
        self._symbols = dict(CATALOGUE)
        self._symbols.update({spec.name: spec for spec in config.extra_symbols})
        self._market = Market(
            self._symbols, seed=config.seed, clock=self._clock, replay=config.replay, server_time=server_time
        )
        self._broker = Broker(
            self._market, server=config.server, db_path=config.resolved_db_path(), seed=config.seed
        )

    def _close_engine(self) -> None:
        if self._broker is not None:
            self._broker.close()
        self._market = self._broker = self._clock = None

    @property
    def market(self) -> Market:
        """The simulated market (prices, history, ticks)."""
        if self._market is None:
            self._build_engine()
        assert self._market is not None
        return self._market

    @property
    def broker(self) -> Broker:
        """The simulated broker (accounts, orders, positions, deals)."""
        if self._broker is None:
            self._build_engine()
        assert self._broker is not None
        return self._broker

    @property
    def clock(self) -> Clock:
        """The simulator's clock."""
        if self._clock is None:
            self._build_engine()
        assert self._clock is not None
        return self._clock

    def close(self) -> None:
        """Shut down and release the broker's database."""
        self.shutdown()
        self._close_engine()

    def control(self, action: str, **kwargs: Any) -> dict[str, Any]:
        """Run a simulator control (what the pool's ``sim_control`` calls); returns the state after it.

        Actions: ``disconnect``, ``reconnect``, ``latency(seconds)``, ``hang(seconds=None)``,
        ``release``, ``crash``, ``requote_rate(rate)``, ``autotrading(enabled)``, ``clear`` (all
        faults off), ``clock_set(time_msc)`` and ``clock_advance(seconds=0.0, ms=0)`` for a manual
        clock, ``state`` (change nothing). Raises ValueError for an unknown action or bad argument.
        """
        faults = self.faults
        handlers: dict[str, Callable[..., None]] = {
            "disconnect": faults.disconnect,
            "reconnect": faults.reconnect,
            "latency": faults.set_latency,
            "hang": faults.hang,
            "release": faults.release,
            "crash": faults.crash,
            "requote_rate": faults.set_requote_rate,
            "autotrading": faults.set_autotrading,
            "clear": faults.clear,
            "clock_set": self._clock_set,
            "clock_advance": self._clock_advance,
            "state": lambda: None,
        }
        handler = handlers.get(action)
        if handler is None:
            raise ValueError(f"unknown simulator control {action!r}; known: {', '.join(sorted(handlers))}")
        try:
            handler(**kwargs)
        except TypeError as error:
            raise ValueError(f"bad arguments for control {action!r}: {error}") from None
        return {**faults.state(), "now_msc": self.clock.now_msc(), "connected": self._connected}

    def _manual_clock(self) -> ManualClock:
        if not isinstance(self.clock, ManualClock):
            raise ValueError("clock controls need a manual clock (ClockSpec(manual=True))")
        return self.clock

    def _clock_set(self, time_msc: int) -> None:
        self._manual_clock().set_msc(int(time_msc))

    def _clock_advance(self, seconds: float = 0.0, ms: int = 0) -> None:
        self._manual_clock().advance(seconds + ms / 1000)

    # ------------------------------------------------------------------ call plumbing

    def _require_connection(self) -> None:
        if not self._connected or self.faults.disconnected:
            raise _CallFailed(c.RES_E_INTERNAL_FAIL_CONNECT)
        # Connected implies an engine; the private fields skip the properties' checks on this hot path.
        assert self._broker is not None and self._clock is not None
        self._broker.process(self._clock.now_msc())

    def _spec(self, symbol: str) -> SymbolSpec:
        spec = self._symbols.get(symbol)
        if spec is None:
            raise _CallFailed(c.RES_E_NOT_FOUND)
        return spec

    @property
    def _account(self) -> int:
        assert self._login is not None  # set whenever the terminal is connected
        return self._login

    def _authenticate(self, account: int, password: str | None, server: str | None) -> int:
        if server is not None and server != self.config.server:
            raise _CallFailed(c.RES_E_AUTH_FAILED)
        if password is None:
            # Like a terminal with a saved password: a known account connects.
            known = self.broker.account_info(account) is not None
        else:
            known = self.broker.authenticate(account, password)
        if not known:
            raise _CallFailed(c.RES_E_AUTH_FAILED)
        return account

    # ------------------------------------------------------------------ connection

    @_api_call(False, needs_connection=False)
    def initialize(
        self,
        path: str | None = None,
        *,
        login: int | None = None,
        password: str | None = None,
        server: str | None = None,
        timeout: int | None = None,
        portable: bool = False,
    ) -> bool:
        """Connect to the (simulated) terminal, logging into ``login`` or the configured account.

        ``path`` (the terminal to start) is reported back as ``terminal_info().path``; ``timeout``
        and ``portable`` have nothing to change here.
        """
        if self.faults.disconnected:
            raise _CallFailed(c.RES_E_INTERNAL_FAIL_CONNECT)
        if path is not None:
            self._path = path
        account = login if login is not None else self.config.login
        if account is None:
            account = self.broker.default_login()
            password = None
        self._login = self._authenticate(account, password, server)
        self._connected = True
        self.broker.process(self.clock.now_msc())
        return True

    @_api_call(False)
    def login(
        self,
        login: int,
        password: str | None = None,
        server: str | None = None,
        *,
        timeout: int | None = None,
    ) -> bool:
        """Switch to another account of the same server."""
        self._login = self._authenticate(login, password, server)
        return True

    def shutdown(self) -> bool:
        """Disconnect; every call but ``last_error`` fails with -10004 until ``initialize()``.

        Returns True, as the module does: it only closes its end of the link, so no fault delays it.
        """
        self._connected = False
        self._books.clear()
        self._last_error = _OK
        return True

    def last_error(self) -> tuple[int, str]:
        """``(code, message)`` of the last call."""
        return self._last_error

    @_api_call(None)
    def version(self) -> tuple[int, int, str] | None:
        """``(500, build, "dd Mon yyyy")`` as the module gives it."""
        return (500, SIM_BUILD, SIM_BUILD_DATE)

    @_api_call(None)
    def terminal_info(self) -> TerminalInfo | None:
        """The terminal's state; ``trade_allowed`` is the AutoTrading button."""
        data_path = str(_data_dir().resolve() / "sim")
        return TerminalInfo(
            community_account=False,
            community_connection=False,
            connected=True,
            dlls_allowed=False,
            trade_allowed=self.faults.autotrading,
            tradeapi_disabled=False,
            email_enabled=False,
            ftp_enabled=False,
            notifications_enabled=False,
            mqid=False,
            build=SIM_BUILD,
            maxbars=MAX_BARS,
            codepage=0,
            ping_last=int(self.faults.latency_s * 1_000_000),
            community_balance=0.0,
            retransmission=0.0,
            company=TERMINAL_COMPANY,
            name=TERMINAL_NAME,
            language="English",
            path=self._path or data_path,
            data_path=data_path,
            commondata_path=str(_data_dir().resolve() / "common"),
        )

    @_api_call(None)
    def account_info(self) -> AccountInfo | None:
        """The logged-in account."""
        return self.broker.account_info(self._account)

    # ------------------------------------------------------------------ symbols

    @_api_call(0)
    def symbols_total(self) -> int:
        """How many symbols the server offers."""
        return len(self._symbols)

    @_api_call(None)
    def symbols_get(self, group: str | None = None) -> tuple[SymbolInfo, ...] | None:
        """Every symbol, or those in ``group`` (e.g. ``"*USD*,!EUR*"``)."""
        names: Iterable[str] = self._symbols
        if group is not None:
            names = filter(group_matcher(group), names)
        return tuple(self._symbol_info(self._symbols[name]) for name in names)

    @_api_call(None)
    def symbol_info(self, symbol: str, /) -> SymbolInfo | None:
        """A symbol's specification and current prices."""
        return self._symbol_info(self._spec(symbol))

    def _symbol_info(self, spec: SymbolSpec) -> SymbolInfo:
        # Session statistics (bidhigh/bidlow, session_open, price_change, ...) stay 0, as many FX
        # servers report them: computing the day's bar on every call would cost ~0.3 ms.
        tick = self.market.last_tick(spec.name)
        selected = spec.name not in self._hidden
        tick_value = self._tick_value(spec, tick.bid)
        return SymbolInfo(
            custom=False,
            chart_mode=spec.chart_mode,
            select=selected,
            visible=selected,
            session_deals=0,
            session_buy_orders=0,
            session_sell_orders=0,
            volume=tick.volume,
            volumehigh=0,
            volumelow=0,
            time=tick.time,
            digits=spec.digits,
            spread=round((tick.ask - tick.bid) / spec.point),
            spread_float=True,
            ticks_bookdepth=BOOK_DEPTH,
            trade_calc_mode=spec.calc_mode,
            trade_mode=spec.trade_mode,
            start_time=0,
            expiration_time=0,
            trade_stops_level=spec.stops_level,
            trade_freeze_level=spec.freeze_level,
            trade_exemode=spec.trade_exemode,
            swap_mode=spec.swap_mode,
            swap_rollover3days=spec.swap_rollover3days,
            margin_hedged_use_leg=False,
            expiration_mode=spec.expiration_mode,
            filling_mode=spec.filling_mode,
            order_mode=spec.order_mode,
            order_gtc_mode=c.SYMBOL_ORDERS_GTC,
            option_mode=c.SYMBOL_OPTION_MODE_EUROPEAN,
            option_right=c.SYMBOL_OPTION_RIGHT_CALL,
            bid=tick.bid,
            bidhigh=0.0,
            bidlow=0.0,
            ask=tick.ask,
            askhigh=0.0,
            asklow=0.0,
            last=tick.last,
            lasthigh=0.0,
            lastlow=0.0,
            volume_real=tick.volume_real,
            volumehigh_real=0.0,
            volumelow_real=0.0,
            option_strike=0.0,
            point=spec.point,
            trade_tick_value=tick_value,
            trade_tick_value_profit=tick_value,
            trade_tick_value_loss=tick_value,
            trade_tick_size=spec.tick_size,
            trade_contract_size=spec.contract_size,
            trade_accrued_interest=0.0,
            trade_face_value=0.0,
            trade_liquidity_rate=0.0,
            volume_min=spec.volume_min,
            volume_max=spec.volume_max,
            volume_step=spec.volume_step,
            volume_limit=0.0,
            swap_long=spec.swap_long,
            swap_short=spec.swap_short,
            margin_initial=0.0,
            margin_maintenance=0.0,
            session_volume=0.0,
            session_turnover=0.0,
            session_interest=0.0,
            session_buy_orders_volume=0.0,
            session_sell_orders_volume=0.0,
            session_open=0.0,
            session_close=0.0,
            session_aw=0.0,
            session_price_settlement=0.0,
            session_price_limit_min=0.0,
            session_price_limit_max=0.0,
            margin_hedged=spec.contract_size / 2,
            price_change=0.0,
            price_volatility=0.0,
            price_theoretical=0.0,
            price_greeks_delta=0.0,
            price_greeks_theta=0.0,
            price_greeks_gamma=0.0,
            price_greeks_vega=0.0,
            price_greeks_rho=0.0,
            price_greeks_omega=0.0,
            price_sensitivity=0.0,
            basis="",
            category="",
            currency_base=spec.currency_base,
            currency_profit=spec.currency_profit,
            currency_margin=spec.currency_margin,
            bank="",
            description=spec.description,
            exchange="",
            formula="",
            isin="",
            name=spec.name,
            page="",
            path=spec.path,
        )

    def _tick_value(self, spec: SymbolSpec, price: float) -> float:
        """One lot's profit per tick, in the account currency, at current conversion rates."""
        # The broker rounds profits to cents, so measure a move of many ticks and divide: the profit
        # is linear in the price change and the conversion does not depend on the trade's prices.
        ticks = 1_000_000
        profit = self.broker.calc_profit(
            self._account, c.ORDER_TYPE_BUY, spec.name, 1.0, price, price + ticks * spec.tick_size
        )
        return round(profit / ticks, 8)

    @_api_call(None)
    def symbol_info_tick(self, symbol: str, /) -> Tick | None:
        """The symbol's newest tick."""
        return self.market.last_tick(self._spec(symbol).name)

    @_api_call(False)
    def symbol_select(self, symbol: str, enable: bool = True, /) -> bool:
        """Show or hide a symbol in Market Watch; one with open positions or orders cannot be hidden."""
        name = self._spec(symbol).name
        if enable:
            self._hidden.discard(name)
            return True
        in_use = any(p.symbol == name for p in self.broker.positions(self._account)) or any(
            o.symbol == name for o in self.broker.orders(self._account)
        )
        if in_use:
            raise _CallFailed(c.RES_E_FAIL)
        self._hidden.add(name)
        self._books.discard(name)
        return True

    # ------------------------------------------------------------------ market book

    @_api_call(False)
    def market_book_add(self, symbol: str, /) -> bool:
        """Subscribe to a symbol's market depth (and show it in Market Watch)."""
        name = self._spec(symbol).name
        self._hidden.discard(name)
        self._books.add(name)
        return True

    @_api_call(None)
    def market_book_get(self, symbol: str, /) -> tuple[BookInfo, ...] | None:
        """A depth of ``BOOK_DEPTH`` levels each side around the current bid/ask, best prices inner."""
        spec = self._spec(symbol)
        if spec.name not in self._books:
            raise _CallFailed(c.RES_E_FAIL)
        tick = self.market.last_tick(spec.name)
        # Levels a quarter of the spread apart (at least one tick), best prices innermost.
        step = max(spec.tick_size, round((tick.ask - tick.bid) / 4 / spec.tick_size) * spec.tick_size)
        # Sizes (in lots) vary from tick to tick yet are the same for every call within one tick.
        sizes = random.Random(tick.time_msc ^ zlib.crc32(spec.name.encode())).choices(
            range(1, 51), k=2 * BOOK_DEPTH
        )
        sells = [
            BookInfo(c.BOOK_TYPE_SELL, round(tick.ask + level * step, spec.digits), size, float(size))
            for level, size in reversed(list(enumerate(sizes[:BOOK_DEPTH])))
        ]
        buys = [
            BookInfo(c.BOOK_TYPE_BUY, round(tick.bid - level * step, spec.digits), size, float(size))
            for level, size in enumerate(sizes[BOOK_DEPTH:])
        ]
        return (*sells, *buys)

    @_api_call(False)
    def market_book_release(self, symbol: str, /) -> bool:
        """Unsubscribe from a symbol's market depth."""
        name = self._spec(symbol).name
        if name not in self._books:
            raise _CallFailed(c.RES_E_FAIL)
        self._books.discard(name)
        return True

    # ------------------------------------------------------------------ history

    @_api_call(None)
    def copy_rates_from(
        self, symbol: str, timeframe: int, date_from: int, count: int, /
    ) -> np.ndarray | None:
        """``count`` bars opened at or before ``date_from``, oldest first."""
        rates = self.market.rates_from(
            self._spec(symbol).name, _timeframe(timeframe), date_from, _count(count)
        )
        return _found(rates)

    @_api_call(None)
    def copy_rates_from_pos(
        self, symbol: str, timeframe: int, start_pos: int, count: int, /
    ) -> np.ndarray | None:
        """``count`` bars from position ``start_pos`` (0 = the current bar) back in time, oldest first."""
        rates = self.market.rates_from_pos(
            self._spec(symbol).name, _timeframe(timeframe), _index(start_pos), _count(count)
        )
        return _found(rates)

    @_api_call(None)
    def copy_rates_range(
        self, symbol: str, timeframe: int, date_from: int, date_to: int, /
    ) -> np.ndarray | None:
        """The bars opened within ``[date_from, date_to]``."""
        name = self._spec(symbol).name
        tf = _timeframe(timeframe)
        if date_to < date_from:
            raise _CallFailed(c.RES_E_INVALID_PARAMS)
        return self.market.rates_range(name, tf, date_from, date_to)

    @_api_call(None)
    def copy_ticks_from(self, symbol: str, date_from: int, count: int, flags: int, /) -> np.ndarray | None:
        """``count`` ticks from ``date_from`` on."""
        name = self._spec(symbol).name
        ticks = self.market.ticks_from(name, date_from * 1000, _count(count), _tick_flags(flags))
        return _found(ticks)

    @_api_call(None)
    def copy_ticks_range(self, symbol: str, date_from: int, date_to: int, flags: int, /) -> np.ndarray | None:
        """The ticks within ``[date_from, date_to]`` (the module asks from and to the whole second)."""
        name = self._spec(symbol).name
        if date_to < date_from:
            raise _CallFailed(c.RES_E_INVALID_PARAMS)
        return self.market.ticks_range(name, date_from * 1000, date_to * 1000, _tick_flags(flags))

    # ------------------------------------------------------------------ orders and positions

    def _open(
        self,
        fetch: Callable[[int, int | None], Iterable[R]],
        symbol: str | None,
        group: str | None,
        ticket: int | None,
    ) -> tuple[R, ...]:
        """The account's open records from ``fetch`` (the broker's orders or positions), filtered by
        ``symbol``, ``group`` mask or ``ticket`` (which the broker applies first: one record built)."""
        return _filtered(fetch(self._account, ticket), symbol=symbol, group=group)

    @_api_call(None)
    def orders_total(self) -> int | None:
        """How many pending orders the account has."""
        return len(self.broker.orders(self._account))

    @_api_call(None)
    def orders_get(
        self, *, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> tuple[TradeOrder, ...] | None:
        """Pending orders, filtered by ``symbol``, ``group`` mask or ``ticket``."""
        return self._open(self.broker.orders, symbol, group, ticket)

    @_api_call(None)
    def positions_total(self) -> int | None:
        """How many positions are open."""
        return len(self.broker.positions(self._account))

    @_api_call(None)
    def positions_get(
        self, *, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> tuple[TradePosition, ...] | None:
        """Open positions, filtered by ``symbol``, ``group`` mask or ``ticket``."""
        return self._open(self.broker.positions, symbol, group, ticket)

    @_api_call(None)
    def order_calc_margin(self, action: int, symbol: str, volume: float, price: float, /) -> float | None:
        """Margin in the account currency for ``volume`` lots at ``price``."""
        order_type = _order_side(action)
        name = self._spec(symbol).name
        return self.broker.calc_margin(self._account, order_type, name, _volume(volume), price)

    @_api_call(None)
    def order_calc_profit(
        self, action: int, symbol: str, volume: float, price_open: float, price_close: float, /
    ) -> float | None:
        """Profit in the account currency of a trade from ``price_open`` to ``price_close``."""
        order_type = _order_side(action)
        name = self._spec(symbol).name
        return self.broker.calc_profit(
            self._account, order_type, name, _volume(volume), price_open, price_close
        )

    @_api_call(None)
    def order_check(self, request: dict[str, Any], /) -> OrderCheckResult | None:
        """Whether the account could carry out ``request``, and the margin it would take."""
        return self.broker.check(self._account, request)

    @_api_call(None)
    def order_send(self, request: dict[str, Any], /) -> OrderSendResult | None:
        """Send a trade request; the result carries the broker's retcode."""
        # The requote fault may have changed through ``faults`` directly: hand its rate over now.
        self.broker.requote_rate = self.faults.requote_rate
        return self.broker.send(self._account, request, autotrading=self.faults.autotrading)

    # ------------------------------------------------------------------ account history

    def _history(
        self,
        fetch: Callable[[int, int, int], Iterable[R]],
        date_from: int | None,
        date_to: int | None,
        group: str | None,
        ticket: int | None,
        position: int | None,
        ticket_field: str,
    ) -> tuple[R, ...]:
        """History records of the account from ``fetch`` (the broker's orders or deals), filtered
        by dates and ``group``, or all time's by ``ticket`` (matched on ``ticket_field``) or
        ``position``."""
        if date_from is None or date_to is None:
            start, end = _ALL_TIME
        else:
            start, end = _msc_span(date_from, date_to)
        return _filtered(
            fetch(self._account, start, end),
            group=group,
            ticket=ticket,
            ticket_field=ticket_field,
            position=position,
        )

    @_api_call(None)
    def history_orders_total(self, date_from: int, date_to: int, /) -> int | None:
        """How many history orders fall within the dates."""
        return len(self.broker.history_orders(self._account, *_msc_span(date_from, date_to)))

    @_api_call(None)
    def history_orders_get(
        self,
        date_from: int | None = None,
        date_to: int | None = None,
        /,
        *,
        group: str | None = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> tuple[TradeOrder, ...] | None:
        """History orders within the dates (``group`` filter), or by order ``ticket`` or ``position``."""
        return self._history(
            self.broker.history_orders, date_from, date_to, group, ticket, position, "ticket"
        )

    @_api_call(None)
    def history_deals_total(self, date_from: int, date_to: int, /) -> int | None:
        """How many deals fall within the dates."""
        return len(self.broker.history_deals(self._account, *_msc_span(date_from, date_to)))

    @_api_call(None)
    def history_deals_get(
        self,
        date_from: int | None = None,
        date_to: int | None = None,
        /,
        *,
        group: str | None = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> tuple[TradeDeal, ...] | None:
        """Deals within the dates (``group`` filter), or of an order (``ticket``) or ``position``."""
        # For deals the module's ticket= is the ticket of the order that made them.
        return self._history(self.broker.history_deals, date_from, date_to, group, ticket, position, "order")
