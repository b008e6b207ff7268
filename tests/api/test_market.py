"""Market endpoints over HTTP on the 15 simulated terminals: shapes, tiers, refusals, the cache."""

from __future__ import annotations

import time

import pytest

from .conftest import LiveGateway

FREE_SYMBOLS = ["BTCUSD", "EURUSD", "USDJPY", "US30", "XAUUSD"]
PRO_TIMEFRAMES = ["M5", "M15", "M30", "H1", "H2", "H4", "H8", "H12", "D1"]


def test_health_is_public_and_lists_terminals_by_symbol(live: LiveGateway) -> None:
    with live.client() as client:
        response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["status"] == "ok", body["terminals"]
    assert body["version"]
    assert (body["total_terminals"], body["connected_terminals"]) == (15, 15)
    assert len(body["terminals"]) == 15
    assert body["terminals"]["EURUSD"]["terminal_id"] == "MT5_05"
    assert body["terminals"]["EURUSD"]["connected"] is True
    assert "last_check" in body["terminals"]["EURUSD"]


@pytest.mark.parametrize(
    "path", ["/api/symbols", "/api/timeframes", "/api/indicators/EURUSD/H1", "/api/quotes"]
)
def test_missing_or_wrong_key_is_unauthorized(live: LiveGateway, path: str) -> None:
    with live.client() as client:
        missing = client.get(path)
        wrong = client.get(path, headers={"X-API-Key": "mt5gw_not-a-key"})
        admin_as_client = client.get(path, headers={"X-API-Key": live.keys["admin"]})
    for response in (missing, wrong, admin_as_client):
        assert response.status_code == 401
        assert response.json() == {"success": False, "error": "Unauthorized", "code": "unauthorized"}


def test_key_without_market_scope_is_forbidden(live: LiveGateway) -> None:
    with live.client("noscope") as client:
        response = client.get("/api/symbols")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_symbols_and_timeframes_follow_the_tier(live: LiveGateway) -> None:
    with live.client("free") as free, live.client("pro") as pro:
        assert free.get("/api/symbols").json() == {"success": True, "tier": "FREE", "symbols": FREE_SYMBOLS}
        assert free.get("/api/timeframes").json() == {
            "success": True,
            "tier": "FREE",
            "timeframes": ["H1", "H4", "D1"],
        }
        pro_symbols = pro.get("/api/symbols").json()
        assert pro_symbols["tier"] == "PRO"
        assert len(pro_symbols["symbols"]) == 15
        assert pro.get("/api/timeframes").json()["timeframes"] == PRO_TIMEFRAMES


def test_indicators_shape(live: LiveGateway) -> None:
    with live.client("free") as client:
        response = client.get("/api/indicators/EURUSD/H1", params={"bars": 300})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    ohlc = data["ohlc"]
    assert len(ohlc) == 300
    assert set(ohlc[0]) == {"time", "open", "high", "low", "close", "volume"}
    # Newest first, as the original contract's example: ohlc[point["index"]] is a point's bar.
    assert [bar["time"] for bar in ohlc] == sorted((bar["time"] for bar in ohlc), reverse=True)
    assert all(bar["low"] <= min(bar["open"], bar["close"]) <= bar["high"] for bar in ohlc)
    assert set(data["horizontal"]) == {"peak_1", "peak_2", "peak_3", "bottom_1", "bottom_2", "bottom_3"}
    assert set(data["diagonal"]) == {f"{kind}_{n}" for kind in ("ascending", "descending") for n in (1, 2, 3)}
    lines = [*data["horizontal"].values(), *data["diagonal"].values()]
    assert any(lines), "a 300-bar H1 series should give at least one line"
    for points in lines:
        if points:
            assert set(points[0]) == {"index", "value"}
            assert [p["index"] for p in points] == list(range(len(points)))
    times = {bar["time"] for bar in ohlc}
    for kind in ("peaks", "bottoms"):
        assert data["fractals"][kind], f"300 bars should hold {kind}"
        assert all(point["time"] in times for point in data["fractals"][kind])
    metadata = data["metadata"]
    assert metadata["symbol"] == "EURUSD"
    assert metadata["timeframe"] == "H1"
    assert metadata["tier"] == "FREE"
    assert metadata["bars_returned"] == 300
    assert metadata["terminal_id"] == "MT5_05"
    assert metadata["generated_at"].endswith("Z")
    assert metadata["series_order"] == "newest_first"


