"""How the official MetaTrader5 module reads each function's arguments, and what it says when it refuses.

The module's functions are C functions, of three kinds:

- **No arguments** (``version``, ``account_info``, ``positions_total``, ...): Python itself refuses any
  argument with ``TypeError``.
- **Positional only** (``copy_rates_from``, ``symbol_info``, ``order_calc_margin``, ...): Python refuses
  keywords with ``TypeError``; a wrong number of arguments fails with ``last_error()`` (-2, "Invalid
  arguments"). Several convert their arguments with ``PyArg_ParseTuple`` (``i`` for a C int, ``d`` for
  a double, ``k`` for an unsigned long, ``p`` for a truth value); a value it cannot convert (a float
  count, a string volume) leaves a Python exception set while the function returns its failure, so
  the call raises ``SystemError`` from that exception (and ``last_error()`` says "Invalid arguments").
- **Keywords** (``initialize``, ``login``, ``positions_get``, ``order_send``, ...): each known keyword is
  read by name and checked for its type; keywords the function does not know are ignored, and a bad
  value fails with its own message (``Invalid "volume" argument``, ``Unnamed arguments not allowed``,
  ``Invalid 2nd unnamed argument``, ...), code -2. An integer out of its C range (a negative magic)
  fails that way too and also leaves an ``OverflowError`` set (``SystemError`` again).

Times (dates of ``copy_*`` and ``history_*``) are epoch seconds as an ``int`` (a C long), a ``float``
(truncated) or a ``datetime``, whose ``timestamp()`` is taken: a naive ``datetime`` is read in the
host's local time zone, exactly as ``datetime.timestamp()`` reads it. Dates have whole seconds.
Strings are limited to the module's buffers: symbols and comments 29 UTF-16 units, server and
password 253, path 257, group masks 1997.

``FORMS`` has the form of each function but ``shutdown`` and ``last_error`` (which take no
arguments and cannot fail). A form takes the call's ``(args, kwargs)`` and returns the ``(args,
kwargs)`` to call the implementation with (values checked and converted, unknown keywords
dropped), or raises ``ArgumentError``. These facts were read from the official wheel (5.0.x, ``MetaTrader5/_core``); the
tests compare every message with the strings of the wheel downloaded at test time.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

__all__ = ["FORMS", "REQUEST_FIELDS", "ArgumentError", "Form", "invalid", "leaked_error"]

INVALID_ARGUMENTS = "Invalid arguments"
INVALID_COUNT = "Invalid number of arguments"
UNNAMED_NOT_ALLOWED = "Unnamed arguments not allowed"
_UNNAMED = ("Invalid 1st unnamed argument", "Invalid 2nd unnamed argument", "Invalid 3rd unnamed argument")

# The module's buffers, in UTF-16 units with the terminating zero: a string must be shorter.
_SYMBOL_BUFFER = 31
_COMMENT_BUFFER = 31
_PATH_BUFFER = 259
_LOGIN_TEXT_BUFFER = 255  # server and password
_GROUP_BUFFER = 1999

_INT32 = (-(2**31), 2**31 - 1)  # a C int, and a C long on Windows

Call = tuple[tuple[Any, ...], dict[str, Any]]
Form = Callable[[tuple[Any, ...], dict[str, Any]], Call]


def invalid(name: str) -> str:
    """The module's message for a bad keyword argument, e.g. ``Invalid "volume" argument``."""
    return f'Invalid "{name}" argument'


def leaked_error(function: str) -> str:
    """The message of the ``SystemError`` a call raises when the module left an exception set."""
    return f"<built-in function {function}> returned a result with an exception set"


