"""A lightweight stand-in for a gateway's three account paths, for scale (bench) and for answers the
simulated gateway does not give (``stored_data`` only).

It serves ``GET /api/health``, ``GET /api/accounts`` and ``GET /api/mt5/account/{login}/info`` in
the gateway's shapes for ``accounts`` logins from ``first_login``, each answer after
``latency_ms`` (a terminal's time). With ``stored_only`` the info path answers as a gateway whose
terminal is down but which holds a stored copy (``live_data: null``). Figures are a pure function of
the login, so a test can say what was sent. ``python -m tests.sync.lite_gateway --ports P1,P2,...``
serves one such gateway per port in one process until killed.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

import orjson
import uvicorn

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

LITE_KEY = "mt5gw_lite_gateway_key"


def figures(login: int) -> dict[str, Any]:
    """What this stand-in reports for ``login``."""
    balance = float(1_000 + login % 997 * 10)
    return {
        "balance": balance,
        "equity": balance + 1.5,
        "profit": 1.5,
        "margin": 10.0,
        "margin_free": balance - 8.5,
        "margin_level": (balance + 1.5) / 10.0 * 100,
        "leverage": 100,
        "currency": "USD",
        "trade_allowed": True,
    }


class LiteGateway:
    """An ASGI app answering the account paths for a range of logins."""

    def __init__(
        self, *, first_login: int, accounts: int, latency_ms: float = 0.0, stored_only: bool = False
    ) -> None:
        self.logins = range(first_login, first_login + accounts)
        self.latency = latency_ms / 1000.0
        self.stored_only = stored_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        status, body = await self._answer(scope)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": orjson.dumps(body)})

    async def _answer(self, scope: Scope) -> tuple[int, dict[str, Any]]:
        path: str = scope["path"]
        if path == "/api/health":
            return 200, {"status": "ok"}
        if dict(scope["headers"]).get(b"x-api-key") != LITE_KEY.encode():
            return 401, {"success": False, "error": "Unauthorized", "code": "unauthorized"}
        if path == "/api/accounts":
            accounts = [
                {"login": login, "terminal_id": "LITE", "server": "Lite-Demo"} for login in self.logins
            ]
            return 200, {"success": True, "count": len(accounts), "accounts": accounts}
        parts = path.strip("/").split("/")
        if len(parts) == 5 and parts[:3] == ["api", "mt5", "account"] and parts[4] == "info":
            login = int(parts[3])
            if login not in self.logins:
                return 404, {
                    "success": False,
                    "error": f"unknown account {login}",
                    "code": "account_not_found",
                }
            await asyncio.sleep(self.latency)
            now = datetime.now(UTC).isoformat()
            if self.stored_only:
                stored = {**figures(login), "updated_at": "2026-01-02T03:04:05+00:00"}
                return 200, {"success": True, "account_id": login, "live_data": None, "stored_data": stored}
            return 200, {
                "success": True,
                "account_id": login,
                "live_data": figures(login),
                "stored_data": None,
                "metadata": {"terminal_id": "LITE", "fetched_at": now},
            }
        return 404, {"success": False, "error": "not found", "code": "not_found"}


async def serve(ports: list[int], *, accounts: int, latency_ms: float) -> None:
    """One lite gateway per port (logins 7_000_000 + 10_000 x index ...), until cancelled."""
    servers = [
        uvicorn.Server(
            uvicorn.Config(
                LiteGateway(first_login=7_000_000 + 10_000 * index, accounts=accounts, latency_ms=latency_ms),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                access_log=False,
                loop="asyncio",
            )
        )
        for index, port in enumerate(ports)
    ]
    await asyncio.gather(*(server.serve() for server in servers))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ports", required=True, help="comma-separated ports, one gateway each")
    parser.add_argument("--accounts", type=int, default=100, help="accounts per gateway")
    parser.add_argument("--latency-ms", type=float, default=2.0, help="time of each info answer")
    args = parser.parse_args()
    asyncio.run(
        serve([int(p) for p in args.ports.split(",")], accounts=args.accounts, latency_ms=args.latency_ms)
    )


if __name__ == "__main__":
    main()