def test_indicators_accept_overlay_parameters(live: LiveGateway) -> None:
    path = "/api/indicators/GBPUSD/M15"
    with live.client("pro") as client:
        tuned = client.get(path, params={"bars": 100, "window": 11, "tolerance_mode": "atr"})
        even_window = client.get(path, params={"window": 4})
        mismatched = client.get(path, params={"proximity_bands": "0.1,1,5"})
        unknown = client.get(path, params={"colour": "red"})
    assert tuned.status_code == 200
    assert len(tuned.json()["data"]["ohlc"]) == 100
    for response in (even_window, mismatched, unknown):
        assert response.status_code == 400
        assert response.json()["code"] == "bad_request"
    assert "window" in even_window.json()["error"]
    assert "proximity" in mismatched.json()["error"]


def test_cached_indicator_is_served_without_recomputing(live: LiveGateway) -> None:
    cache = live.gateway.market.cache
    with live.client("free") as client:
        client.get("/api/indicators/XAUUSD/D1", params={"bars": 150})
        hits = cache.stats.hits
        misses = cache.stats.misses
        first = client.get("/api/indicators/XAUUSD/D1", params={"bars": 150})
        second = client.get("/api/indicators/XAUUSD/D1", params={"bars": 150})
    assert first.status_code == second.status_code == 200
    # A tick may land between two requests (XAUUSD trades on weekdays), so count outcomes: at least
    # one of the two was served from the cache, and bytes only differ when one was recomputed.
    served_from_cache = cache.stats.hits - hits
    recomputed = cache.stats.misses - misses
    assert served_from_cache + recomputed == 2
    assert served_from_cache >= 1
    if recomputed == 0:
        assert first.content == second.content
    assert first.headers["content-encoding"] == "gzip"  # httpx asks for it and decodes it


def test_indicators_without_gzip_are_plain_json(live: LiveGateway) -> None:
    with live.client("free", **{"Accept-Encoding": "identity"}) as client:
        plain = client.get("/api/indicators/XAUUSD/D1", params={"bars": 150})
    with live.client("free", **{"Accept-Encoding": "gzip;q=0, br"}) as client:
        refused = client.get("/api/indicators/XAUUSD/D1", params={"bars": 150})
    for response in (plain, refused):
        assert "content-encoding" not in response.headers
        assert response.json()["data"]["metadata"]["bars_returned"] == 150


def test_a_tick_makes_the_cached_response_stale(live: LiveGateway) -> None:
    cache = live.gateway.market.cache
    path = "/api/indicators/BTCUSD/H1"  # crypto ticks around the clock
    deadline = time.monotonic() + 20
    with live.client("free") as client:
        first = client.get(path, params={"bars": 100}).json()["data"]["metadata"]["generated_at"]
        misses = cache.stats.misses
        while cache.stats.misses == misses:
            assert time.monotonic() < deadline, "no BTCUSD tick reached the cache in 20 s"
            time.sleep(0.2)
            latest = client.get(path, params={"bars": 100}).json()["data"]["metadata"]["generated_at"]
    assert latest != first


def test_cached_response_still_checks_key_tier_and_counts_metrics(live: LiveGateway) -> None:
    path = "/api/indicators/AUDJPY/H4"
    with live.client("pro") as pro:
        warm = pro.get(path, params={"bars": 120})
        hits = live.gateway.market.cache.stats.hits
        again = pro.get(path, params={"bars": 120})
    assert warm.status_code == again.status_code == 200
    assert live.gateway.market.cache.stats.hits > hits
    with live.client("free") as free, live.client() as anonymous:
        refused = free.get(path, params={"bars": 120})
        unauthorized = anonymous.get(path, params={"bars": 120})
        metrics = anonymous.get("/metrics").text
    assert refused.status_code == 403
    assert refused.json()["tier"] == "FREE"
    assert unauthorized.status_code == 401
    assert 'route="/api/indicators/{symbol}/{timeframe}",status="200"' in metrics