class ArgumentError(Exception):
    """Arguments the module refuses: the call fails with ``last_error()`` (-2, ``message``).

    ``leaked`` is the exception the module's C code leaves set in that case; the call then raises
    ``SystemError`` from it instead of returning its failure value.
    """

    def __init__(self, message: str, leaked: Exception | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.leaked = leaked


# ----------------------------------------------------------------------------------- values


def _wide_length(text: str) -> int:
    """``text``'s length in UTF-16 units (a Windows ``wchar_t`` string)."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def _text(value: object, buffer: int, message: str) -> str:
    if isinstance(value, str) and _wide_length(value) + 1 < buffer:
        return value
    raise ArgumentError(message)


def _unsigned(value: object, bits: int, message: str) -> int:
    """An ``int`` read as a C unsigned integer of ``bits`` bits (PyLong_AsUnsigned*)."""
    if not isinstance(value, int):
        raise ArgumentError(message)
    if value < 0:
        raise ArgumentError(message, OverflowError("can't convert negative int to unsigned"))
    if value >> bits:
        raise ArgumentError(message, OverflowError("int too big to convert"))
    return int(value)


def _signed64(value: object, message: str) -> int:
    if not isinstance(value, int):
        raise ArgumentError(message)
    if not -(2**63) <= value < 2**63:
        raise ArgumentError(message, OverflowError("int too big to convert"))
    return int(value)


def _truncated(seconds: float) -> int:
    """A float as the module's C cast to a 32-bit int makes it (out of range or NaN: INT_MIN)."""
    if math.isfinite(seconds) and _INT32[0] <= seconds < 2**31:
        return int(seconds)
    return _INT32[0]


def _seconds(value: object) -> int:
    """A date argument as the module reads it: whole epoch seconds (see the module docstring)."""
    if isinstance(value, int):
        if not _INT32[0] <= value <= _INT32[1]:
            raise ArgumentError(INVALID_ARGUMENTS, OverflowError("Python int too large to convert to C long"))
        return int(value)
    if isinstance(value, float):
        return _truncated(value)
    if isinstance(value, datetime):
        try:
            stamp = value.timestamp()
        except (OverflowError, OSError, ValueError) as failed:
            raise ArgumentError(INVALID_ARGUMENTS, failed) from None
        return _truncated(stamp)
    raise ArgumentError(INVALID_ARGUMENTS)


# ``PyArg_ParseTuple`` conversions: a value they cannot convert raises (and the module leaks it).


def _c_int(value: Any, _: int) -> int:
    number = operator.index(value)  # TypeError for a float, as the module's
    if number > _INT32[1]:
        raise OverflowError("signed integer is greater than maximum")
    if number < _INT32[0]:
        raise OverflowError("signed integer is less than minimum")
    return number


def _c_double(value: Any, _: int) -> float:
    if isinstance(value, float):
        return value
    kind = type(value)
    if hasattr(kind, "__float__"):
        return float(value)
    if hasattr(kind, "__index__"):
        return float(operator.index(value))
    raise TypeError(f"must be real number, not {kind.__name__}")


def _c_unsigned_long(value: Any, position: int) -> int:
    if not isinstance(value, int):
        raise TypeError(f"argument {position} must be int, not {type(value).__name__}")
    return value & 0xFFFFFFFF  # masked, without overflow checking


def _c_bool(value: Any, _: int) -> bool:
    return bool(value)


_CONVERSIONS: dict[str, Callable[[object, int], Any]] = {
    "i": _c_int,
    "d": _c_double,
    "k": _c_unsigned_long,
    "p": _c_bool,
}


def _check_symbol(value: object) -> None:
    if not (isinstance(value, str) and len(value) + 1 < _SYMBOL_BUFFER and value.isascii()):
        _text(value, _SYMBOL_BUFFER, INVALID_ARGUMENTS)  # raises, or passes a short non-ASCII name


def _no_arguments(function: str) -> Form:
    def form(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
        if kwargs:
            raise TypeError(f"{function}() takes no keyword arguments")
        if args:
            raise TypeError(f"{function}() takes no arguments ({len(args)} given)")
        return args, kwargs

    return form


def _positional(function: str, *formats: str) -> Form:
    """A positional-only function: one of ``formats`` (by argument count), each argument written
    as its ``PyArg_ParseTuple`` code (``O`` when the function takes it as is) followed by the check
    made afterwards (``s`` symbol, ``t`` date) if any, e.g. ``"Os i Ot i"``."""
    # Per argument count: the (index, conversion) of the converted arguments, the indexes of the
    # symbol and of the dates. Most arguments are taken as they are (this runs on every call), and
    # a symbol always comes before the dates, so checking symbols first keeps the module's order.
    steps: dict[int, tuple[list[tuple[int, Callable[[Any, int], Any]]], list[int], list[int]]] = {}
    for layout in formats:
        codes = layout.split()
        steps[len(codes)] = (
            [(index, _CONVERSIONS[code[0]]) for index, code in enumerate(codes) if code[0] != "O"],
            [index for index, code in enumerate(codes) if code[1:] == "s"],
            [index for index, code in enumerate(codes) if code[1:] == "t"],
        )

    def form(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
        if kwargs:
            raise TypeError(f"{function}() takes no keyword arguments")
        found = steps.get(len(args))
        if found is None:
            raise ArgumentError(INVALID_ARGUMENTS)
        conversions, symbols, dates = found
        if conversions:
            values = list(args)
            try:
                for index, convert in conversions:
                    values[index] = convert(values[index], index + 1)
            except Exception as failed:  # what the C conversion raised (a TypeError, an OverflowError, ...)
                raise ArgumentError(INVALID_ARGUMENTS, failed) from None
            args = tuple(values)
        for index in symbols:
            _check_symbol(args[index])
        if dates:
            values = list(args)
            for index in dates:
                values[index] = _seconds(values[index])
            args = tuple(values)
        return args, kwargs

    return form


# ----------------------------------------------------------------------------------- keyword forms


def _login_fields(kwargs: Mapping[str, Any], found: dict[str, Any]) -> None:
    """The credential keywords of ``initialize`` and ``login`` (their values replace positional ones)."""
    if "login" in kwargs:
        found["login"] = _unsigned(kwargs["login"], 64, invalid("login"))
    if "server" in kwargs:
        found["server"] = _text(kwargs["server"], _LOGIN_TEXT_BUFFER, invalid("server"))
    if "password" in kwargs:
        found["password"] = _text(kwargs["password"], _LOGIN_TEXT_BUFFER, invalid("password"))
    if "timeout" in kwargs:
        found["timeout"] = _unsigned(kwargs["timeout"], 32, invalid("timeout"))


def _initialize(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    if len(args) > 1:
        raise ArgumentError(INVALID_COUNT)
    found: dict[str, Any] = {}
    if args:
        found["path"] = _text(args[0], _PATH_BUFFER, _UNNAMED[0])
    _login_fields(kwargs, found)
    if "path" in kwargs:
        found["path"] = _text(kwargs["path"], _PATH_BUFFER, invalid("path"))
    if "portable" in kwargs:
        found["portable"] = bool(kwargs["portable"])
    # Login 0 is no login: the terminal keeps the account it has.
    if found.get("login") == 0:
        del found["login"]
    return (), found


def _login(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    if len(args) > 3:
        raise ArgumentError(INVALID_COUNT)
    found: dict[str, Any] = {}
    if args:
        found["login"] = _unsigned(args[0], 64, _UNNAMED[0])
    if len(args) > 1:
        found["password"] = _text(args[1], _LOGIN_TEXT_BUFFER, _UNNAMED[1])
    if len(args) > 2:
        found["server"] = _text(args[2], _LOGIN_TEXT_BUFFER, _UNNAMED[2])
    _login_fields(kwargs, found)
    if not found.get("login"):
        raise ArgumentError(invalid("login"))
    return (found.pop("login"),), found


def _open_records(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    """``positions_get`` and ``orders_get``: keywords only, the first of ticket, symbol, group."""
    if args:
        raise ArgumentError(UNNAMED_NOT_ALLOWED)
    if "ticket" in kwargs:
        return (), {"ticket": _unsigned(kwargs["ticket"], 64, invalid("ticket"))}
    if "symbol" in kwargs:
        return (), {"symbol": _text(kwargs["symbol"], _SYMBOL_BUFFER, invalid("symbol"))}
    if "group" in kwargs:
        return (), {"group": _text(kwargs["group"], _GROUP_BUFFER, invalid("group"))}
    return (), {}


def _history_records(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    """``history_orders_get`` / ``history_deals_get``: two positional dates (and a ``group``
    keyword), or else a ``ticket`` or ``position`` keyword alone."""
    if len(args) == 2:
        dates = (_seconds(args[0]), _seconds(args[1]))
        if "group" in kwargs:
            return dates, {"group": _text(kwargs["group"], _GROUP_BUFFER, invalid("group"))}
        return dates, {}
    for name in ("ticket", "position"):
        if name in kwargs:
            if args:
                raise ArgumentError(UNNAMED_NOT_ALLOWED)
            return (), {name: _unsigned(kwargs[name], 64, invalid(name))}
    raise ArgumentError(INVALID_ARGUMENTS)


def _symbols_get(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    if len(args) > 1:
        raise ArgumentError(INVALID_COUNT)
    group = _text(args[0], _GROUP_BUFFER, _UNNAMED[0]) if args else None
    if "group" in kwargs:
        group = _text(kwargs["group"], _GROUP_BUFFER, invalid("group"))
    return ((group,) if group is not None else ()), {}


# Readers of the request fields: the usual value passes on the first test (every order reads them).


def _integer_field(name: str, bits: int) -> Callable[[object], int]:
    message, limit = invalid(name), 1 << bits

    def read(value: object) -> int:
        if isinstance(value, int) and 0 <= value < limit:
            return int(value)
        return _unsigned(value, bits, message)

    return read


def _expiration_field(value: object) -> int:
    return _signed64(value, invalid("expiration"))


def _text_field(name: str, buffer: int) -> Callable[[object], str]:
    message = invalid(name)

    def read(value: object) -> str:
        if isinstance(value, str) and len(value) + 1 < buffer and value.isascii():
            return value
        return _text(value, buffer, message)

    return read


def _double_field(name: str) -> Callable[[object], float]:
    """A price or volume: only a ``float`` (or subclass, e.g. ``numpy.float64``)."""
    message = invalid(name)

    def read(value: object) -> float:
        if isinstance(value, float):
            return value
        raise ArgumentError(message)

    return read


# The fields of a trade request, in the module's reading order (TradeRequest's), with how each is
# read and its value when absent. Keys the module does not know are ignored.
REQUEST_FIELDS: dict[str, tuple[Callable[[object], Any], Any]] = {
    "action": (_integer_field("action", 32), 0),
    "magic": (_integer_field("magic", 64), 0),
    "order": (_integer_field("order", 64), 0),
    "symbol": (_text_field("symbol", _SYMBOL_BUFFER), ""),
    "volume": (_double_field("volume"), 0.0),
    "price": (_double_field("price"), 0.0),
    "stoplimit": (_double_field("stoplimit"), 0.0),
    "sl": (_double_field("sl"), 0.0),
    "tp": (_double_field("tp"), 0.0),
    "deviation": (_integer_field("deviation", 64), 0),
    "type": (_integer_field("type", 32), 0),
    "type_filling": (_integer_field("type_filling", 32), 0),
    "type_time": (_integer_field("type_time", 32), 0),
    "expiration": (_expiration_field, 0),
    "comment": (_text_field("comment", _COMMENT_BUFFER), ""),
    "position": (_integer_field("position", 64), 0),
    "position_by": (_integer_field("position_by", 64), 0),
}


_REQUEST_DEFAULTS = {name: default for name, (_, default) in REQUEST_FIELDS.items()}


def _trade_request(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    """``order_send`` / ``order_check``: one dict, or the request's fields as keywords."""
    if kwargs:
        if args:
            raise ArgumentError(UNNAMED_NOT_ALLOWED)
        request: object = kwargs
    elif len(args) != 1:
        raise ArgumentError(INVALID_COUNT)
    else:
        request = args[0]
    if not isinstance(request, dict):
        raise ArgumentError(INVALID_ARGUMENTS)
    fields = dict(_REQUEST_DEFAULTS)
    for name, (read, _) in REQUEST_FIELDS.items():  # in the module's order: its first complaint is ours
        if name in request:
            fields[name] = read(request[name])
    return (fields,), {}


FORMS: dict[str, Form] = {
    "initialize": _initialize,
    "login": _login,
    "version": _no_arguments("version"),
    "account_info": _no_arguments("account_info"),
    "terminal_info": _no_arguments("terminal_info"),
    "symbols_total": _no_arguments("symbols_total"),
    "symbols_get": _symbols_get,
    "symbol_info": _positional("symbol_info", "Os"),
    "symbol_info_tick": _positional("symbol_info_tick", "Os"),
    "symbol_select": _positional("symbol_select", "Os", "Os p"),
    "market_book_add": _positional("market_book_add", "Os"),
    "market_book_get": _positional("market_book_get", "Os"),
    "market_book_release": _positional("market_book_release", "Os"),
    "copy_rates_from": _positional("copy_rates_from", "Os i Ot i"),
    "copy_rates_from_pos": _positional("copy_rates_from_pos", "Os i i i"),
    "copy_rates_range": _positional("copy_rates_range", "Os i Ot Ot"),
    "copy_ticks_from": _positional("copy_ticks_from", "Os Ot i i"),
    "copy_ticks_range": _positional("copy_ticks_range", "Os Ot Ot i"),
    "orders_total": _no_arguments("orders_total"),
    "orders_get": _open_records,
    "order_calc_margin": _positional("order_calc_margin", "k Os d d"),
    "order_calc_profit": _positional("order_calc_profit", "k Os d d d"),
    "order_check": _trade_request,
    "order_send": _trade_request,
    "positions_total": _no_arguments("positions_total"),
    "positions_get": _open_records,
    "history_orders_total": _positional("history_orders_total", "Ot Ot"),
    "history_orders_get": _history_records,
    "history_deals_total": _positional("history_deals_total", "Ot Ot"),
    "history_deals_get": _history_records,
}
