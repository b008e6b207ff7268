"""An MT5 Bridge Microservice client (S4), unchanged but for its key, against a live gateway.

REST with ``Authorization: Bearer``, and the WebSocket at ``/websocket/ws`` subscribing to nothing
(``shared/contracts/s4.md``). Orders are on BTCUSD, which the simulator trades at weekends too.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
import websockets

from mt5gateway.trading.bridge_service import signal_key
from mt5gateway.trading.journal import idempotency_tag
from tests.streams.test_ws_api import receive

from .conftest import ContractGateway
from .documents import S4, check

ORDER = {"symbol": "BTCUSD", "order_type": "buy", "volume": 0.01, "comment": "API Order"}


def _positions(contract_gateway: ContractGateway, tag_of: str) -> list[dict[str, Any]]:
    """Open positions carrying the idempotency tag of ``tag_of`` (a key of the bot)."""
    mark = "#" + idempotency_tag("bot", tag_of)
    with contract_gateway.s4() as client:
        login = client.get("/account").json()["account"]["login"]
        positions = client.get(f"/api/accounts/{login}/positions").json()["positions"]
    return [p for p in positions if mark in str(p["comment"])]


def test_health_needs_no_key_and_has_the_services_shape(contract_gateway: ContractGateway) -> None:
    with contract_gateway.s4() as client:
        check(client.get("/health", headers={"Authorization": ""}).json(), S4["health"])


def test_account_ticks_and_the_websocket_status(contract_gateway: ContractGateway) -> None:
    with contract_gateway.s4() as client:
        account = client.get("/account").json()
        ticks = client.post("/ticks", json={"symbol": "BTCUSD", "count": 10}).json()
        status = client.get("/websocket/ws/status").json()
        health = client.get("/websocket/ws/health").json()
    check(account, S4["account"])
    assert account["account"]["free_margin"] == account["account"]["margin_free"]
    assert ticks["symbol"] == "BTCUSD" and 0 < ticks["count"] <= 10 and ticks["ticks"][0]["bid"] > 0
    check(status, S4["ws_status"])
    check(health, S4["ws_health"])


def test_connect_logs_a_terminal_in_and_a_wrong_password_is_refused(
    contract_gateway: ContractGateway,
) -> None:
    with contract_gateway.s4() as client:
        connected = client.post("/connect", json={"login": 5000002, "password": "demo2"})
        refused = client.post("/connect", json={"login": 5000002, "password": "wrong"})
        viewer = client.post(
            "/connect", json={"login": 5000002, "password": "demo2"}, headers={"Authorization": "Bearer nope"}
        )
    assert connected.status_code == 200, connected.text
    assert connected.json()["account"]["login"] == 5000002
    assert refused.status_code == 403 and refused.json()["last_error"]["code"] == -6
    assert viewer.status_code == 401


def test_an_order_without_idempotency_key_is_journaled_under_one_it_makes(
    contract_gateway: ContractGateway,
) -> None:
    with contract_gateway.s4() as client:
        placed = client.post("/order", json=ORDER)
        moved = client.post("/order", json={**ORDER, "price": 1.0})
        chosen_key = str(uuid.uuid4())
        first = client.post("/order", json=ORDER, headers={"Idempotency-Key": chosen_key})
        repeat = client.post("/order", json=ORDER, headers={"Idempotency-Key": chosen_key})
    assert placed.status_code == 200, placed.text
    key = placed.headers["Idempotency-Key"]
    assert placed.headers["Idempotency-Key-Generated"] == "true" and key.startswith("s4-")
    entry = contract_gateway.gateway.bridge.journal.get("bot", key)
    assert entry is not None and entry.status == 200
    assert len(_positions(contract_gateway, key)) == 1
    # A price the market is far from is refused, as a trade server would requote it.
    assert moved.status_code == 400 and moved.json()["field"] == "price"
    assert "Idempotency-Key-Generated" not in first.headers
    assert repeat.headers["Idempotency-Replayed"] == "true"
    assert len(_positions(contract_gateway, chosen_key)) == 1


async def test_websocket_client_that_subscribes_to_nothing(contract_gateway: ContractGateway) -> None:
    url = contract_gateway.ws_url + "/websocket/ws"
    headers = {"Authorization": f"Bearer {contract_gateway.keys['bot']}"}
    tier_symbols = set(contract_gateway.gateway.tiers.tier("PRO").symbols)
    async with websockets.connect(url, additional_headers=headers) as ws:
        seen: dict[str, dict[str, Any]] = {}
        account: dict[str, Any] | None = None
        async with asyncio.timeout(20):
            while account is None or set(seen) != tier_symbols:
                message = orjson.loads(await ws.recv())
                if message["type"] == "tick_data":
                    check(message, S4["tick_data"])
                    seen[message["data"]["symbol"]] = message
                elif message["type"] == "account_info":
                    check(message, S4["account_info"])
                    account = message
        assert account["data"]["free_margin"] == account["data"]["margin_free"]

        await ws.send(orjson.dumps({"type": "heartbeat", "data": {"client": "s4-bot"}}).decode())
        beat = await receive(ws, "heartbeat", timeout=15)
        check(beat, S4["heartbeat"])
        assert beat["data"]["client"] == "s4-bot"

        signal_id = str(uuid.uuid4())
        signal = {
            "signal_id": signal_id,
            "symbol": "BTCUSD",
            "action": "BUY",
            "volume": 0.01,
            "urgency": "high",
        }
        await ws.send(orjson.dumps({"type": "trading_signal", "data": signal}).decode())
        first = await receive(ws, "signal_result", timeout=15)
        await ws.send(orjson.dumps({"type": "trading_signal", "data": signal}).decode())
        repeat = await receive(ws, "signal_result", timeout=15)
        assert first["data"]["status"] == 200 and first["data"]["success"] is True, first
        assert repeat["data"]["metadata"]["replayed"] is True
        assert len(_positions(contract_gateway, signal_key(signal_id))) == 1

        close = {"signal_id": str(uuid.uuid4()), "symbol": "BTCUSD", "action": "CLOSE"}
        await ws.send(orjson.dumps({"type": "trading_signal", "data": close}).decode())
        closed = await receive(ws, "signal_result", timeout=15)
        assert closed["data"]["status"] == 200 and closed["data"]["closed"] >= 1, closed
        assert _positions(contract_gateway, signal_key(signal_id)) == []

        # Our own protocol works on the same socket; it replaces the service's feed.
        await ws.send(orjson.dumps({"type": "subscribe", "channels": ["ticks:BTCUSD"]}).decode())
        assert (await receive(ws, "subscribed", timeout=15))["channels"] == ["ticks:BTCUSD"]
        client = next(iter(contract_gateway.gateway.bridge.hub.clients.values()))
        assert client.subscriptions == {"ticks:BTCUSD"}


async def test_a_signal_needs_the_trade_scope_and_strict_types(contract_gateway: ContractGateway) -> None:
    url = contract_gateway.ws_url + "/websocket/ws"
    signal = {"signal_id": str(uuid.uuid4()), "symbol": "BTCUSD", "action": "BUY", "volume": 0.01}
    for role, data, code, field in (
        ("sync", signal, "forbidden", None),
        ("bot", {**signal, "volume": True}, "bad_request", "volume"),
        ("bot", {**signal, "volume": "0.01"}, "bad_request", "volume"),
        ("bot", {**signal, "action": "HOLD"}, "bad_request", "action"),
    ):
        headers = {"Authorization": f"Bearer {contract_gateway.keys[role]}"}
        async with websockets.connect(url, additional_headers=headers) as ws:
            await ws.send(orjson.dumps({"type": "trading_signal", "data": data}).decode())
            refused = await receive(ws, "error", timeout=15)
            assert refused["code"] == code, refused
            assert field is None or refused["field"] == field
    assert _positions(contract_gateway, signal_key(signal["signal_id"])) == []
