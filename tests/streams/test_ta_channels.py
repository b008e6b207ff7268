"""The ``ta:`` and ``patterns:`` channels over a live gateway's WebSocket: canonical names, values
equal to TA-Lib's batch over the terminal's bars, snapshots, and tiers and scopes on every channel."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mt5gateway.api.deps import Gateway
from mt5gateway.ta import Bars, compute, parse_spec
from mt5gateway.terminal import constants as c
from tests.streams.test_ws_api import connect, receive, request
from tests.trading.gateway import Live


def _gateway(live: Live) -> Gateway:
    gateway: Gateway = live.app.state.gateway
    return gateway


async def test_ta_channel_streams_values_equal_to_batch_over_the_terminals_bars(live: Live) -> None:
    async with connect(live, "pro") as ws:
        await receive(ws, "connected")
        reply = await request(
            ws, {"type": "subscribe", "channels": ["ta:btcusd:m5:macd", "patterns:btcusd:m5"]}
        )
        assert reply == {
            "type": "subscribed",
            "channels": ["ta:BTCUSD:M5:MACD(12,26,9)", "patterns:BTCUSD:M5"],
        }
        message = await receive(ws, "ta", timeout=15)
    assert message["channel"] == "ta:BTCUSD:M5:MACD(12,26,9)"
    assert (message["symbol"], message["timeframe"], message["spec"]) == ("BTCUSD", "M5", "MACD(12,26,9)")
    assert message["closed"] is False
    assert set(message["values"]) == {"macd", "macdsignal", "macdhist"}
    gateway = _gateway(live)
    closed = await _bars_before(live, message["since"], message["time"])
    forming = np.zeros(1, dtype=closed.dtype)
    forming["time"] = message["time"]
    for key in ("open", "high", "low", "close"):
        forming[key] = message["bar"][key]
    forming["tick_volume"] = int(message["bar"]["volume"])
    batch = compute(parse_spec("MACD"), Bars.from_rates(np.concatenate([closed, forming])))
    for name, value in message["values"].items():
        assert value == batch[name][-1], name  # bit for bit
    # the connection closed: its channels are gone, and so is the track behind them
    assert gateway.ta_feed.snapshot("ta:BTCUSD:M5:MACD(12,26,9)") is None


async def _bars_before(live: Live, since: int, until: int) -> Any:
    pool = _gateway(live).pool
    rates = live.run(
        pool.call_symbol("BTCUSD", "copy_rates_range", "BTCUSD", c.TIMEFRAME_M5, since, until - 1)
    )
    assert rates is not None and rates["time"][0] == since
    return rates


async def test_a_second_subscriber_gets_the_last_values_at_once(live: Live) -> None:
    async with connect(live, "pro") as first, connect(live, "trader") as second:
        await receive(first, "connected")
        await receive(second, "connected")
        await request(first, {"type": "subscribe", "channels": ["ta:ETHUSD:H1:RSI(14)"]})
        await receive(first, "ta", timeout=15)
        reply = await request(second, {"type": "subscribe", "channels": ["ta:ethusd:h1:RSI(timeperiod=14)"]})
        assert reply["channels"] == ["ta:ETHUSD:H1:RSI(14)"]
        snapshot = await receive(second, "ta", timeout=1)
        assert snapshot["channel"] == "ta:ETHUSD:H1:RSI(14)" and 0 <= snapshot["values"]["real"] <= 100
        assert await request(second, {"type": "unsubscribe", "channels": ["ta:ETHUSD:H1:RSI(14)"]}) == {
            "type": "unsubscribed",
            "channels": ["ta:ETHUSD:H1:RSI(14)"],
        }


@pytest.mark.parametrize(
    ("role", "channel", "code", "sentence"),
    [
        ("viewer", "ta:BTCUSD:H1:RSI", "forbidden", "market scope"),
        ("viewer", "patterns:BTCUSD:H1", "forbidden", "market scope"),
        ("viewer", "ticks:BTCUSD", "forbidden", "market scope"),
        ("free", "ta:ETHUSD:H1:RSI", "tier_denied", "FREE tier cannot access ETHUSD"),
        ("free", "ta:BTCUSD:M5:RSI", "tier_denied", "cannot access M5 timeframe"),
        ("free", "patterns:BTCUSD:M5", "tier_denied", "cannot access M5 timeframe"),
        ("free", "patterns:ETHUSD:H1", "tier_denied", "cannot access ETHUSD"),
        ("free", "ta:NOPE:H1:RSI", "symbol_not_found", "NOPE"),
        ("free", "ta:BTCUSD:M1:RSI", "invalid_timeframe", "Invalid timeframe M1"),
        ("free", "ta:BTCUSD:H1:RSI(1)", "invalid_channel", "RSI parameter timeperiod must be between 2"),
        ("free", "ta:BTCUSD:H1:NOPE(3)", "invalid_channel", "Unknown indicator NOPE"),
        ("free", "ta:BTCUSD:H1:MACD.hist", "invalid_channel", "MACD has no output hist"),
        ("free", "ta:BTCUSD:H1:EMA(5000)", "bad_request", "EMA(5000) needs 30004 bars of warm-up"),
        ("free", "ta:BTCUSD:H1", "invalid_channel", "ta:SYMBOL:TF:SPEC"),
    ],
)
async def test_refused_analysis_channels_change_nothing(
    live: Live, role: str, channel: str, code: str, sentence: str
) -> None:
    async with connect(live, role) as ws:
        hello = await receive(ws, "connected")
        error = await request(ws, {"type": "subscribe", "channels": [channel]})
        assert error["type"] == "error" and error["code"] == code, error
        assert sentence in error["error"]
        assert live.bridge.hub.clients[hello["client_id"]].subscriptions == set()
