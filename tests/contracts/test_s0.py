"""The tiered indicator service's client (S0), unchanged but for its key, against a live gateway.

Every answer is validated against the S0 OpenAPI file's own schemas (read from the shared folder).
The deliberate differences (docs/api.md): 400 / 404 / 503 where S0 answered 500, each declared in
our OpenAPI with the same error body fields.
"""

from __future__ import annotations

import pytest

from .conftest import ContractGateway
from .documents import check, s0_schema

FREE_SYMBOLS = ["BTCUSD", "EURUSD", "USDJPY", "US30", "XAUUSD"]


def test_health_is_the_contracts_health(contract_gateway: ContractGateway) -> None:
    with contract_gateway.s0() as client:
        body = client.get("/api/health").json()
    check(body, s0_schema("HealthResponse"))
    assert body["total_terminals"] == 15 and len(body["terminals"]) == 15


@pytest.mark.parametrize(("tier", "symbols", "timeframes"), [("FREE", 5, 3), ("PRO", 15, 9)])
def test_symbols_and_timeframes_by_the_users_tier(
    contract_gateway: ContractGateway, tier: str, symbols: int, timeframes: int
) -> None:
    with contract_gateway.s0(tier) as client:
        listed = client.get("/api/symbols").json()
        frames = client.get("/api/timeframes").json()
    check(listed, s0_schema("SymbolsResponse"))
    check(frames, s0_schema("TimeframesResponse"))
    assert (listed["tier"], len(listed["symbols"]), len(frames["timeframes"])) == (tier, symbols, timeframes)


def test_indicators_validate_and_a_points_index_lands_on_its_bar(contract_gateway: ContractGateway) -> None:
    """As the contract's example reads them: ohlc newest first, ``ohlc[point.index]`` the point's bar."""
    with contract_gateway.s0("PRO") as client:
        body = client.get("/api/indicators/XAUUSD/H1", params={"bars": 1000}).json()
    check(body, s0_schema("IndicatorDataResponse"))
    data = body["data"]
    ohlc = data["ohlc"]
    assert data["metadata"]["series_order"] == "newest_first"
    assert ohlc[0]["time"] > ohlc[1]["time"]  # the example's order: the most recent bar first
    times = [bar["time"] for bar in ohlc]
    for kind, extreme in (("peaks", "high"), ("bottoms", "low")):
        for fractal in data["fractals"][kind]:
            bar = ohlc[times.index(fractal["time"])]
            assert bar[extreme] == fractal["price"]
    lines = [points for points in (*data["horizontal"].values(), *data["diagonal"].values()) if points]
    assert lines, "1,000 H1 bars give at least one line"
    for points in lines:
        # Each line starts at the newest bar (index 0) and has one point per bar back to its anchor.
        assert [point["index"] for point in points] == list(range(len(points)))
        anchor = points[-1]
        assert anchor["index"] < len(ohlc)
        bar = ohlc[anchor["index"]]
        # A line's first anchor is a fractal: its value there is that bar's high or low.
        assert anchor["value"] in (bar["high"], bar["low"]) or anchor["index"] == len(ohlc) - 1


def test_tier_refusals_carry_both_accessible_lists(contract_gateway: ContractGateway) -> None:
    with contract_gateway.s0("FREE") as client:
        symbol = client.get("/api/indicators/AUDJPY/H1")
        timeframe = client.get("/api/indicators/EURUSD/M5")
    for refused in (symbol, timeframe):
        assert refused.status_code == 403
        body = refused.json()
        check(body, s0_schema("AccessDeniedResponse"))
        assert body["accessible_symbols"] == FREE_SYMBOLS
        assert body["accessible_timeframes"] == ["H1", "H4", "D1"]
        assert body["upgrade_required"] is True
    assert symbol.json()["error"] == "FREE tier cannot access AUDJPY"
    assert timeframe.json()["error"] == "FREE tier cannot access M5 timeframe"


def test_deliberate_differences_answer_with_the_contracts_error_body(
    contract_gateway: ContractGateway,
) -> None:
    """S0 answered 500 for these; ours are 400 and 404 with the same success/error fields."""
    with contract_gateway.s0("PRO") as client:
        timeframe = client.get("/api/indicators/XAUUSD/M1")
        symbol = client.get("/api/indicators/NOPE/H1")
        bars = client.get("/api/indicators/XAUUSD/H1", params={"bars": 50})
    for response, status in ((timeframe, 400), (symbol, 404), (bars, 400)):
        assert response.status_code == status
        check(response.json(), s0_schema("ErrorResponse"))
    assert timeframe.json()["error"].startswith("Invalid timeframe M1. Valid options M5, M15")


def test_a_missing_or_wrong_key_is_the_contracts_unauthorized(contract_gateway: ContractGateway) -> None:
    with contract_gateway.s0() as client:
        for headers in ({"X-API-Key": ""}, {"X-API-Key": "wrong"}):
            response = client.get("/api/symbols", headers=headers)
            assert response.status_code == 401
            body = response.json()
            check(body, s0_schema("ErrorResponse"))
            assert body["error"] == "Unauthorized"


def test_admin_endpoints_validate_and_refuse_other_keys_with_403(contract_gateway: ContractGateway) -> None:
    with contract_gateway.admin() as admin:
        health = admin.get("/api/admin/terminals/health").json()
        stats = admin.get("/api/admin/terminals/stats").json()
        logs = admin.get("/api/admin/terminals/MT5_15/logs", params={"lines": 20}).json()
        unknown = admin.get("/api/admin/terminals/MT5_99/logs")
    check(health, s0_schema("AdminHealthResponse"))
    for entry in health["terminals"].values():
        assert isinstance(entry["last_error"], str) and isinstance(entry["last_check"], str)
    check(stats, s0_schema("TerminalStatsResponse"))
    check(logs, s0_schema("TerminalLogsResponse"))
    assert unknown.status_code == 404
    check(unknown.json(), s0_schema("ErrorResponse"))
    with contract_gateway.s0() as client:
        for headers in ({}, {"X-Admin-API-Key": "wrong"}):
            refused = client.get("/api/admin/terminals/health", headers=headers)
            assert refused.status_code == 403
            check(refused.json(), s0_schema("ErrorResponse"))


def test_a_restarted_terminal_answers_the_contracts_restart_shape(contract_gateway: ContractGateway) -> None:
    with contract_gateway.admin() as admin:
        restarted = admin.post("/api/admin/terminals/MT5_15/restart").json()
        stats = admin.get("/api/admin/terminals/stats").json()
    check(restarted, s0_schema("TerminalRestartResponse"))
    assert restarted["success"] is True and restarted["symbol"] == "XAUUSD"
    # The restarted terminal is among the most problematic, with the contract's fields.
    check(stats, s0_schema("TerminalStatsResponse"))
    listed = {item["terminal_id"]: item for item in stats["stats"]["most_problematic_terminals"]}
    assert {"reconnect_count", "uptime"} <= set(listed["MT5_15"])
