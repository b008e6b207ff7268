"""The MT5 Bridge Microservice's REST paths ("S4"), answered by the same services as ours.

``GET /health``, ``POST /connect``, ``GET /account``, ``POST /ticks`` and ``POST /order``; its
WebSocket routes are in ``ws``. Keys are the gateway's (that service's clients send them as
``Authorization: Bearer <key>``). ``POST /order`` places through the trading service and its journal
like ``POST /api/orders``; on this path only an ``Idempotency-Key`` may be left out (that service's
clients send none): the gateway then makes one, journals the order under it and says so in the
response headers (``Idempotency-Key``, ``Idempotency-Key-Generated: true``).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from mt5gateway.accounts.bridge import terminal_servers
from mt5gateway.api.auth import Caller, MarketCaller, require_scope, require_scope_or_admin
from mt5gateway.api.deps import BridgeDep, GatewayDep
from mt5gateway.api.openapi import errors
from mt5gateway.api.responses import JSONBytes
from mt5gateway.api.schemas import TicksResponse
from mt5gateway.api.terminal_views import bridge_service_health_body
from mt5gateway.market.service import MAX_TICKS
from mt5gateway.trading.bridge_service import BridgeOrder
from mt5gateway.trading.schemas import MAX_ID, STRICT_BODY

from .trading import TRADE_ERRORS, TradeCaller, trade_response, trading_service

__all__ = ["ConnectRequest", "TicksRequest", "router"]

router = APIRouter(tags=["mt5-bridge-service"])

AccountsCaller = Annotated[Caller, Depends(require_scope("accounts"))]
_TERMINAL_ERRORS = errors(
    (404, "an unknown symbol, account or terminal"),
    (502, "the terminal answered with an error"),
    (503, "the terminal is down; see Retry-After and terminal_id"),
)


class ConnectRequest(BaseModel):
    """``POST /connect``: the account to log a terminal in to."""

    model_config = STRICT_BODY

    login: int = Field(ge=1, le=MAX_ID)
    password: str = Field(min_length=1, max_length=128)
    server: str | None = Field(default=None, min_length=1, max_length=128)
    terminal_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="For an account no terminal hosts yet (default: the pool's first terminal).",
    )


class TicksRequest(BaseModel):
    """``POST /ticks``: a symbol's newest ticks."""

    model_config = STRICT_BODY

    symbol: str = Field(min_length=1, max_length=32)
    count: int = Field(default=100, ge=1, le=MAX_TICKS)


def _account_fields(live: dict[str, Any]) -> dict[str, Any]:
    """An account as that service gave it (``free_margin``), with our names beside."""
    return {
        "login": live["login"],
        "balance": live["balance"],
        "equity": live["equity"],
        "margin": live["margin"],
        "free_margin": live["margin_free"],
        "margin_free": live["margin_free"],
        "profit": live["profit"],
        "leverage": live["leverage"],
        "server": live["server"],
        "currency": live["currency"],
        "terminal_id": live["terminal_id"],
    }


@router.get("/health", summary="Reports the service and its terminals' connection; no key needed.")
async def health(gateway: GatewayDep) -> dict[str, Any]:
    return bridge_service_health_body(gateway.pool.statuses(), terminal_servers(gateway.pool))


@router.post(
    "/connect",
    summary="Logs a terminal in to an account with its password.",
    dependencies=[Depends(require_scope_or_admin("trade"))],
    responses={
        **_TERMINAL_ERRORS,
        **errors((403, "the trade server refused the login (or the key lacks trade)")),
    },
)
async def connect(body: ConnectRequest, bridge: BridgeDep) -> dict[str, Any]:
    """The terminal hosting the account, else ``terminal_id``, else the first; credentials the trade
    server refuses are a 403 with the terminal's ``last_error``."""
    terminal_id, info = await bridge.sessions.connect(
        body.login, password=body.password, server=body.server, terminal_id=body.terminal_id
    )
    live = await bridge.accounts.live_data(info.login)
    return {"success": True, "connected": True, "terminal_id": terminal_id, "account": _account_fields(live)}


@router.get(
    "/account",
    summary="Gives the key's default account: login, balance, equity, margin and free margin.",
    responses=_TERMINAL_ERRORS,
)
async def account(caller: AccountsCaller, bridge: BridgeDep) -> dict[str, Any]:
    """The key's ``account`` when configured, else the first account the pool knows."""
    login = await bridge.accounts.default_login(caller.account)
    return {"success": True, "account": _account_fields(await bridge.accounts.live_data(login))}


@router.post(
    "/ticks",
    response_class=JSONBytes,
    summary="Returns a symbol's newest ticks, oldest first.",
    responses={
        200: {"model": TicksResponse},
        **_TERMINAL_ERRORS,
        **errors((403, "the caller's tier does not grant the symbol")),
    },
)
async def ticks(body: TicksRequest, caller: MarketCaller, gateway: GatewayDep) -> Response:
    answer = await gateway.market.ticks(
        tier=caller.tier, symbol=body.symbol, count=body.count, date_from=None, date_to=None
    )
    return JSONBytes(answer)


@router.post(
    "/order",
    summary="Places a market buy or sell; an Idempotency-Key is made when none is sent.",
    responses=TRADE_ERRORS,
)
async def order(
    body: BridgeOrder,
    caller: TradeCaller,
    request: Request,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            description="optional here: one is made (and sent back) when absent",
        ),
    ] = None,
) -> Response:
    headers = {"Idempotency-Key": key or f"s4-{uuid.uuid4().hex}"}
    if key is None:
        headers["Idempotency-Key-Generated"] = "true"
    outcome = await trading_service(request).place(
        owner=caller.key_name, key=headers["Idempotency-Key"], order=body.order(), expected_price=body.price
    )
    return trade_response(outcome, headers)
