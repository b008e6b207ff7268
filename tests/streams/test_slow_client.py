"""A stalled WebSocket client does not delay a healthy one, and is dropped past its bound (measured)."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import statistics
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import websockets

from tests.trading.gateway import KEYS, Live, build_app, live_gateway

MESSAGES = 300
# Random text: permessage-deflate cannot shrink it, so ~14 MB cross the wire, far more than the
# stalled socket and its peer can buffer.
PADDING = base64.b64encode(os.urandom(48_000)).decode()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("slow-client")
    limits = {"max_queue": 100, "max_lag_seconds": 1.0, "check_seconds": 0.05}
    with live_gateway(
        build_app(folder / "broker.sqlite", folder / "journal.sqlite", websocket=limits)
    ) as gateway:
        yield gateway


async def publish_burst(live: Live, channel: str) -> None:
    """On the server's loop: MESSAGES stamped messages on ``channel``, 500 a second."""
    ticks = channel.startswith("ticks:")

    async def burst() -> None:
        for sequence in range(MESSAGES):
            message = {
                "type": "tick_data" if ticks else "terminal_status",
                "sequence": sequence,
                "sent": time.time(),
                "padding": PADDING,
            }
            live.bridge.hub.publish(channel, message, coalesce=ticks)
            await asyncio.sleep(0.002)

    await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(burst(), live.loop))


async def subscribed(live: Live, channel: str, **options: Any) -> Any:
    ws = await websockets.connect(live.ws_url, additional_headers={"X-API-Key": KEYS["trader"]}, **options)
    await ws.send(orjson.dumps({"type": "subscribe", "channels": [channel]}).decode())
    while orjson.loads(await ws.recv())["type"] != "subscribed":
        pass
    return ws


def stalled_socket(live: Live) -> socket.socket:
    """A socket with a small receive buffer (no kernel autotuning): it fills after a few frames.

    Its client library stops reading after one queued frame (``max_queue=1``), and the test never
    reads from it again: a stalled client.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16_384)
    host, port = live.base_url.removeprefix("http://").split(":")
    sock.connect((host, int(port)))
    return sock


async def healthy_latencies(
    live: Live, channel: str, *, with_stalled_client: bool, **options: Any
) -> tuple[list[float], Any]:
    healthy = await subscribed(live, channel, **options)
    stalled = (
        await subscribed(live, channel, sock=stalled_socket(live), max_queue=1, **options)
        if with_stalled_client
        else None
    )
    latencies: list[float] = []

    async def read() -> None:
        while len(latencies) < MESSAGES:
            message = orjson.loads(await healthy.recv())
            if message.get("sequence") is not None:
                latencies.append(time.time() - message["sent"])

    reader = asyncio.create_task(read())
    await publish_burst(live, channel)
    await asyncio.wait_for(reader, 10)
    await healthy.close()
    return latencies, stalled


# Other messages queue through each client's sender task. Ticks for an uncompressed connection
# are written straight to its socket while it takes them (``mt5gateway.api.wsdirect``): a stalled
# socket pauses, and from then on its ticks queue and coalesce like anyone's.
@pytest.mark.parametrize(
    ("channel", "options"),
    [("terminals", {}), ("ticks:BTCUSD", {"compression": None})],
    ids=["queued", "ticks-written-straight"],
)
async def test_stalled_client_does_not_delay_a_healthy_one_and_is_dropped(
    live: Live, channel: str, options: dict[str, Any]
) -> None:
    baseline, _ = await healthy_latencies(live, channel, with_stalled_client=False, **options)
    dropped_before = live.bridge.hub.stats.dropped_clients
    with_stalled, stalled = await healthy_latencies(live, channel, with_stalled_client=True, **options)
    assert len(with_stalled) == MESSAGES  # the healthy client got every message
    p99 = statistics.quantiles(with_stalled, n=100)[98]
    p99_baseline = statistics.quantiles(baseline, n=100)[98]
    print(f"healthy client p99: {p99 * 1000:.2f} ms with a stalled peer, {p99_baseline * 1000:.2f} ms alone")
    assert p99 < max(0.05, 5 * p99_baseline)
    deadline = time.monotonic() + 5
    while live.bridge.hub.stats.dropped_clients == dropped_before:
        assert time.monotonic() < deadline, "the stalled client was never dropped"
        await asyncio.sleep(0.05)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(10):
            while True:
                await stalled.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
    assert "slow consumer" in closed.value.rcvd.reason
