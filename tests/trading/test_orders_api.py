"""Trading over HTTP on simulated terminals: shapes, validation refusals, rejections, idempotency."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from mt5gateway.terminal import constants as c
from mt5gateway.trading.journal import idempotency_tag
from mt5gateway.trading.schemas import COMMENT_MAX_LENGTH

from .gateway import HEDGING, KEYS, NETTING, Live


def key() -> str:
    return str(uuid.uuid4())


def post_order(
    client: httpx.Client, body: dict[str, Any], idempotency_key: str | None = None
) -> httpx.Response:
    return client.post("/api/orders", json=body, headers={"Idempotency-Key": idempotency_key or key()})


def tagged(
    client: httpx.Client, login: int, idempotency_key: str, what: str = "positions"
) -> list[dict[str, Any]]:
    mark = "#" + idempotency_tag("trader", idempotency_key)
    rows: list[dict[str, Any]] = client.get(f"/api/accounts/{login}/{what}").json()[what]
    return [row for row in rows if mark in row["comment"]]


def quote(live: Live, symbol: str = "BTCUSD") -> Any:
    return live.run(live.bridge.pool.call_symbol(symbol, "symbol_info_tick", symbol))


def test_market_order_is_placed_once_per_key(live: Live) -> None:
    client = live.client()
    k = key()
    body = {"symbol": "BTCUSD", "side": "buy", "volume": 0.01, "comment": "first"}
    first = post_order(client, body, k)
    assert first.status_code == 200, first.text
    result = first.json()
    assert result["success"] is True
    assert result["result"]["retcode"] == c.TRADE_RETCODE_DONE
    assert result["result"]["retcode_name"] == "TRADE_RETCODE_DONE"
    assert result["metadata"]["terminal_id"] == "MT5_03" and result["metadata"]["login"] == HEDGING
    assert result["metadata"]["replayed"] is False
    sends = live.bridge.trading.sends

    again = post_order(client, body, k)
    assert again.status_code == 200
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.json()["result"] == result["result"]
    assert again.json()["metadata"]["replayed"] is True
    assert live.bridge.trading.sends == sends
    positions = tagged(client, HEDGING, k)
    assert len(positions) == 1 and positions[0]["comment"].endswith("first")


def test_same_key_with_another_body_is_409(live: Live) -> None:
    client = live.client()
    k = key()
    assert post_order(client, {"symbol": "BTCUSD", "side": "buy", "volume": 0.01}, k).status_code == 200
    conflict = post_order(client, {"symbol": "BTCUSD", "side": "buy", "volume": 0.02}, k)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "conflict"


def test_missing_idempotency_key_is_refused(live: Live) -> None:
    response = live.client().post("/api/orders", json={"symbol": "BTCUSD", "side": "buy", "volume": 0.01})
    assert response.status_code == 400
    assert response.json()["field"] == "Idempotency-Key"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"volume": 0.015}, "volume"),
        ({"volume": 0.001}, "volume"),
        ({"volume": 500.0}, "volume"),
        ({"sl_above": True}, "sl"),
        ({"type": "limit"}, "price"),
        ({"type": "limit", "price_above": True}, "price"),
        ({"type": "stop_limit", "price_above": True}, "stoplimit"),
    ],
)
def test_validation_refusals_name_field_and_limit_and_send_nothing(
    live: Live, body: dict[str, Any], field: str
) -> None:
    tick = quote(live)
    order: dict[str, Any] = {"symbol": "BTCUSD", "side": "buy", "volume": 0.01}
    if body.pop("sl_above", False):
        order["sl"] = round(tick.ask * 1.05, 2)
    if body.pop("price_above", False):
        order["price"] = round(tick.ask * (0.5 if body["type"] == "stop_limit" else 1.05), 2)
        if body["type"] == "stop_limit":
            order["price"] = round(tick.ask * 1.05, 2)
    order.update(body)
    sends = live.bridge.trading.sends
    k = key()
    response = post_order(live.client(), order, k)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == "bad_request" and error["field"] == field and error["limit"]
    assert live.bridge.trading.sends == sends
    # Nothing was sent, so the key is free again: the corrected order goes through with it.
    assert live.bridge.journal.get("trader", k) is None


def test_a_comment_of_the_longest_length_fits_the_module_and_a_longer_one_is_refused(live: Live) -> None:
    client = live.client()
    longest = "c" * COMMENT_MAX_LENGTH  # with the tag: the 29 UTF-16 units the MetaTrader5 module takes
    placed = post_order(
        client, {"symbol": "BTCUSD", "side": "buy", "volume": 0.01, "comment": longest}, key()
    )
    assert placed.status_code == 200, placed.text
    for comment in ("c" * (COMMENT_MAX_LENGTH + 1), "\U0001f680" * 8):  # eight rockets take 16 units
        refused = post_order(
            client, {"symbol": "BTCUSD", "side": "buy", "volume": 0.01, "comment": comment}, key()
        )
        assert refused.status_code == 400, refused.text
        assert refused.json()["field"] == "comment"


def test_unknown_symbol_is_404(live: Live) -> None:
    response = post_order(live.client(), {"symbol": "NOPE", "side": "buy", "volume": 0.01})
    assert response.status_code == 404 and response.json()["code"] == "symbol_not_found"


def test_key_without_trade_scope_is_refused(live: Live) -> None:
    response = post_order(live.client("viewer"), {"symbol": "BTCUSD", "side": "buy", "volume": 0.01})
    assert response.status_code == 403


def test_terminal_refusal_returns_retcode_name_and_sentence_and_is_journaled(live: Live) -> None:
    client = live.client()
    pool = live.bridge.pool
    live.run(pool.sim_control("MT5_03", "requote_rate", rate=1.0))
    try:
        k = key()
        body = {"symbol": "BTCUSD", "side": "sell", "volume": 0.01}
        response = post_order(client, body, k)
        again = post_order(client, body, k)
    finally:
        live.run(pool.sim_control("MT5_03", "clear"))
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == "order_rejected"
    assert error["retcode"] == c.TRADE_RETCODE_REQUOTE and error["retcode_name"] == "TRADE_RETCODE_REQUOTE"
    assert "Requote" in error["error"]
    assert again.status_code == 422 and again.headers["Idempotency-Replayed"] == "true"


def test_order_check_answers_without_trading(live: Live) -> None:
    client = live.client()
    before = client.get(f"/api/accounts/{HEDGING}/positions").json()["count"]
    response = client.post("/api/orders/check", json={"symbol": "BTCUSD", "side": "buy", "volume": 0.05})
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["retcode"] == 0 and result["margin"] > 0
    assert client.get(f"/api/accounts/{HEDGING}/positions").json()["count"] == before


def test_pending_order_modify_and_cancel(live: Live) -> None:
    client = live.client()
    tick = quote(live)
    k = key()
    body = {
        "symbol": "BTCUSD",
        "side": "buy",
        "type": "limit",
        "volume": 0.02,
        "price": round(tick.bid * 0.9, 2),
    }
    placed = post_order(client, body, k)
    assert placed.status_code == 200, placed.text
    assert placed.json()["result"]["retcode"] == c.TRADE_RETCODE_PLACED
    ticket = placed.json()["result"]["order"]
    assert [o["ticket"] for o in tagged(client, HEDGING, k, "orders")] == [ticket]

    new_price = round(tick.bid * 0.85, 2)
    wrong_sl = client.patch(
        f"/api/orders/{ticket}?symbol=BTCUSD",
        json={"sl": round(tick.bid, 2)},
        headers={"Idempotency-Key": key()},
    )
    assert wrong_sl.status_code == 400 and wrong_sl.json()["field"] == "sl"
    modified = client.patch(
        f"/api/orders/{ticket}?symbol=BTCUSD", json={"price": new_price}, headers={"Idempotency-Key": key()}
    )
    assert modified.status_code == 200, modified.text
    assert tagged(client, HEDGING, k, "orders")[0]["price_open"] == new_price

    cancel_key = key()
    cancelled = client.delete(f"/api/orders/{ticket}?symbol=BTCUSD", headers={"Idempotency-Key": cancel_key})
    assert cancelled.status_code == 200, cancelled.text
    assert tagged(client, HEDGING, k, "orders") == []
    again = client.delete(f"/api/orders/{ticket}?symbol=BTCUSD", headers={"Idempotency-Key": cancel_key})
    assert again.status_code == 200 and again.headers["Idempotency-Replayed"] == "true"
    missing = client.delete(f"/api/orders/{ticket}?symbol=BTCUSD", headers={"Idempotency-Key": key()})
    assert missing.status_code == 404


def test_position_sltp_partial_and_full_close(live: Live) -> None:
    client = live.client()
    k = key()
    assert post_order(client, {"symbol": "BTCUSD", "side": "buy", "volume": 0.05}, k).status_code == 200
    ticket = tagged(client, HEDGING, k)[0]["ticket"]
    tick = quote(live)
    sl, tp = round(tick.bid * 0.9, 2), round(tick.bid * 1.1, 2)
    modified = client.patch(
        f"/api/positions/{ticket}?symbol=BTCUSD",
        json={"sl": sl, "tp": tp},
        headers={"Idempotency-Key": key()},
    )
    assert modified.status_code == 200, modified.text
    position = tagged(client, HEDGING, k)[0]
    assert (position["sl"], position["tp"]) == (sl, tp)

    too_much = client.delete(
        f"/api/positions/{ticket}?symbol=BTCUSD&volume=0.06", headers={"Idempotency-Key": key()}
    )
    assert too_much.status_code == 400 and too_much.json()["limit"] == {"position_volume": 0.05}
    partial = client.delete(
        f"/api/positions/{ticket}?symbol=BTCUSD&volume=0.02", headers={"Idempotency-Key": key()}
    )
    assert partial.status_code == 200, partial.text
    assert tagged(client, HEDGING, k)[0]["volume"] == pytest.approx(0.03)
    closed = client.delete(f"/api/positions/{ticket}?symbol=BTCUSD", headers={"Idempotency-Key": key()})
    assert closed.status_code == 200, closed.text
    assert tagged(client, HEDGING, k) == []


def test_order_for_another_account_switches_the_terminal_and_reports_the_cost(live: Live) -> None:
    client = live.client()
    assert client.get(f"/api/accounts/{HEDGING}").status_code == 200  # the terminal is on HEDGING now
    k = key()
    response = post_order(client, {"symbol": "BTCUSD", "side": "buy", "volume": 0.01, "login": NETTING}, k)
    assert response.status_code == 200, response.text
    metadata = response.json()["metadata"]
    assert metadata["login"] == NETTING and metadata["login_switch_ms"] > 0
    assert len(tagged(client, NETTING, k)) == 1
    assert tagged(client, HEDGING, k) == []


async def test_concurrent_repeats_of_a_key_send_once(live: Live) -> None:
    k = key()
    body = {"symbol": "BTCUSD", "side": "buy", "volume": 0.01}
    sends = live.bridge.trading.sends
    async with httpx.AsyncClient(base_url=live.base_url, headers={"X-API-Key": KEYS["trader"]}) as client:
        responses = await asyncio.gather(
            *(client.post("/api/orders", json=body, headers={"Idempotency-Key": k}) for _ in range(6))
        )
    assert [r.status_code for r in responses] == [200] * 6
    assert sum(r.headers.get("Idempotency-Replayed") == "true" for r in responses) == 5
    assert len({r.json()["result"]["order"] for r in responses}) == 1
    assert live.bridge.trading.sends == sends + 1
    assert len(tagged(live.client(), HEDGING, k)) == 1


def test_a_requoted_market_order_is_repriced_and_sent_again(live: Live) -> None:
    client = live.client()
    body = {"symbol": "BTCUSD", "side": "buy", "volume": 0.01}
    pool = live.bridge.pool
    repriced = live.bridge.trading.repriced_sends
    live.run(pool.sim_control("MT5_03", "requote_rate", rate=1.0))  # every send requoted
    try:
        refused = post_order(client, body)
    finally:
        live.run(pool.sim_control("MT5_03", "requote_rate", rate=0.0))
    # A requote executes nothing: the gateway re-priced and re-sent 3 times, then gave up clearly.
    assert refused.status_code == 422, refused.text
    assert refused.json()["retcode_name"] == "TRADE_RETCODE_REQUOTE"
    assert live.bridge.trading.repriced_sends == repriced + 3
    placed = post_order(client, body)
    assert placed.status_code == 200, placed.text
    assert live.bridge.trading.repriced_sends == repriced + 3  # no requote, no second send
