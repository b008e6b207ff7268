"""Admin endpoints (``X-Admin-API-Key`` or the admin key as a bearer token; 403 without it, as the
original service answered): terminal health, restarts, logs and statistics."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path

from mt5gateway.errors import GatewayError

from ..auth import AdminAuth
from ..deps import GatewayDep
from ..openapi import errors
from ..params import query_int
from ..schemas import (
    AdminHealthResponse,
    LogsResponse,
    RestartAllResponse,
    RestartResponse,
    StatsResponse,
)
from ..terminal_views import admin_health_body, logs_body, primary_symbol, stats_body

__all__ = ["router"]

router = APIRouter(prefix="/api/admin/terminals", tags=["admin"], dependencies=[AdminAuth])

TerminalId = Annotated[str, Path(min_length=1, max_length=64, description="a terminal's id (MT5_01 ...)")]
_UNKNOWN_TERMINAL = errors((404, "no terminal has that id"))


@router.get(
    "/health",
    response_model=AdminHealthResponse,
    response_model_exclude_unset=True,
    summary="Reports each terminal's health with uptime, reconnects, restarts, pid and latency.",
)
async def terminals_health(gateway: GatewayDep) -> dict[str, Any]:
    """Health plus uptime, reconnects, restarts, pid, calls, errors and latency per terminal."""
    return admin_health_body(gateway.pool.statuses())


@router.get(
    "/stats",
    response_model=StatsResponse,
    response_model_exclude_unset=True,
    summary="Sums up uptime, reconnects and response time, and names the terminals that fail most.",
)
async def terminals_stats(gateway: GatewayDep) -> dict[str, Any]:
    """Uptime, reconnects and response time over the pool, and the terminals that fail most."""
    return stats_body(gateway.pool.statuses())


async def _restart(gateway: GatewayDep, terminal_id: str) -> dict[str, Any]:
    """Restart one terminal and report whether it came back."""
    symbol = primary_symbol(gateway.pool.status(terminal_id))
    try:
        await gateway.pool.restart(terminal_id)
    except GatewayError as exc:
        return {"terminal_id": terminal_id, "symbol": symbol, "success": False, "error": exc.message}
    status = gateway.pool.status(terminal_id)
    connected = status.status == "up"
    result: dict[str, Any] = {"terminal_id": terminal_id, "symbol": symbol, "success": connected}
    if not connected:
        result["error"] = status.last_error or f"terminal is {status.status}"
    return result


@router.post(
    "/restart-all",
    response_model=RestartAllResponse,
    response_model_exclude_unset=True,
    summary="Restarts every terminal at once and says which came back.",
)
async def restart_all(gateway: GatewayDep) -> dict[str, Any]:
    """Restart every terminal at once; the results say which came back."""
    terminal_ids = [status.terminal_id for status in gateway.pool.statuses()]
    results = await asyncio.gather(*(_restart(gateway, tid) for tid in terminal_ids))
    succeeded = sum(1 for r in results if r["success"])
    return {
        "success": succeeded == len(results),
        "message": f"Restarted {succeeded} of {len(results)} terminals",
        "total_terminals": len(results),
        "successful_restarts": succeeded,
        "failed_restarts": len(results) - succeeded,
        "results": results,
    }


@router.post(
    "/{terminal_id}/restart",
    response_model=RestartResponse,
    response_model_exclude_unset=True,
    summary="Restarts one terminal's worker and waits until it answers or the restart fails.",
    responses=_UNKNOWN_TERMINAL,
)
async def restart(gateway: GatewayDep, terminal_id: TerminalId) -> dict[str, Any]:
    """Restart one terminal's worker and wait until it answers (or the restart fails)."""
    result = await _restart(gateway, terminal_id)
    body: dict[str, Any] = {
        "success": result["success"],
        "message": f"Terminal {terminal_id} "
        + ("restarted" if result["success"] else "did not come back after the restart"),
        "terminal_id": terminal_id,
        "symbol": result["symbol"],
        "connected": result["success"],
    }
    if "error" in result:
        body["last_error"] = result["error"]
    return body


@router.get(
    "/{terminal_id}/logs",
    response_model=LogsResponse,
    summary="Returns a terminal's recent log lines, oldest first.",
    responses=_UNKNOWN_TERMINAL,
)
async def logs(
    gateway: GatewayDep,
    terminal_id: TerminalId,
    lines: Annotated[int, query_int(ge=1, le=1000, description="newest lines wanted")] = 100,
) -> dict[str, Any]:
    """The terminal's recent log lines, oldest first."""
    status = gateway.pool.status(terminal_id)
    return logs_body(status, gateway.pool.logs(terminal_id, lines))
