"""The WebSocket endpoint over a live gateway: auth, tiers, bad input, ticks, account channels."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from mt5gateway.pool import BarEvent
from mt5gateway.sim.markettime import ServerTime
from mt5gateway.streams.protocol import MAX_MESSAGE_BYTES
from mt5gateway.terminal import RATES_DTYPE
from mt5gateway.terminal import constants as c
from tests.trading.gateway import HEDGING, KEYS, Live


def connect(live: Live, role: str | None = "trader", path: str = "/ws", **options: Any) -> Any:
    headers = {"X-API-Key": KEYS[role]} if role else {}
    return websockets.connect(live.ws_url.removesuffix("/ws") + path, additional_headers=headers, **options)


async def receive(ws: ClientConnection, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next message of type ``kind`` (skipping others such as heartbeats)."""
    async with asyncio.timeout(timeout):
        while True:
            message: dict[str, Any] = orjson.loads(await ws.recv())
            if message["type"] == kind:
                return message


async def request(ws: ClientConnection, message: dict[str, Any] | str) -> dict[str, Any]:
    await ws.send(message if isinstance(message, str) else orjson.dumps(message).decode())
    reply: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
    return reply


async def test_header_auth_then_ticks_arrive(live: Live) -> None:
    async with connect(live) as ws:
        hello = await receive(ws, "connected")
        assert hello["tier"] == "PRO" and hello["heartbeat_s"] == 30
        assert await request(ws, {"type": "subscribe", "channels": ["ticks:btcusd"]}) == {
            "type": "subscribed",
            "channels": ["ticks:BTCUSD"],
        }
        tick = await receive(ws, "tick_data", timeout=10)
        assert tick["symbol"] == "BTCUSD" and tick["terminal_id"] == "MT5_03"
        assert tick["data"]["ask"] >= tick["data"]["bid"] > 0 and tick["data"]["time_msc"] > 0


async def test_first_message_auth_on_the_legacy_path(live: Live) -> None:
    async with connect(live, role=None, path="/websocket/ws") as ws:
        await ws.send(orjson.dumps({"type": "auth", "api_key": KEYS["free"]}).decode())
        assert (await receive(ws, "connected"))["tier"] == "FREE"


async def test_bad_key_gets_an_error_and_a_close(live: Live) -> None:
    async with websockets.connect(live.ws_url, additional_headers={"X-API-Key": "wrong"}) as ws:
        error = orjson.loads(await ws.recv())
        assert error["type"] == "error" and error["code"] == "unauthorized"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


@pytest.mark.parametrize(
    ("role", "channels", "code"),
    [
        ("free", ["ticks:ETHUSD"], "tier_denied"),
        ("free", ["bars:BTCUSD:M5"], "tier_denied"),
        ("free", ["bars:BTCUSD:M1"], "invalid_timeframe"),
        ("free", ["ticks:NOPE"], "symbol_not_found"),
        ("free", ["positions:5000001"], "forbidden"),
        ("trader", ["positions:999"], "account_not_found"),
        ("free", ["ticks:BTCUSD", "ticks:ETHUSD"], "tier_denied"),
        ("free", ["trades:BTCUSD"], "invalid_channel"),
    ],
)
async def test_refused_subscriptions_change_nothing(
    live: Live, role: str, channels: list[str], code: str
) -> None:
    async with connect(live, role) as ws:
        hello = await receive(ws, "connected")
        error = await request(ws, {"type": "subscribe", "channels": channels})
        assert error["type"] == "error" and error["code"] == code, error
        # Nothing was subscribed, not even the channels that were allowed; the connection stays.
        assert live.bridge.hub.clients[hello["client_id"]].subscriptions == set()
        assert await request(ws, {"type": "ping"}) == {"type": "pong"}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "invalid_json"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "subscribe", "channels": "ticks:BTCUSD"}', "invalid_message"),
        (
            orjson.dumps({"type": "subscribe", "channels": ["x" * MAX_MESSAGE_BYTES]}).decode(),
            "message_too_large",
        ),
        (b"\x00\x01binary", "invalid_json"),
    ],
)
async def test_malformed_and_oversized_messages_get_an_error_and_the_connection_stays(
    live: Live, raw: str | bytes, code: str
) -> None:
    async with connect(live) as ws:
        await receive(ws, "connected")
        await ws.send(raw)
        error = await receive(ws, "error")
        assert error["code"] == code
        assert await request(ws, {"type": "ping"}) == {"type": "pong"}