def test_indicator_bars_joined_from_a_fresh_tail_match_a_full_fetch(live: LiveGateway) -> None:
    path = "/api/indicators/NZDUSD/H2"
    with live.client("pro") as client:
        client.get(path, params={"bars": 100})  # fetches and keeps the minimum history (449 bars)
        joined = client.get(path, params={"bars": 400}).json()["data"]["ohlc"]  # kept bars + a tail
        full = {
            bar["time"]: bar
            for bar in client.get("/api/bars/NZDUSD/H2", params={"count": 400}).json()["bars"]
        }
    assert len(joined) == 400
    compared = 0
    for bar in joined[:-1]:  # the forming bar may have moved since
        if bar["time"] in full:
            reference = full[bar["time"]]
            assert (bar["open"], bar["high"], bar["low"], bar["close"], bar["volume"]) == (
                reference["open"],
                reference["high"],
                reference["low"],
                reference["close"],
                reference["tick_volume"],
            )
            compared += 1
    assert compared >= 397


def test_free_tier_is_refused_pro_symbol(live: LiveGateway) -> None:
    with live.client("free") as client:
        response = client.get("/api/indicators/AUDJPY/H1")
    assert response.status_code == 403
    body = response.json()
    assert body["success"] is False
    assert body["error"] == "FREE tier cannot access AUDJPY"
    assert body["tier"] == "FREE"
    assert body["accessible_symbols"] == FREE_SYMBOLS
    assert body["upgrade_required"] is True
    assert body["code"] == "tier_denied"


def test_free_tier_is_refused_pro_timeframe(live: LiveGateway) -> None:
    with live.client("free") as client:
        response = client.get("/api/indicators/EURUSD/M5")
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "FREE tier cannot access M5 timeframe"
    assert body["accessible_timeframes"] == ["H1", "H4", "D1"]
    assert body["upgrade_required"] is True
    assert body["code"] == "tier_denied"


def test_unknown_timeframe_and_symbol(live: LiveGateway) -> None:
    with live.client("pro") as client:
        timeframe = client.get("/api/indicators/EURUSD/M1")
        symbol = client.get("/api/indicators/NOSUCH/H1")
        bars = client.get("/api/bars/NOSUCH/H1")
    assert timeframe.status_code == 400
    assert (
        timeframe.json()["error"]
        == "Invalid timeframe M1. Valid options M5, M15, M30, H1, H2, H4, H8, H12, D1"
    )
    assert timeframe.json()["code"] == "invalid_timeframe"
    for response in (symbol, bars):
        assert response.status_code == 404
        assert response.json()["code"] == "symbol_not_found"


def test_bars_out_of_range_is_a_clear_400(live: LiveGateway) -> None:
    with live.client("free") as client:
        few = client.get("/api/indicators/EURUSD/H1", params={"bars": 50})
        many = client.get("/api/indicators/EURUSD/H1", params={"bars": 5001})
        text = client.get("/api/indicators/EURUSD/H1", params={"bars": "lots"})
    for response in (few, many, text):
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "invalid_request"
        assert body["field"] == "bars"
        assert body["error"].startswith("Invalid bars:")


def test_untrusted_key_cannot_raise_its_tier(live: LiveGateway) -> None:
    with live.client("free", **{"X-User-Tier": "PRO"}) as client:
        symbols = client.get("/api/symbols").json()
        refused = client.get("/api/indicators/AUDJPY/M5")
    assert symbols["tier"] == "FREE"
    assert refused.status_code == 403
    assert refused.json()["tier"] == "FREE"


def test_trusted_key_passes_the_user_tier(live: LiveGateway) -> None:
    with live.client("trusted", **{"X-User-Tier": "PRO"}) as pro_user:
        response = pro_user.get("/api/indicators/AUDJPY/M5", params={"bars": 100})
        assert response.status_code == 200
        assert response.json()["data"]["metadata"]["tier"] == "PRO"
    with live.client("trusted") as anonymous:
        assert anonymous.get("/api/symbols").json()["tier"] == "FREE"
        assert anonymous.get("/api/indicators/AUDJPY/M5").status_code == 403
    with live.client("trusted", **{"X-User-Tier": "GOLD"}) as unknown:
        response = unknown.get("/api/symbols")
        assert response.status_code == 400
        assert response.json()["error"] == "Unknown tier GOLD. Valid options FREE, PRO"


