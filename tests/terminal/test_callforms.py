"""The official module's call forms and argument checks, as the simulator applies them.

Each refused call is checked twice: the simulator fails it with ``last_error()`` (-2, message), and
that message is one the official module's compiled ``_core`` holds (read from the wheel at test
time). Every ``Invalid "<name>" argument`` of the wheel must be one the simulator gives.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import mt5gateway.sim as sim_module
from mt5gateway.sim.clock import ManualClock
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.callforms import FORMS, REQUEST_FIELDS
from mt5gateway.terminal.records import TradeRequest

from ..sim.terminal_fixtures import START, clock_fixture, mt5_fixture  # noqa: F401
from .official_wheel import OfficialWheel

OK = (1, "Success")
DEMO = (5000001, "demo1")  # the simulated server's first account and its password
OTHER = (5000003, "demo3")
DAY_AGO = START - timedelta(days=1)

Call = Callable[[ModuleType], Any]


def _refused(mt5: ModuleType, call: Call, failure: object, message: str, official: OfficialWheel) -> None:
    assert message in official.core_strings, f"{message!r} is not a message of the official module"
    assert call(mt5) is failure
    assert mt5.last_error() == (c.RES_E_INVALID_PARAMS, message)


def _request(**fields: Any) -> dict[str, Any]:
    return {
        "action": c.TRADE_ACTION_DEAL,
        "symbol": "EURUSD",
        "volume": 0.1,
        "type": c.ORDER_TYPE_BUY,
    } | fields


def test_every_invalid_argument_message_of_the_module_is_given(official: OfficialWheel) -> None:
    theirs = {
        m.group(1) for s in official.core_strings if (m := re.fullmatch(r'Invalid "(\w+)" argument', s))
    }
    ours = set(REQUEST_FIELDS) | {
        "login",
        "password",
        "server",
        "timeout",
        "path",
        "ticket",
        "group",
        "position",
    }
    assert theirs == ours


def test_request_fields_are_read_in_trade_request_order() -> None:
    assert tuple(REQUEST_FIELDS) == TradeRequest._fields


def test_every_function_but_two_has_its_form() -> None:
    assert set(FORMS) == set(sim_module.API_FUNCTIONS) - {"shutdown", "last_error"}


# ----------------------------------------------------------------------------------- connection


def test_login_takes_password_and_server_by_position_and_ignores_unknown_keywords(mt5: ModuleType) -> None:
    server = mt5.account_info().server
    assert mt5.login(OTHER[0], OTHER[1], server), mt5.last_error()
    assert mt5.account_info().login == OTHER[0]
    assert mt5.login(*DEMO, server, path="C:/MT5/terminal64.exe", portable=True)
    assert mt5.login(login=OTHER[0], password=OTHER[1], server=server, timeout=60_000)
    assert mt5.account_info().login == OTHER[0]
    assert mt5.login(DEMO[0], "wrong") is False
    assert mt5.last_error() == (c.RES_E_AUTH_FAILED, "Terminal: Authorization failed")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda mt5: mt5.login(str(DEMO[0]), DEMO[1]), "Invalid 1st unnamed argument"),
        (lambda mt5: mt5.login(DEMO[0], 1234), "Invalid 2nd unnamed argument"),
        (lambda mt5: mt5.login(*DEMO, None), "Invalid 3rd unnamed argument"),
        (lambda mt5: mt5.login(*DEMO, "server", 60_000), "Invalid number of arguments"),
        (lambda mt5: mt5.login(password=DEMO[1]), 'Invalid "login" argument'),
        (lambda mt5: mt5.login(DEMO[0], password=None), 'Invalid "password" argument'),
        (lambda mt5: mt5.login(DEMO[0], server=5), 'Invalid "server" argument'),
        (lambda mt5: mt5.login(DEMO[0], timeout=1.5), 'Invalid "timeout" argument'),
        (lambda mt5: mt5.login(DEMO[0], DEMO[1], "x" * 254), "Invalid 3rd unnamed argument"),
    ],
)
def test_login_refuses_what_the_module_refuses(
    mt5: ModuleType, official: OfficialWheel, call: Call, message: str
) -> None:
    _refused(mt5, call, False, message, official)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda mt5: mt5.initialize(None), "Invalid 1st unnamed argument"),
        (lambda mt5: mt5.initialize("a", "b"), "Invalid number of arguments"),
        (lambda mt5: mt5.initialize(path=None), 'Invalid "path" argument'),
        (lambda mt5: mt5.initialize(login=str(DEMO[0])), 'Invalid "login" argument'),
        (lambda mt5: mt5.initialize(login=DEMO[0], password=1), 'Invalid "password" argument'),
        (lambda mt5: mt5.initialize(timeout=-1), 'Invalid "timeout" argument'),
    ],
)
def test_initialize_refuses_what_the_module_refuses(
    mt5: ModuleType, official: OfficialWheel, call: Call, message: str
) -> None:
    mt5.shutdown()
    if message == 'Invalid "timeout" argument':  # a negative int: the module also leaves an OverflowError
        with pytest.raises(SystemError) as raised:
            call(mt5)
        assert isinstance(raised.value.__cause__, OverflowError)
        assert message in official.core_strings and mt5.last_error() == (-2, message)
        return
    _refused(mt5, call, False, message, official)


def test_initialize_takes_its_path_by_position_and_ignores_unknown_keywords(mt5: ModuleType) -> None:
    mt5.shutdown()
    assert mt5.initialize("C:/MT5/terminal64.exe", login=OTHER[0], password=OTHER[1], config="x.ini")
    assert mt5.terminal_info().path == "C:/MT5/terminal64.exe"
    assert mt5.account_info().login == OTHER[0]


def test_shutdown_returns_true_and_argument_errors_come_before_the_connection(mt5: ModuleType) -> None:
    assert mt5.shutdown() is True
    assert mt5.last_error() == OK
    assert mt5.positions_get("EURUSD") is None
    assert mt5.last_error() == (-2, "Unnamed arguments not allowed")
    assert mt5.positions_get(symbol="EURUSD") is None
    assert mt5.last_error() == (c.RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection")


# ----------------------------------------------------------------------------------- keyword functions


@pytest.mark.parametrize("function", ["positions_get", "orders_get"])
@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("EURUSD",), {}, "Unnamed arguments not allowed"),
        ((), {"ticket": "1"}, 'Invalid "ticket" argument'),
        ((), {"ticket": None}, 'Invalid "ticket" argument'),
        ((), {"symbol": 5}, 'Invalid "symbol" argument'),
        ((), {"symbol": "X" * 30}, 'Invalid "symbol" argument'),
        ((), {"group": 5}, 'Invalid "group" argument'),
    ],
)
def test_open_records_take_keywords_only(
    mt5: ModuleType,
    official: OfficialWheel,
    function: str,
    args: tuple[Any],
    kwargs: dict[str, Any],
    message: str,
) -> None:
    _refused(mt5, lambda m: getattr(m, function)(*args, **kwargs), None, message, official)


def test_open_records_use_the_first_of_ticket_symbol_group(mt5: ModuleType) -> None:
    opened = mt5.order_send(_request(price=mt5.symbol_info_tick("EURUSD").ask))
    assert opened.retcode == c.TRADE_RETCODE_DONE
    assert len(mt5.positions_get(ticket=opened.order, symbol="GBPUSD")) == 1
    assert len(mt5.positions_get(symbol="EURUSD", group="GBP*")) == 1
    assert mt5.positions_get(ticket=opened.order + 1000) == ()
    assert mt5.positions_get(group="*", unknown=1) == mt5.positions_get()


@pytest.mark.parametrize("function", ["history_orders_get", "history_deals_get"])
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: f(), "Invalid arguments"),
        (lambda f: f(DAY_AGO), "Invalid arguments"),
        (lambda f: f(date_from=DAY_AGO, date_to=START), "Invalid arguments"),
        (lambda f: f(DAY_AGO, "today"), "Invalid arguments"),
        (lambda f: f(DAY_AGO, np.int64(START.timestamp())), "Invalid arguments"),
        (lambda f: f(DAY_AGO, ticket=1), "Unnamed arguments not allowed"),
        (lambda f: f(ticket=1.0), 'Invalid "ticket" argument'),
        (lambda f: f(position="1"), 'Invalid "position" argument'),
        (lambda f: f(DAY_AGO, START, group=5), 'Invalid "group" argument'),
    ],
)
def test_history_takes_two_dates_by_position_or_a_ticket_or_position(
    mt5: ModuleType, official: OfficialWheel, function: str, call: Callable[[Any], Any], message: str
) -> None:
    _refused(mt5, lambda m: call(getattr(m, function)), None, message, official)


def test_history_with_dates_ignores_ticket_and_includes_the_end_second(
    mt5: ModuleType, clock: ManualClock
) -> None:
    clock.advance(5.5)  # after the initial deposit, half-way through a second
    opened = mt5.order_send(_request(price=mt5.symbol_info_tick("EURUSD").ask))
    deal = mt5.history_deals_get(ticket=opened.order)[0]
    assert deal.time_msc % 1000 == 500
    # the dates are whole seconds and the end second is included, as the server's are
    assert mt5.history_deals_get(deal.time - 1, deal.time, ticket=1) == (deal,)
    assert mt5.history_deals_total(deal.time - 1, deal.time) == 1
    assert mt5.history_deals_get(deal.time - 1, deal.time - 1) == ()


def test_symbols_get_takes_its_group_by_position_or_name(mt5: ModuleType, official: OfficialWheel) -> None:
    eurusd = (mt5.symbol_info("EURUSD"),)
    assert mt5.symbols_get("EURUS*") == mt5.symbols_get(group="EURUS*") == eurusd
    assert mt5.symbols_get("GBPUS*", group="EURUS*") == eurusd  # the keyword wins
    _refused(mt5, lambda m: m.symbols_get("EUR*", "GBP*"), None, "Invalid number of arguments", official)
    _refused(mt5, lambda m: m.symbols_get(5), None, "Invalid 1st unnamed argument", official)


# ----------------------------------------------------------------------------------- trade requests


def _wrong_type(name: str) -> object:
    """A value of the wrong type for request field ``name``: an int where a float is due, and so on."""
    _, default = REQUEST_FIELDS[name]
    return {float: 1, int: 1.0, str: 1}[type(default)]


@pytest.mark.parametrize("field", list(REQUEST_FIELDS))
@pytest.mark.parametrize("function", ["order_send", "order_check"])
def test_each_request_field_is_checked_for_its_type(
    mt5: ModuleType, official: OfficialWheel, function: str, field: str
) -> None:
    request = _request(**{field: _wrong_type(field)})
    _refused(mt5, lambda m: getattr(m, function)(request), None, f'Invalid "{field}" argument', official)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda mt5: mt5.order_send(_request(volume=1)), 'Invalid "volume" argument'),
        (lambda mt5: mt5.order_send(_request(magic=np.int64(7))), 'Invalid "magic" argument'),
        (lambda mt5: mt5.order_send(_request(expiration=START)), 'Invalid "expiration" argument'),
        (lambda mt5: mt5.order_send(_request(comment="c" * 30)), 'Invalid "comment" argument'),
        (lambda mt5: mt5.order_send(_request(symbol=None)), 'Invalid "symbol" argument'),
        (lambda mt5: mt5.order_send(), "Invalid number of arguments"),
        (lambda mt5: mt5.order_send(_request(), _request()), "Invalid number of arguments"),
        (lambda mt5: mt5.order_send(_request(), magic=1), "Unnamed arguments not allowed"),
        (lambda mt5: mt5.order_send([("action", 1)]), "Invalid arguments"),
        (lambda mt5: mt5.order_check(_request(price="1.1")), 'Invalid "price" argument'),
    ],
)
def test_trade_requests_refused_as_the_module_refuses_them(
    mt5: ModuleType, official: OfficialWheel, call: Call, message: str
) -> None:
    _refused(mt5, call, None, message, official)


def test_an_integer_out_of_its_range_also_raises(mt5: ModuleType, official: OfficialWheel) -> None:
    with pytest.raises(SystemError, match="returned a result with an exception set") as raised:
        mt5.order_send(_request(magic=-1))
    assert isinstance(raised.value.__cause__, OverflowError)
    assert mt5.last_error() == (-2, 'Invalid "magic" argument')
    with pytest.raises(SystemError):
        mt5.order_send(_request(type=2**32))
    assert mt5.last_error() == (-2, 'Invalid "type" argument')


def test_requests_take_float_subclasses_bools_and_keyword_fields(mt5: ModuleType) -> None:
    tick = mt5.symbol_info_tick("EURUSD")
    request = _request(volume=np.float64(0.1), price=tick.ask, comment="c" * 29, magic=True)
    result = mt5.order_send(request)
    assert mt5.last_error() == OK and result.retcode == c.TRADE_RETCODE_DONE
    assert result.request.comment == "c" * 29 and result.request.magic == 1
    by_keywords = mt5.order_send(**_request(price=tick.ask))
    assert by_keywords.retcode == c.TRADE_RETCODE_DONE
    assert mt5.order_check(**_request(price=tick.ask)).retcode == 0


# ----------------------------------------------------------------------------------- positional functions


@pytest.mark.parametrize(
    ("call", "failure"),
    [
        (lambda mt5: mt5.symbol_info(), None),
        (lambda mt5: mt5.symbol_info("EURUSD", "GBPUSD"), None),
        (lambda mt5: mt5.symbol_info(5), None),
        (lambda mt5: mt5.symbol_info_tick("E" * 30), None),
        (lambda mt5: mt5.symbol_select("EURUSD", True, 1), False),
        (lambda mt5: mt5.market_book_add(None), False),
        (lambda mt5: mt5.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0), None),
        (lambda mt5: mt5.copy_rates_from("EURUSD", c.TIMEFRAME_M1, "2024-01-09", 10), None),
        (lambda mt5: mt5.copy_rates_range("EURUSD", c.TIMEFRAME_M1, np.int64(0), START), None),
        (lambda mt5: mt5.copy_ticks_from(b"EURUSD", START, 10, c.COPY_TICKS_ALL), None),
        (lambda mt5: mt5.order_calc_margin(c.ORDER_TYPE_BUY, 5, 1.0, 1.1), None),
        (lambda mt5: mt5.history_deals_total(DAY_AGO), None),
    ],
)
def test_positional_functions_fail_with_invalid_arguments(
    mt5: ModuleType, official: OfficialWheel, call: Call, failure: object
) -> None:
    _refused(mt5, call, failure, "Invalid arguments", official)


@pytest.mark.parametrize(
    "call",
    [
        lambda mt5: mt5.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 10.0),
        lambda mt5: mt5.copy_rates_from("EURUSD", "M1", START, 10),
        lambda mt5: mt5.copy_ticks_range("EURUSD", DAY_AGO, START, None),
        lambda mt5: mt5.order_calc_margin(float(c.ORDER_TYPE_BUY), "EURUSD", 1.0, 1.1),
        lambda mt5: mt5.order_calc_profit(c.ORDER_TYPE_BUY, "EURUSD", "1", 1.1, 1.2),
        lambda mt5: mt5.copy_rates_from("EURUSD", c.TIMEFRAME_M1, 2**31, 10),
    ],
)
def test_a_value_the_c_conversion_refuses_raises_system_error(mt5: ModuleType, call: Call) -> None:
    with pytest.raises(SystemError, match="returned a result with an exception set") as raised:
        call(mt5)
    assert isinstance(raised.value.__cause__, TypeError | OverflowError)
    assert mt5.last_error() == (-2, "Invalid arguments")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda mt5: mt5.symbol_info(symbol="EURUSD"), "symbol_info() takes no keyword arguments"),
        (
            lambda mt5: mt5.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, start_pos=0, count=10),
            "copy_rates_from_pos() takes no keyword arguments",
        ),
        (lambda mt5: mt5.account_info(5000001), "account_info() takes no arguments (1 given)"),
        (lambda mt5: mt5.positions_total(symbol="EURUSD"), "positions_total() takes no keyword arguments"),
    ],
)
def test_python_refuses_keywords_and_arguments_the_function_cannot_take(
    mt5: ModuleType, call: Call, message: str
) -> None:
    before = mt5.last_error()
    with pytest.raises(TypeError, match=re.escape(message)):
        call(mt5)
    assert mt5.last_error() == before  # the function never ran


def test_positional_functions_take_what_the_c_conversions_take(mt5: ModuleType) -> None:
    rates = mt5.copy_rates_from_pos("EURUSD", np.int32(c.TIMEFRAME_M1), np.int64(0), True)
    assert len(rates) == 1
    margin = mt5.order_calc_margin(c.ORDER_TYPE_BUY, "EURUSD", 1, 1)  # ints where doubles are due
    assert margin == mt5.order_calc_margin(c.ORDER_TYPE_BUY, "EURUSD", 1.0, 1.0)
    assert mt5.symbol_select("EURUSD", "yes") is True and mt5.symbol_select("EURUSD", 1) is True
    ticks = mt5.copy_ticks_from("EURUSD", np.float64(DAY_AGO.timestamp()), 5, c.COPY_TICKS_ALL)
    assert len(ticks) == 5


def test_dates_are_whole_seconds(mt5: ModuleType) -> None:
    second = DAY_AGO.replace(microsecond=0)
    ticks = mt5.copy_ticks_from("EURUSD", second + timedelta(milliseconds=999), 50, c.COPY_TICKS_ALL)
    np.testing.assert_array_equal(ticks, mt5.copy_ticks_from("EURUSD", second, 50, c.COPY_TICKS_ALL))
    ranged = mt5.copy_ticks_range("EURUSD", second, second + timedelta(seconds=30.9), c.COPY_TICKS_ALL)
    assert ranged["time_msc"][-1] <= (second.timestamp() + 30) * 1000


def test_naive_datetimes_are_local_time(mt5: ModuleType) -> None:
    aware = datetime(2024, 1, 9, 15, 30, tzinfo=UTC)
    local = aware.astimezone().replace(tzinfo=None)
    np.testing.assert_array_equal(
        mt5.copy_rates_from("EURUSD", c.TIMEFRAME_M1, local, 10),
        mt5.copy_rates_from("EURUSD", c.TIMEFRAME_M1, aware, 10),
    )


_LOCAL_TIME_SCRIPT = """
import json, sys
from datetime import datetime, timedelta, timezone
import MetaTrader5 as mt5

