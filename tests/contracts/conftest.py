"""A live gateway as the original services' clients meet it: the default 15 simulated terminals and
the account mirror inside (``[sync]`` over its own pool), with one key per original client.

- ``web``: the tiered indicator service's client (S0), a Next.js backend: a trusted key passing
  ``X-User-Tier``, scope ``market``;
- ``sync``: the account bridge's sync service (S2), scope ``accounts``;
- ``bot``: an MT5 Bridge Microservice client (S4), PRO, scopes ``market``, ``accounts``, ``trade``,
  sending its key as ``Authorization: Bearer``;
- ``admin``: the admin key.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mt5gateway.api import ApiKeyConfig, GatewayConfig, create_app, load_settings
from mt5gateway.api.keys import generate_key, hash_key
from mt5gateway.pool import default_pool_config
from mt5gateway.sync import SyncSettings
from tests.api.conftest import LiveGateway
from tests.live import served


class ContractGateway(LiveGateway):
    """The running gateway, its keys by client, and a client as each original service's would be."""

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")

    def s0(self, tier: str | None = None) -> httpx.Client:
        """The S0 client: its key, and its user's tier when it has one."""
        headers = {"X-API-Key": self.keys["web"]} | ({"X-User-Tier": tier} if tier else {})
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)

    def s2(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"X-API-Key": self.keys["sync"]}, timeout=60)

    def s4(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys['bot']}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)

    def admin(self, *, bearer: bool = False) -> httpx.Client:
        key = self.keys["admin"]
        headers = {"Authorization": f"Bearer {key}"} if bearer else {"X-Admin-API-Key": key}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def contract_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContractGateway]:
    folder = tmp_path_factory.mktemp("contracts")
    keys = {role: generate_key() for role in ("web", "sync", "bot", "admin")}
    settings = load_settings(
        None,
        host="127.0.0.1",
        admin_key_hash=hash_key(keys["admin"]),
        rate_limit={"per_minute": 1_000_000, "burst": 100_000},
        journal_path=folder / "journal.sqlite",
        store_url=f"sqlite:///{folder / 'store.sqlite'}",
        keys=(
            ApiKeyConfig(name="web", hash=hash_key(keys["web"]), tier="FREE", trusted=True),
            ApiKeyConfig(name="sync", hash=hash_key(keys["sync"]), tier="FREE", scopes=("accounts",)),
            ApiKeyConfig(
                name="bot", hash=hash_key(keys["bot"]), tier="PRO", scopes=("market", "accounts", "trade")
            ),
        ),
    )
    sync = SyncSettings(database_url=f"sqlite:///{folder / 'mirror.sqlite'}", local_pool=True, schedule=False)
    pool = default_pool_config(sim={"broker_db": str(folder / "broker.sqlite")})
    app = create_app(GatewayConfig(api=settings, pool=pool, sync=sync))
    with served(app) as server:
        yield ContractGateway(server.base_url, keys, app, server.loop)
