"""Every function of the drop-in module, its argument forms and its ``last_error`` codes."""

from __future__ import annotations

import inspect
import pickle
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import mt5gateway.sim as sim_module
from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.symbols import CATALOGUE, DEFAULT_SYMBOLS
from mt5gateway.sim.terminal import ClockSpec, SimConfig, SimTerminal
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.api import API_FUNCTIONS, TerminalAPI
from mt5gateway.terminal.dtypes import RATES_DTYPE, TICKS_DTYPE
from mt5gateway.terminal.records import BookInfo, SymbolInfo, TerminalInfo, Tick

from .terminal_fixtures import SEED, START, START_MSC, clock_fixture, mt5_fixture  # noqa: F401

OK = (1, "Success")
INVALID_PARAMS = (-2, "Terminal: Invalid params")
INVALID_ARGUMENTS = (-2, "Invalid arguments")
NOT_FOUND = (-4, "Terminal: Not found")
AUTH_FAILED = (-6, "Terminal: Authorization failed")
NO_CONNECTION = (-10004, "No IPC connection")


def test_module_exposes_all_functions_and_constants() -> None:
    for name in API_FUNCTIONS:
        assert callable(getattr(sim_module, name)), name
        assert name in sim_module.__all__
    assert sim_module.TIMEFRAME_H1 == 16385
    assert sim_module.TRADE_RETCODE_DONE == 10009
    assert "ORDER_TYPE_BUY_LIMIT" in sim_module.__all__
    assert isinstance(sim_module.default_terminal(), TerminalAPI)


def test_calls_before_initialize_fail_with_no_ipc_connection() -> None:
    sim_module.configure(seed=SEED, db_path=":memory:")
    assert sim_module.version() is None
    assert sim_module.last_error() == NO_CONNECTION
    assert sim_module.symbol_info_tick("EURUSD") is None
    assert sim_module.last_error() == NO_CONNECTION
    assert sim_module.login(5000001, password="demo1") is False
    assert sim_module.symbol_select("EURUSD") is False
    assert sim_module.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 10) is None
    assert sim_module.order_send({"action": c.TRADE_ACTION_DEAL}) is None
    assert sim_module.last_error() == NO_CONNECTION


def test_initialize_logs_into_the_first_account_and_reports_version(mt5: ModuleType) -> None:
    assert mt5.last_error() == OK
    major, build, date = mt5.version()
    assert major == 500 and build > 4000
    assert re.fullmatch(r"\d{2} [A-Z][a-z]{2} \d{4}", date)
    account = mt5.account_info()
    assert account.login == 5000001
    assert account.currency == "USD" and account.balance > 0


def test_initialize_with_bad_credentials_fails_with_auth_failed(clock: ManualClock) -> None:
    sim_module.configure(seed=SEED, clock=clock, db_path=":memory:")
    assert sim_module.initialize(login=5000001, password="wrong") is False
    assert sim_module.last_error() == AUTH_FAILED
    assert sim_module.initialize(login=5000001, password="demo1", server="Other-Server") is False
    assert sim_module.last_error() == AUTH_FAILED
    assert sim_module.account_info() is None
    assert sim_module.last_error() == NO_CONNECTION
    assert sim_module.initialize("C:/MT5/terminal64.exe", login=5000002, password="demo2", timeout=1000)
    assert sim_module.account_info().login == 5000002
    assert sim_module.terminal_info().path == "C:/MT5/terminal64.exe"
    sim_module.default_terminal().close()


def test_login_switches_accounts_and_refuses_a_bad_password(mt5: ModuleType) -> None:
    assert mt5.login(5000003, password="demo3")
    account = mt5.account_info()
    assert (account.login, account.currency) == (5000003, "EUR")
    assert mt5.login(5000004, password="nope") is False
    assert mt5.last_error() == AUTH_FAILED
    assert mt5.account_info().login == 5000003


def test_shutdown_disconnects(mt5: ModuleType) -> None:
    mt5.shutdown()
    assert mt5.terminal_info() is None
    assert mt5.last_error() == NO_CONNECTION
    assert mt5.initialize()
    assert mt5.terminal_info().connected


