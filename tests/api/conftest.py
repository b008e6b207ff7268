"""A real gateway for the API tests (``tests.live.served``): the pool's 15 simulated workers.

The server runs its own event loop in a background thread; tests talk to it over HTTP with httpx
and reach the pool (simulator faults, worker pids) through ``LiveGateway.run``. One server per test
module: starting 15 worker processes takes a few seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI

from mt5gateway.api import ApiKeyConfig, GatewayConfig, create_app, load_settings
from mt5gateway.api.deps import Gateway
from mt5gateway.api.keys import generate_key, hash_key
from mt5gateway.pool import default_pool_config
from tests.live import served

T = TypeVar("T")


@dataclass
class LiveGateway:
    """A running gateway: its URL, keys by role, app and the loop it runs on."""

    base_url: str
    keys: dict[str, str]
    app: FastAPI
    loop: asyncio.AbstractEventLoop

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.app.state.gateway
        return gateway

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coroutine`` on the server's loop (pool calls must happen there) and wait."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def client(self, role: str | None = None, **headers: str) -> httpx.Client:
        """An HTTP client sending the key of ``role`` (``admin`` sends the admin header)."""
        sent = dict(headers)
        if role == "admin":
            sent["X-Admin-API-Key"] = self.keys["admin"]
        elif role is not None:
            sent["X-API-Key"] = self.keys[role]
        return httpx.Client(base_url=self.base_url, headers=sent, timeout=30.0)


def _key(name: str, key: str, **fields: Any) -> ApiKeyConfig:
    return ApiKeyConfig(name=name, hash=hash_key(key), **fields)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    keys = {role: generate_key() for role in ("free", "pro", "trusted", "all", "limited", "noscope", "admin")}
    settings = load_settings(
        None,
        host="127.0.0.1",
        admin_key_hash=hash_key(keys["admin"]),
        rate_limit={"per_minute": 1_000_000, "burst": 100_000},
        journal_path=tmp_path_factory.mktemp("api-gateway") / "journal.sqlite",
        keys=(
            _key("free", keys["free"], tier="FREE"),
            _key("pro", keys["pro"], tier="PRO"),
            _key("web", keys["trusted"], tier="FREE", trusted=True),
            _key(
                "all", keys["all"], tier="FREE", trusted=True, scopes=("market", "accounts", "trade", "data")
            ),
            _key("limited", keys["limited"], tier="PRO", rate_limit_per_minute=60, rate_limit_burst=10),
            _key("noscope", keys["noscope"], tier="PRO", scopes=("accounts",)),
        ),
    )
    # A killed worker stays down long enough for a test to see it (the admin restart brings it back).
    pool = default_pool_config(backoff_initial=60.0, backoff_max=120.0)
    app = create_app(GatewayConfig(api=settings, pool=pool))
    with served(app) as server:
        yield LiveGateway(server.base_url, keys, app, server.loop)
