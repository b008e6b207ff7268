"""Technical-analysis endpoints over HTTP on the 15 simulated terminals: served values against direct
TA-Lib calls on the same bars, warm-up, tiers and scopes on every path, a 400 naming each bad spec."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import talib

from mt5gateway.ta import PATTERNS
from mt5gateway.ta.service import MAX_INDICATORS
from mt5gateway.terminal import constants as c

from .conftest import LiveGateway

FREE_SYMBOLS = ["BTCUSD", "EURUSD", "USDJPY", "US30", "XAUUSD"]
PATHS = [
    "/api/ta/functions",
    "/api/ta/EURUSD/H1?indicators=RSI",
    "/api/patterns",
    "/api/patterns/EURUSD/H1",
    "/api/scan?timeframe=H1&indicators=RSI<30",
]


def _rates(live: LiveGateway, symbol: str, timeframe: int, first: int, last: int) -> Any:
    """The terminal's bars from ``first`` to ``last`` (open times, inclusive), through the pool."""
    rates = live.run(
        live.gateway.pool.call_symbol(symbol, "copy_rates_range", symbol, timeframe, first, last)
    )
    assert rates is not None
    return rates


def _get(live: LiveGateway, role: str, path: str, **params: Any) -> Any:
    with live.client(role) as client:
        return client.get(path, params=params)


@pytest.mark.parametrize("path", PATHS)
def test_every_path_needs_a_key_with_the_market_scope(live: LiveGateway, path: str) -> None:
    with live.client() as anonymous, live.client("noscope") as noscope:
        assert anonymous.get(path).status_code == 401
        refused = noscope.get(path)
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"


def test_catalogue_lists_every_function_with_our_defaults_and_ranges(live: LiveGateway) -> None:
    body = _get(live, "free", "/api/ta/functions").json()
    functions = {f["name"]: f for f in body["functions"]}
    assert body["count"] == len(functions) == 173
    bbands = functions["BBANDS"]
    assert bbands["group"] == "Overlap Studies"
    assert bbands["inputs"] == ["close"]
    assert bbands["outputs"] == ["upperband", "middleband", "lowerband"]
    assert bbands["parameters"][0] == {
        "name": "timeperiod",
        "type": "int",
        "default": 20,
        "min": 2,
        "max": 100000,
        "description": "Time period",
    }
    assert bbands["parameters"][3]["default"] == "SMA"
    assert functions["APO"]["parameters"][2]["default"] == "EMA"
    assert functions["RSI"]["unstable"] is True
    assert functions["OBV"]["path_dependent"] is True
    patterns = _get(live, "free", "/api/patterns").json()
    assert patterns["count"] == 61
    assert {p["pattern"] for p in patterns["patterns"]} == set(PATTERNS)


def test_indicators_equal_direct_talib_calls_on_the_same_bars(live: LiveGateway) -> None:
    specs = "RSI(14),MACD(12,26,9),BBANDS(20,2,2),STOCH,OBV,CDLENGULFING,HT_SINE"
    response = _get(live, "pro", "/api/ta/EURUSD/H1", indicators=specs, bars=300)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["symbol"], body["timeframe"], body["tier"], body["bars"]) == ("EURUSD", "H1", "PRO", 300)
    times = body["time"]
    assert len(times) == 300 and times == sorted(times)
    history = body["computed_over"]
    rates = _rates(live, "EURUSD", c.TIMEFRAME_H1, history["from"], times[-1])
    assert len(rates) == history["bars"]
    assert list(rates["time"][-300:]) == times
    columns = {
        "open": rates["open"],
        "high": rates["high"],
        "low": rates["low"],
        "close": rates["close"],
        "volume": rates["tick_volume"].astype(np.float64),
    }
    assert [i["spec"] for i in body["indicators"]] == [
        "RSI(14)",
        "MACD(12,26,9)",
        "BBANDS(20,2,2,SMA)",
        "STOCH(5,3,SMA,3,SMA)",
        "OBV",
        "CDLENGULFING",
        "HT_SINE",
    ]
    for indicator in body["indicators"]:
        function = talib.abstract.Function(indicator["function"])
        function.set_parameters(indicator["parameters"])
        direct = function(columns)
        direct = direct if isinstance(direct, list) else [direct]
        assert list(indicator["outputs"]) == function.output_names
        # enough history was fetched: every returned bar is past the warm-up
        assert history["bars"] >= 300 + indicator["warmup_bars"]
        for values, expected in zip(indicator["outputs"].values(), direct, strict=True):
            assert None not in values
            # the forming (last) bar may have ticked since: every closed bar, bit for bit
            np.testing.assert_array_equal(np.array(values[:-1], dtype=np.float64), expected[-300:-1])


