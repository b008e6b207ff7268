"""A real gateway for the API tests: uvicorn on a free loopback port, the pool's 15 simulated workers.

The server runs its own event loop in a background thread; tests talk to it over HTTP with httpx
and reach the pool (simulator faults, worker pids) through ``LiveGateway.run``. One server per test
module: starting 15 worker processes takes a few seconds.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from mt5gateway.api import ApiKeyConfig, create_app, load_settings
from mt5gateway.api.deps import Gateway
from mt5gateway.api.keys import generate_key, hash_key
from mt5gateway.pool import TerminalPool, default_pool_config

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


def _every_terminal_up(live: LiveGateway, pool: TerminalPool, deadline: float) -> None:
    """Wait until all 15 terminals are up; one whose start failed is restarted now, not after the
    fixture's long backoff. A CI machine starting two 15-worker pools at once (one per test
    process) can miss a worker's connect deadline."""
    restarted: set[str] = set()
    while not all(status.status == "up" for status in pool.statuses()):
        for status in pool.statuses():
            if status.status == "down" and status.terminal_id not in restarted:
                restarted.add(status.terminal_id)
                live.run(pool.restart(status.terminal_id))
        if time.monotonic() > deadline:
            states = {s.terminal_id: (s.status, s.last_error) for s in pool.statuses() if s.status != "up"}
            raise RuntimeError(f"terminals not up: {states}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def live() -> Iterator[LiveGateway]:
    keys = {role: generate_key() for role in ("free", "pro", "trusted", "limited", "noscope", "admin")}
    settings = load_settings(
        None,
        host="127.0.0.1",
        admin_key_hash=hash_key(keys["admin"]),
        rate_limit={"per_minute": 1_000_000, "burst": 100_000},
        keys=(
            _key("free", keys["free"], tier="FREE"),
            _key("pro", keys["pro"], tier="PRO"),
            _key("web", keys["trusted"], tier="FREE", trusted=True),
            _key("limited", keys["limited"], tier="PRO", rate_limit_per_minute=60, rate_limit_burst=10),
            _key("noscope", keys["noscope"], tier="PRO", scopes=("accounts",)),
        ),
    )
    # A killed worker stays down long enough for a test to see it (the admin restart brings it back).
    pool = TerminalPool(default_pool_config(backoff_initial=60.0, backoff_max=120.0))
    app = create_app(settings, pool)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=lambda: loop.run_until_complete(server.serve(sockets=[sock])), name="gateway", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 90
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start")
        time.sleep(0.05)
    live = LiveGateway(f"http://127.0.0.1:{port}", keys, app, loop)
    try:
        _every_terminal_up(live, pool, deadline)
        yield live
    finally:
        server.should_exit = True
        thread.join(60)
        loop.close()
        sock.close()
