"""Bad input found by fuzzing: each gets a clear 4xx and changes nothing.

- every field of every trading body (ours and the MT5 Bridge Microservice's), sent with every JSON
  type it does not declare: 400 naming the field, and no order, position or journal entry;
- every numeric query and path parameter of the OpenAPI document sent with 4,301 digits: the key is
  checked first (401 without one), then a 4xx, never a 5xx;
- a body from a caller without a key is refused before it is read, however large; past the limit
  (64 KiB) a body is refused with 413, also when it comes in chunks with no length; other clients are
  not held up meanwhile;
- a wrong method is 405 with ``Allow`` naming every method of the path; every answer carries its
  ``X-Request-ID``.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from mt5gateway.api.routers.s4 import ConnectRequest, TicksRequest
from mt5gateway.trading.bridge_service import BridgeOrder
from mt5gateway.trading.schemas import OrderModify, OrderRequest, PositionModify

from .gateway import HEDGING, KEYS, Live

# One value of each JSON type, and the JSON Schema types each is valid for.
JSON_VALUES: dict[str, Any] = {
    "null": None,
    "boolean": True,
    "integer": 7,
    "number": 7.5,
    "string": "7",
    "array": [7],
    "object": {"value": 7},
}
VALID_FOR = {
    "null": {"null"},
    "boolean": {"boolean"},
    "integer": {"integer", "number"},
    "number": {"number"},
    "string": {"string"},
    "array": {"array"},
    "object": {"object"},
}
VALID_BODIES: list[tuple[str, str, type[BaseModel], dict[str, Any]]] = [
    ("POST", "/api/orders", OrderRequest, {"symbol": "BTCUSD", "side": "buy", "volume": 0.01}),
    ("POST", "/api/orders/check", OrderRequest, {"symbol": "BTCUSD", "side": "buy", "volume": 0.01}),
    ("PATCH", "/api/orders/1?symbol=BTCUSD", OrderModify, {"sl": 1.0}),
    ("PATCH", "/api/positions/1?symbol=BTCUSD", PositionModify, {"sl": 1.0}),
    ("POST", "/order", BridgeOrder, {"symbol": "BTCUSD", "order_type": "buy", "volume": 0.01}),
    ("POST", "/connect", ConnectRequest, {"login": HEDGING, "password": "demo1"}),
    ("POST", "/ticks", TicksRequest, {"symbol": "BTCUSD", "count": 5}),
]


def _types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a property's schema accepts."""
    if "anyOf" in schema:
        return set().union(*(_types(option) for option in schema["anyOf"]))
    if "enum" in schema or "const" in schema:
        return {"string"}
    return {schema["type"]}


def _wrong_type_cases() -> Iterator[tuple[str, str, dict[str, Any], str, str]]:
    for method, path, model, valid in VALID_BODIES:
        for field, schema in model.model_json_schema()["properties"].items():
            accepted = _types(schema)
            for json_type, value in JSON_VALUES.items():
                if not VALID_FOR[json_type] & accepted:
                    yield method, path, {**valid, field: value}, field, json_type


WRONG_TYPES = list(_wrong_type_cases())


def _positions(client: httpx.Client) -> int:
    return int(client.get(f"/api/accounts/{HEDGING}/positions").json()["count"])


def _journal_rows(live: Live) -> int:
    return (
        len(live.bridge.journal.unfinished())
        + live.bridge.journal._db.execute("SELECT COUNT(*) FROM trade_journal").fetchone()[0]
    )