def test_keyword_specs_outputs_and_warmup_are_reported(live: LiveGateway) -> None:
    body = _get(
        live,
        "pro",
        "/api/ta/XAUUSD/M15",
        indicators=["BBANDS(timeperiod=20,nbdevup=2)", "MACD.macdhist"],
        bars=50,
    ).json()
    bbands, hist = body["indicators"]
    assert bbands["spec"] == "BBANDS(20,2,2,SMA)"
    assert bbands["parameters"] == {"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 2.0, "matype": 0}
    assert (bbands["lookback"], bbands["warmup_bars"]) == (19, 19)
    assert hist["spec"] == "MACD(12,26,9).macdhist"
    assert list(hist["outputs"]) == ["macdhist"]
    assert (hist["lookback"], hist["warmup_bars"]) == (33, 303)
    assert len(hist["outputs"]["macdhist"]) == 50


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"indicators": "RSX(14)"}, "Unknown indicator RSX (did you mean RSI?)"),
        ({"indicators": "RSI(1)"}, "RSI parameter timeperiod must be between 2 and 100000, got 1"),
        ({"indicators": "RSI(fast)"}, "RSI parameter timeperiod must be a number"),
        ({"indicators": "RSI(14"}, "Malformed indicator list 'RSI(14'"),
        ({"indicators": "MACD.hist"}, "MACD has no output hist"),
        ({"indicators": "EMA(9000)"}, "EMA(9000) needs 54004 bars of warm-up"),
        (
            {"indicators": ",".join(f"SMA({n})" for n in range(2, 3 + MAX_INDICATORS))},
            "21 indicators asked; at most 20",
        ),
        ({}, "indicators is required"),
        ({"indicators": "RSI", "bars": 0}, "Invalid bars"),
    ],
)
def test_bad_spec_is_a_400_naming_the_problem(
    live: LiveGateway, params: dict[str, Any], message: str
) -> None:
    response = _get(live, "pro", "/api/ta/EURUSD/H1", **params)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert message in body["error"]


def test_tiers_apply_to_symbol_and_timeframe(live: LiveGateway) -> None:
    for path in (
        "/api/ta/GBPUSD/H1",
        "/api/ta/EURUSD/M5",
        "/api/patterns/GBPUSD/H1",
        "/api/patterns/EURUSD/M5",
    ):
        response = _get(live, "free", path, indicators="RSI")
        assert response.status_code == 403, path
        assert response.json()["code"] == "tier_denied"
    assert _get(live, "free", "/api/ta/NOPE/H1", indicators="RSI").status_code == 404
    assert _get(live, "free", "/api/ta/EURUSD/M7", indicators="RSI").json()["code"] == "invalid_timeframe"
    assert (
        _get(live, "free", "/api/scan", timeframe="M5", indicators="RSI<30").json()["code"] == "tier_denied"
    )


def test_same_request_is_served_from_the_cache_until_a_tick(live: LiveGateway) -> None:
    cache = live.gateway.market.cache
    with live.client("pro") as client:
        hits, misses = cache.stats.hits, cache.stats.misses
        first = client.get("/api/ta/US30/H4", params={"indicators": "rsi,EMA(20)"})
        # another spelling of the same indicators: the same cache entry
        second = client.get("/api/ta/US30/H4", params={"indicators": "RSI(14),ema(timeperiod=20)"})
    assert first.status_code == second.status_code == 200
    assert cache.stats.hits - hits + cache.stats.misses - misses == 2
    assert cache.stats.hits - hits >= 1 or first.content != second.content


def test_patterns_are_talibs_signals_on_closed_bars_newest_first(live: LiveGateway) -> None:
    response = _get(live, "pro", "/api/patterns/GBPUSD/M15", bars=400)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["bars"] == 400 and len(body["patterns"]) == 61
    found = body["occurrences"]
    assert body["count"] == len(found) > 0
    newest = max(o["time"] for o in found)
    times = [o["time"] for o in found]
    assert times == sorted(times, reverse=True)
    # the same closed bars from the terminal, with enough before them for every pattern's lookback
    rates = _rates(live, "GBPUSD", c.TIMEFRAME_M15, newest - 900 * 500, newest)
    rates = rates[rates["time"] <= newest]
    first_shown = min(o["time"] for o in found)
    expected = set()
    for name in PATTERNS:
        signals = getattr(talib, name)(rates["open"], rates["high"], rates["low"], rates["close"])
        for row in np.flatnonzero(signals):
            if first_shown <= rates["time"][row]:
                expected.add((int(rates["time"][row]), name, int(signals[row])))
    assert {(o["time"], o["pattern"], o["signal"]) for o in found} == expected
    assert all(o["direction"] == ("bullish" if o["signal"] > 0 else "bearish") for o in found)
    chosen = _get(live, "pro", "/api/patterns/GBPUSD/M15", patterns="ENGULFING,cdlhammer", bars=400).json()
    assert chosen["patterns"] == ["CDLENGULFING", "CDLHAMMER"]
    bad = _get(live, "pro", "/api/patterns/GBPUSD/M15", patterns="RSI")
    assert bad.status_code == 400
    assert "RSI is not a candlestick pattern" in bad.json()["error"]


