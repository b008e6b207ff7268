"""Checks a trading request against the symbol's specification and price before any terminal call.

Each refusal is a ``BadRequest`` whose body names the ``field`` and the ``limit`` it broke, e.g.
``{"error": "volume 0.015 is not a multiple of the volume step 0.01", "field": "volume",
"limit": {"volume_step": 0.01}}``. The rules are MT5's own (so the terminal would refuse the same
request with a retcode), checked here so that the client learns which field to fix:

- the symbol is tradeable in that direction (``trade_mode``: disabled, long only, short only,
  close only);
- the volume is within ``volume_min`` .. ``volume_max`` and a multiple of ``volume_step``;
- a pending order has a price on the right side of the market, at least the stops level away
  (a stop-limit also a limit price on the right side of its trigger), and an expiration in the future;
- SL and TP are on the right side of the price the position would close at (or of the pending
  order's price), at least ``trade_stops_level`` points away;
- the filling mode is one the symbol allows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from mt5gateway.errors import BadRequest
from mt5gateway.terminal import SymbolInfo
from mt5gateway.terminal import constants as c

from .schemas import FillingName, OrderRequest, Side

__all__ = [
    "FILLING_MODES",
    "Quote",
    "check_close_volume",
    "check_expected_price",
    "check_filling",
    "check_new_order",
    "check_pending_price",
    "check_stops",
    "check_tradeable",
    "check_volume",
    "default_filling",
]

FILLING_MODES: dict[FillingName, int] = {
    "fok": c.ORDER_FILLING_FOK,
    "ioc": c.ORDER_FILLING_IOC,
    "return": c.ORDER_FILLING_RETURN,
}
# The SymbolInfo.filling_mode bit that allows each mode; RETURN needs none.
_FILLING_FLAGS: dict[FillingName, int] = {"fok": c.SYMBOL_FILLING_FOK, "ioc": c.SYMBOL_FILLING_IOC}

# Relative tolerance for "is a multiple of the step": volumes arrive as binary floats.
_STEP_TOLERANCE = 1e-7
# Prices compare with a tolerance far below any point.
_PRICE_EPSILON = 1e-9


class Quote(Protocol):
    """The current prices: a ``Tick``, or a ``SymbolInfo`` (which carries them too)."""

    @property
    def bid(self) -> float: ...

    @property
    def ask(self) -> float: ...


def _refuse(field: str, message: str, **limit: Any) -> BadRequest:
    return BadRequest(message, field=field, limit=limit)


def check_tradeable(info: SymbolInfo, side: Side, *, opening: bool) -> None:
    """Refuse when the symbol's trade mode forbids this direction (closing is allowed unless disabled)."""
    mode = info.trade_mode
    if mode == c.SYMBOL_TRADE_MODE_DISABLED:
        raise _refuse("symbol", f"trading is disabled for {info.name}", trade_mode="disabled")
    if not opening:
        return
    if mode == c.SYMBOL_TRADE_MODE_CLOSEONLY:
        raise _refuse("symbol", f"{info.name} only allows closing positions", trade_mode="close_only")
    if mode == c.SYMBOL_TRADE_MODE_LONGONLY and side == "sell":
        raise _refuse("side", f"{info.name} only allows buying", trade_mode="long_only")
    if mode == c.SYMBOL_TRADE_MODE_SHORTONLY and side == "buy":
        raise _refuse("side", f"{info.name} only allows selling", trade_mode="short_only")


def check_volume(info: SymbolInfo, volume: float, *, field: str = "volume") -> None:
    """Refuse a volume outside ``volume_min`` .. ``volume_max`` or off ``volume_step``."""
    if volume < info.volume_min * (1 - _STEP_TOLERANCE):
        raise _refuse(
            field, f"{field} {volume} is below the minimum {info.volume_min}", volume_min=info.volume_min
        )
    if volume > info.volume_max * (1 + _STEP_TOLERANCE):
        raise _refuse(
            field, f"{field} {volume} is above the maximum {info.volume_max}", volume_max=info.volume_max
        )
    steps = volume / info.volume_step
    if abs(steps - round(steps)) > _STEP_TOLERANCE * max(1.0, steps):
        raise _refuse(
            field,
            f"{field} {volume} is not a multiple of the volume step {info.volume_step}",
            volume_step=info.volume_step,
        )


def check_close_volume(info: SymbolInfo, position_volume: float, volume: float) -> None:
    """Refuse a (partial) close volume that is off step, below the minimum or above the position."""
    if volume > position_volume * (1 + _STEP_TOLERANCE):
        raise _refuse(
            "volume",
            f"volume {volume} is more than the position's volume {position_volume}",
            position_volume=position_volume,
        )
    check_volume(info, volume)


def _stops_distance(info: SymbolInfo) -> float:
    return float(info.trade_stops_level) * float(info.point)


def _far_enough(gap: float, info: SymbolInfo) -> bool:
    """A price ``gap`` away from its reference (positive = the right side) respects the stops level."""
    point = float(info.point)
    return gap > _PRICE_EPSILON * point and gap >= _stops_distance(info) - _PRICE_EPSILON