def test_bars_newest_count_and_range(live: LiveGateway) -> None:
    with live.client("pro") as client:
        newest = client.get("/api/bars/AUDUSD/M15", params={"count": 10}).json()
        bars = newest["bars"]
        assert newest["success"] is True
        assert (newest["symbol"], newest["timeframe"], newest["terminal_id"]) == ("AUDUSD", "M15", "MT5_02")
        assert newest["count"] == len(bars) == 10
        assert list(bars[0]) == [
            "time",
            "open",
            "high",
            "low",
            "close",
            "tick_volume",
            "spread",
            "real_volume",
        ]
        first, last = bars[0]["time"], bars[-1]["time"]
        ranged = client.get("/api/bars/AUDUSD/M15", params={"from": first, "to": last}).json()
        assert [bar["time"] for bar in ranged["bars"]] == [bar["time"] for bar in bars]
        up_to = client.get("/api/bars/AUDUSD/M15", params={"to": last, "count": 3}).json()
        assert [bar["time"] for bar in up_to["bars"]] == [bar["time"] for bar in bars[-3:]]
        lone_from = client.get("/api/bars/AUDUSD/M15", params={"from": first})
        assert lone_from.status_code == 400
        assert lone_from.json()["field"] == "to"


def test_bars_and_ticks_are_tier_checked(live: LiveGateway) -> None:
    with live.client("free") as client:
        assert client.get("/api/bars/AUDUSD/H1").status_code == 403
        assert client.get("/api/bars/EURUSD/M30").status_code == 403
        assert client.get("/api/ticks/AUDUSD").status_code == 403
        assert client.get("/api/quotes", params={"symbols": "EURUSD,AUDUSD"}).status_code == 403


def test_ticks_newest_and_from(live: LiveGateway) -> None:
    with live.client("free") as client:
        newest = client.get("/api/ticks/BTCUSD", params={"count": 5}).json()
        assert newest["success"] is True
        assert newest["terminal_id"] == "MT5_03"
        assert 1 <= newest["count"] <= 5
        ticks = newest["ticks"]
        assert list(ticks[0]) == ["time", "bid", "ask", "last", "volume", "time_msc", "flags", "volume_real"]
        assert [t["time_msc"] for t in ticks] == sorted(t["time_msc"] for t in ticks)
        start = ticks[0]["time"]
        following = client.get("/api/ticks/BTCUSD", params={"from": start, "count": 3}).json()
        assert following["count"] == 3
        assert following["ticks"][0]["time"] >= start


def test_quotes_default_to_the_tier_symbols(live: LiveGateway) -> None:
    with live.client("free") as client:
        body = client.get("/api/quotes").json()
        chosen = client.get("/api/quotes", params={"symbols": "eurusd"}).json()
    assert body["success"] is True
    assert sorted(body["quotes"]) == sorted(FREE_SYMBOLS)
    assert body["errors"] == {}
    quote = body["quotes"]["EURUSD"]
    assert quote["terminal_id"] == "MT5_05"
    assert quote["bid"] <= quote["ask"]
    assert list(chosen["quotes"]) == ["EURUSD"]


def test_unknown_path_is_json_404(live: LiveGateway) -> None:
    with live.client("free") as client:
        response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "Not Found", "code": "not_found"}


def test_rate_limit_gives_429_with_retry_after(live: LiveGateway) -> None:
    with live.client("limited") as client:
        statuses = [client.get("/api/symbols") for _ in range(80)]
    refused = [r for r in statuses if r.status_code == 429]
    assert len(refused) >= 60, "a burst of 10 at 60 per minute must refuse most of 80 quick requests"
    assert int(refused[0].headers["Retry-After"]) >= 1
    assert refused[0].json()["code"] == "rate_limited"
