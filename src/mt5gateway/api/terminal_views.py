"""The health and admin bodies built from the pool's terminal statuses (paths of the original service).

Terminals are listed by symbol, as the original clients expect; a terminal serving several symbols
appears under each. A terminal is ``connected`` when the pool reports it ``up``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mt5gateway import __version__
from mt5gateway.pool.stats import LogLine, TerminalStatus

__all__ = ["admin_health_body", "health_body", "logs_body", "primary_symbol", "stats_body"]

_RECONNECTING = frozenset({"starting", "restarting"})
_PROBLEMATIC_LISTED = 5


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def primary_symbol(status: TerminalStatus) -> str | None:
    """The symbol a terminal is known by (its first), if it serves any."""
    return status.symbols[0] if status.symbols else None


def _connected(status: TerminalStatus) -> bool:
    return status.status == "up"


def _terminal_health(status: TerminalStatus) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "connected": _connected(status),
        "terminal_id": status.terminal_id,
        "last_check": _iso(status.last_check),
    }
    if not _connected(status):
        entry["error"] = status.last_error or f"terminal is {status.status}"
    return entry


def _admin_terminal_health(status: TerminalStatus) -> dict[str, Any]:
    return {
        **_terminal_health(status),
        "status": status.status,
        "uptime_percentage": status.uptime_pct,
        "reconnect_count": status.reconnects,
        "restart_count": status.restarts,
        "pid": status.pid,
        "latency_p50_ms": status.latency_p50_ms,
        "latency_p99_ms": status.latency_p99_ms,
        "calls": status.calls,
        "errors": status.errors,
        "last_error": status.last_error,
    }


def _summary(statuses: Sequence[TerminalStatus]) -> dict[str, Any]:
    connected = sum(1 for s in statuses if _connected(s))
    overall = "ok" if connected == len(statuses) else "error" if connected == 0 else "degraded"
    return {
        "success": overall != "error",
        "status": overall,
        "version": __version__,
        "total_terminals": len(statuses),
        "connected_terminals": connected,
    }


def health_body(statuses: Sequence[TerminalStatus]) -> dict[str, Any]:
    """``GET /api/health``: overall status and each symbol's terminal."""
    terminals = {symbol: _terminal_health(s) for s in statuses for symbol in s.symbols}
    body = {**_summary(statuses), "terminals": terminals}
    if body["status"] == "error":
        body.update(error="No terminal is connected", code="no_terminal_connected")
    return body


def admin_health_body(statuses: Sequence[TerminalStatus]) -> dict[str, Any]:
    """``GET /api/admin/terminals/health``: the health plus uptime, reconnects, pid and latency."""
    terminals = {symbol: _admin_terminal_health(s) for s in statuses for symbol in s.symbols}
    return {**_summary(statuses), "terminals": terminals}


def logs_body(status: TerminalStatus, lines: Sequence[LogLine]) -> dict[str, Any]:
    """``GET /api/admin/terminals/{id}/logs``."""
    return {
        "success": True,
        "terminal_id": status.terminal_id,
        "symbol": primary_symbol(status),
        "logs": [
            {"timestamp": _iso(line.time), "level": line.level, "message": line.message} for line in lines
        ],
    }


def stats_body(statuses: Sequence[TerminalStatus]) -> dict[str, Any]:
    """``GET /api/admin/terminals/stats``: totals over the pool and the terminals that fail most.

    ``total_reconnects_24h`` counts reconnects and restarts since the pool started (the pool keeps
    no older history; a gateway restarted daily makes the two the same).
    """
    count = len(statuses)
    latencies = [s.latency_p50_ms for s in statuses if s.latency_p50_ms is not None]
    by_status = {"connected": 0, "disconnected": 0, "reconnecting": 0}
    for s in statuses:
        key = (
            "connected" if _connected(s) else "reconnecting" if s.status in _RECONNECTING else "disconnected"
        )
        by_status[key] += 1
    troubled = sorted(
        (s for s in statuses if s.errors or s.restarts or s.reconnects or not _connected(s)),
        key=lambda s: (s.restarts + s.reconnects, s.errors, not _connected(s)),
        reverse=True,
    )
    return {
        "success": True,
        "stats": {
            "total_uptime_percentage": round(sum(s.uptime_pct for s in statuses) / count, 2)
            if count
            else 0.0,
            "total_reconnects_24h": sum(s.reconnects + s.restarts for s in statuses),
            "avg_response_time_ms": round(sum(latencies) / len(latencies), 3) if latencies else None,
            "terminals_by_status": by_status,
            "most_problematic_terminals": [
                {
                    "terminal_id": s.terminal_id,
                    "symbol": primary_symbol(s),
                    "errors": s.errors,
                    "restarts": s.restarts,
                    "reconnects": s.reconnects,
                    "last_error": s.last_error,
                }
                for s in troubled[:_PROBLEMATIC_LISTED]
            ],
        },
    }
