"""A 503 on a trading request says whether it may have been executed, and when to come back.

The pool restarts a terminal after a delay of 4 to 8 s here (its first backoff), long enough to tell
the terminal's scheduled restart from the service's default ``Retry-After`` (5 s) and from 1 s.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import time
import uuid
from collections.abc import Iterator

import pytest

from mt5gateway.errors import GatewayError

from .gateway import Live, build_app, live_gateway

ORDER = {"symbol": "BTCUSD", "side": "buy", "volume": 0.01}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("outcome")
    app = build_app(
        folder / "broker.sqlite",
        folder / "journal.sqlite",
        deadlines={"fast": 10.0, "history": 10.0, "trade": 1.0},
        backoff=(8.0, 8.0),
    )
    with live_gateway(app) as gateway:
        yield gateway


def _wait_up(live: Live, terminal_id: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while live.bridge.pool.status(terminal_id).status != "up":
        assert time.monotonic() < deadline, f"{terminal_id} did not come back"
        time.sleep(0.2)


def _scheduled_restart_s(live: Live, terminal_id: str, answered_at: float) -> int:
    """The seconds, as of ``answered_at``, to the restart the supervisor logged it scheduled."""
    line = next(
        line for line in reversed(live.bridge.pool.logs(terminal_id)) if "restarting in" in line.message
    )
    delay = float(line.message.split("restarting in ")[1].split(" s")[0])
    return max(1, math.ceil(delay - (answered_at - line.time.timestamp())))


def test_a_send_that_timed_out_is_outcome_unknown_with_the_restart_as_retry_after(live: Live) -> None:
    pool = live.bridge.pool
    key = str(uuid.uuid4())
    # Every call now takes 1.5 s: order_send (deadline 1 s) times out after it was sent.
    live.run(pool.sim_control("MT5_03", "latency", seconds=1.5))
    try:
        with live.client() as client:
            response = client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": key})
        answered_at = time.time()
    finally:
        with contextlib.suppress(GatewayError):
            live.run(pool.sim_control("MT5_03", "clear"))
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["outcome"] == "unknown" and body["code"] == "terminal_timeout"
    assert "may have been executed" in body["error"] and key in body["error"]
    assert "same Idempotency-Key" in body["error"]
    retry_after = int(response.headers["Retry-After"])
    assert retry_after == body["retry_after"]
    # The terminal's scheduled restart (4 to 8 s away), not the default 5 s or the worker's 1 s.
    assert abs(retry_after - _scheduled_restart_s(live, "MT5_03", answered_at)) <= 1
    assert retry_after >= 3
    _wait_up(live, "MT5_03")
    with live.client() as client:
        again = client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": key})
    assert again.status_code == 200, again.text


def test_a_request_refused_before_any_send_is_not_executed(live: Live) -> None:
    _wait_up(live, "MT5_04")
    pid = live.bridge.pool.status("MT5_04").pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while live.bridge.pool.status("MT5_04").status == "up":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    order = {"symbol": "ETHUSD", "side": "buy", "volume": 0.1}
    with live.client() as client:
        response = client.post("/api/orders", json=order, headers={"Idempotency-Key": str(uuid.uuid4())})
    answered_at = time.time()
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["outcome"] == "not_executed" and "Nothing was sent" in body["error"]
    assert int(response.headers["Retry-After"]) == body["retry_after"]
    assert abs(body["retry_after"] - _scheduled_restart_s(live, "MT5_04", answered_at)) <= 1
    _wait_up(live, "MT5_04")
