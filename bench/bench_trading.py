"""Trading and WebSocket figures, against baselines measured in the same run.

Targets (issue 5): market orders over REST on the simulator >= 500 orders/s with p99 <= 20 ms;
WebSocket tick-to-client latency p50/p99 and delivered ticks/s for 1, 50 and 200 clients subscribed
to all 15 symbols, with 1,000 ticks/s in (p99 <= 25 ms at 200 clients).

The gateway runs in its own process (``python -m bench.bench_trading serve``), the load generator in
this one. Orders alternate BTCUSD and ETHUSD (crypto trades at weekends too) on two simulated
terminals; the baseline sends the same orders straight to a ``TerminalPool`` (no HTTP, no
validation, no journal). Ticks come from a generator inside the gateway that publishes TickEvents
on the pool's bus (the path a terminal's ticks take from there on), stamped with the time they were
published; a client's latency is its receive time minus that stamp.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import uvicorn
import websockets

from bench._util import print_table
from mt5gateway.accounts.bridge import install
from mt5gateway.api import ApiKeyConfig, create_app, load_settings
from mt5gateway.api.keys import hash_key
from mt5gateway.pool import TerminalPool, TickEvent
from mt5gateway.pool.config import DEFAULT_SYMBOLS_BY_TERMINAL, PoolConfig, parse_pool_config
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.dtypes import TICKS_DTYPE

KEY = "mt5gw_bench_trading_key"
SYMBOLS = sorted(DEFAULT_SYMBOLS_BY_TERMINAL.values())
# Each symbol's minimum volume. Each sender alternates opening a position and closing it (both are
# market orders), so the hedging accounts never run out of margin (crypto needs full margin).
ORDER_SYMBOLS = {"BTCUSD": 0.01, "ETHUSD": 0.1}
CONCURRENCY = 16
ORDER_SECONDS = 5.0
TICK_RATE = 1_000
WS_SECONDS = 4.0
CLIENT_COUNTS = (1, 50, 200)


def pool_config(folder: Path) -> PoolConfig:
    """BTCUSD on one terminal, ETHUSD and the 13 others on a second."""
    others = [s for s in SYMBOLS if s != "BTCUSD"]
    return parse_pool_config(
        {
            "terminals": [
                {"id": "MT5_03", "symbols": ["BTCUSD"], "login": 5000001},
                {"id": "MT5_04", "symbols": others, "login": 5000003},
            ],
            "sim": {"broker_db": str(folder / "broker.sqlite")},
        },
        source="bench",
    )


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else float("nan")


# -- the gateway process --


async def generate_ticks(pool: TerminalPool, rate: int) -> None:
    """Publish ``rate`` ticks a second on the bus, round-robin over the 15 symbols, in 10 ms batches."""
    per_batch = max(1, rate // 100)
    index = 0
    next_at = time.monotonic()
    while True:
        for _ in range(per_batch):
            symbol = SYMBOLS[index % len(SYMBOLS)]
            index += 1
            tick = np.zeros(1, dtype=TICKS_DTYPE)
            now_ms = time.time() * 1000
            tick["time_msc"], tick["time"] = int(now_ms), int(now_ms // 1000)
            tick["bid"], tick["ask"] = 100.0 + index % 7, 100.1 + index % 7
            pool.bus.publish("ticks", TickEvent(terminal_id="MT5_04", symbol=symbol, ticks=tick))
        next_at += 0.01
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


def serve(port: int, folder: Path) -> None:
    settings = load_settings(
        None,
        rate_limit={"per_minute": 100_000_000, "burst": 10_000_000},
        keys=(
            ApiKeyConfig(
                name="bench", hash=hash_key(KEY), tier="PRO", scopes=("market", "accounts", "trade")
            ),
        ),
    )
    pool = TerminalPool(pool_config(folder))
    app = install(create_app(settings, pool), journal_path=folder / "journal.sqlite")
    generator: list[asyncio.Task[None]] = []

    @app.post("/bench/ticks")
    async def ticks(rate: int) -> dict[str, int]:
        for task in generator:
            task.cancel()
        generator.clear()
        if rate:
            generator.append(asyncio.create_task(generate_ticks(pool, rate)))
        return {"rate": rate}

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        loop="asyncio",  # as ``mt5gateway serve`` runs it
    )


@contextlib.contextmanager
def gateway_process(folder: Path) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "bench.bench_trading", "serve", str(port), str(folder)]
    process = subprocess.Popen(
        command, cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, start_new_session=True
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=base_url, headers={"X-API-Key": KEY}) as client:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if all(
                        client.get(f"/api/accounts/{login}").status_code == 200
                        for login in (5000001, 5000003)
                    ):
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("the bench gateway did not start")
                time.sleep(0.2)
        yield base_url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        process.wait(10)


# -- orders --


def deal(symbol: str, info: Any, position: Any = None) -> dict[str, Any]:
    """A market buy, or the sell that closes ``position``."""
    request: dict[str, Any] = {
        "action": c.TRADE_ACTION_DEAL,
        "symbol": symbol,
        "volume": ORDER_SYMBOLS[symbol],
        "type": c.ORDER_TYPE_BUY if position is None else c.ORDER_TYPE_SELL,
        "price": info.ask if position is None else info.bid,
        "deviation": 100_000,
        "type_filling": c.ORDER_FILLING_FOK,
    }
    if position is not None:
        request["position"] = position
    return request


async def pool_baseline(folder: Path) -> tuple[float, float, float]:
    """Orders/s, p50 and p99 (s) of market orders sent straight to the pool."""
    pool = TerminalPool(pool_config(folder))
    await pool.start()
    try:
        while not all(s.status == "up" for s in pool.statuses()):
            await asyncio.sleep(0.05)
        latencies: list[float] = []
        stop_at = time.perf_counter() + ORDER_SECONDS

        async def sender(n: int) -> None:
            symbol = list(ORDER_SYMBOLS)[n % 2]
            position = None
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                info = await pool.call_symbol(symbol, "symbol_info", symbol)
                result = await pool.call_symbol(symbol, "order_send", deal(symbol, info, position))
                assert result.retcode == c.TRADE_RETCODE_DONE, result
                latencies.append(time.perf_counter() - started)
                position = result.order if position is None else None

        started = time.perf_counter()
        await asyncio.gather(*(sender(n) for n in range(CONCURRENCY)))
        return (
            len(latencies) / (time.perf_counter() - started),
            percentile(latencies, 50),
            percentile(latencies, 99),
        )
    finally:
        await pool.stop()


async def http_ceiling(base_url: str) -> tuple[float, float, float]:
    """Requests/s, p50, p99 (s) of ``GET /ws/status`` (key check, no terminal): what HTTP alone allows."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": KEY}, limits=limits) as client:
        stop_at = time.perf_counter() + ORDER_SECONDS / 2

        async def getter() -> None:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                (await client.get("/ws/status")).raise_for_status()
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(getter() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, percentile(latencies, 50), percentile(latencies, 99)


async def rest_orders(base_url: str) -> tuple[float, float, float, int]:
    """Orders/s, p50, p99 (s) and failures of market orders over REST with Idempotency-Key."""
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": KEY}, limits=limits) as client:
        stop_at = time.perf_counter() + ORDER_SECONDS

        async def sender(n: int) -> None:
            nonlocal failures
            symbol = list(ORDER_SYMBOLS)[n % 2]
            body = {"symbol": symbol, "side": "buy", "volume": ORDER_SYMBOLS[symbol], "deviation": 100_000}
            position = None
            while time.perf_counter() < stop_at:
                headers = {"Idempotency-Key": uuid.uuid4().hex}
                started = time.perf_counter()
                if position is None:
                    response = await client.post("/api/orders", json=body, headers=headers)
                else:
                    url = f"/api/positions/{position}?symbol={symbol}&deviation=100000"
                    response = await client.delete(url, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    if not failures:
                        print("first failure:", response.status_code, response.text[:300])
                    failures += 1
                    position = None
                    continue
                position = response.json()["result"]["order"] if position is None else None

        started = time.perf_counter()
        await asyncio.gather(*(sender(n) for n in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, percentile(latencies, 50), percentile(latencies, 99), failures


# -- WebSocket ticks --


async def ws_clients(base_url: str, count: int, *, batch: bool) -> tuple[float, float, float]:
    """p50, p99 (s) of tick-to-client latency and delivered ticks/s over ``count`` clients."""
    url = base_url.replace("http://", "ws://") + "/ws" + ("?batch=1" if batch else "")
    latencies: list[float] = []
    delivered = 0
    channels = [f"ticks:{symbol}" for symbol in SYMBOLS]
    connections = [await websockets.connect(url, additional_headers={"X-API-Key": KEY}) for _ in range(count)]
    measuring = False

    async def read(ws: Any) -> None:
        nonlocal delivered
        await ws.send(orjson.dumps({"type": "subscribe", "channels": channels}).decode())
        async for raw in ws:
            frame = orjson.loads(raw)
            if not measuring:
                continue
            now = time.time()
            for message in frame["messages"] if frame["type"] == "batch" else (frame,):
                if message["type"] == "tick_data":
                    delivered += 1
                    latencies.append(now - message["data"]["time_msc"] / 1000)

    readers = [asyncio.create_task(read(ws)) for ws in connections]
    await asyncio.sleep(1.0)  # subscribed, queues settled
    measuring = True
    await asyncio.sleep(WS_SECONDS)
    measuring = False
    for ws in connections:
        await ws.close()
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    return percentile(latencies, 50), percentile(latencies, 99), delivered / WS_SECONDS


async def run(folder: Path) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    rate, p50, p99 = await pool_baseline(folder / "baseline")
    rows.append(
        (
            "baseline: orders straight to the pool",
            f"{rate:.0f}/s p50 {p50 * 1e3:.1f} ms p99 {p99 * 1e3:.1f} ms",
            "-",
            "-",
        )
    )
    (folder / "gateway").mkdir()
    with gateway_process(folder / "gateway") as base_url:
        rate, p50, p99 = await http_ceiling(base_url)
        rows.append(
            (
                "baseline: GET /ws/status over the same HTTP stack",
                f"{rate:.0f}/s p50 {p50 * 1e3:.1f} ms p99 {p99 * 1e3:.1f} ms",
                "-",
                "-",
            )
        )
        rate, p50, p99, failures = await rest_orders(base_url)
        ok = rate >= 500 and p99 <= 0.020 and failures == 0
        rows.append(
            (
                f"REST market orders ({CONCURRENCY} conns, {failures} failed)",
                f"{rate:.0f}/s p50 {p50 * 1e3:.1f} ms p99 {p99 * 1e3:.1f} ms",
                ">= 500/s, p99 <= 20 ms",
                "yes" if ok else "NO",
            )
        )
        async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": KEY}) as client:
            await client.post("/bench/ticks", params={"rate": TICK_RATE})
            for count, batch in [(n, False) for n in CLIENT_COUNTS] + [(CLIENT_COUNTS[-1], True)]:
                p50, p99, per_s = await ws_clients(base_url, count, batch=batch)
                last = count == CLIENT_COUNTS[-1]
                rows.append(
                    (
                        f"ws ticks, {count} clients x 15 symbols, {TICK_RATE}/s in"
                        + (", ?batch=1" if batch else ""),
                        f"p50 {p50 * 1e3:.1f} ms p99 {p99 * 1e3:.1f} ms, {per_s:.0f} ticks/s delivered",
                        "p99 <= 25 ms" if last else "-",
                        ("yes" if p99 <= 0.025 else "NO") if last else "-",
                    )
                )
            status = (await client.get("/ws/status")).json()
            await client.post("/bench/ticks", params={"rate": 0})
        rows.append(
            (
                "ws messages / frames / coalesced / dropped clients",
                f"{status['messages_sent']} / {status['frames_sent']} / {status['coalesced']} / {status['dropped_clients']}",
                "-",
                "-",
            )
        )
    return rows


def main() -> None:
    if len(sys.argv) >= 4 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]), Path(sys.argv[3]))
        return
    with tempfile.TemporaryDirectory() as folder:
        rows = asyncio.run(run(Path(folder)))
    print_table(rows)


if __name__ == "__main__":
    main()