def test_terminal_info_has_every_field(mt5: ModuleType) -> None:
    info = mt5.terminal_info()
    assert isinstance(info, TerminalInfo) and len(info) == 22
    assert info.connected and info.trade_allowed
    assert info.name == "MetaTrader 5 (simulated)"
    assert info.build == mt5.version()[1]
    assert info.data_path and info.company


def test_symbols_total_and_group_filters(mt5: ModuleType) -> None:
    assert mt5.symbols_total() == len(CATALOGUE) == 45
    everything = mt5.symbols_get()
    assert len(everything) == 45 and all(isinstance(s, SymbolInfo) for s in everything)
    names = {s.name for s in mt5.symbols_get(group="*,!EUR*")}
    assert "EURUSD" not in names and "GBPUSD" in names and len(names) == 45 - 7  # EURUSD and its six crosses
    usd = {s.name for s in mt5.symbols_get("*USD*,!EUR*")}
    assert usd == {
        "AUDUSD", "BCHUSD", "BTCUSD", "ETHUSD", "GBPUSD", "LTCUSD", "NZDUSD",
        "SOLUSD", "USDCAD", "USDCHF", "USDJPY", "XAGUSD", "XAUUSD", "XRPUSD",
    }  # fmt: skip
    assert mt5.symbols_get(group=5) is None
    assert mt5.last_error() == (-2, 'Invalid "group" argument')


def test_symbol_info_reflects_spec_and_live_tick(mt5: ModuleType) -> None:
    info = mt5.symbol_info("EURUSD")
    assert len(info) == 96
    tick = mt5.symbol_info_tick("EURUSD")
    assert (info.bid, info.ask, info.time) == (tick.bid, tick.ask, tick.time)
    assert info.digits == 5 and info.point == pytest.approx(1e-5)
    assert info.spread == round((tick.ask - tick.bid) / info.point)
    assert info.trade_contract_size == 100_000
    assert info.trade_tick_value == pytest.approx(1.0)  # 0.00001 x 100,000 USD on a USD account
    assert (info.currency_base, info.currency_profit) == ("EUR", "USD")
    assert info.select and info.visible and info.description
    assert info.filling_mode & c.SYMBOL_FILLING_IOC
    assert info.trade_mode == c.SYMBOL_TRADE_MODE_FULL
    usdjpy = mt5.symbol_info("USDJPY")
    # a JPY tick converted into USD: 0.001 x 100,000 JPY / USDJPY
    assert usdjpy.trade_tick_value == pytest.approx(100 / usdjpy.bid, rel=1e-3)


def test_symbol_info_failures(mt5: ModuleType) -> None:
    assert mt5.symbol_info("NOSUCH") is None
    assert mt5.last_error() == NOT_FOUND
    assert mt5.symbol_info_tick("NOSUCH") is None
    assert mt5.last_error() == NOT_FOUND
    assert mt5.symbol_info(123) is None
    assert mt5.last_error() == INVALID_ARGUMENTS


def test_symbol_info_tick_is_the_newest_tick(mt5: ModuleType, clock: ManualClock) -> None:
    tick = mt5.symbol_info_tick("EURUSD")
    assert isinstance(tick, Tick)
    assert tick.time_msc <= START_MSC and tick.bid < tick.ask
    clock.advance(600)
    later = mt5.symbol_info_tick("EURUSD")
    assert START_MSC < later.time_msc <= START_MSC + 600_000


def test_symbol_select_hides_and_shows(mt5: ModuleType) -> None:
    assert mt5.symbol_select("XAGUSD", False)
    assert not mt5.symbol_info("XAGUSD").visible
    assert mt5.symbol_select("XAGUSD")
    assert mt5.symbol_info("XAGUSD").select
    assert mt5.symbol_select("NOSUCH", True) is False
    assert mt5.last_error() == NOT_FOUND