assert mt5.initialize(), mt5.last_error()
naive = datetime(2024, 1, 9, 15, 30)
zone = timezone(timedelta(minutes=int(sys.argv[1])))
def bar(when):
    return int(mt5.copy_rates_from("EURUSD", mt5.TIMEFRAME_M1, when, 1)["time"][0])
def ticks(start):
    return mt5.copy_ticks_range("EURUSD", start, start + timedelta(minutes=1), mt5.COPY_TICKS_ALL).tolist()
print(json.dumps({
    "naive": bar(naive), "local": bar(naive.replace(tzinfo=zone)), "utc": bar(naive.replace(tzinfo=timezone.utc)),
    "same_ticks": ticks(naive) == ticks(naive.replace(tzinfo=zone)),
}))
"""


@pytest.mark.parametrize(("tz", "offset_minutes"), [("<-05>5", -300), ("<+0530>-5:30", 330)])
def test_naive_datetimes_follow_the_host_time_zone(tmp_path: Path, tz: str, offset_minutes: int) -> None:
    """As the module takes a datetime's timestamp(), a naive one is the host's local time (TZ)."""
    script = tmp_path / "local_time.py"
    script.write_text(_LOCAL_TIME_SCRIPT)
    env = {**os.environ, "TZ": tz, "MT5GW_SIM_MEMORY": "1", "MT5GW_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "mt5gateway.cli", "sim-run", str(script), str(offset_minutes)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["naive"] == found["local"] == found["utc"] - offset_minutes * 60
    assert found["same_ticks"]