def test_scan_reads_every_symbol_of_the_tier(live: LiveGateway) -> None:
    everything = _get(live, "free", "/api/scan", timeframe="H1", indicators="RSI(14) < 101").json()
    assert everything["scanned"] == 5
    assert sorted(m["symbol"] for m in everything["matches"]) == sorted(FREE_SYMBOLS)
    assert everything["conditions"] == ["RSI(14) < 101"]
    assert all(0 <= m["values"]["RSI(14)"] <= 100 for m in everything["matches"])
    nothing = _get(live, "pro", "/api/scan", timeframe="H1", indicators=["RSI(14) > 100"]).json()
    assert (nothing["scanned"], nothing["count"], nothing["matches"]) == (15, 0, [])


def test_scan_matches_equal_direct_talib_on_each_last_closed_bar(live: LiveGateway) -> None:
    body = _get(live, "pro", "/api/scan", timeframe="M5", patterns="all", indicators="close > 0").json()
    assert body["scanned"] == 15
    for match in body["matches"]:
        closed = match["time"]
        rates = _rates(live, match["symbol"], c.TIMEFRAME_M5, closed - 300 * 60, closed)
        assert rates["time"][-1] == closed
        expected = {
            name
            for name in PATTERNS
            if getattr(talib, name)(rates["open"], rates["high"], rates["low"], rates["close"])[-1]
        }
        assert {p["pattern"] for p in match["patterns"]} == expected
        assert match["values"]["close"] == match["close"] == float(rates["close"][-1])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"timeframe": "H1", "indicators": "RSI(14) <"}, "Malformed condition"),
        ({"timeframe": "H1", "indicators": "MACD > 0"}, "MACD(12,26,9) has 3 outputs"),
        ({"timeframe": "H1", "indicators": "RSI(14) > 30; DROP TABLE"}, "unexpected ';'"),
        ({"timeframe": "H1", "patterns": "RSI"}, "RSI is not a candlestick pattern"),
        ({"timeframe": "H1"}, "give patterns"),
        ({"indicators": "RSI < 30"}, "Invalid timeframe"),
    ],
)
def test_bad_scan_is_a_400_naming_the_problem(
    live: LiveGateway, params: dict[str, Any], message: str
) -> None:
    response = _get(live, "pro", "/api/scan", **params)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_cli_reads_a_running_gateway_with_url_and_key(
    live: LiveGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    from mt5gateway.cli import main

    source = ["--url", live.base_url, "--key", live.keys["free"]]
    assert main(["ta", "EURUSD", "H1", "RSI(14)", "MACD.macdhist", *source]) == 0
    out = capsys.readouterr().out
    assert "RSI(14)" in out and "MACD(12,26,9).macdhist" in out
    assert main(["scan", "--timeframe", "H1", "--indicators", "RSI(14) < 101", *source]) == 0
    assert "5 of 5 symbols" in capsys.readouterr().out
    # the gateway's refusal, in its own words
    assert main(["ta", "GBPUSD", "H1", "RSI", *source]) == 1
    assert "403: FREE tier cannot access GBPUSD" in capsys.readouterr().out


def _doc_requests() -> list[tuple[str, int]]:
    """docs/ta.md's HTTP examples: (path and query, the status its comment names, else 200)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "ta.md").read_text("utf-8")
    requests = []
    for block in re.findall(r"```http\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            request, _, comment = line.removeprefix("GET ").partition("#")
            status = re.match(r"\s*(\d{3})", comment)
            requests.append((request.strip(), int(status[1]) if status else 200))
    return requests


@pytest.mark.parametrize(("path", "status"), _doc_requests())
def test_documented_request_answers_as_documented(live: LiveGateway, path: str, status: int) -> None:
    with live.client("free") as client:
        response = client.get(path)
    assert response.status_code == status, response.text
