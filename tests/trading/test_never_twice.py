"""A retried order is placed once: after a timeout, and after the gateway was killed mid-send."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mt5gateway.errors import GatewayError
from mt5gateway.terminal import constants as c
from mt5gateway.trading.journal import Journal, fingerprint, idempotency_tag
from mt5gateway.trading.schemas import OrderRequest
from tests.net import free_port

from .gateway import HEDGING, KEYS, Live, build_app, live_gateway

ROOT = Path(__file__).resolve().parents[2]
ORDER = {"symbol": "BTCUSD", "side": "buy", "volume": 0.01}
ORDER_BODY = OrderRequest(**ORDER).model_dump(mode="json")


def tagged_positions(client: httpx.Client, idempotency_key: str) -> list[dict[str, object]]:
    mark = "#" + idempotency_tag("trader", idempotency_key)
    response = client.get(f"/api/accounts/{HEDGING}/positions")
    assert response.status_code == 200, response.text
    return [p for p in response.json()["positions"] if mark in str(p["comment"])]


def retry_until_answered(client: httpx.Client, idempotency_key: str, seconds: float = 30.0) -> httpx.Response:
    """Repeat the order with the same key while the terminal is unavailable (503)."""
    deadline = time.monotonic() + seconds
    while True:
        response = client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": idempotency_key})
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def journal_sent(
    live: Live, key: str, operation: str = "place", target: str = "orders", body: dict[str, Any] = ORDER_BODY
) -> None:
    """A journal entry as a crash between send and answer leaves it: sent once, never answered."""
    journal = live.bridge.journal
    journal.begin(
        owner="trader",
        key=key,
        fingerprint=fingerprint(operation, target, body),
        operation=operation,
        request={"target": target, "body": body},
        terminal_id="MT5_03",
        login=HEDGING,
    )
    journal.mark_sending("trader", key)


def executed_before_the_crash(live: Live, key: str) -> Any:
    """A new order journaled as sent, which the terminal executed: the answer was lost in between."""
    journal_sent(live, key)
    pool = live.bridge.pool
    tick = live.run(pool.call("MT5_03", "symbol_info_tick", "BTCUSD"))
    deal = {"action": c.TRADE_ACTION_DEAL, "symbol": "BTCUSD", "volume": 0.01, "type": c.ORDER_TYPE_BUY}
    deal |= {
        "price": tick.ask,
        "type_filling": c.ORDER_FILLING_FOK,
        "comment": "#" + idempotency_tag("trader", key),
    }
    done = live.run(pool.call("MT5_03", "order_send", deal))
    assert done.retcode == c.TRADE_RETCODE_DONE
    return done


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A gateway whose order_send deadline (1 s) is far shorter than every other call's (10 s)."""
    folder = tmp_path_factory.mktemp("never-twice")
    deadlines = {"fast": 10.0, "history": 10.0, "trade": 1.0}
    with live_gateway(
        build_app(folder / "broker.sqlite", folder / "journal.sqlite", deadlines=deadlines)
    ) as gateway:
        yield gateway


def test_order_whose_send_timed_out_is_placed_once(live: Live) -> None:
    client = live.client()
    pool = live.bridge.pool
    k = str(uuid.uuid4())
    # Every call (and the worker's tick polls between them) now takes 1.5 s: past order_send's deadline only.
    live.run(pool.sim_control("MT5_03", "latency", seconds=1.5))
    try:
        first = client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": k})
        assert first.status_code == 503, first.text
        assert first.json()["code"] == "terminal_timeout"
        entry = live.bridge.journal.get("trader", k)
        assert entry is not None and entry.outcome_unknown
        answer = retry_until_answered(client, k)
    finally:
        # A restarted worker has no faults (and is unavailable while it starts).
        with contextlib.suppress(GatewayError):
            live.run(pool.sim_control("MT5_03", "clear"))
    assert answer.status_code == 200, answer.text
    metadata = answer.json()["metadata"]
    # Either the first send landed (found by its tag) or it never reached the terminal (sent again).
    assert metadata["reconciled"] or metadata["attempts"] == 2
    assert len(tagged_positions(client, k)) == 1
    again = client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": k})
    assert again.headers["Idempotency-Replayed"] == "true"
    assert len(tagged_positions(client, k)) == 1


def test_order_executed_but_never_answered_is_found_by_its_tag_not_resent(live: Live) -> None:
    """The state a crash between the terminal's execution and the journal's answer leaves behind."""
    k = str(uuid.uuid4())
    executed = executed_before_the_crash(live, k)
    sends = live.bridge.trading.sends

    client = live.client()
    answer = retry_until_answered(client, k)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["metadata"]["reconciled"] is True and body["metadata"]["attempts"] == 1
    assert body["result"]["order"] == executed.order and body["result"]["deal"] == executed.deal
    assert live.bridge.trading.sends == sends
    assert len(tagged_positions(client, k)) == 1


