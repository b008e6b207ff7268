"""A real gateway with the bridge for the trading, accounts and streams tests (and bench_trading).

``live_gateway`` runs uvicorn on a free loopback port in a background thread, over two simulated
terminals sharing one broker file: MT5_03 (BTCUSD, accounts 5000001 and 5000002: a terminal that
switches accounts) and MT5_04 (ETHUSD, account 5000003). Crypto trades at weekends, so the tests
do not depend on the day they run. Run as a module it serves the same gateway in this process
until killed: the tests kill it mid-send and start it again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI

from mt5gateway.accounts.bridge import Bridge
from mt5gateway.api import ApiKeyConfig, GatewayConfig, create_app, load_settings
from mt5gateway.api.deps import Gateway
from mt5gateway.api.keys import hash_key
from mt5gateway.pool import TerminalPool
from mt5gateway.pool.config import parse_pool_config
from mt5gateway.sync import SyncSettings
from tests.live import served

T = TypeVar("T")

HEDGING, NETTING, EUR_ACCOUNT = 5000001, 5000002, 5000003
# Fixed test keys: the subprocess gateway must accept the same ones.
KEYS = {
    "trader": "mt5gw_test_trader_key",
    "viewer": "mt5gw_test_viewer_key",
    "free": "mt5gw_test_free_market_key",
    "pro": "mt5gw_test_pro_market_key",
}


def pool_config(
    broker_db: Path, *, deadlines: dict[str, float] | None = None, backoff: tuple[float, float] = (0.2, 1.0)
) -> Any:
    return parse_pool_config(
        {
            "terminals": [
                {"id": "MT5_03", "symbols": ["BTCUSD"], "login": HEDGING, "accounts": [HEDGING, NETTING]},
                {"id": "MT5_04", "symbols": ["ETHUSD"], "login": EUR_ACCOUNT},
            ],
            "sim": {"broker_db": str(broker_db)},
            "deadlines": deadlines or {},
            "backoff_initial": backoff[0],
            "backoff_max": backoff[1],
        },
        source="tests",
    )


def build_app(
    broker_db: Path,
    journal: Path,
    *,
    deadlines: dict[str, float] | None = None,
    websocket: dict[str, float] | None = None,
    sync: SyncSettings | None = None,
    backoff: tuple[float, float] = (0.2, 1.0),
) -> FastAPI:
    """The test gateway; ``websocket`` is the ``[api.websocket]`` table, ``sync`` a mirror's settings,
    ``backoff`` the pool's first and longest restart delays."""
    settings = load_settings(
        None,
        host="127.0.0.1",
        rate_limit={"per_minute": 10_000_000, "burst": 1_000_000},
        journal_path=journal,
        account_poll_seconds=0.1,
        websocket=websocket or {},
        keys=(
            ApiKeyConfig(
                name="trader",
                hash=hash_key(KEYS["trader"]),
                tier="PRO",
                scopes=("market", "accounts", "trade"),
            ),
            ApiKeyConfig(name="viewer", hash=hash_key(KEYS["viewer"]), tier="PRO", scopes=("accounts",)),
            ApiKeyConfig(name="free", hash=hash_key(KEYS["free"]), tier="FREE", scopes=("market",)),
            ApiKeyConfig(name="pro", hash=hash_key(KEYS["pro"]), tier="PRO", scopes=("market",)),
        ),
    )
    return create_app(
        GatewayConfig(
            api=settings, pool=pool_config(broker_db, deadlines=deadlines, backoff=backoff), sync=sync
        )
    )


@dataclass
class Live:
    """A running gateway: its URL, app and event loop."""

    base_url: str
    app: FastAPI
    loop: asyncio.AbstractEventLoop

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/ws"

    @property
    def bridge(self) -> Bridge:
        gateway: Gateway = self.app.state.gateway
        return gateway.bridge

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coroutine`` on the server's loop (pool calls must happen there) and wait."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def client(self, role: str = "trader", **headers: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers={"X-API-Key": KEYS[role], **headers}, timeout=30.0
        )


@contextlib.contextmanager
def live_gateway(app: FastAPI) -> Iterator[Live]:
    """Serve ``app`` on a free port in a background thread until the block ends."""
    with served(app, start_timeout_s=60.0) as server:
        yield Live(server.base_url, app, server.loop)


def main() -> None:
    """Serve the test gateway on ``--port`` (used by the kill-mid-send test)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--broker-db", type=Path, required=True)
    parser.add_argument("--journal", type=Path, required=True)
    parser.add_argument("--latency", type=float, default=0.0, help="sim latency on MT5_03 once started")
    args = parser.parse_args()
    # Generous deadlines: with --latency every call (and each tick poll between calls) is slow.
    app = build_app(args.broker_db, args.journal, deadlines={"fast": 10.0, "history": 10.0, "trade": 10.0})

    @app.get("/test/ready")
    async def ready() -> dict[str, bool]:
        if args.latency:
            pool: TerminalPool = app.state.gateway.pool
            await pool.sim_control("MT5_03", "latency", seconds=args.latency)
        return {"ready": True}

    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, loop="asyncio")


if __name__ == "__main__":
    main()
