"""What the benchmarks of a running gateway share: a gateway in a process of its own, a tick
generator on its bus, and WebSocket clients that read message stamps cheaply.

The gateway runs as ``python -m bench.bench_NAME serve PORT FOLDER OPTIONS`` (``gateway_process``);
``add_tick_generator`` gives it ``POST /bench/ticks?rate=N``, which publishes N ticks a second on the
pool's bus, round-robin over the symbols, stamped with the time they were published. The receivers
(``ws_clients``) run in processes of their own and find each message's channel and stamp in the
bytes as they arrive (``StampReader``): a client's latency is its receive time minus the stamp.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import os
import re
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
from fastapi import FastAPI
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from mt5gateway.pool import TerminalPool, TickEvent
from mt5gateway.terminal.dtypes import TICKS_DTYPE

__all__ = [
    "CLIENTS_PER_PROCESS",
    "SERVE_OPTIONS",
    "ClientFigures",
    "Delivery",
    "StampReader",
    "add_tick_generator",
    "gateway_process",
    "load",
    "percentile",
    "ws_clients",
]

# How the gateway process runs uvicorn: as ``mt5gateway serve`` does (uvloop, httptools, no
# permessage-deflate).
SERVE_OPTIONS: dict[str, Any] = {"loop": "uvloop", "ws": "websockets-sansio", "ws_per_message_deflate": False}
CLIENTS_PER_PROCESS = 100

# A message's stamp as the server writes it (orjson: no spaces), with the byte that ends it: a
# tick's ``"time_msc"`` inside its data, a ``ta:`` message's ``"tick_time_msc"``; and the same with
# the message's channel before it, for receivers that follow each channel's order.
STAMP = re.compile(rb'"(?:tick_)?time_msc":(\d+)[,}]')
CHANNEL_STAMP = re.compile(rb'"channel":"([^"]+)".*?"(?:tick_)?time_msc":(\d+)[,}]')


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else float("nan")


def load() -> str:
    """The 1-minute load average (the machine is shared: read every figure next to it)."""
    return f"load {os.getloadavg()[0]:.1f}"


async def _publish_ticks(pool: TerminalPool, rate: int, symbols: Sequence[str], last: dict[str, int]) -> None:
    """Publish ``rate`` ticks a second on the bus, round-robin over ``symbols``, in 10 ms batches;
    ``last`` keeps each symbol's newest stamp."""
    per_batch = max(1, rate // 100)
    index = 0
    next_at = time.monotonic()
    while True:
        for _ in range(per_batch):
            symbol = symbols[index % len(symbols)]
            index += 1
            tick = np.zeros(1, dtype=TICKS_DTYPE)
            now_ms = time.time() * 1000
            tick["time_msc"], tick["time"] = int(now_ms), int(now_ms // 1000)
            tick["bid"], tick["ask"] = 100.0 + index % 7, 100.1 + index % 7
            event = TickEvent(terminal_id=pool.terminal_for_symbol(symbol), symbol=symbol, ticks=tick)
            pool.bus.publish("ticks", event)
            last[symbol] = int(now_ms)
        next_at += 0.01
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


def add_tick_generator(app: FastAPI, pool: TerminalPool, symbols: Sequence[str]) -> None:
    """``POST /bench/ticks?rate=N`` on ``app``: N ticks a second from now on (0 stops them);
    ``GET /bench/ticks``: each symbol's newest stamp published."""
    generator: list[asyncio.Task[None]] = []
    last: dict[str, int] = {}

    @app.get("/bench/ticks")
    async def newest() -> dict[str, int]:
        return last

    @app.post("/bench/ticks")
    async def ticks(rate: int) -> dict[str, int]:
        for task in generator:
            task.cancel()
        generator.clear()
        if rate:
            generator.append(asyncio.create_task(_publish_ticks(pool, rate, symbols, last)))
        return {"rate": rate}


@contextlib.contextmanager
def gateway_process(
    module: str, folder: Path, options: dict[str, Any] | None, ready: Callable[[httpx.Client], bool], key: str
) -> Iterator[str]:
    """``python -m MODULE serve PORT FOLDER OPTIONS`` until the block ends; its base URL once
    ``ready(client)`` (a client sending ``key``) says it serves."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    root = Path(__file__).resolve().parents[1]
    command = [
        *(sys.executable, "-m", module, "serve", str(port), str(folder)),
        orjson.dumps(options or {}).decode(),
    ]
    process = subprocess.Popen(
        command, cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, start_new_session=True
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # 15 workers starting on a shared, loaded machine
        with httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=30) as client:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if ready(client):
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("the bench gateway did not start")
                time.sleep(0.2)
        yield base_url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        process.wait(10)


@dataclass
class Delivery:
    """What one receiver process saw: latencies (s) in the window, and per client and channel the
    last stamp and how many arrived older than one before them."""

    latencies: list[float] = field(default_factory=list)
    last_stamps: list[dict[str, int]] = field(default_factory=list)
    out_of_order: int = 0


class StampReader(asyncio.Protocol):
    """One client: the ``websockets`` library's sans-I/O handshake on a bare asyncio protocol, then
    each message's channel and stamp read from the bytes as they reach this process.

    The receivers are the instrument and share the two cores with the gateway. The library's asyncio
    client costs a task hand-off and a future per message, and even its sans-I/O parser costs more
    per frame than the server spends writing it: with 200 clients taking one frame per tick that is
    200,000 frames a second, which saturated both cores and measured the receivers. After the
    handshake, uncompressed frames are plain text on the wire, so the receiver finds the stamps in
    the bytes (a stamp split across two reads counts when its end arrives); a compressed connection
    is read through the library, frame by frame.
    """

    def __init__(
        self,
        url: str,
        key: str,
        subscribe: bytes,
        delivery: Delivery,
        start_at: float,
        stop_at: float,
        *,
        per_channel: bool,
    ) -> None:
        self.ws = ClientProtocol(parse_uri(url), extensions=[ClientPerMessageDeflateFactory()])
        self.key, self.subscribe, self.delivery = key, subscribe, delivery
        # following each channel's order costs a second group and a dict per message
        self.per_channel = per_channel
        self.start_at, self.stop_at = start_at, stop_at
        self.last: dict[str, int] = {}
        delivery.last_stamps.append(self.last)
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()
        self.plain = False  # handshake done, no compression: scan the bytes
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        # The client offers permessage-deflate, as browsers do: the server decides (SERVE_OPTIONS).
        request = self.ws.connect()
        request.headers["X-API-Key"] = self.key
        self.ws.send_request(request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if self.plain:
            self._stamp(now, data)
            return
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                # Messages come only once subscribed, after this: no stamp is left in the library's buffer.
                self.ws.send_text(self.subscribe)
                self.plain = not self.ws.extensions
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self._stamp(now, event.data)
        self._flush()

    def _stamp(self, now: float, data: bytes) -> None:
        timed = self.start_at <= now <= self.stop_at
        if not (timed or self.per_channel):
            self.tail = b""
            return
        text = self.tail + data
        end = 0
        if self.per_channel:
            for match in CHANNEL_STAMP.finditer(text):
                channel, stamp = match[1].decode(), int(match[2])
                last = self.last.get(channel, 0)
                if stamp < last:
                    self.delivery.out_of_order += 1
                self.last[channel] = max(stamp, last)
                if timed:
                    self.delivery.latencies.append(now - stamp / 1000)
                end = match.end()
        else:
            for match in STAMP.finditer(text):
                self.delivery.latencies.append(now - int(match[1]) / 1000)
                end = match.end()
        # Keep what may be the start of a stamp (and its message) cut by the end of this read.
        self.tail = text[max(end, len(text) - (1024 if self.per_channel else 32)) :]

    def _flush(self) -> None:
        assert self.transport is not None
        output = self.ws.data_to_send()
        if output:
            self.transport.write(b"".join(output))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


@dataclass(frozen=True)
class _Load:
    """What one receiver process does: ``count`` clients subscribing with ``subscribe``, timed from
    ``start_at`` for ``seconds``, reading on for ``linger`` more (picklable, for the process pool)."""

    url: str
    key: str
    subscribe: bytes
    count: int
    start_at: float
    seconds: float
    linger: float
    per_channel: bool


async def _receive(load: _Load) -> Delivery:
    """What ``load``'s clients see."""
    delivery = Delivery()
    stop_at = load.start_at + load.seconds
    uri = parse_uri(load.url)
    loop = asyncio.get_running_loop()
    readers: list[StampReader] = []
    for _ in range(load.count):
        _, reader = await loop.create_connection(
            lambda: StampReader(
                load.url,
                load.key,
                load.subscribe,
                delivery,
                load.start_at,
                stop_at,
                per_channel=load.per_channel,
            ),
            uri.host,
            uri.port,
        )
        readers.append(reader)
    # What exists now is frozen out of the collector's scans, and it stays off for the few seconds
    # of the run (only short-lived, acyclic garbage follows): a full collection would be read as the
    # server's latency.
    gc.collect()
    gc.freeze()
    gc.disable()
    # Read on after the window too: a client that stops reading is a slow consumer.
    await asyncio.sleep(max(0.0, stop_at - time.time()) + load.linger)
    for reader in readers:
        assert reader.transport is not None
        reader.transport.close()
    await asyncio.gather(*(reader.closed for reader in readers))
    return delivery


def _receiver_process(load: _Load) -> tuple[Delivery, float]:
    """One load-generator process: what it saw, and its CPU share (of one core) while it ran."""
    started, before = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
    delivery = asyncio.run(_receive(load))
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return delivery, cpu_s / (time.monotonic() - started)


@dataclass(frozen=True)
class ClientFigures:
    """Latency percentiles (s), messages delivered a second, the receivers' CPU share (of one
    core), and every client's last stamp per channel."""

    p50: float
    p99: float
    per_s: float
    receivers_cpu: float
    out_of_order: int
    last_stamps: list[dict[str, int]]


async def ws_clients(
    base_url: str,
    key: str,
    channels: Sequence[str],
    count: int,
    *,
    batch: bool = False,
    seconds: float = 4.0,
    linger: float = 0.2,
    per_channel: bool = False,
    during: Callable[[], Any] | None = None,
) -> ClientFigures:
    """``count`` clients subscribed to ``channels``, received in one process per
    ``CLIENTS_PER_PROCESS`` clients; ``per_channel``: follow each channel's order and last stamp;
    ``during`` (a coroutine function) runs once the window closed, while the clients still read
    (``linger`` seconds)."""
    url = base_url.replace("http://", "ws://") + "/ws" + ("?batch=1" if batch else "")
    subscribe = orjson.dumps({"type": "subscribe", "channels": list(channels)})
    shares = [min(CLIENTS_PER_PROCESS, count - n) for n in range(0, count, CLIENTS_PER_PROCESS)]
    start_at = time.time() + 1.5 + count * 0.015  # connected, subscribed, queues settled
    loop = asyncio.get_running_loop()
    with concurrent.futures.ProcessPoolExecutor(len(shares)) as processes:
        loads = [_Load(url, key, subscribe, n, start_at, seconds, linger, per_channel) for n in shares]
        receiving = asyncio.gather(
            *(loop.run_in_executor(processes, _receiver_process, load) for load in loads)
        )
        if during is not None:
            await asyncio.sleep(max(0.0, start_at + seconds - time.time()))
            await during()
        results = await receiving
    latencies = [latency for delivery, _ in results for latency in delivery.latencies]
    return ClientFigures(
        p50=percentile(latencies, 50),
        p99=percentile(latencies, 99),
        per_s=len(latencies) / seconds,
        receivers_cpu=sum(share for _, share in results),
        out_of_order=sum(delivery.out_of_order for delivery, _ in results),
        last_stamps=[stamps for delivery, _ in results for stamps in delivery.last_stamps],
    )
