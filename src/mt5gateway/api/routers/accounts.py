"""Account routes (scope ``accounts``): accounts, positions, orders, history, and the bridge paths.

The views live in ``mt5gateway.accounts``; this module only parses input and shapes bodies. Each
body carries ``success`` and, where a terminal was asked, ``metadata`` (terminal_id, login,
login_switch_ms, fetched_at).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from mt5gateway.accounts.service import LIVE_FIELDS, AccountRef
from mt5gateway.api.auth import Caller, require_scope
from mt5gateway.api.deps import BridgeDep
from mt5gateway.api.openapi import errors
from mt5gateway.api.params import date_query, path_int
from mt5gateway.errors import GatewayError
from mt5gateway.trading.schemas import MAX_ID

__all__ = ["AccountsCaller", "Login", "router"]

router = APIRouter(
    tags=["accounts"],
    responses=errors(
        (404, "no terminal hosts the account, or it is not logged in there"),
        (502, "the terminal answered with an error"),
        (503, "the account's terminal is down; see Retry-After and terminal_id"),
    ),
)


AccountsCaller = Annotated[Caller, Depends(require_scope("accounts"))]
Login = Annotated[int, path_int(ge=1, le=MAX_ID, description="the account's login")]
DateFrom = Annotated[
    datetime | None, date_query(alias="from", description="ISO-8601 or epoch seconds (default: 30 days ago)")
]
DateTo = Annotated[
    datetime | None, date_query(alias="to", description="ISO-8601 or epoch seconds (default: now)")
]


def _ref(ref: AccountRef) -> dict[str, Any]:
    return {"login": ref.login, "terminal_id": ref.terminal_id, "server": ref.server}


@router.get("/api/accounts", summary="Lists the logins known to the pool, with their terminal and server.")
async def list_accounts(_caller: AccountsCaller, bridge: BridgeDep) -> dict[str, Any]:
    refs = await bridge.accounts.accounts()
    return {"success": True, "count": len(refs), "accounts": [_ref(ref) for ref in refs]}


@router.get(
    "/api/accounts/{login}", summary="Gives every AccountInfo field of an account, with where and when."
)
async def get_account(login: Login, _caller: AccountsCaller, bridge: BridgeDep) -> dict[str, Any]:
    account = await bridge.accounts.account(login)
    metadata = account.pop("metadata")
    return {"success": True, "account": account, "metadata": metadata}


@router.get("/api/accounts/{login}/positions", summary="Lists an account's open positions.")
async def get_positions(login: Login, _caller: AccountsCaller, bridge: BridgeDep) -> dict[str, Any]:
    positions, metadata = await bridge.accounts.positions(login)
    return {
        "success": True,
        "login": login,
        "count": len(positions),
        "positions": positions,
        "metadata": metadata,
    }


@router.get("/api/accounts/{login}/orders", summary="Lists an account's pending orders.")
async def get_orders(login: Login, _caller: AccountsCaller, bridge: BridgeDep) -> dict[str, Any]:
    orders, metadata = await bridge.accounts.orders(login)
    return {"success": True, "login": login, "count": len(orders), "orders": orders, "metadata": metadata}


@router.get("/api/accounts/{login}/deals", summary="Lists an account's deals between from and to.")
async def get_deals(
    login: Login,
    _caller: AccountsCaller,
    bridge: BridgeDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> dict[str, Any]:
    deals, metadata = await bridge.accounts.deals(login, date_from, date_to)
    return {"success": True, "login": login, "count": len(deals), "deals": deals, "metadata": metadata}


@router.get(
    "/api/accounts/{login}/history/orders", summary="Lists an account's history orders between from and to."
)
async def get_history_orders(
    login: Login,
    _caller: AccountsCaller,
    bridge: BridgeDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> dict[str, Any]:
    orders, metadata = await bridge.accounts.history_orders(login, date_from, date_to)
    return {"success": True, "login": login, "count": len(orders), "orders": orders, "metadata": metadata}


# -- the account-mirror design's bridge paths --


@router.get(
    "/api/mt5/bridge/health",
    summary="Reports the bridge's terminal (available, connected, build) and the store behind it.",
)
async def bridge_health(_caller: AccountsCaller, bridge: BridgeDep) -> dict[str, Any]:
    """The design's shape; ``store`` is the trade journal, or the account mirror when one is configured,
    and ``mongodb`` is kept as the design's name for it."""
    refs = await bridge.accounts.accounts()
    terminal_id = refs[0].terminal_id if refs else bridge.pool.terminal_ids[0]
    return {"success": True, **await bridge.accounts.bridge_health(terminal_id)}


@router.get("/api/mt5/accounts/summary", summary="Gives the live figures of every known account.")
async def accounts_summary(_caller: AccountsCaller, bridge: BridgeDep) -> dict[str, Any]:
    """Each item carries the login as ``account`` (what the design's sync reads) and ``account_id``."""
    refs = await bridge.accounts.accounts()

    async def one(ref: AccountRef) -> dict[str, Any]:
        ids = {"account": ref.login, "account_id": ref.login}
        try:
            return {**ids, **await bridge.accounts.live_data(ref.login)}
        except GatewayError as exc:
            # One account's terminal being down must not hide the others.
            return {**ids, "login": ref.login, "terminal_id": ref.terminal_id, **exc.body()}

    summaries = await asyncio.gather(*(one(ref) for ref in refs))
    return {"success": True, "count": len(summaries), "accounts": summaries}


@router.get(
    "/api/mt5/account/{account_id}/info",
    summary="Gives an account's live data, and the mirror's copy (or why there is none).",
)
async def account_info(account_id: Login, _caller: AccountsCaller, bridge: BridgeDep) -> dict[str, Any]:
    live = await bridge.accounts.live_data(account_id)
    return {
        "success": True,
        "account_id": account_id,
        "live_data": {name: live[name] for name in LIVE_FIELDS},
        "stored_data": await bridge.accounts.stored_data(account_id),
        "metadata": {"terminal_id": live["terminal_id"], "fetched_at": live["fetched_at"]},
    }


@router.get("/api/mt5/account/{account_id}/balance", summary="Gives an account's balance, equity and margin.")
async def account_balance(account_id: Login, _caller: AccountsCaller, bridge: BridgeDep) -> dict[str, Any]:
    live = await bridge.accounts.live_data(account_id)
    fields = ("balance", "equity", "profit", "margin", "margin_free", "margin_level", "currency")
    return {
        "success": True,
        "account_id": account_id,
        **{name: live[name] for name in fields},
        "terminal_id": live["terminal_id"],
        "fetched_at": live["fetched_at"],
    }


@router.get(
    "/api/mt5/account/{account_id}/trades",
    summary="Lists an account's open positions and its deals between from and to.",
)
async def account_trades(
    account_id: Login,
    _caller: AccountsCaller,
    bridge: BridgeDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> dict[str, Any]:
    positions, _ = await bridge.accounts.positions(account_id)
    deals, metadata = await bridge.accounts.deals(account_id, date_from, date_to)
    return {
        "success": True,
        "account_id": account_id,
        "positions": positions,
        "deals": deals,
        "metadata": metadata,
    }