def check_pending_price(
    info: SymbolInfo, tick: Quote, side: Side, kind: str, price: float | None, stoplimit: float | None
) -> None:
    """Refuse a pending order without a price, or with one on the wrong side of the market.

    Limits wait for a better price (buy below the ask, sell above the bid), stops for a breakout
    (buy above the ask, sell below the bid), each at least the stops level away; a stop-limit's
    limit price lies at or beyond its trigger on the favourable side.
    """
    if price is None:
        raise _refuse("price", f"a {kind} order needs a price", required=True)
    distance = _stops_distance(info)
    trigger = "stop" if kind == "stop_limit" else kind
    # (gap to the market, "above"/"below", the reference price's name and value)
    rules: dict[tuple[Side, str], tuple[float, str, str, float]] = {
        ("buy", "limit"): (tick.ask - price, "below", "ask", tick.ask),
        ("sell", "limit"): (price - tick.bid, "above", "bid", tick.bid),
        ("buy", "stop"): (price - tick.ask, "above", "ask", tick.ask),
        ("sell", "stop"): (tick.bid - price, "below", "bid", tick.bid),
    }
    gap, where, reference_name, reference = rules[(side, trigger)]
    if not _far_enough(gap, info):
        bound = reference - distance if where == "below" else reference + distance
        raise _refuse(
            "price",
            f"a {side} {kind} price must be {where} the {reference_name} ({reference})"
            + (f" by at least {info.trade_stops_level} points" if distance > 0 else ""),
            **{("max_price" if where == "below" else "min_price"): bound},
        )
    if kind != "stop_limit":
        return
    if stoplimit is None:
        raise _refuse("stoplimit", "a stop_limit order needs a stoplimit price", required=True)
    if side == "buy" and stoplimit > price:
        raise _refuse(
            "stoplimit", "a buy stop_limit's limit price must not be above its trigger price", max_price=price
        )
    if side == "sell" and stoplimit < price:
        raise _refuse(
            "stoplimit",
            "a sell stop_limit's limit price must not be below its trigger price",
            min_price=price,
        )


def check_stops(info: SymbolInfo, side: Side, reference: float, sl: float | None, tp: float | None) -> None:
    """Refuse an SL or TP on the wrong side of ``reference`` (the close price, or the pending price).

    A buy's SL is below the reference and its TP above; a sell's the other way round; each at least
    ``trade_stops_level`` points away. ``None`` and 0 mean "no level".
    """
    distance = _stops_distance(info)
    sign = 1.0 if side == "buy" else -1.0
    for field, level, direction in (("sl", sl, -sign), ("tp", tp, sign)):
        if not level or _far_enough((level - reference) * direction, info):
            continue
        where = "above" if direction > 0 else "below"
        raise _refuse(
            field,
            f"a {side}'s {field.upper()} must be {where} {reference}"
            + (f" by at least {info.trade_stops_level} points" if distance > 0 else ""),
            **{("min_price" if direction > 0 else "max_price"): reference + direction * distance},
        )


def check_expected_price(info: SymbolInfo, side: Side, expected: float, deviation: int) -> None:
    """Refuse a market order whose price (ask to buy, bid to sell) is more than ``deviation`` points
    from the price the client expected: the trade server would requote it."""
    market = info.ask if side == "buy" else info.bid
    allowed = deviation * float(info.point)
    if abs(market - expected) > allowed + _PRICE_EPSILON:
        raise _refuse(
            "price",
            f"the market price {market} is more than {deviation} points from the requested {expected}",
            market_price=market,
            deviation=deviation,
        )


def default_filling(info: SymbolInfo) -> FillingName:
    """The first filling mode the symbol allows: FOK, then IOC, else RETURN."""
    for name, flag in _FILLING_FLAGS.items():
        if info.filling_mode & flag:
            return name
    return "return"


def check_filling(info: SymbolInfo, filling: FillingName) -> None:
    """Refuse a filling mode the symbol's ``filling_mode`` flags do not allow."""
    flag = _FILLING_FLAGS.get(filling)
    if flag is not None and not info.filling_mode & flag:
        allowed = [name for name, bit in _FILLING_FLAGS.items() if info.filling_mode & bit] + ["return"]
        raise _refuse("filling", f"{info.name} does not allow {filling} filling", allowed=allowed)


def check_new_order(
    order: OrderRequest, info: SymbolInfo, tick: Quote, *, now: datetime | None = None
) -> None:
    """Every rule for a new order; raises the first refusal."""
    check_tradeable(info, order.side, opening=True)
    check_volume(info, order.volume)
    if order.filling is not None:
        check_filling(info, order.filling)
    if order.type == "market":
        for field in ("price", "stoplimit", "expiration"):
            if getattr(order, field) is not None:
                raise _refuse(field, f"a market order takes no {field}", allowed=None)
        reference = tick.bid if order.side == "buy" else tick.ask
    else:
        check_pending_price(info, tick, order.side, order.type, order.price, order.stoplimit)
        if order.type != "stop_limit" and order.stoplimit is not None:
            raise _refuse("stoplimit", "only a stop_limit order takes a stoplimit price", allowed=None)
        if order.expiration is not None:
            moment = now or datetime.now(UTC)
            expiration = order.expiration if order.expiration.tzinfo else order.expiration.replace(tzinfo=UTC)
            if expiration <= moment:
                raise _refuse(
                    "expiration", "the expiration must be in the future", min_time=moment.isoformat()
                )
        assert order.price is not None  # checked by check_pending_price
        reference = order.stoplimit if order.type == "stop_limit" and order.stoplimit else order.price
    check_stops(info, order.side, reference, order.sl, order.tp)
