"""A database that does not answer is a 503 with Retry-After, never a 500."""

from __future__ import annotations

import httpx

from mt5gateway.api import GatewayConfig, create_app, load_settings
from mt5gateway.api.keys import generate_key, hash_key
from mt5gateway.pool.config import parse_pool_config


async def test_data_endpoint_with_the_database_down_is_503() -> None:
    admin = generate_key()
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    settings = load_settings(
        None, admin_key_hash=hash_key(admin), store_url="postgresql+psycopg://nobody@127.0.0.1:1/none"
    )
    pool = parse_pool_config({"terminals": [{"id": "T1", "symbols": ["EURUSD"]}]}, source="t")
    app = create_app(GatewayConfig(api=settings, pool=pool))  # never started: statistics only read the store
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        response = await client.get("/api/data/statistics", headers={"X-Admin-API-Key": admin})
    body = response.json()
    assert (response.status_code, body["code"], body["success"]) == (503, "store_unavailable", False)
    assert int(response.headers["Retry-After"]) > 0
