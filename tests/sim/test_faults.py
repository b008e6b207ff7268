"""Each fault shows through the API as a real terminal shows it; controls move a manual clock."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from types import ModuleType

import pytest

from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.faults import CRASH_EXIT_CODE
from mt5gateway.sim.terminal import SimConfig, SimTerminal
from mt5gateway.terminal import constants as c

from .terminal_fixtures import START_MSC, clock_fixture, mt5_fixture  # noqa: F401

NO_CONNECTION = (-10004, "No IPC connection")

BUY_BTC = {
    "action": c.TRADE_ACTION_DEAL,
    "symbol": "BTCUSD",
    "volume": 0.01,
    "type": c.ORDER_TYPE_BUY,
    "type_filling": c.ORDER_FILLING_IOC,
}


def test_disconnect_fails_every_call_until_reconnect(mt5: ModuleType) -> None:
    terminal = mt5.default_terminal()
    terminal.control("disconnect")
    assert mt5.terminal_info() is None
    assert mt5.last_error() == NO_CONNECTION
    assert mt5.symbol_info_tick("EURUSD") is None
    assert mt5.positions_get() is None
    assert mt5.initialize() is False
    assert mt5.last_error() == NO_CONNECTION
    state = terminal.control("reconnect")
    assert state["disconnected"] is False
    assert mt5.terminal_info().connected
    assert mt5.last_error() == (1, "Success")


def test_latency_delays_each_call_and_shows_as_ping(mt5: ModuleType) -> None:
    mt5.default_terminal().control("latency", seconds=0.25)
    started = time.perf_counter()
    mt5.symbol_info_tick("EURUSD")
    assert time.perf_counter() - started >= 0.25
    assert mt5.terminal_info().ping_last == 250_000
    mt5.default_terminal().control("latency", seconds=0)
    started = time.perf_counter()
    mt5.symbol_info_tick("EURUSD")
    assert time.perf_counter() - started < 0.25


def test_hang_blocks_the_next_call_until_release(mt5: ModuleType) -> None:
    terminal = mt5.default_terminal()
    terminal.control("hang")
    results: list[object] = []
    caller = threading.Thread(target=lambda: results.append(mt5.symbol_info_tick("EURUSD")))
    caller.start()
    caller.join(0.2)
    assert caller.is_alive() and results == []
    terminal.control("release")
    caller.join(2)
    assert not caller.is_alive() and results[0] is not None
    # only that one call hung
    assert mt5.default_terminal().faults.hang_pending is False
    started = time.perf_counter()
    mt5.symbol_info_tick("EURUSD")
    assert time.perf_counter() - started < 0.5


def test_hang_for_a_duration(mt5: ModuleType) -> None:
    mt5.default_terminal().control("hang", seconds=0.1)
    started = time.perf_counter()
    assert mt5.version() is not None
    assert time.perf_counter() - started >= 0.1


def test_crash_ends_the_process_on_the_next_call() -> None:
    script = (
        "import mt5gateway.sim as mt5\n"
        "mt5.configure(db_path=':memory:')\n"
        "assert mt5.initialize()\n"
        "mt5.default_terminal().control('crash')\n"
        "print('before', flush=True)\n"
        "mt5.symbol_info_tick('BTCUSD')\n"
        "print('after', flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == CRASH_EXIT_CODE, done.stderr
    assert done.stdout == "before\n"


def test_requotes_at_full_rate(mt5: ModuleType) -> None:
    mt5.default_terminal().control("requote_rate", rate=1.0)
    result = mt5.order_send(BUY_BTC)
    assert result.retcode == c.TRADE_RETCODE_REQUOTE
    assert mt5.positions_total() == 0
    mt5.default_terminal().control("requote_rate", rate=0.0)
    assert mt5.order_send(BUY_BTC).retcode == c.TRADE_RETCODE_DONE


def test_autotrading_off_refuses_orders(mt5: ModuleType) -> None:
    mt5.default_terminal().control("autotrading", enabled=False)
    assert mt5.terminal_info().trade_allowed is False
    result = mt5.order_send(BUY_BTC)
    assert result.retcode == c.TRADE_RETCODE_CLIENT_DISABLES_AT
    assert mt5.positions_total() == 0
    mt5.default_terminal().control("autotrading", enabled=True)
    assert mt5.terminal_info().trade_allowed is True
    assert mt5.order_send(BUY_BTC).retcode == c.TRADE_RETCODE_DONE


def test_clock_controls_move_a_manual_clock(mt5: ModuleType, clock: ManualClock) -> None:
    terminal = mt5.default_terminal()
    assert terminal.control("clock_advance", seconds=90)["now_msc"] == START_MSC + 90_000
    assert clock.now_msc() == START_MSC + 90_000
    assert terminal.control("clock_set", time_msc=START_MSC)["now_msc"] == START_MSC
    assert terminal.control("clock_advance", ms=1500)["now_msc"] == START_MSC + 1500


def test_bad_controls_are_refused(mt5: ModuleType) -> None:
    terminal = mt5.default_terminal()
    with pytest.raises(ValueError, match="unknown simulator control"):
        terminal.control("explode")
    with pytest.raises(ValueError, match="between 0 and 1"):
        terminal.control("requote_rate", rate=2)
    with pytest.raises(ValueError, match="bad arguments"):
        terminal.control("latency", millis=5)


def test_clock_controls_need_a_manual_clock() -> None:
    terminal = SimTerminal(SimConfig(db_path=":memory:"))
    with pytest.raises(ValueError, match="manual clock"):
        terminal.control("clock_advance", seconds=1)
    terminal.close()


def test_faults_switched_directly_show_too(mt5: ModuleType) -> None:
    faults = mt5.default_terminal().faults
    faults.set_requote_rate(1.0)
    assert mt5.order_send(BUY_BTC).retcode == c.TRADE_RETCODE_REQUOTE
    faults.disconnect()
    assert mt5.order_send(BUY_BTC) is None
    assert mt5.last_error() == NO_CONNECTION
    faults.clear()
    assert mt5.order_send(BUY_BTC).retcode == c.TRADE_RETCODE_DONE
