"""A real gateway serving 7 simulated accounts, run as its own process so that tests can kill it.

Three simulated terminals share one broker file seeded with 7 accounts: MT5_03 (BTCUSD) hosts
5000001, 5000002 and 5000005 (it switches accounts), MT5_04 (ETHUSD) hosts 5000003, 5000004 and
5000006, MT5_05 (XAUUSD) hosts 5000007 alone, so taking MT5_05 down leaves the other six up.
``python -m tests.sync.gateway --port P --broker-db F --journal J`` serves it until killed; it
adds two test-only routes: ``GET /test/ready`` (every terminal up) and
``POST /test/sim/{terminal_id}/{action}`` (a simulator control: ``disconnect``, ``clear``, ...).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from mt5gateway.api import ApiKeyConfig, GatewayConfig, create_app, load_settings
from mt5gateway.api.keys import hash_key
from mt5gateway.pool import TerminalPool
from mt5gateway.pool.config import parse_pool_config
from mt5gateway.sim.broker import DEFAULT_ACCOUNTS, AccountConfig, Broker
from mt5gateway.sim.clock import SystemClock
from mt5gateway.sim.market import Market
from mt5gateway.sim.symbols import DEFAULT_SYMBOLS

EXTRA_ACCOUNTS = (
    AccountConfig(login=5000005, password="demo5", name="Sync Five", balance=25_000.0),
    AccountConfig(login=5000006, password="demo6", name="Sync Six", balance=50_000.0, leverage=200),
    AccountConfig(login=5000007, password="demo7", name="Sync Seven", currency="EUR", balance=7_000.0),
)
LOGINS = tuple(sorted(a.login for a in (*DEFAULT_ACCOUNTS, *EXTRA_ACCOUNTS)))
LONE_TERMINAL, LONE_LOGIN = "MT5_05", 5000007
TRADER_KEY = "mt5gw_sync_test_trader_key"
VIEWER_KEY = "mt5gw_sync_test_viewer_key"
ADMIN_KEY = "mt5gw_sync_test_admin_key"


def seed_broker(broker_db: Path) -> None:
    """Create the broker file with the 7 accounts (accounts already in it are kept)."""
    market = Market(DEFAULT_SYMBOLS, seed=0, clock=SystemClock())
    Broker(market, db_path=str(broker_db), accounts=(*DEFAULT_ACCOUNTS, *EXTRA_ACCOUNTS)).close()


def build_app(broker_db: Path, journal: Path) -> FastAPI:
    """The gateway over the three terminals, with the bridge and the test routes."""
    settings = load_settings(
        None,
        host="127.0.0.1",
        rate_limit={"per_minute": 10_000_000, "burst": 1_000_000},
        admin_key_hash=hash_key(ADMIN_KEY),
        journal_path=journal,
        keys=(
            ApiKeyConfig(name="trader", hash=hash_key(TRADER_KEY), tier="PRO", scopes=("accounts", "trade")),
            ApiKeyConfig(name="viewer", hash=hash_key(VIEWER_KEY), tier="PRO", scopes=("accounts",)),
        ),
    )
    pool_config = parse_pool_config(
        {
            "terminals": [
                {
                    "id": "MT5_03",
                    "symbols": ["BTCUSD"],
                    "login": 5000001,
                    "accounts": [5000001, 5000002, 5000005],
                },
                {
                    "id": "MT5_04",
                    "symbols": ["ETHUSD"],
                    "login": 5000003,
                    "accounts": [5000003, 5000004, 5000006],
                },
                {"id": LONE_TERMINAL, "symbols": ["XAUUSD"], "login": LONE_LOGIN},
            ],
            "sim": {"broker_db": str(broker_db)},
            "backoff_initial": 0.2,
            "backoff_max": 1.0,
        },
        source="tests.sync",
    )
    app = create_app(GatewayConfig(api=settings, pool=pool_config))
    pool: TerminalPool = app.state.gateway.pool

    @app.get("/test/ready")
    async def ready() -> dict[str, bool]:
        return {"ready": all(status.status == "up" for status in pool.statuses())}

    @app.post("/test/sim/{terminal_id}/{action}")
    async def sim_control(
        terminal_id: str, action: str, kwargs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return {"result": repr(await pool.sim_control(terminal_id, action, **(kwargs or {})))}

    return app


@dataclass
class GatewayProcess:
    """The gateway's process: start, kill (SIGKILL: no goodbye), start again on the same port."""

    port: int
    broker_db: Path
    journal: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        root = Path(__file__).resolve().parents[2]
        command = [sys.executable, "-m", "tests.sync.gateway", "--port", str(self.port)]
        command += ["--broker-db", str(self.broker_db), "--journal", str(self.journal)]
        # A session of its own: a kill takes the terminal workers with it, as when a VPS's gateway dies.
        self.process = subprocess.Popen(
            command, cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the test gateway exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/test/ready", timeout=1.0).json()["ready"]:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the test gateway did not become ready")

    def kill(self) -> None:
        """SIGKILL the gateway and its terminal workers (its process group)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(30)
        self.kill()  # whatever of its group is left

    def sim(self, terminal_id: str, action: str, **kwargs: Any) -> None:
        response = httpx.post(
            f"{self.url}/test/sim/{terminal_id}/{action}", json=kwargs or None, timeout=30.0
        )
        response.raise_for_status()

    def client(self, key: str = TRADER_KEY) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key}, timeout=30.0)


@contextmanager
def gateway_process(folder: Path, port: int) -> Iterator[GatewayProcess]:
    """A started test gateway, stopped when the block ends."""
    gateway = GatewayProcess(port, folder / "broker.sqlite", folder / "journal.sqlite")
    seed_broker(gateway.broker_db)
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()


def main() -> None:
    """Serve the test gateway on ``--port`` until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--broker-db", type=Path, required=True)
    parser.add_argument("--journal", type=Path, required=True)
    args = parser.parse_args()
    app = build_app(args.broker_db, args.journal)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, loop="asyncio")


if __name__ == "__main__":
    main()
