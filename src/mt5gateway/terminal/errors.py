"""``last_error()`` codes and messages, and the TRADE_RETCODE_* names and descriptions.

The module reports failures as ``None`` plus ``last_error() == (code, message)``; the codes are the
RES_* constants. Trade results carry a retcode; ``describe_retcode`` gives its MT5 name and a sentence
for API error bodies.
"""

from __future__ import annotations

from . import constants as c

__all__ = [
    "ERROR_MESSAGES",
    "RETCODE_DESCRIPTIONS",
    "describe_retcode",
    "retcode_name",
]

# The messages the official module gives for each RES_* code.
ERROR_MESSAGES: dict[int, str] = {
    c.RES_S_OK: "Success",
    c.RES_E_FAIL: "Terminal: Call failed",
    c.RES_E_INVALID_PARAMS: "Terminal: Invalid params",
    c.RES_E_NO_MEMORY: "Terminal: No memory",
    c.RES_E_NOT_FOUND: "Terminal: Not found",
    c.RES_E_INVALID_VERSION: "Terminal: Invalid version",
    c.RES_E_AUTH_FAILED: "Terminal: Authorization failed",
    c.RES_E_UNSUPPORTED: "Terminal: Unsupported method",
    c.RES_E_AUTO_TRADING_DISABLED: "Terminal: AutoTrading disabled",
    c.RES_E_INTERNAL_FAIL: "Internal IPC general error",
    c.RES_E_INTERNAL_FAIL_SEND: "Internal IPC send failed",
    c.RES_E_INTERNAL_FAIL_RECEIVE: "Internal IPC receive failed",
    c.RES_E_INTERNAL_FAIL_INIT: "IPC initialize failed, MetaTrader 5 x64 not found",
    c.RES_E_INTERNAL_FAIL_CONNECT: "No IPC connection",
    c.RES_E_INTERNAL_FAIL_TIMEOUT: "IPC timeout",
}

# MT5's own descriptions of trade server return codes.
RETCODE_DESCRIPTIONS: dict[int, str] = {
    c.TRADE_RETCODE_REQUOTE: "Requote",
    c.TRADE_RETCODE_REJECT: "Request rejected",
    c.TRADE_RETCODE_CANCEL: "Request canceled by trader",
    c.TRADE_RETCODE_PLACED: "Order placed",
    c.TRADE_RETCODE_DONE: "Request completed",
    c.TRADE_RETCODE_DONE_PARTIAL: "Only part of the request was completed",
    c.TRADE_RETCODE_ERROR: "Request processing error",
    c.TRADE_RETCODE_TIMEOUT: "Request canceled by timeout",
    c.TRADE_RETCODE_INVALID: "Invalid request",
    c.TRADE_RETCODE_INVALID_VOLUME: "Invalid volume in the request",
    c.TRADE_RETCODE_INVALID_PRICE: "Invalid price in the request",
    c.TRADE_RETCODE_INVALID_STOPS: "Invalid stops in the request",
    c.TRADE_RETCODE_TRADE_DISABLED: "Trade is disabled",
    c.TRADE_RETCODE_MARKET_CLOSED: "Market is closed",
    c.TRADE_RETCODE_NO_MONEY: "There is not enough money to complete the request",
    c.TRADE_RETCODE_PRICE_CHANGED: "Prices changed",
    c.TRADE_RETCODE_PRICE_OFF: "There are no quotes to process the request",
    c.TRADE_RETCODE_INVALID_EXPIRATION: "Invalid order expiration date in the request",
    c.TRADE_RETCODE_ORDER_CHANGED: "Order state changed",
    c.TRADE_RETCODE_TOO_MANY_REQUESTS: "Too frequent requests",
    c.TRADE_RETCODE_NO_CHANGES: "No changes in request",
    c.TRADE_RETCODE_SERVER_DISABLES_AT: "Autotrading disabled by server",
    c.TRADE_RETCODE_CLIENT_DISABLES_AT: "Autotrading disabled by client terminal",
    c.TRADE_RETCODE_LOCKED: "Request locked for processing",
    c.TRADE_RETCODE_FROZEN: "Order or position frozen",
    c.TRADE_RETCODE_INVALID_FILL: "Invalid order filling type",
    c.TRADE_RETCODE_CONNECTION: "No connection with the trade server",
    c.TRADE_RETCODE_ONLY_REAL: "Operation is allowed only for live accounts",
    c.TRADE_RETCODE_LIMIT_ORDERS: "The number of pending orders has reached the limit",
    c.TRADE_RETCODE_LIMIT_VOLUME: "The volume of orders and positions for the symbol has reached the limit",
    c.TRADE_RETCODE_INVALID_ORDER: "Incorrect or prohibited order type",
    c.TRADE_RETCODE_POSITION_CLOSED: "Position with the specified identifier has already been closed",
    c.TRADE_RETCODE_INVALID_CLOSE_VOLUME: "A close volume exceeds the current position volume",
    c.TRADE_RETCODE_CLOSE_ORDER_EXIST: "A close order already exists for the specified position",
    c.TRADE_RETCODE_LIMIT_POSITIONS: "The number of open positions has reached the limit",
    c.TRADE_RETCODE_REJECT_CANCEL: "The pending order activation request is rejected, the order is canceled",
    c.TRADE_RETCODE_LONG_ONLY: "Only long positions are allowed for the symbol",
    c.TRADE_RETCODE_SHORT_ONLY: "Only short positions are allowed for the symbol",
    c.TRADE_RETCODE_CLOSE_ONLY: "Only position closing is allowed for the symbol",
    c.TRADE_RETCODE_FIFO_CLOSE: "Position closing is allowed only by FIFO rule",
}

_RETCODE_NAMES: dict[int, str] = {
    value: name
    for name, value in vars(c).items()
    if name.startswith("TRADE_RETCODE_") and isinstance(value, int)
}


def retcode_name(retcode: int) -> str:
    """The MT5 constant name of a trade retcode, e.g. ``TRADE_RETCODE_INVALID_VOLUME``."""
    return _RETCODE_NAMES.get(retcode, f"RETCODE_{retcode}")


def describe_retcode(retcode: int) -> str:
    """MT5's sentence for a trade retcode."""
    return RETCODE_DESCRIPTIONS.get(retcode, f"Unknown trade server return code {retcode}")
