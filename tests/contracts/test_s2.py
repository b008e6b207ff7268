"""The account bridge's sync service (S2), unchanged but for its key, against a live gateway.

It reads the bridge paths every five minutes and the sync health, and runs a manual sync with the
admin key as a bearer token (``shared/contracts/s2.md``).
"""

from __future__ import annotations

from .conftest import ContractGateway
from .documents import S2, check


def test_the_sync_service_reads_every_bridge_path(contract_gateway: ContractGateway) -> None:
    with contract_gateway.s2() as client:
        health = client.get("/api/mt5/bridge/health").json()
        summary = client.get("/api/mt5/accounts/summary").json()
        check(health, S2["bridge_health"])
        check(summary, S2["accounts_summary"])
        # The store behind the bridge is the mirror here; "mongodb" is the design's name for it.
        assert health["store"]["kind"] == "account_mirror" and health["store"]["connected"] is True
        assert health["mongodb"]["connected"] is True
        for item in summary["accounts"]:
            assert item["account"] == item["account_id"] == item["login"]
        login = summary["accounts"][0]["account"]
        info = client.get(f"/api/mt5/account/{login}/info").json()
        balance = client.get(f"/api/mt5/account/{login}/balance").json()
        trades = client.get(f"/api/mt5/account/{login}/trades")
    check(info, S2["account_info"])
    check(balance, S2["account_balance"])
    assert trades.status_code == 200 and isinstance(trades.json()["deals"], list)


def test_a_manual_sync_then_the_health_in_the_designs_words(contract_gateway: ContractGateway) -> None:
    with contract_gateway.s2() as client:
        login = client.get("/api/mt5/accounts/summary").json()["accounts"][0]["account"]
        before = client.get(f"/api/mt5/account/{login}/info").json()["stored_data"]
    with contract_gateway.admin(bearer=True) as admin:
        synced = admin.post("/api/admin/sync-from-vps").json()
        health = admin.get("/api/admin/mt5-health").json()
    check(synced, S2["manual_sync"])
    check(health, S2["mt5_health"])
    total = synced["total_accounts"]
    assert health["last_sync"]["accounts_synced"] == f"{synced['accounts_synced']}/{total}"
    # The machine-readable fields stay beside the design's phrases.
    assert health["last_sync"]["accounts_ok"] == synced["accounts_synced"]
    assert health["data_freshness"]["age_seconds"] is not None
    assert health["data_freshness"]["oldest_update_at"] is not None
    with contract_gateway.s2() as client:
        after = client.get(f"/api/mt5/account/{login}/info").json()
    check(after, S2["account_info"])
    # Before the first sync the mirror had no copy: still an object, its fields empty, and why.
    assert before["balance"] is None and "no copy" in before["reason"]
    assert after["stored_data"]["balance"] == after["live_data"]["balance"]
