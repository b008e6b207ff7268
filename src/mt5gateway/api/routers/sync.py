"""Account-mirror routes: the mirror's rows with their age (scope ``accounts``), a client's accounts,
and the admin's manual cycle and sync health (admin key).

The worker lives in ``mt5gateway.sync`` (the composition root builds it from the ``[sync]`` table);
this module only shapes bodies.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from mt5gateway.api.auth import AdminAuth, Caller, require_scope
from mt5gateway.api.deps import SyncDep
from mt5gateway.api.openapi import errors
from mt5gateway.api.params import path_int
from mt5gateway.errors import AccountNotFound, NotFound

__all__ = ["router"]

# Without a [sync] table every route here is a 404 (SyncDep).
router = APIRouter(
    tags=["sync"], responses=errors((404, "no account mirror is configured, or no such account"))
)


AccountsCaller = Annotated[Caller, Depends(require_scope("accounts"))]
# The mirror's login column is a signed 64-bit integer: a larger number cannot be an account in it.
Login = Annotated[int, path_int(ge=1, le=2**63 - 1, description="the account's login")]


@router.get("/api/cache/accounts", summary="Lists every mirrored account with its age and freshness level.")
async def cached_accounts(_caller: AccountsCaller, worker: SyncDep) -> dict[str, Any]:
    rows = await asyncio.to_thread(worker.mirror.accounts)
    return {"success": True, "count": len(rows), "accounts": [worker.view(row) for row in rows]}


@router.get(
    "/api/cache/accounts/{login}", summary="Gives one mirrored account with its age and freshness level."
)
async def cached_account(login: Login, _caller: AccountsCaller, worker: SyncDep) -> dict[str, Any]:
    row = await asyncio.to_thread(worker.mirror.account, login)
    if row is None:
        raise AccountNotFound(f"account {login} is not in the mirror", login=login)
    return {"success": True, "account": worker.view(row)}


@router.get(
    "/api/clients/{client_id}/accounts", summary="Lists the mirrored accounts the config maps to a client."
)
async def client_accounts(
    client_id: Annotated[str, Path(min_length=1, max_length=64)], _caller: AccountsCaller, worker: SyncDep
) -> dict[str, Any]:
    logins = worker.settings.logins_of_client(client_id)
    if not logins:
        raise NotFound(f"no account is mapped to client {client_id}", client_id=client_id)
    rows = await asyncio.to_thread(worker.mirror.accounts, logins)
    return {
        "success": True,
        "client_id": client_id,
        "count": len(rows),
        "accounts": [worker.view(r) for r in rows],
    }


@router.post(
    "/api/admin/sync-from-vps",
    dependencies=[AdminAuth],
    summary="Runs a sync cycle now, or joins the one running.",
)
async def sync_from_vps(worker: SyncDep) -> dict[str, Any]:
    """Run a cycle (or join the one running) -> ``{status, accounts_synced, total_accounts, duration}``."""
    run = await worker.run_cycle("manual")
    return {
        "status": run.status,
        "accounts_synced": run.accounts_ok,
        "total_accounts": run.accounts_total,
        "duration": run.duration_seconds,
    }


@router.get(
    "/api/admin/mt5-health",
    dependencies=[AdminAuth],
    summary="Reports the gateways, the mirror's freshness, the last cycle and the issues in force.",
)
async def mt5_health(worker: SyncDep) -> dict[str, Any]:
    """``oldest_update`` and ``accounts_synced`` in the design's words ("2 minutes ago", "7/7")."""
    return await asyncio.to_thread(worker.health)
