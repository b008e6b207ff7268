"""Account views over HTTP on simulated terminals: every endpoint's shape, switching, refusals."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from mt5gateway.accounts import history_window
from mt5gateway.sim.markettime import ServerTime
from mt5gateway.terminal import AccountInfo, TradeDeal, TradeOrder, TradePosition
from tests.trading.gateway import EUR_ACCOUNT, HEDGING, NETTING, Live


def place(live: Live, login: int, volume: float = 0.01) -> int:
    response = live.client().post(
        "/api/orders",
        json={"symbol": "BTCUSD", "side": "buy", "volume": volume, "login": login},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 200, response.text
    order: int = response.json()["result"]["order"]
    return order


def test_accounts_lists_logins_with_terminal_and_server(live: Live) -> None:
    body = live.client("viewer").get("/api/accounts").json()
    assert body["success"] is True
    assert body["accounts"] == [
        {"login": HEDGING, "terminal_id": "MT5_03", "server": "MT5Sim-Demo"},
        {"login": NETTING, "terminal_id": "MT5_03", "server": "MT5Sim-Demo"},
        {"login": EUR_ACCOUNT, "terminal_id": "MT5_04", "server": "MT5Sim-Demo"},
    ]


def test_account_has_every_account_info_field_and_where_it_came_from(live: Live) -> None:
    body = live.client("viewer").get(f"/api/accounts/{EUR_ACCOUNT}").json()
    account = body["account"]
    assert set(AccountInfo._fields) <= set(account)
    assert account["login"] == EUR_ACCOUNT and account["currency"] == "EUR"
    assert account["terminal_id"] == "MT5_04"
    assert datetime.fromisoformat(account["fetched_at"]) > datetime.now(UTC) - timedelta(minutes=1)
    assert body["metadata"]["terminal_id"] == "MT5_04"


def test_switching_accounts_on_one_terminal_reports_its_cost(live: Live) -> None:
    client = live.client("viewer")
    assert client.get(f"/api/accounts/{HEDGING}").json()["account"]["login"] == HEDGING
    switched = client.get(f"/api/accounts/{NETTING}").json()
    assert switched["account"]["login"] == NETTING
    assert switched["metadata"]["login_switch_ms"] > 0
    again = client.get(f"/api/accounts/{NETTING}").json()
    assert again["metadata"]["login_switch_ms"] == 0


def test_unknown_login_is_404_and_market_key_is_403(live: Live) -> None:
    missing = live.client("viewer").get("/api/accounts/999")
    assert missing.status_code == 404 and missing.json()["code"] == "account_not_found"
    assert live.client("pro").get(f"/api/accounts/{HEDGING}").status_code == 403
    assert live.client("pro").get("/api/mt5/accounts/summary").status_code == 403


def test_positions_orders_deals_and_history_after_a_trade(live: Live) -> None:
    order = place(live, NETTING, volume=0.02)
    client = live.client("viewer")
    positions = client.get(f"/api/accounts/{NETTING}/positions").json()
    assert positions["count"] >= 1 and set(TradePosition._fields) == set(positions["positions"][0])
    assert positions["metadata"]["login"] == NETTING
    pending = client.get(f"/api/accounts/{NETTING}/orders").json()
    assert pending["success"] is True and pending["orders"] == []

    deals = client.get(f"/api/accounts/{NETTING}/deals").json()
    ours = [d for d in deals["deals"] if d["order"] == order]
    assert len(ours) == 1 and set(TradeDeal._fields) == set(ours[0])
    history = client.get(f"/api/accounts/{NETTING}/history/orders").json()
    assert [o["ticket"] for o in history["orders"] if o["ticket"] == order] == [order]
    assert set(TradeOrder._fields) == set(history["orders"][0])

    last_year = {"from": "2025-01-01T00:00:00Z", "to": "2025-01-02T00:00:00Z"}
    assert client.get(f"/api/accounts/{NETTING}/deals", params=last_year).json()["deals"] == []
    server_now = ServerTime().from_utc_msc(int(datetime.now(UTC).timestamp() * 1000)) // 1000
    epoch_window = {"from": server_now - 3600, "to": server_now + 3600}  # deal times are server times
    in_window = client.get(f"/api/accounts/{NETTING}/deals", params=epoch_window).json()
    assert any(d["order"] == order for d in in_window["deals"])


def test_bridge_paths_keep_their_shapes(live: Live) -> None:
    client = live.client("viewer")
    health = client.get("/api/mt5/bridge/health").json()
    assert health["status"] == "healthy" and health["mt5"]["available"] is True
    assert set(health["mt5"]["terminal_info"]) == {"connected", "trade_allowed", "name", "company", "build"}
    datetime.fromisoformat(health["timestamp"])

    summary = client.get("/api/mt5/accounts/summary").json()
    assert [a["account_id"] for a in summary["accounts"]] == [HEDGING, NETTING, EUR_ACCOUNT]
    assert all(a["balance"] > 0 and a["terminal_id"] for a in summary["accounts"])

    info = client.get(f"/api/mt5/account/{HEDGING}/info").json()
    assert info["account_id"] == HEDGING and info["stored_data"]["reason"].startswith("no account mirror")
    assert set(info["live_data"]) == {
        "balance",
        "equity",
        "profit",
        "margin",
        "margin_free",
        "margin_level",
        "leverage",
        "currency",
        "trade_allowed",
    }
    balance = client.get(f"/api/mt5/account/{HEDGING}/balance").json()
    assert balance["account_id"] == HEDGING and balance["currency"] == "USD" and "equity" in balance

    order = place(live, HEDGING)
    trades = client.get(f"/api/mt5/account/{HEDGING}/trades").json()
    assert any(p["ticket"] == order for p in trades["positions"])
    assert any(d["order"] == order for d in trades["deals"])
    assert client.get("/api/mt5/account/999/info").status_code == 404


def test_a_restarted_terminal_is_switched_again(live: Live) -> None:
    client = live.client("viewer")
    assert client.get(f"/api/accounts/{NETTING}").json()["account"]["login"] == NETTING
    pool = live.bridge.pool
    live.run(pool.restart("MT5_03"))  # the new worker logs into its configured account, HEDGING
    deadline = time.monotonic() + 30
    while pool.status("MT5_03").status != "up":
        assert time.monotonic() < deadline, "MT5_03 did not come back"
        time.sleep(0.05)
    again = client.get(f"/api/accounts/{NETTING}").json()
    assert again["account"]["login"] == NETTING
    assert again["metadata"]["login_switch_ms"] > 0


def test_history_window_reads_a_time_without_zone_as_utc() -> None:
    # The terminal would read a naive datetime in its host's zone; the API's times are UTC.
    start, end = history_window(datetime(2025, 1, 1), datetime(2025, 1, 2, tzinfo=UTC))
    assert start == datetime(2025, 1, 1, tzinfo=UTC) and start.tzinfo is UTC
    assert end == datetime(2025, 1, 2, tzinfo=UTC)
    start, end = history_window(None, None)
    assert start.tzinfo is UTC and end.tzinfo is UTC