def test_a_restart_settles_the_unanswered_entries_without_waiting_for_repeats(live: Live) -> None:
    """What ``start`` runs over the journal it finds: each kind of entry a crash can leave."""
    client = live.client()
    pool = live.bridge.pool
    executed, lost, unsent = (str(uuid.uuid4()) for _ in range(3))
    # Executed by the terminal before the crash: found by its tag.
    done = executed_before_the_crash(live, executed)
    tick = live.run(pool.call("MT5_03", "symbol_info_tick", "BTCUSD"))
    # Lost before it reached the terminal, and never sent at all.
    journal_sent(live, lost)
    live.bridge.journal.begin(
        owner="trader",
        key=unsent,
        fingerprint=fingerprint("place", "orders", ORDER_BODY),
        operation="place",
        request={"target": "orders", "body": ORDER_BODY},
        terminal_id="MT5_03",
        login=HEDGING,
    )
    # Changes the terminal applied before the crash: an SL on a position, a pending order's new
    # price, a cancellation; and an SL change and a new price it never saw.
    position = done.order
    sl_applied, sl_lost = str(uuid.uuid4()), str(uuid.uuid4())
    new_sl = round(tick.bid * 0.8, 2)
    journal_sent(
        live,
        sl_applied,
        "modify_position",
        f"positions/{position}",
        {"sl": new_sl, "tp": None, "login": None},
    )
    sltp = {"action": c.TRADE_ACTION_SLTP, "position": position, "symbol": "BTCUSD", "sl": new_sl, "tp": 0.0}
    assert live.run(pool.call("MT5_03", "order_send", sltp)).retcode == c.TRADE_RETCODE_DONE
    journal_sent(
        live,
        sl_lost,
        "modify_position",
        f"positions/{position}",
        {"sl": new_sl - 100, "tp": None, "login": None},
    )
    pending = {
        "symbol": "BTCUSD",
        "side": "buy",
        "type": "limit",
        "volume": 0.01,
        "price": round(tick.bid * 0.5, 2),
    }
    placed = [
        client.post("/api/orders", json=pending, headers={"Idempotency-Key": str(uuid.uuid4())}).json()[
            "result"
        ]["order"]
        for _ in range(2)
    ]
    moved, moved_lost, cancelled = (str(uuid.uuid4()) for _ in range(3))
    new_price = round(tick.bid * 0.4, 2)
    change = {
        "price": new_price,
        "stoplimit": None,
        "sl": None,
        "tp": None,
        "expiration": None,
        "login": None,
    }
    journal_sent(live, moved, "modify_order", f"orders/{placed[0]}", change)
    modify = {"action": c.TRADE_ACTION_MODIFY, "order": placed[0], "symbol": "BTCUSD", "price": new_price}
    assert live.run(pool.call("MT5_03", "order_send", modify)).retcode == c.TRADE_RETCODE_DONE
    journal_sent(live, moved_lost, "modify_order", f"orders/{placed[0]}", change | {"price": new_price - 100})
    journal_sent(live, cancelled, "cancel_order", f"orders/{placed[1]}", {"login": None, "symbol": "BTCUSD"})
    remove = {"action": c.TRADE_ACTION_REMOVE, "order": placed[1], "symbol": "BTCUSD"}
    assert live.run(pool.call("MT5_03", "order_send", remove)).retcode == c.TRADE_RETCODE_DONE

    sends = live.bridge.trading.sends
    journal = live.bridge.journal
    stored = live.run(live.bridge.trading.settle_unfinished(journal.unfinished(), retry_s=0.1, patience_s=10))

    assert stored == 4 and live.bridge.trading.sends == sends  # looked up, nothing sent
    answers = {
        key: journal.get("trader", key)
        for key in (executed, lost, unsent, sl_applied, sl_lost, moved, moved_lost, cancelled)
    }
    assert answers[unsent] is None  # forgotten: the key is free again
    for key in (lost, sl_lost, moved_lost):
        entry = answers[key]
        assert entry is not None and entry.outcome_unknown
    for key in (executed, sl_applied, moved, cancelled):
        entry = answers[key]
        assert entry is not None and entry.status == 200 and entry.response is not None
        assert entry.response["metadata"]["reconciled"] is True
    assert answers[executed].response["result"]["deal"] == done.deal  # type: ignore[union-attr]
    # A repeat of a settled key gets the stored answer; one with no trace is sent now, once.
    again = client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": executed})
    assert again.headers["Idempotency-Replayed"] == "true" and again.json()["result"]["deal"] == done.deal
    repeat = client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": lost})
    assert repeat.status_code == 200 and repeat.json()["metadata"]["attempts"] == 2
    assert live.bridge.trading.sends == sends + 1
    assert len(tagged_positions(client, lost)) == 1 and len(tagged_positions(client, executed)) == 1