def test_market_book_needs_a_subscription(mt5: ModuleType) -> None:
    assert mt5.market_book_get("EURUSD") is None
    assert mt5.last_error()[0] < 0
    assert mt5.market_book_add("EURUSD")
    book = mt5.market_book_get("EURUSD")
    assert all(isinstance(level, BookInfo) for level in book)
    prices = [level.price for level in book]
    assert prices == sorted(prices, reverse=True)
    tick = mt5.symbol_info_tick("EURUSD")
    sells = [level for level in book if level.type == c.BOOK_TYPE_SELL]
    buys = [level for level in book if level.type == c.BOOK_TYPE_BUY]
    assert len(sells) == len(buys) == 10
    assert min(level.price for level in sells) == pytest.approx(tick.ask)
    assert max(level.price for level in buys) == pytest.approx(tick.bid)
    assert all(level.volume > 0 for level in book)
    assert mt5.market_book_release("EURUSD")
    assert mt5.market_book_get("EURUSD") is None
    assert mt5.market_book_release("EURUSD") is False
    assert mt5.market_book_add("NOSUCH") is False
    assert mt5.last_error() == NOT_FOUND


def test_copy_rates_from_accepts_every_time_form(mt5: ModuleType) -> None:
    date = START - timedelta(days=1)
    positional = mt5.copy_rates_from("EURUSD", mt5.TIMEFRAME_M1, date, 100)
    assert positional.dtype == RATES_DTYPE and len(positional) == 100
    assert positional["time"][-1] <= date.timestamp()
    # a naive datetime is local time, as datetime.timestamp() reads it
    naive = mt5.copy_rates_from("EURUSD", mt5.TIMEFRAME_M1, date.astimezone().replace(tzinfo=None), 100)
    epoch = mt5.copy_rates_from("EURUSD", mt5.TIMEFRAME_M1, int(date.timestamp()), 100)
    fractional = mt5.copy_rates_from("EURUSD", mt5.TIMEFRAME_M1, date.timestamp() + 0.9, 100)
    for other in (naive, epoch, fractional):
        np.testing.assert_array_equal(positional, other)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("EURUSD", 7, START, 10), INVALID_PARAMS),
        (("EURUSD", c.TIMEFRAME_M1, START, 0), INVALID_PARAMS),
        (("EURUSD", c.TIMEFRAME_M1, "yesterday", 10), INVALID_ARGUMENTS),
        (("NOSUCH", c.TIMEFRAME_M1, START, 10), NOT_FOUND),
    ],
)
def test_copy_rates_from_failures(mt5: ModuleType, args: tuple[object, ...], error: tuple[int, str]) -> None:
    assert mt5.copy_rates_from(*args) is None
    assert mt5.last_error() == error


def test_copy_rates_from_pos_ends_at_the_current_bar(mt5: ModuleType, clock: ManualClock) -> None:
    clock.advance(120)  # the 12:00 bar appears with its first tick
    rates = mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_H1, 0, 24)
    assert len(rates) == 24
    assert rates["time"][-1] == START_MSC // 1000 // 3600 * 3600
    assert np.all(np.diff(rates["time"]) > 0)
    older = mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_H1, 1, 23)
    np.testing.assert_array_equal(older, rates[:-1])
    assert mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_H1, -1, 10) is None
    assert mt5.last_error() == INVALID_PARAMS


def test_copy_rates_range_and_empty_weekend(mt5: ModuleType) -> None:
    start = START - timedelta(hours=5)
    rates = mt5.copy_rates_range("EURUSD", mt5.TIMEFRAME_M5, start, START - timedelta(minutes=1))
    assert len(rates) == 60
    assert rates["time"][0] == start.timestamp()
    saturday = START + timedelta(days=3)
    weekend = mt5.copy_rates_range(
        "EURUSD", mt5.TIMEFRAME_H1, saturday - timedelta(days=10), saturday - timedelta(days=9)
    )
    assert weekend is not None and weekend.dtype == RATES_DTYPE
    assert mt5.copy_rates_range("EURUSD", mt5.TIMEFRAME_H1, START, START - timedelta(hours=1)) is None
    assert mt5.last_error() == INVALID_PARAMS


def test_copy_ticks_from_and_range(mt5: ModuleType) -> None:
    start = START - timedelta(hours=2)
    ticks = mt5.copy_ticks_from("EURUSD", start, 500, mt5.COPY_TICKS_ALL)
    assert ticks.dtype == TICKS_DTYPE and len(ticks) == 500
    assert ticks["time_msc"][0] >= start.timestamp() * 1000
    assert np.all(np.diff(ticks["time_msc"]) >= 0)
    span = mt5.copy_ticks_range("EURUSD", start, start + timedelta(minutes=10), mt5.COPY_TICKS_ALL)
    assert len(span) > 0
    assert span["time_msc"][-1] <= (start + timedelta(minutes=10)).timestamp() * 1000
    epoch = mt5.copy_ticks_range(
        "EURUSD", int(start.timestamp()), int(start.timestamp()) + 600, mt5.COPY_TICKS_ALL
    )
    np.testing.assert_array_equal(span, epoch)
    assert mt5.copy_ticks_from("EURUSD", start, 10, 99) is None
    assert mt5.last_error() == INVALID_PARAMS


