"""Validation rules against a symbol specification: each refusal names its field and limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mt5gateway.errors import BadRequest
from mt5gateway.terminal import SymbolInfo
from mt5gateway.terminal import constants as c
from mt5gateway.trading.schemas import OrderRequest
from mt5gateway.trading.validation import (
    check_close_volume,
    check_new_order,
    check_stops,
    default_filling,
)


def symbol(**fields: Any) -> SymbolInfo:
    """A EURUSD-like specification: 5 digits, 0.01..100 lots by 0.01, stops level 10 points."""
    values: dict[str, Any] = dict.fromkeys(SymbolInfo._fields, 0)
    values.update(
        name="EURUSD",
        digits=5,
        point=0.00001,
        volume_min=0.01,
        volume_max=100.0,
        volume_step=0.01,
        trade_stops_level=10,
        trade_mode=c.SYMBOL_TRADE_MODE_FULL,
        filling_mode=c.SYMBOL_FILLING_FOK | c.SYMBOL_FILLING_IOC,
        bid=1.10000,
        ask=1.10010,
    )
    values.update(fields)
    return SymbolInfo(**values)


def refusal(order: dict[str, Any], **spec: Any) -> BadRequest:
    info = symbol(**spec)
    with pytest.raises(BadRequest) as caught:
        check_new_order(OrderRequest(**order), info, info)
    return caught.value


def order(**fields: Any) -> dict[str, Any]:
    return {"symbol": "EURUSD", "side": "buy", "volume": 0.1, **fields}


def test_a_good_market_order_passes() -> None:
    info = symbol()
    check_new_order(OrderRequest(**order(sl=1.0990, tp=1.1100)), info, info)


@pytest.mark.parametrize(
    ("volume", "limit"),
    [(0.001, {"volume_min": 0.01}), (150.0, {"volume_max": 100.0}), (0.015, {"volume_step": 0.01})],
)
def test_volume_refusals_name_the_limit(volume: float, limit: dict[str, float]) -> None:
    error = refusal(order(volume=volume))
    assert error.extra == {"field": "volume", "limit": limit}
    assert error.status == 400


def test_volume_on_step_with_float_noise_passes() -> None:
    info = symbol()
    check_new_order(OrderRequest(**order(volume=0.07 * 3)), info, info)


@pytest.mark.parametrize(
    ("mode", "side", "field"),
    [
        (c.SYMBOL_TRADE_MODE_DISABLED, "buy", "symbol"),
        (c.SYMBOL_TRADE_MODE_CLOSEONLY, "buy", "symbol"),
        (c.SYMBOL_TRADE_MODE_LONGONLY, "sell", "side"),
        (c.SYMBOL_TRADE_MODE_SHORTONLY, "buy", "side"),
    ],
)
def test_trade_mode_refusals(mode: int, side: str, field: str) -> None:
    assert refusal(order(side=side), trade_mode=mode).extra["field"] == field


@pytest.mark.parametrize(
    ("fields", "field", "limit_key"),
    [
        ({"sl": 1.1001}, "sl", "max_price"),  # buy SL above the bid
        ({"tp": 1.0990}, "tp", "min_price"),  # buy TP below the bid
        ({"sl": 1.09995}, "sl", "max_price"),  # inside the 10-point stops level
        ({"side": "sell", "sl": 1.1000}, "sl", "min_price"),  # sell SL below the ask
        ({"side": "sell", "tp": 1.1005}, "tp", "max_price"),  # sell TP above the ask
    ],
)
def test_stops_on_the_wrong_side_are_refused(fields: dict[str, Any], field: str, limit_key: str) -> None:
    error = refusal(order(**fields))
    assert error.extra["field"] == field
    assert limit_key in error.extra["limit"]


def test_stops_reference_the_close_price() -> None:
    info = symbol()
    # A buy closes at the bid (1.10000): SL 1.09990 is exactly the stops level away.
    check_stops(info, "buy", info.bid, 1.09990, 0)
    with pytest.raises(BadRequest):
        check_stops(info, "buy", info.bid, 1.09991, 0)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type": "limit"}, "price"),  # no price
        ({"type": "limit", "price": 1.1002}, "price"),  # buy limit above the ask
        ({"type": "stop", "price": 1.0990}, "price"),  # buy stop below the ask
        ({"type": "limit", "side": "sell", "price": 1.0990}, "price"),  # sell limit below the bid
        ({"type": "stop", "side": "sell", "price": 1.1005}, "price"),  # sell stop above the bid
        ({"type": "stop_limit", "price": 1.1050}, "stoplimit"),  # no limit price
        ({"type": "stop_limit", "price": 1.1050, "stoplimit": 1.1060}, "stoplimit"),  # limit above trigger
        ({"type": "limit", "price": 1.0950, "sl": 1.0960}, "sl"),  # SL above the order price
        ({"type": "market", "price": 1.1}, "price"),  # a market order takes no price
        ({"type": "limit", "price": 1.0950, "stoplimit": 1.09}, "stoplimit"),
    ],
)
def test_pending_order_refusals(fields: dict[str, Any], field: str) -> None:
    assert refusal(order(**fields)).extra["field"] == field


def test_pending_orders_pass_on_the_right_side() -> None:
    info = symbol()
    soon = datetime.now(UTC) + timedelta(hours=1)
    for fields in (
        {"type": "limit", "price": 1.0950, "sl": 1.0900, "tp": 1.1000, "expiration": soon},
        {"type": "stop", "price": 1.1050},
        {"type": "stop_limit", "price": 1.1050, "stoplimit": 1.1040, "sl": 1.1030},
        {"type": "limit", "side": "sell", "price": 1.1050, "sl": 1.1100},
    ):
        check_new_order(OrderRequest(**order(**fields)), info, info)


def test_expiration_in_the_past_is_refused() -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    assert refusal(order(type="limit", price=1.0950, expiration=past)).extra["field"] == "expiration"


def test_filling_mode_the_symbol_lacks_is_refused() -> None:
    error = refusal(order(filling="fok"), filling_mode=c.SYMBOL_FILLING_IOC)
    assert error.extra == {"field": "filling", "limit": {"allowed": ["ioc", "return"]}}
    assert default_filling(symbol(filling_mode=c.SYMBOL_FILLING_IOC)) == "ioc"
    assert default_filling(symbol(filling_mode=0)) == "return"


def test_close_volume_cannot_exceed_the_position() -> None:
    info = symbol()
    check_close_volume(info, 0.5, 0.2)
    with pytest.raises(BadRequest) as caught:
        check_close_volume(info, 0.5, 0.6)
    assert caught.value.extra == {"field": "volume", "limit": {"position_volume": 0.5}}
