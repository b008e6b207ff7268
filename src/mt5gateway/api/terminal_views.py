"""The health and admin bodies built from the pool's terminal statuses (paths of the original service).

Terminals are listed by symbol, as the original clients expect; a terminal serving several symbols
appears under each. A terminal is ``connected`` when the pool reports it ``up``. Fields the original
contract types as strings are strings: ``last_check`` is always a date-time (before a terminal's
first check, the time its worker started; for a terminal down since then, the time this service
started), ``last_error`` is ``""`` when there is none, and ``symbol`` is ``""`` for a terminal that
serves no symbol.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from mt5gateway import __version__
from mt5gateway.pool.stats import LogLine, TerminalStatus

__all__ = [
    "admin_health_body",
    "bridge_service_health_body",
    "health_body",
    "logs_body",
    "primary_symbol",
    "stats_body",
]

_RECONNECTING = frozenset({"starting", "restarting"})
_PROBLEMATIC_LISTED = 5
_SERVICE_STARTED = datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _last_check(status: TerminalStatus) -> str:
    return _iso(status.last_check or status.started_at or _SERVICE_STARTED)


def primary_symbol(status: TerminalStatus) -> str:
    """The symbol a terminal is known by (its first), ``""`` when it serves none."""
    return status.symbols[0] if status.symbols else ""


def _connected(status: TerminalStatus) -> bool:
    return status.status == "up"


def _terminal_health(status: TerminalStatus) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "connected": _connected(status),
        "terminal_id": status.terminal_id,
        "last_check": _last_check(status),
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
        "last_error": status.last_error or "",
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


def bridge_service_health_body(
    statuses: Sequence[TerminalStatus], servers: dict[str, str | None]
) -> dict[str, Any]:
    """``GET /health`` in the MT5 Bridge Microservice's shape: ``status`` healthy (every terminal up),
    degraded or unhealthy (none up); ``mt5_status`` of the first terminal that is up (else the first)."""
    summary = _summary(statuses)
    serving = [s for s in statuses if _connected(s)]
    shown = serving[0] if serving else statuses[0] if statuses else None
    status = {"ok": "healthy", "degraded": "degraded", "error": "unhealthy"}[summary["status"]]
    return {
        "status": status,
        "service": "mt5-bridge",
        "timestamp": _iso(datetime.now(UTC)),
        "mt5_status": {
            "status": "connected" if serving else "disconnected",
            "server": "" if shown is None else servers.get(shown.terminal_id) or "",
            "last_update": _iso(datetime.now(UTC)) if shown is None else _last_check(shown),
            "terminal_id": None if shown is None else shown.terminal_id,
        },
        "total_terminals": summary["total_terminals"],
        "connected_terminals": summary["connected_terminals"],
        "version": summary["version"],
    }


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
    stats: dict[str, Any] = {
        "total_uptime_percentage": round(sum(s.uptime_pct for s in statuses) / count, 2) if count else 0.0,
        "total_reconnects_24h": sum(s.reconnects + s.restarts for s in statuses),
    }
    if latencies:  # absent (not null) before any call was timed, as the contract types it a number
        stats["avg_response_time_ms"] = round(sum(latencies) / len(latencies), 3)
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
            **stats,
            "terminals_by_status": by_status,
            "most_problematic_terminals": [
                {
                    "terminal_id": s.terminal_id,
                    "symbol": primary_symbol(s),
                    "errors": s.errors,
                    "restarts": s.restarts,
                    "reconnects": s.reconnects,
                    "last_error": s.last_error or "",
                    # The original service's names for these two.
                    "reconnect_count": s.reconnects,
                    "uptime": s.uptime_pct,
                }
                for s in troubled[:_PROBLEMATIC_LISTED]
            ],
        },
    }