def test_every_trading_body_field_refuses_every_json_type_it_does_not_declare(live: Live) -> None:
    assert len(WRONG_TYPES) > 150  # every field of seven bodies, each with several wrong types
    with live.client() as client:
        positions, journal = _positions(client), _journal_rows(live)
        sends = live.bridge.trading.sends
        for method, path, body, field, json_type in WRONG_TYPES:
            response = client.request(method, path, json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
            assert response.status_code == 400, (path, field, json_type, response.text)
            answer = response.json()
            assert answer["code"] == "invalid_request" and answer["field"].startswith(field), answer
        assert _positions(client) == positions
    assert _journal_rows(live) == journal and live.bridge.trading.sends == sends


def test_a_boolean_or_a_string_is_not_a_volume(live: Live) -> None:
    """The two bodies the fuzzer found executing: "volume": true opened 1.0 lot, "0.01" executed."""
    with live.client() as client:
        for volume in (True, "0.01"):
            body = {"symbol": "BTCUSD", "side": "buy", "volume": volume}
            response = client.post("/api/orders", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
            assert response.status_code == 400 and response.json()["field"] == "volume", response.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/orders", {"symbol": "BTCUSD", "side": "buy", "volume": 0.01}),
        ("/order", {"symbol": "BTCUSD", "order_type": "buy", "volume": 0.01}),
    ],
)
def test_a_comment_past_mt5s_utf16_length_is_refused_on_both_order_paths(
    live: Live, path: str, body: dict[str, Any]
) -> None:
    """Eight characters beyond the BMP are 16 UTF-16 units: one more than MT5 keeps beside the tag
    (found by schemathesis on S4's /order, where it was a 500)."""
    with live.client() as client:
        response = client.post(
            path, json={**body, "comment": "\U0001f600" * 8}, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
    assert response.status_code == 400 and response.json()["field"] == "comment", response.text


def _numeric_parameters(schema: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """(method, path, where, name) of every integer or number parameter of the document."""
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", ()):
                types = _types(parameter["schema"])
                if types & {"integer", "number"} and parameter["in"] in ("query", "path"):
                    yield method.upper(), path, parameter["in"], parameter["name"]


def test_numeric_parameters_of_4301_digits_are_refused_after_the_key(live: Live) -> None:
    huge = "9" * 4301
    with httpx.Client(base_url=live.base_url, timeout=30) as anonymous, live.client() as client:
        document = client.get("/openapi.json").json()
        found = list(_numeric_parameters(document))
        assert len(found) >= 15
        for method, path, where, name in found:
            target = path
            for placeholder in ("{symbol}", "{timeframe}", "{terminal_id}", "{job_id}", "{client_id}"):
                target = target.replace(placeholder, {"{timeframe}": "H1"}.get(placeholder, "BTCUSD"))
            if where == "path":
                target = target.replace("{" + name + "}", huge)
            params = {name: huge} if where == "query" else None
            for agent in (anonymous, client):
                response = agent.request(method, target, params=params)
                assert response.status_code < 500, (method, path, name, response.text)
            refused = anonymous.request(method, target, params=params)
            assert refused.status_code in (401, 403), (method, path, name, refused.text)
            checked = client.request(method, target, params=params)
            assert 400 <= checked.status_code < 500, (method, path, name, checked.text)
        # The fast path of cached indicators once converted bars before any key was checked.
        assert anonymous.get("/api/indicators/BTCUSD/H1", params={"bars": huge}).status_code == 401


def _raw_request(live: Live, head: str, body_chunks: Iterator[bytes], read_timeout: float = 30.0) -> bytes:
    """Send ``head`` and the body chunks over a raw socket; the response's head and body."""
    port = int(live.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed without reading the rest: what is wanted
        received = b""
        while b"\r\n\r\n" not in received:
            data = sock.recv(65536)
            if not data:
                break
            received += data
        return received


def test_a_large_body_without_a_key_is_refused_unread_and_holds_no_one_up(live: Live) -> None:
    size = 40 * 1024 * 1024
    sent = {"bytes": 0}

    def body() -> Iterator[bytes]:
        chunk = b"x" * 65536
        while sent["bytes"] < size:
            sent["bytes"] += len(chunk)
            yield chunk

    head = (
        "POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\n\r\n"
    )
    latencies: list[float] = []
    stop = threading.Event()

    def other_client() -> None:
        with live.client() as client:
            while not stop.is_set():
                started = time.perf_counter()
                assert client.get("/api/symbols").status_code == 200
                latencies.append(time.perf_counter() - started)

    watcher = threading.Thread(target=other_client)
    watcher.start()
    try:
        deadline = time.monotonic() + 30
        while len(latencies) < 5:  # the other client is being served
            assert time.monotonic() < deadline
            time.sleep(0.01)
        before = len(latencies)
        answer = _raw_request(live, head, body())
        time.sleep(0.3)
        assert len(latencies) > before
    finally:
        stop.set()
        watcher.join()
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert sent["bytes"] < size  # the server closed the connection long before the body ended
    assert latencies and max(latencies) < 0.5, max(latencies)


def test_bodies_past_the_limit_are_413_by_length_or_by_chunks(live: Live) -> None:
    limit = live.app.state.gateway.settings.max_body_bytes
    assert limit == 64 * 1024
    padding = {"symbol": "BTCUSD", "side": "buy", "volume": 0.01, "comment": ""}
    with live.client() as client:
        declared = client.post(
            "/api/orders",
            content=b" " * (limit + 1),
            headers={"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"},
        )
        assert declared.status_code == 413 and declared.json()["limit"] == limit
        # Just under the limit (whitespace around a valid body) is read and parsed as usual.
        fitting = client.post(
            "/api/orders/check",
            content=b" " * (limit - 200) + httpx.Request("POST", "/", json=padding).content,
            headers={"Content-Type": "application/json"},
        )
        assert fitting.status_code == 200, fitting.text
    head = (
        "POST /api/orders/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-API-Key: {KEYS['trader']}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunks = iter([b"%x\r\n%s\r\n" % (16384, b" " * 16384)] * 8 + [b"0\r\n\r\n"])
    assert _raw_request(live, head, chunks).startswith(b"HTTP/1.1 413")


def test_a_wrong_method_is_405_with_every_allowed_method(live: Live) -> None:
    with live.client() as client:
        put = client.put("/api/orders/5")
        get = client.get("/api/orders")
    assert put.status_code == 405 and put.headers["Allow"] == "DELETE, PATCH"
    assert put.json()["code"] == "method_not_allowed"
    assert get.status_code == 405 and get.headers["Allow"] == "POST"


def test_every_answer_carries_its_request_id(live: Live) -> None:
    with live.client() as client:
        chosen = client.get("/api/symbols", headers={"X-Request-ID": "trace-42"})
        made = client.get("/api/symbols")
        refused = client.get("/api/nothing-here", headers={"X-Request-ID": "not a valid id!"})
    assert chosen.headers["X-Request-ID"] == "trace-42"
    assert len(made.headers["X-Request-ID"]) == 16
    assert refused.status_code == 404 and refused.headers["X-Request-ID"] != "not a valid id!"


@pytest.mark.parametrize("path", ["/api/orders", "/order"])
def test_bearer_keys_trade_like_x_api_key(live: Live, path: str) -> None:
    body = (
        {"symbol": "BTCUSD", "side": "buy", "volume": 0.01}
        if path == "/api/orders"
        else {"symbol": "BTCUSD", "order_type": "buy", "volume": 0.01}
    )
    headers = {"Authorization": f"Bearer {KEYS['trader']}", "Idempotency-Key": str(uuid.uuid4())}
    with httpx.Client(base_url=live.base_url, timeout=30) as client:
        response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
