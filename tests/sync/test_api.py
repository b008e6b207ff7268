"""The sync routes on a gateway app (keys, shapes), the bridge's stored-data lookup, the schedule."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from mt5gateway.api import ApiKeyConfig, GatewayConfig, create_app, load_settings
from mt5gateway.api.keys import hash_key
from mt5gateway.pool.config import parse_pool_config
from mt5gateway.sync import AccountMeta, ManualClock, SyncSettings, SyncWorker, stored_lookup

from .conftest import sync_settings
from .gateway import ADMIN_KEY, LOGINS, VIEWER_KEY, GatewayProcess

MARKET_ONLY_KEY = "mt5gw_sync_test_market_only"


ONE_TERMINAL = parse_pool_config({"terminals": [{"id": "MT5_01", "symbols": ["EURUSD"]}]}, source="tests")


def back_office_app(sync: SyncSettings, clock: ManualClock) -> FastAPI:
    """A back office's gateway app with a mirror (its pool never started: these routes do not use it)."""
    settings = load_settings(
        None,
        admin_key_hash=hash_key(ADMIN_KEY),
        keys=(
            ApiKeyConfig(name="viewer", hash=hash_key(VIEWER_KEY), scopes=("accounts",)),
            ApiKeyConfig(name="market", hash=hash_key(MARKET_ONLY_KEY), scopes=("market",)),
        ),
    )
    return create_app(GatewayConfig(api=settings, pool=ONE_TERMINAL, sync=sync), clock=clock)


@pytest.fixture
async def api(
    mirror_url: str, gateway: GatewayProcess, clock: ManualClock
) -> AsyncIterator[httpx.AsyncClient]:
    meta = {5000001: AccountMeta(client_id="C-1", name="Alice"), 5000004: AccountMeta(client_id="C-1")}
    app = back_office_app(sync_settings(mirror_url, gateway, accounts=meta), clock)
    worker: SyncWorker = app.state.gateway.sync
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://back-office") as client:
        yield client
    await worker.stop()
    worker.mirror.close()


async def test_manual_sync_and_health_shapes(api: httpx.AsyncClient) -> None:
    assert (await api.post("/api/admin/sync-from-vps")).status_code == 403
    assert (await api.get("/api/admin/mt5-health", headers={"X-API-Key": VIEWER_KEY})).status_code == 403

    response = await api.post("/api/admin/sync-from-vps", headers={"X-Admin-API-Key": ADMIN_KEY})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "accounts_synced", "total_accounts", "duration"}
    assert (body["status"], body["accounts_synced"], body["total_accounts"]) == ("success", 7, 7)
    assert 0 < body["duration"] < 5

    health = (await api.get("/api/admin/mt5-health", headers={"X-Admin-API-Key": ADMIN_KEY})).json()
    assert health["status"] == "healthy"
    assert health["vps_api"]["reachable"] is True and health["vps_api"]["response_time"] > 0
    assert health["data_freshness"]["staleness"] == "fresh"
    assert health["last_sync"]["success"] is True and health["last_sync"]["accounts_synced"] == "7/7"
    assert health["last_sync"]["accounts_ok"] == health["last_sync"]["total_accounts"] == 7
    assert (
        health["data_freshness"]["oldest_update"].endswith("ago")
        or health["data_freshness"]["oldest_update"] == "now"
    )
    assert health["issues"] == []


async def test_cache_routes_need_the_accounts_scope_and_show_age(api: httpx.AsyncClient) -> None:
    await api.post("/api/admin/sync-from-vps", headers={"X-Admin-API-Key": ADMIN_KEY})
    assert (await api.get("/api/cache/accounts")).status_code == 401
    assert (await api.get("/api/cache/accounts", headers={"X-API-Key": MARKET_ONLY_KEY})).status_code == 403

    viewer = {"X-API-Key": VIEWER_KEY}
    listing = (await api.get("/api/cache/accounts", headers=viewer)).json()
    assert [a["login"] for a in listing["accounts"]] == list(LOGINS)
    one = (await api.get("/api/cache/accounts/5000001", headers=viewer)).json()["account"]
    assert (one["freshness"], one["data_source"], one["name"], one["client_id"]) == (
        "fresh",
        "LIVE",
        "Alice",
        "C-1",
    )
    assert one["age_seconds"] == 0.0 and one["balance"] > 0
    missing = await api.get("/api/cache/accounts/4999999", headers=viewer)
    assert (missing.status_code, missing.json()["code"]) == (404, "account_not_found")
    assert (await api.get(f"/api/cache/accounts/{2**64}", headers=viewer)).status_code == 400

    client = (await api.get("/api/clients/C-1/accounts", headers=viewer)).json()
    assert [a["login"] for a in client["accounts"]] == [5000001, 5000004]
    assert (await api.get("/api/clients/C-9/accounts", headers=viewer)).status_code == 404


async def test_routes_answer_404_when_no_mirror_is_configured() -> None:
    settings = load_settings(
        None, keys=(ApiKeyConfig(name="v", hash=hash_key(VIEWER_KEY), scopes=("accounts",)),)
    )
    app = create_app(GatewayConfig(api=settings, pool=ONE_TERMINAL))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
        response = await client.get("/api/cache/accounts", headers={"X-API-Key": VIEWER_KEY})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


async def test_stored_lookup_gives_the_bridge_the_mirror_copy(worker: SyncWorker) -> None:
    lookup = stored_lookup(worker)
    assert await lookup(5000002) is None
    await worker.run_cycle()
    stored = await lookup(5000002)
    assert stored is not None
    assert (stored["login"], stored["data_source"], stored["freshness"]) == (5000002, "LIVE", "fresh")


async def test_concurrent_triggers_share_one_cycle(worker: SyncWorker) -> None:
    first, second = await asyncio.gather(worker.run_cycle("manual"), worker.run_cycle("schedule"))
    assert first is second
    assert len(worker.mirror.runs()) == 1
    third = await worker.run_cycle()
    assert third is not first and len(worker.mirror.runs()) == 2


async def test_schedule_runs_at_minute_1_6_11_and_its_job_syncs(worker: SyncWorker) -> None:
    worker.start()
    next_run = worker.next_run_time()
    assert next_run is not None
    assert datetime.fromisoformat(next_run).minute % 5 == 1
    # Bring the scheduled job forward instead of waiting for the minute: the same job runs.
    assert worker._scheduler is not None
    worker._scheduler.get_job("sync-cycle").modify(next_run_time=datetime.now(UTC))
    for _ in range(200):
        if worker.mirror.runs():
            break
        await asyncio.sleep(0.05)
    (run,) = worker.mirror.runs()
    assert (run["trigger"], run["status"], run["accounts_ok"]) == ("schedule", "success", 7)
