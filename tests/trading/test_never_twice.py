"""A retried order is placed once: after a timeout, and after the gateway was killed mid-send."""

from __future__ import annotations

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

import httpx
import pytest

from mt5gateway.errors import GatewayError
from mt5gateway.terminal import constants as c
from mt5gateway.trading.journal import Journal, fingerprint, idempotency_tag
from mt5gateway.trading.schemas import OrderRequest

from .gateway import HEDGING, KEYS, Live, build_app, free_socket, live_gateway

ROOT = Path(__file__).resolve().parents[2]
ORDER = {"symbol": "BTCUSD", "side": "buy", "volume": 0.01}


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
    journal = live.bridge.journal
    journal.begin(
        owner="trader",
        key=k,
        fingerprint=fingerprint("place", "orders", OrderRequest(**ORDER).model_dump(mode="json")),
        operation="place",
        request={"target": "orders", "body": ORDER},
        terminal_id="MT5_03",
        login=HEDGING,
    )
    journal.mark_sending("trader", k)
    pool = live.bridge.pool
    tick = live.run(pool.call("MT5_03", "symbol_info_tick", "BTCUSD"))
    request = {**ORDER, "action": c.TRADE_ACTION_DEAL, "type": c.ORDER_TYPE_BUY, "price": tick.ask}
    request |= {"comment": "#" + idempotency_tag("trader", k), "type_filling": c.ORDER_FILLING_FOK}
    request.pop("side")
    executed = live.run(pool.call("MT5_03", "order_send", request))
    assert executed.retcode == c.TRADE_RETCODE_DONE
    sends = live.bridge.trading.sends

    client = live.client()
    answer = retry_until_answered(client, k)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["metadata"]["reconciled"] is True and body["metadata"]["attempts"] == 1
    assert body["result"]["order"] == executed.order and body["result"]["deal"] == executed.deal
    assert live.bridge.trading.sends == sends
    assert len(tagged_positions(client, k)) == 1


class GatewayProcess:
    """The test gateway in its own process (its terminal workers are its children)."""

    def __init__(self, folder: Path, *, latency: float = 0.0) -> None:
        sock = free_socket()
        self.port = sock.getsockname()[1]
        sock.close()
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
    journal = Journal(tmp_path / "journal.sqlite")
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
