"""Trading routes (scope ``trade``): place, check, modify and cancel orders; modify and close positions.

Every POST/PATCH/DELETE that changes something takes an ``Idempotency-Key`` header: the first
request with a key is validated, journaled and sent once; a repeat returns the first answer with
``Idempotency-Replayed: true`` (and ``metadata.replayed``). ``mt5gateway.trading`` does the work.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from starlette.responses import Response

from mt5gateway.api.auth import Caller, require_scope
from mt5gateway.api.deps import gateway_of
from mt5gateway.api.responses import OrjsonResponse
from mt5gateway.trading.schemas import MAX_ID, OrderModify, OrderRequest, PositionModify
from mt5gateway.trading.service import TradeOutcome, TradingService

__all__ = ["TradeCaller", "router"]

router = APIRouter(tags=["trading"])

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
Ticket = Annotated[int, Path(ge=1, le=MAX_ID)]
LoginQuery = Annotated[int | None, Query(ge=1, le=MAX_ID, description="the account (or give symbol)")]
SymbolQuery = Annotated[str | None, Query(min_length=1, max_length=32, description="the symbol's terminal")]


def _trading(request: Request) -> TradingService:
    """The trading service. Read from the request, not through a dependency: each dependency FastAPI
    solves costs a measurable share of an order's CPU."""
    return gateway_of(request).bridge.trading


def _respond(outcome: TradeOutcome) -> Response:
    headers = {"Idempotency-Replayed": "true"} if outcome.replayed else None
    return OrjsonResponse(outcome.body, status_code=outcome.status, headers=headers)


@router.post("/api/orders", summary="Place a market, limit, stop or stop-limit order (once per key)")
async def place_order(
    order: OrderRequest, key: IdempotencyKey, caller: TradeCaller, request: Request
) -> Response:
    return _respond(await _trading(request).place(owner=caller.key_name, key=key, order=order))


@router.post("/api/orders/check", summary="Validate an order and ask the terminal's order_check")
async def check_order(order: OrderRequest, _caller: TradeCaller, request: Request) -> dict[str, Any]:
    return await _trading(request).check(order)


@router.patch("/api/orders/{ticket}", summary="Change a pending order")
async def modify_order(
    ticket: Ticket,
    change: OrderModify,
    key: IdempotencyKey,
    caller: TradeCaller,
    request: Request,
    symbol: SymbolQuery = None,
) -> Response:
    outcome = await _trading(request).modify_order(
        owner=caller.key_name, key=key, ticket=ticket, change=change, symbol=symbol
    )
    return _respond(outcome)


@router.delete("/api/orders/{ticket}", summary="Cancel a pending order")
async def cancel_order(
    ticket: Ticket,
    key: IdempotencyKey,
    caller: TradeCaller,
    request: Request,
    login: LoginQuery = None,
    symbol: SymbolQuery = None,
) -> Response:
    outcome = await _trading(request).cancel_order(
        owner=caller.key_name, key=key, ticket=ticket, login=login, symbol=symbol
    )
    return _respond(outcome)


@router.patch("/api/positions/{ticket}", summary="Set a position's SL and TP")
async def modify_position(
    ticket: Ticket,
    change: PositionModify,
    key: IdempotencyKey,
    caller: TradeCaller,
    request: Request,
    symbol: SymbolQuery = None,
) -> Response:
    outcome = await _trading(request).modify_position(
        owner=caller.key_name, key=key, ticket=ticket, change=change, symbol=symbol
    )
    return _respond(outcome)


@router.delete("/api/positions/{ticket}", summary="Close a position, or part of it with volume")
async def close_position(
    ticket: Ticket,
    key: IdempotencyKey,
    caller: TradeCaller,
    request: Request,
    volume: Annotated[float | None, Query(gt=0, description="lots to close (default: all)")] = None,
    deviation: Annotated[int, Query(ge=0, le=100_000, description="slippage in points")] = 20,
    login: LoginQuery = None,
    symbol: SymbolQuery = None,
) -> Response:
    outcome = await _trading(request).close_position(
        owner=caller.key_name,
        key=key,
        ticket=ticket,
        volume=volume,
        login=login,
        symbol=symbol,
        deviation=deviation,
    )
    return _respond(outcome)
