"""The trade server's checks of a request, as pure functions of the request, the symbol and the prices.

Each returns ``None`` when the request passes or the TRADE_RETCODE_* that MT5 answers with. The
distances follow MT5: a stop loss or take profit, and a pending order's price, must lie on the right
side of the price it is compared with and at least ``stops_level`` points away from it.
"""

from __future__ import annotations

from mt5gateway.terminal import constants as c

from ..symbols import SymbolSpec

__all__ = [
    "BUY_TYPES",
    "PENDING_TYPES",
    "STOP_LIMIT_TYPES",
    "check_filling",
    "check_pending_price",
    "check_stops",
    "check_volume",
]

BUY_TYPES = frozenset(
    {c.ORDER_TYPE_BUY, c.ORDER_TYPE_BUY_LIMIT, c.ORDER_TYPE_BUY_STOP, c.ORDER_TYPE_BUY_STOP_LIMIT}
)
PENDING_TYPES = frozenset(
    {
        c.ORDER_TYPE_BUY_LIMIT,
        c.ORDER_TYPE_SELL_LIMIT,
        c.ORDER_TYPE_BUY_STOP,
        c.ORDER_TYPE_SELL_STOP,
        c.ORDER_TYPE_BUY_STOP_LIMIT,
        c.ORDER_TYPE_SELL_STOP_LIMIT,
    }
)
STOP_LIMIT_TYPES = frozenset({c.ORDER_TYPE_BUY_STOP_LIMIT, c.ORDER_TYPE_SELL_STOP_LIMIT})
_LIMIT_TYPES = frozenset({c.ORDER_TYPE_BUY_LIMIT, c.ORDER_TYPE_SELL_LIMIT})

# Volumes and prices are floats from clients: compare with a tolerance well below any step or point.
_EPSILON = 1e-9


def check_volume(spec: SymbolSpec, volume: float) -> int | None:
    """INVALID_VOLUME below the minimum, above the maximum or off the volume step."""
    if volume < spec.volume_min - _EPSILON or volume > spec.volume_max + _EPSILON:
        return c.TRADE_RETCODE_INVALID_VOLUME
    steps = volume / spec.volume_step
    if abs(steps - round(steps)) > 1e-6:
        return c.TRADE_RETCODE_INVALID_VOLUME
    return None


def check_filling(filling_flags: int, order_type: int, type_filling: int) -> int | None:
    """INVALID_FILL when the symbol does not allow the filling policy for this order type.

    The simulator executes at market (SYMBOL_TRADE_EXECUTION_MARKET): RETURN is always allowed, FOK
    and IOC when the symbol's ``filling_mode`` flags say so, BOC (book or cancel) only for limit
    orders of a symbol flagged for it.
    """
    if type_filling == c.ORDER_FILLING_RETURN:
        return None
    if type_filling == c.ORDER_FILLING_FOK and filling_flags & c.SYMBOL_FILLING_FOK:
        return None
    if type_filling == c.ORDER_FILLING_IOC and filling_flags & c.SYMBOL_FILLING_IOC:
        return None
    if (
        type_filling == c.ORDER_FILLING_BOC
        and filling_flags & c.SYMBOL_FILLING_BOC
        and order_type in _LIMIT_TYPES
    ):
        return None
    return c.TRADE_RETCODE_INVALID_FILL


def _far_enough(distance: float, spec: SymbolSpec) -> bool:
    """A price at ``distance`` (positive = right side) respects the stops level."""
    return distance > _EPSILON * spec.point and distance >= spec.stops_level * spec.point - _EPSILON


def check_stops(spec: SymbolSpec, is_buy: bool, reference: float, sl: float, tp: float) -> int | None:
    """INVALID_STOPS when SL/TP are on the wrong side of ``reference`` or inside the stops level.

    ``reference`` is the price the position would close at now (bid for a buy, ask for a sell) or,
    for a pending order, the price it will open at.
    """
    sign = 1.0 if is_buy else -1.0
    if sl < 0 or tp < 0:
        return c.TRADE_RETCODE_INVALID_STOPS
    if sl > 0 and not _far_enough(sign * (reference - sl), spec):
        return c.TRADE_RETCODE_INVALID_STOPS
    if tp > 0 and not _far_enough(sign * (tp - reference), spec):
        return c.TRADE_RETCODE_INVALID_STOPS
    return None


def check_pending_price(
    spec: SymbolSpec, order_type: int, price: float, stoplimit: float, bid: float, ask: float
) -> int | None:
    """INVALID_PRICE for a zero price or one on the wrong side of the market (or inside the stops level).

    Limits wait for a better price (buy below ask, sell above bid), stops for a breakout (buy above
    ask, sell below bid); a stop-limit's limit price lies at or beyond its stop price on the
    favourable side (buy: at or below the stop, sell: at or above).
    """
    if price <= 0:
        return c.TRADE_RETCODE_INVALID_PRICE
    distance = {
        c.ORDER_TYPE_BUY_LIMIT: ask - price,
        c.ORDER_TYPE_SELL_LIMIT: price - bid,
        c.ORDER_TYPE_BUY_STOP: price - ask,
        c.ORDER_TYPE_SELL_STOP: bid - price,
        c.ORDER_TYPE_BUY_STOP_LIMIT: price - ask,
        c.ORDER_TYPE_SELL_STOP_LIMIT: bid - price,
    }[order_type]
    if not _far_enough(distance, spec):
        return c.TRADE_RETCODE_INVALID_PRICE
    if order_type == c.ORDER_TYPE_BUY_STOP_LIMIT and not 0 < stoplimit <= price:
        return c.TRADE_RETCODE_INVALID_PRICE
    if order_type == c.ORDER_TYPE_SELL_STOP_LIMIT and stoplimit < price:
        return c.TRADE_RETCODE_INVALID_PRICE
    return None
