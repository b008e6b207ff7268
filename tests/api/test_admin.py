"""Admin endpoints, metrics, and a terminal that goes down: 503 for its symbol only, then a restart."""

from __future__ import annotations

import os
import signal
import time

from .conftest import LiveGateway

DOWN_TERMINAL, DOWN_SYMBOL = "MT5_10", "US30"


def test_admin_needs_the_admin_key(live: LiveGateway) -> None:
    """403 with the original contract's error body, as the original service answered."""
    wrong_bearer = {"Authorization": f"Bearer {live.keys['pro']}"}
    with live.client() as anonymous, live.client("pro") as client_key, live.client(**wrong_bearer) as bearer:
        for client in (anonymous, client_key, bearer):
            for method, path in (
                ("GET", "/api/admin/terminals/health"),
                ("GET", "/api/admin/terminals/stats"),
                ("GET", "/api/admin/terminals/MT5_01/logs"),
                ("POST", "/api/admin/terminals/MT5_01/restart"),
                ("POST", "/api/admin/terminals/restart-all"),
            ):
                response = client.request(method, path)
                assert response.status_code == 403, path
                body = response.json()
                assert body["success"] is False and body["code"] == "admin_required"
                assert body["error"].startswith("Admin access required")


def test_admin_takes_the_admin_key_as_a_bearer_token(live: LiveGateway) -> None:
    with live.client(Authorization=f"Bearer {live.keys['admin']}") as client:
        response = client.get("/api/admin/terminals/stats")
    assert response.status_code == 200 and response.json()["success"] is True


def test_admin_health_adds_uptime_pid_and_latency(live: LiveGateway) -> None:
    with live.client("admin") as client:
        body = client.get("/api/admin/terminals/health").json()
    assert body["success"] is True, body
    assert body["total_terminals"] == 15
    entry = body["terminals"]["EURUSD"]
    assert entry["terminal_id"] == "MT5_05"
    assert entry["connected"] is True
    assert isinstance(entry["pid"], int)
    assert 0 <= entry["uptime_percentage"] <= 100
    for field in ("reconnect_count", "last_error", "latency_p50_ms", "latency_p99_ms"):
        assert field in entry


def test_admin_logs_and_their_bounds(live: LiveGateway) -> None:
    with live.client("admin") as client:
        body = client.get("/api/admin/terminals/MT5_05/logs", params={"lines": 5}).json()
        too_many = client.get("/api/admin/terminals/MT5_05/logs", params={"lines": 1001})
        unknown = client.get("/api/admin/terminals/MT5_99/logs")
    assert body["success"] is True
    assert (body["terminal_id"], body["symbol"]) == ("MT5_05", "EURUSD")
    assert 1 <= len(body["logs"]) <= 5
    assert set(body["logs"][0]) == {"timestamp", "level", "message"}
    assert too_many.status_code == 400
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "terminal_not_found"


def test_admin_stats_shape(live: LiveGateway) -> None:
    with live.client("free") as client:
        assert client.get("/api/bars/EURUSD/H1", params={"count": 5}).status_code == 200  # a timed call
    with live.client("admin") as client:
        stats = client.get("/api/admin/terminals/stats").json()["stats"]
    assert stats["terminals_by_status"] == {"connected": 15, "disconnected": 0, "reconnecting": 0}
    assert 0 <= stats["total_uptime_percentage"] <= 100
    assert stats["total_reconnects_24h"] >= 0
    assert isinstance(stats["most_problematic_terminals"], list)
    assert stats["avg_response_time_ms"] > 0


def test_metrics_count_requests_by_route(live: LiveGateway) -> None:
    with live.client("free") as client:
        client.get("/api/bars/EURUSD/H1", params={"count": 5})
        text = client.get("/metrics").text
    assert (
        'mt5gw_http_requests_total{method="GET",route="/api/bars/{symbol}/{timeframe}",status="200"}' in text
    )
    assert "mt5gw_http_request_duration_seconds_bucket" in text
    assert 'mt5gw_terminal_up{symbol="EURUSD",terminal_id="MT5_05"} 1.0' in text
    assert 'mt5gw_terminal_restarts_total{terminal_id="MT5_05"}' in text


def test_restart_one_terminal(live: LiveGateway) -> None:
    with live.client("admin") as client:
        body = client.post("/api/admin/terminals/MT5_07/restart").json()
        unknown = client.post("/api/admin/terminals/MT5_99/restart")
    assert body["success"], body
    assert body == {
        "success": True,
        "message": "Terminal MT5_07 restarted",
        "terminal_id": "MT5_07",
        "symbol": "GBPUSD",
        "connected": True,
    }
    assert unknown.status_code == 404


def _wait_until(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


def test_down_terminal_gives_503_for_its_symbol_only(live: LiveGateway) -> None:
    pid = live.gateway.pool.status(DOWN_TERMINAL).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _wait_until(lambda: live.gateway.pool.status(DOWN_TERMINAL).status != "up")
    with live.client("free") as client:
        down = client.get(f"/api/indicators/{DOWN_SYMBOL}/H1")
        bars = client.get(f"/api/bars/{DOWN_SYMBOL}/H1")
        other = client.get("/api/indicators/EURUSD/H1", params={"bars": 100})
        quotes = client.get("/api/quotes").json()
        health = client.get("/api/health").json()
    for response in (down, bars):
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) >= 1
        body = response.json()
        assert body["terminal_id"] == DOWN_TERMINAL
        assert body["code"] == "terminal_unavailable"
    assert other.status_code == 200
    assert list(quotes["errors"]) == [DOWN_SYMBOL]
    assert len(quotes["quotes"]) == 4
    assert health["status"] == "degraded"
    assert health["connected_terminals"] == 14
    assert health["terminals"][DOWN_SYMBOL]["connected"] is False
    assert health["terminals"][DOWN_SYMBOL]["error"]


def test_health_is_503_when_every_terminal_is_down(live: LiveGateway) -> None:
    pool = live.gateway.pool
    for status in pool.statuses():
        if status.pid is not None and status.status == "up":
            os.kill(status.pid, signal.SIGKILL)
    _wait_until(lambda: all(s.status != "up" for s in pool.statuses()))
    with live.client() as client:
        response = client.get("/api/health")
    assert response.status_code == 503
    body = response.json()
    assert (body["success"], body["status"], body["connected_terminals"]) == (False, "error", 0)
    assert body["code"] == "no_terminal_connected"
    assert all(entry["connected"] is False for entry in body["terminals"].values())


def test_restart_all_brings_every_terminal_back(live: LiveGateway) -> None:
    with live.client("admin") as client:
        body = client.post("/api/admin/terminals/restart-all").json()
        stats = client.get("/api/admin/terminals/stats").json()["stats"]
    assert body["success"] is True
    assert (body["total_terminals"], body["successful_restarts"], body["failed_restarts"]) == (15, 15, 0)
    assert {r["terminal_id"] for r in body["results"]} == {f"MT5_{i:02d}" for i in range(1, 16)}
    assert stats["terminals_by_status"]["connected"] == 15
    assert len(stats["most_problematic_terminals"]) == 5
    with live.client("free") as client:
        assert client.get(f"/api/indicators/{DOWN_SYMBOL}/H1", params={"bars": 100}).status_code == 200