def test_a_repeat_while_the_entry_is_being_settled_gets_the_settled_answer(live: Live) -> None:
    k = str(uuid.uuid4())
    pool = live.bridge.pool
    done = executed_before_the_crash(live, k)
    entry = live.bridge.journal.get("trader", k)
    assert entry is not None
    live.run(pool.sim_control("MT5_03", "latency", seconds=0.5))
    try:
        settling = asyncio.run_coroutine_threadsafe(
            live.bridge.trading.settle_unfinished([entry], retry_s=0.1, patience_s=10), live.loop
        )
        time.sleep(0.1)  # settling is asking the slow terminal now
        repeat = live.client().post("/api/orders", json=ORDER, headers={"Idempotency-Key": k})
        assert settling.result(20) == 1
    finally:
        live.run(pool.sim_control("MT5_03", "clear"))
    assert repeat.status_code == 200, repeat.text
    metadata = repeat.json()["metadata"]
    # The repeat waited for the settling and was given its answer, not a lookup of its own.
    assert metadata["replayed"] is True and metadata["reconciled"] is True
    assert repeat.json()["result"]["deal"] == done.deal


def test_a_gateway_settles_at_start_the_send_a_crash_left_unanswered(tmp_path: Path) -> None:
    k = str(uuid.uuid4())
    broker, journal_path = tmp_path / "broker.sqlite", tmp_path / "journal.sqlite"
    with live_gateway(build_app(broker, journal_path)) as before:
        done = executed_before_the_crash(before, k)
    with live_gateway(build_app(broker, journal_path)) as after:
        deadline = time.monotonic() + 20
        while not (entry := after.bridge.journal.get("trader", k)) or not entry.finished:
            assert time.monotonic() < deadline, "the restarted gateway never settled the entry"
            time.sleep(0.05)
        assert entry.response is not None and entry.response["metadata"]["reconciled"] is True
        assert entry.response["result"]["deal"] == done.deal
        assert after.bridge.trading.sends == 0 and after.bridge.trading.reconciled == 1


class GatewayProcess:
    """The test gateway in its own process (its terminal workers are its children)."""

    def __init__(self, folder: Path, *, latency: float = 0.0) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "tests.trading.gateway", "--port", str(self.port)]
        command += ["--broker-db", str(folder / "broker.sqlite"), "--journal", str(folder / "journal.sqlite")]
        command += ["--latency", str(latency)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}", headers={"X-API-Key": KEYS["trader"]}, timeout=30.0
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.client.get("/test/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.kill_all()
                raise RuntimeError("the gateway process did not start")
            time.sleep(0.2)

    def kill_gateway(self) -> None:
        """SIGKILL the gateway alone, as a crash would: its workers finish what they were doing."""
        self.process.kill()
        self.process.wait(10)

    def kill_all(self) -> None:
        """SIGKILL the gateway and every worker it started."""
        self.client.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def processes() -> Iterator[list[GatewayProcess]]:
    started: list[GatewayProcess] = []
    yield started
    for gateway in started:
        gateway.kill_all()


def test_order_in_flight_when_the_gateway_was_killed_is_placed_once(
    tmp_path: Path, processes: list[GatewayProcess]
) -> None:
    k = str(uuid.uuid4())
    first = GatewayProcess(tmp_path, latency=1.0)
    processes.append(first)
    # Each call takes 1 s (plus a tick poll): the kill lands while order_send is in the worker.
    outcome: dict[str, object] = {}

    def send() -> None:
        try:
            first.client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": k}, timeout=10)
        except httpx.TransportError as exc:
            outcome["error"] = exc

    sender = threading.Thread(target=send)
    sender.start()
    # Kill the gateway once the journal says the order is being sent (the worker is in order_send).
    journal = Journal(tmp_path / "journal.sqlite").open()
    deadline = time.monotonic() + 20
    while (entry := journal.get("trader", k)) is None or not entry.outcome_unknown:
        assert time.monotonic() < deadline, "the order was never sent"
        time.sleep(0.02)
    first.kill_gateway()
    sender.join(10)
    assert "error" in outcome  # the client never got an answer
    time.sleep(3.0)  # the orphaned worker finishes its order_send

    second = GatewayProcess(tmp_path)
    processes.append(second)
    answer = retry_until_answered(second.client, k)
    assert answer.status_code == 200, answer.text
    metadata = answer.json()["metadata"]
    # The worker died with the gateway, before or after executing: found by its tag, or sent again
    # because the terminal shows no trace of it. Never both.
    assert metadata["reconciled"] or metadata["attempts"] == 2
    assert len(tagged_positions(second.client, k)) == 1