async def test_position_opened_over_rest_appears_on_its_channel(live: Live) -> None:
    async with connect(live) as ws:
        await receive(ws, "connected")
        await request(ws, {"type": "subscribe", "channels": [f"positions:{HEDGING}"]})
        before = await receive(ws, "positions")
        known = {p["ticket"] for p in before["data"]}
        async with httpx.AsyncClient(base_url=live.base_url, headers={"X-API-Key": KEYS["trader"]}) as http:
            placed = await http.post(
                "/api/orders",
                json={"symbol": "BTCUSD", "side": "buy", "volume": 0.01},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
        assert placed.status_code == 200, placed.text
        ticket = placed.json()["result"]["order"]
        async with asyncio.timeout(5):
            while True:
                update = await receive(ws, "positions")
                tickets = {p["ticket"] for p in update["data"]}
                if ticket in tickets:
                    break
        assert known < tickets and update["login"] == HEDGING and update["channel"] == f"positions:{HEDGING}"


async def test_status_counts_connections_and_messages(live: Live) -> None:
    async with connect(live) as ws:
        await receive(ws, "connected")
        async with httpx.AsyncClient(base_url=live.base_url) as http:
            refused = await http.get("/ws/status")
            status = (await http.get("/ws/status", headers={"X-API-Key": KEYS["viewer"]})).json()
    assert refused.status_code == 401
    assert status["success"] is True and status["active_connections"] >= 1
    assert {"messages_sent", "coalesced", "dropped_clients"} <= set(status)


async def test_a_closing_minute_publishes_the_longer_bar_it_closes(live: Live) -> None:
    async with connect(live) as ws:
        await receive(ws, "connected")
        await request(ws, {"type": "subscribe", "channels": ["bars:BTCUSD:M5"]})
        now = ServerTime().from_utc_msc(time.time_ns() // 1_000_000) // 1000  # the terminals' clock
        minute = np.zeros(1, dtype=RATES_DTYPE)
        minute["time"] = now - now % 300 - 60  # the last minute of the M5 bar that closed
        minute["open"] = minute["high"] = minute["low"] = minute["close"] = 1.0
        event = BarEvent(terminal_id="MT5_03", symbol="BTCUSD", timeframe=c.TIMEFRAME_M1, rates=minute)
        live.loop.call_soon_threadsafe(live.bridge.pool.bus.publish, "bars", event)
        bar = await receive(ws, "bar")
    assert bar["channel"] == "bars:BTCUSD:M5" and bar["timeframe"] == "M5"
    assert bar["data"]["time"] % 300 == 0 and bar["data"]["time"] <= now - 300
    assert bar["data"]["high"] >= bar["data"]["low"] > 1.0  # the terminal's bar, not the minute's


async def sequenced_ticks(ws: ClientConnection, count: int) -> list[int]:
    """The ``sequence`` of each test tick received (batch frames unpacked) until the last one."""
    seen: list[int] = []
    async with asyncio.timeout(10):
        while not seen or seen[-1] < count - 1:
            frame = orjson.loads(await ws.recv())
            for message in frame["messages"] if frame["type"] == "batch" else [frame]:
                if "sequence" in message:
                    seen.append(message["sequence"])
    return seen


async def test_tick_frames_written_straight_to_the_socket_arrive_whole_and_in_order(live: Live) -> None:
    count = 200
    async with (
        connect(live, compression=None) as plain,
        connect(live, path="/ws?batch=1", compression=None) as batching,
        connect(live) as deflated,  # permessage-deflate negotiated: frames take the ASGI path
    ):
        clients = []
        for ws in (plain, batching, deflated):
            clients.append(live.bridge.hub.clients[(await receive(ws, "connected"))["client_id"]])
            await ws.send(orjson.dumps({"type": "subscribe", "channels": ["ticks:ETHUSD"]}).decode())
            await receive(ws, "subscribed")
        assert [client.write_frame is not None for client in clients] == [True, True, False]

        async def publish() -> None:
            for sequence in range(count):
                tick = {"type": "tick_data", "channel": "ticks:ETHUSD", "sequence": sequence}
                live.bridge.hub.publish("ticks:ETHUSD", tick, coalesce=True)
                await asyncio.sleep(0.0005 if sequence % 10 else 0.01)  # bursts, as terminals poll

        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(publish(), live.loop))
        received = [await sequenced_ticks(ws, count) for ws in (plain, batching, deflated)]
    # One message per tick for a client that keeps up; the latest per symbol per frame when batching.
    assert received[0] == list(range(count))
    for sequences in received[1:]:
        assert sequences == sorted(set(sequences)) and sequences[-1] == count - 1
