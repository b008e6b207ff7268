"""Trading routes (scope ``trade``): place, check, modify and cancel orders; modify and close positions.

Every POST/PATCH/DELETE that changes something takes an ``Idempotency-Key`` header: the first
request with a key is validated, journaled and sent once; a repeat returns the first answer with
``Idempotency-Replayed: true`` (and ``metadata.replayed``). ``mt5gateway.trading`` does the work.
A 503 says whether the request may have been executed (``outcome``: ``unknown``, retry with the
same key; ``not_executed``), with the terminal's scheduled restart as ``Retry-After``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from starlette.responses import Response

from mt5gateway.api.auth import Caller, require_scope
from mt5gateway.api.deps import gateway_of
from mt5gateway.api.openapi import errors
from mt5gateway.api.params import path_int, query_float, query_int
from mt5gateway.api.responses import OrjsonResponse
from mt5gateway.trading.schemas import MAX_ID, OrderModify, OrderRequest, PositionModify
from mt5gateway.trading.service import TradeOutcome, TradingService

__all__ = ["TRADE_ERRORS", "TradeCaller", "router", "trade_response", "trading_service"]

# What a journaled trading request can answer besides 200.
TRADE_ERRORS = errors(
    (404, "the symbol, account, order or position is unknown"),
    (409, "the Idempotency-Key was used for another request"),
    (422, "the trade server refused the request (order_rejected: retcode, retcode_name)"),
    (502, "the terminal answered with an error"),
    (
        503,
        "the terminal is down or did not answer: outcome says whether the request may have been executed "
        "(unknown: retry with the same key) or not (not_executed); Retry-After is its scheduled restart",
    ),
)

router = APIRouter(tags=["trading"], responses=TRADE_ERRORS)

TradeCaller = Annotated[Caller, Depends(require_scope("trade"))]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="one key per intended trade: a repeat returns the first answer and sends nothing",
    ),
]
Ticket = Annotated[int, path_int(ge=1, le=MAX_ID, description="the order's or position's ticket")]
LoginQuery = Annotated[int | None, query_int(ge=1, le=MAX_ID, description="the account (or give symbol)")]
SymbolQuery = Annotated[str | None, Query(min_length=1, max_length=32, description="the symbol's terminal")]


def trading_service(request: Request) -> TradingService:
    """The trading service. Read from the request, not through a dependency: each dependency FastAPI
    solves costs a measurable share of an order's CPU."""
    return gateway_of(request).bridge.trading


def trade_response(outcome: TradeOutcome, headers: dict[str, str] | None = None) -> Response:
    """A trading request's answer (``Idempotency-Replayed: true`` for a repeat)."""
    sent = dict(headers or {})
    if outcome.replayed:
        sent["Idempotency-Replayed"] = "true"
    return OrjsonResponse(outcome.body, status_code=outcome.status, headers=sent)


@router.post("/api/orders", summary="Places a market, limit, stop or stop-limit order, once per key.")
async def place_order(
    order: OrderRequest, key: IdempotencyKey, caller: TradeCaller, request: Request
) -> Response:
    return trade_response(await trading_service(request).place(owner=caller.key_name, key=key, order=order))


@router.post(
    "/api/orders/check", summary="Validates an order and asks the terminal's order_check; sends nothing."
)
async def check_order(order: OrderRequest, _caller: TradeCaller, request: Request) -> dict[str, Any]:
    return await trading_service(request).check(order)


@router.patch(
    "/api/orders/{ticket}", summary="Changes a pending order's price, stop-limit, SL, TP or expiration."
)
async def modify_order(
    ticket: Ticket,
    change: OrderModify,
    key: IdempotencyKey,
    caller: TradeCaller,
    request: Request,
    symbol: SymbolQuery = None,
) -> Response:
    outcome = await trading_service(request).modify_order(
        owner=caller.key_name, key=key, ticket=ticket, change=change, symbol=symbol
    )
    return trade_response(outcome)


@router.delete("/api/orders/{ticket}", summary="Cancels a pending order.")
async def cancel_order(
    ticket: Ticket,
    key: IdempotencyKey,
    caller: TradeCaller,
    request: Request,
    login: LoginQuery = None,
    symbol: SymbolQuery = None,
) -> Response:
    outcome = await trading_service(request).cancel_order(
        owner=caller.key_name, key=key, ticket=ticket, login=login, symbol=symbol
    )
    return trade_response(outcome)


@router.patch("/api/positions/{ticket}", summary="Sets a position's SL and TP.")
async def modify_position(
    ticket: Ticket,
    change: PositionModify,
    key: IdempotencyKey,
    caller: TradeCaller,
    request: Request,
    symbol: SymbolQuery = None,
) -> Response:
    outcome = await trading_service(request).modify_position(
        owner=caller.key_name, key=key, ticket=ticket, change=change, symbol=symbol
    )
    return trade_response(outcome)


@router.delete("/api/positions/{ticket}", summary="Closes a position, or part of it with volume.")
async def close_position(
    ticket: Ticket,
    key: IdempotencyKey,
    caller: TradeCaller,
    request: Request,
    volume: Annotated[
        float | None, query_float(gt=0, le=1_000_000, description="lots to close (default: all)")
    ] = None,
    deviation: Annotated[int, query_int(ge=0, le=100_000, description="slippage in points")] = 20,
    login: LoginQuery = None,
    symbol: SymbolQuery = None,
) -> Response:
    outcome = await trading_service(request).close_position(
        owner=caller.key_name,
        key=key,
        ticket=ticket,
        volume=volume,
        login=login,
        symbol=symbol,
        deviation=deviation,
    )
    return trade_response(outcome)
