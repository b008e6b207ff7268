"""The sync worker against a real gateway process serving 7 simulated accounts, over HTTP."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from mt5gateway.sync import (
    AccountMeta,
    ManualClock,
    Mirror,
    RunRecord,
    SourceConfig,
    SyncSettings,
    SyncWorker,
)
from mt5gateway.sync.tables import BACKOFFICE_COLUMNS, FIGURE_COLUMNS
from tests.net import free_port

from .conftest import sync_settings, sync_worker
from .gateway import LOGINS, LONE_LOGIN, LONE_TERMINAL, TRADER_KEY, VIEWER_KEY, GatewayProcess
from .lite_gateway import LITE_KEY, LiteGateway, figures


def wait_until_served(gateway: GatewayProcess, login: int, timeout: float = 30.0) -> None:
    """Wait until the gateway answers for ``login`` again (a downed terminal is restarted by the pool)."""
    deadline = time.monotonic() + timeout
    with gateway.client(VIEWER_KEY) as client:
        while client.get(f"/api/mt5/account/{login}/info").status_code != 200:
            if time.monotonic() > deadline:
                raise AssertionError(f"account {login} is not served again")
            time.sleep(0.1)


def take_lone_terminal_down(gateway: GatewayProcess) -> None:
    """Disconnect the terminal hosting only LONE_LOGIN (once ready: the pool restarts it after a failure)."""
    wait_until_served(gateway, LONE_LOGIN)
    gateway.sim(LONE_TERMINAL, "disconnect")


async def test_cycle_copies_every_account_live(worker: SyncWorker, gateway: GatewayProcess) -> None:
    run = await worker.run_cycle()

    assert (run.status, run.accounts_ok, run.accounts_total, run.accounts_failed) == ("success", 7, 7, 0)
    rows = worker.mirror.accounts()
    assert [row["login"] for row in rows] == list(LOGINS)
    assert {row["data_source"] for row in rows} == {"LIVE"}
    assert {row["synced_from_gateway"] for row in rows} == {"vps-1"}
    assert all(worker.view(row)["freshness"] == "fresh" for row in rows)
    assert worker.mirror.runs(1)[0]["status"] == "success"


async def test_trade_shows_in_the_mirror_after_the_next_cycle(
    worker: SyncWorker, gateway: GatewayProcess
) -> None:
    login = 5000005
    await worker.run_cycle()
    before = worker.mirror.account(login)
    assert before is not None and before["margin"] == 0.0
    with gateway.client(TRADER_KEY) as client:
        placed = client.post(
            "/api/orders",
            json={"symbol": "BTCUSD", "side": "buy", "volume": 0.1, "login": login},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert placed.status_code in (200, 201), placed.text
        try:
            assert worker.mirror.account(login)["margin"] == 0.0  # type: ignore[index]
            await worker.run_cycle()
            after = worker.mirror.account(login)
            live = client.get(f"/api/accounts/{login}").json()["account"]
        finally:
            # Leave the account flat for the other tests (they compare figures that must stand still).
            for position in client.get(f"/api/accounts/{login}/positions").json()["positions"]:
                closed = client.delete(
                    f"/api/positions/{position['ticket']}",
                    params={"login": login},
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                )
                assert closed.status_code == 200, closed.text
    assert after is not None
    assert after["margin"] > 0.0
    assert after["margin"] == pytest.approx(live["margin"], rel=0.05)
    assert after["balance"] == before["balance"]


async def test_one_terminal_down_the_other_six_sync(
    worker: SyncWorker, gateway: GatewayProcess, caplog: pytest.LogCaptureFixture
) -> None:
    await worker.run_cycle()
    synced = worker.mirror.account(LONE_LOGIN)
    assert synced is not None
    caplog.set_level(logging.WARNING, logger="mt5gateway.sync")
    try:
        for cycle in range(1, 4):
            take_lone_terminal_down(gateway)
            run = await worker.run_cycle()
            assert (run.status, run.accounts_ok, run.accounts_failed) == ("partial", 6, 1)
            assert any(str(LONE_LOGIN) in error for error in run.errors)
            row = worker.mirror.account(LONE_LOGIN)
            assert row is not None and row["consecutive_failures"] == cycle
            # The copy it had stays as the gateway sent it, with its time: no figure is invented.
            assert {name: row[name] for name in (*FIGURE_COLUMNS, "synced_at")} == {
                name: synced[name] for name in (*FIGURE_COLUMNS, "synced_at")
            }
    finally:
        wait_until_served(gateway, LONE_LOGIN)

    logged = worker.mirror.runs(3)
    assert [r["accounts_failed"] for r in logged] == [1, 1, 1]
    assert all(any(str(LONE_LOGIN) in e for e in r["errors"]) for r in logged)
    alerts = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(alerts) == 1 and f"account {LONE_LOGIN} failed 3 cycles in a row" in alerts[0].getMessage()
    issues = worker.health()["issues"]
    assert [(i["kind"], i["login"], i["cycles"]) for i in issues] == [("account_failing", LONE_LOGIN, 3)]

    run = await worker.run_cycle()
    assert run.status == "success"
    assert worker.health()["issues"] == []


async def test_mirror_never_holds_a_value_the_gateway_did_not_send(
    mirror_url: str, gateway: GatewayProcess, clock: ManualClock
) -> None:
    config_only = 5999999  # in the back office's config, on no gateway
    meta = {
        5000001: AccountMeta(client_id="C-1", fund_type="growth", target_amount=150_000.0, name="Alice"),
        config_only: AccountMeta(client_id="C-2", name="Nobody's terminal"),
    }
    async with sync_worker(sync_settings(mirror_url, gateway, accounts=meta), clock) as worker:
        take_lone_terminal_down(gateway)
        try:
            await worker.run_cycle()
        finally:
            wait_until_served(gateway, LONE_LOGIN)
        with gateway.client(VIEWER_KEY) as client:
            sent = {login: client.get(f"/api/accounts/{login}").json()["account"] for login in LOGINS}
        rows = {row["login"]: row for row in worker.mirror.accounts()}

    assert set(rows) == {*LOGINS, config_only}
    never_answered = [rows[LONE_LOGIN], rows[config_only]]
    for row in never_answered:
        assert all(row[name] is None for name in FIGURE_COLUMNS), row
        assert row["synced_at"] is None and row["data_source"] is None
    for login in set(LOGINS) - {LONE_LOGIN}:
        # No positions are open on these accounts, so their figures are still the ones the sync got.
        assert {name: rows[login][name] for name in FIGURE_COLUMNS} == {
            name: sent[login][name] for name in FIGURE_COLUMNS
        }
    for login, account_meta in meta.items():
        assert {name: rows[login][name] for name in BACKOFFICE_COLUMNS} == account_meta.model_dump()


async def test_gateway_killed_cycles_skip_levels_age_and_recover(
    tmp_path: Path, postgres_url: str, gateway: GatewayProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """One kill serves two mirrors syncing from the gateway side by side: SQLite and PostgreSQL."""
    clock = ManualClock()
    urls = (f"sqlite:///{tmp_path / 'mirror.sqlite'}", postgres_url)
    workers = [SyncWorker(sync_settings(url, gateway), Mirror.open(url), clock=clock) for url in urls]

    async def cycle() -> list[RunRecord]:
        return list(await asyncio.gather(*(worker.run_cycle() for worker in workers)))

    def levels() -> set[str]:
        return {worker.view(row)["freshness"] for worker in workers for row in worker.mirror.accounts()}

    try:
        assert {run.status for run in await cycle()} == {"success"}
        caplog.set_level(logging.WARNING, logger="mt5gateway.sync")
        gateway.kill()
        try:
            seen = []
            for minutes in (6, 5, 5):  # 6, 11, 16 minutes after the last good cycle
                clock.advance(timedelta(minutes=minutes))
                for run in await cycle():
                    assert (run.status, run.accounts_total, run.gateways_down) == ("skipped", 0, 1)
                for worker in workers:
                    health = worker.states["vps-1"].last_health
                    assert health is not None and health.attempts == 4  # the first try and 3 retries
                    assert worker.health()["vps_api"]["reachable"] is False
                seen.append(levels())
            assert seen == [{"acceptable"}, {"degraded"}, {"critical"}]
            for worker in workers:
                health = worker.health()
                assert health["status"] == "critical" and health["data_freshness"]["staleness"] == "critical"
                assert [(i["kind"], i["cycles"]) for i in health["issues"]] == [("gateway_down", 3)]
                assert [r["status"] for r in worker.mirror.runs(3)] == ["skipped"] * 3
            alerts = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
            assert len(alerts) == 4 and all(
                "gateway vps-1 down" in a for a in alerts
            )  # cycles 2 and 3, twice
            with pytest.raises(httpx.ConnectError):
                httpx.get(gateway.url + "/api/health")
        finally:
            gateway.start()

        for run in await cycle():
            assert (run.status, run.accounts_ok) == ("success", 7)
        assert levels() == {"fresh"}
        for worker in workers:
            health = worker.health()
            assert health["status"] == "healthy" and health["issues"] == []
    finally:
        for worker in workers:
            await worker.stop()
            worker.mirror.close()


async def test_stored_only_answers_are_kept_as_stored(mirror_url: str, clock: ManualClock) -> None:
    """A gateway whose terminal is down but which holds a stored copy: the row says STORED, with its time."""
    port = free_port()
    app = LiteGateway(first_login=6_000_000, accounts=3, stored_only=True)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", loop="asyncio")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    source = SourceConfig(name="vps-stored", url=f"http://127.0.0.1:{port}", api_key=LITE_KEY)
    settings = SyncSettings(database_url=mirror_url, sources=(source,))
    try:
        async with sync_worker(settings, clock) as worker:
            run = await worker.run_cycle()
            rows = worker.mirror.accounts()
    finally:
        server.should_exit = True
        await serving
    assert (run.status, run.accounts_ok) == ("success", 3)
    for row in rows:
        assert row["data_source"] == "STORED"
        assert row["updated_at"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        assert {name: row[name] for name in FIGURE_COLUMNS} == figures(row["login"])


async def test_two_gateways_listing_the_same_logins_write_each_once(
    mirror_url: str, gateway: GatewayProcess, clock: ManualClock
) -> None:
    sources = [SourceConfig(name=name, url=gateway.url, api_key=VIEWER_KEY) for name in ("vps-a", "vps-b")]
    async with sync_worker(sync_settings(mirror_url, gateway, sources=sources), clock) as worker:
        run = await worker.run_cycle()
        rows = worker.mirror.accounts()
    assert (run.status, run.accounts_ok, run.accounts_total) == ("success", 7, 7)
    assert [row["login"] for row in rows] == list(LOGINS)
    assert {row["synced_from_gateway"] for row in rows} <= {"vps-a", "vps-b"}
