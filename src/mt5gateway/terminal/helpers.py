"""The official package's trading helpers, ``Buy``, ``Sell`` and ``Close``, over the 32 functions.

The MetaTrader5 package writes them in Python on top of ``order_send``; these take the same
arguments and give the same results, on any backend offering the functions (``TerminalAPI``):

- ``Buy(symbol, volume, price=None, *, comment=None, ticket=None)`` and ``Sell(...)``: a market deal
  (``TRADE_ACTION_DEAL``, a deviation of 10 points, the server's default filling). Given a price it
  is sent once at that price; otherwise at the current ask (bid), sent again, up to 10 times in all,
  while the server requotes or has no price. The result is the last ``OrderSendResult``, or None
  when a call fails (``last_error()`` says why). ``ticket`` names a position the deal closes or
  reduces (hedging accounts).
- ``Close(symbol, *, comment=None, ticket=None)``: closes the symbol's positions, or the position
  ``ticket``, each with an opposite deal at the current price (retried as above): True when every one
  closed, ``"Partially"`` when some did, False when none did or there was none, None when a call
  failed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal

from . import constants as c
from .api import TerminalAPI
from .records import OrderSendResult

__all__ = ["HELPERS", "bound"]

# The names the official package gives them.
HELPERS = ("Buy", "Sell", "Close")

_ATTEMPTS = 10
_DEVIATION = 10
_RETRIED = frozenset({c.TRADE_RETCODE_REQUOTE, c.TRADE_RETCODE_PRICE_OFF})


def _deal(
    api: TerminalAPI,
    order_type: int,
    symbol: str,
    volume: float,
    price: float,
    comment: str | None,
    ticket: int | None,
) -> OrderSendResult | None:
    request = {
        "action": c.TRADE_ACTION_DEAL,
        "symbol": symbol,
        "volume": volume,
        "type": order_type,
        "price": price,
        "deviation": _DEVIATION,
    }
    if comment is not None:
        request["comment"] = comment
    if ticket is not None:
        request["position"] = ticket
    return api.order_send(request)


def _at_market(
    api: TerminalAPI, order_type: int, symbol: str, volume: float, comment: str | None, ticket: int | None
) -> OrderSendResult | None:
    """A deal at the current price, sent again while the server requotes or has no price."""
    result = None
    for _ in range(_ATTEMPTS):
        tick = api.symbol_info_tick(symbol)
        if tick is None:
            return None
        price = tick.ask if order_type == c.ORDER_TYPE_BUY else tick.bid
        result = _deal(api, order_type, symbol, volume, price, comment, ticket)
        if result is None or result.retcode not in _RETRIED:
            return result
    return result


def _deal_helper(api: TerminalAPI, order_type: int) -> Callable[..., OrderSendResult | None]:
    """``Buy`` (``Sell``) on ``api``: a deal at ``price``, or at the current ask (bid)."""

    def helper(
        symbol: str,
        volume: float,
        price: float | None = None,
        *,
        comment: str | None = None,
        ticket: int | None = None,
    ) -> OrderSendResult | None:
        if price is not None:
            return _deal(api, order_type, symbol, volume, price, comment, ticket)
        return _at_market(api, order_type, symbol, volume, comment, ticket)

    return helper


def _close(
    api: TerminalAPI, symbol: str, *, comment: str | None = None, ticket: int | None = None
) -> bool | Literal["Partially"] | None:
    """``Close`` on ``api``: close ``symbol``'s positions, or the position ``ticket`` (see the module
    docstring).

    Each position is closed at its own symbol's price (the official helper prices them all from
    ``symbol``, which only matters when ``ticket`` is of another symbol).
    """
    positions = api.positions_get(ticket=ticket) if ticket is not None else api.positions_get(symbol=symbol)
    if positions is None:
        return None
    closed = 0
    for position in positions:
        opposite = c.ORDER_TYPE_SELL if position.type == c.POSITION_TYPE_BUY else c.ORDER_TYPE_BUY
        result = _at_market(api, opposite, position.symbol, position.volume, comment, position.ticket)
        if result is None:
            return None
        closed += result.retcode == c.TRADE_RETCODE_DONE
    if closed == 0:
        return False
    return True if closed == len(positions) else "Partially"


def bound(api: TerminalAPI) -> dict[str, Callable[..., Any]]:
    """``Buy``, ``Sell`` and ``Close`` working on ``api``, by their official names."""
    return {
        "Buy": _deal_helper(api, c.ORDER_TYPE_BUY),
        "Sell": _deal_helper(api, c.ORDER_TYPE_SELL),
        "Close": functools.partial(_close, api),
    }
