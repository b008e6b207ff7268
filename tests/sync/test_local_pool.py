"""The worker inside a gateway (``local_pool``): it copies its own pool's accounts, and the bridge's
``stored_data`` reads the mirror."""

from __future__ import annotations

from pathlib import Path

from mt5gateway.sync import SyncSettings
from tests.trading.gateway import EUR_ACCOUNT, HEDGING, NETTING, build_app, live_gateway


def test_local_pool_source_and_stored_data(tmp_path: Path) -> None:
    settings = SyncSettings(
        database_url=f"sqlite:///{tmp_path / 'mirror.sqlite'}", local_pool=True, schedule=False
    )
    app = build_app(tmp_path / "broker.sqlite", tmp_path / "journal.sqlite", sync=settings)
    worker = app.state.gateway.sync
    with live_gateway(app) as live, live.client("viewer") as client:
        before = client.get(f"/api/mt5/account/{HEDGING}/info").json()["stored_data"]
        assert before["balance"] is None and "no copy" in before["reason"]
        run = live.run(worker.run_cycle())
        info = client.get(f"/api/mt5/account/{HEDGING}/info").json()
    assert (run.status, run.accounts_ok) == ("success", 3)
    rows = worker.mirror.accounts()
    assert [row["login"] for row in rows] == [HEDGING, NETTING, EUR_ACCOUNT]
    assert {(row["synced_from_gateway"], row["data_source"]) for row in rows} == {("local", "LIVE")}
    stored = info["stored_data"]
    assert (stored["login"], stored["data_source"], stored["freshness"]) == (HEDGING, "LIVE", "fresh")
    assert stored["balance"] == info["live_data"]["balance"]