def test_order_calc_margin_and_profit(mt5: ModuleType) -> None:
    tick = mt5.symbol_info_tick("EURUSD")
    margin = mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, "EURUSD", 1.0, tick.ask)
    # 100,000 EUR / leverage 100, in USD
    assert margin == pytest.approx(1000 * tick.ask, rel=1e-2)
    profit = mt5.order_calc_profit(mt5.ORDER_TYPE_BUY, "EURUSD", 1.0, 1.1000, 1.1010)
    assert profit == pytest.approx(100.0)
    assert mt5.order_calc_profit(mt5.ORDER_TYPE_SELL, "EURUSD", 1.0, 1.1000, 1.1010) == pytest.approx(-100.0)
    assert mt5.order_calc_margin(42, "EURUSD", 1.0, tick.ask) is None
    assert mt5.last_error() == INVALID_PARAMS
    assert mt5.order_calc_profit(mt5.ORDER_TYPE_BUY, "NOSUCH", 1.0, 1.0, 1.1) is None
    assert mt5.last_error() == NOT_FOUND


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ("not a dict", "Invalid arguments"),
        ({"action": c.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": "0.1"}, 'Invalid "volume" argument'),
        ({"action": c.TRADE_ACTION_DEAL, "symbol": 5, "volume": 0.1}, 'Invalid "symbol" argument'),
    ],
)
def test_malformed_requests_fail_with_the_module_message(
    mt5: ModuleType, request_: object, message: str
) -> None:
    assert mt5.order_send(request_) is None
    assert mt5.last_error() == (-2, message)
    assert mt5.order_check(request_) is None
    assert mt5.last_error() == (-2, message)


def test_a_request_without_action_reaches_the_server_and_unknown_keys_are_ignored(mt5: ModuleType) -> None:
    result = mt5.order_send({"symbol": "EURUSD", "volume": 0.1, "colour": "red"})
    assert mt5.last_error() == OK
    assert result.retcode == c.TRADE_RETCODE_INVALID
    assert result.request.action == 0 and result.request.volume == 0.1


def test_config_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MT5GW_SIM_SEED", "42")
    monkeypatch.setenv("MT5GW_SIM_SPEED", "60")
    monkeypatch.setenv("MT5GW_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MT5GW_SIM_MEMORY", raising=False)
    config = SimConfig.from_env(server="Test-Server")
    assert config.seed == 42 and config.clock == ClockSpec(speed=60.0)
    assert config.resolved_db_path() == str(tmp_path / "sim" / "Test-Server.db")
    monkeypatch.setenv("MT5GW_SIM_MEMORY", "1")
    assert SimConfig.from_env().resolved_db_path() == ":memory:"


def test_config_is_plain_picklable_data() -> None:
    extra = replace(DEFAULT_SYMBOLS["EURUSD"], name="EURUSD.x", description="EURUSD, raw spread")
    config = SimConfig(seed=3, clock=ClockSpec(manual=True, origin_msc=START_MSC), extra_symbols=(extra,))
    assert pickle.loads(pickle.dumps(config)) == config
    terminal = SimTerminal(replace(config, db_path=":memory:"))
    assert terminal.initialize()
    assert terminal.symbols_total() == len(CATALOGUE) + 1
    assert terminal.symbol_info("EURUSD.x").description == "EURUSD, raw spread"
    terminal.close()


@pytest.mark.parametrize("name", API_FUNCTIONS)
def test_signatures_match_the_contract(name: str) -> None:
    def shape(function: Callable[..., object]) -> list[tuple[str, object, object]]:
        parameters = inspect.signature(function).parameters.values()
        return [(p.name, p.kind, p.default) for p in parameters if p.name != "self"]

    assert shape(getattr(SimTerminal, name)) == shape(getattr(TerminalAPI, name))
