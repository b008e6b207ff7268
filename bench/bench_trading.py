"""Trading and WebSocket figures, against baselines measured in the same run.

Targets (issue 5): market orders over REST on the simulator >= 500 orders/s with p99 <= 20 ms;
WebSocket tick-to-client latency p50/p99 and delivered ticks/s for 1, 50 and 200 clients subscribed
to all 15 symbols, with 1,000 ticks/s in (p99 <= 25 ms at 200 clients).

The gateway runs in its own process (``python -m bench.bench_trading serve``), the load generator in
this one. Orders alternate BTCUSD and ETHUSD (crypto trades at weekends too) on two simulated
terminals; the baseline sends the same orders straight to a ``TerminalPool`` (no HTTP, no
validation, no journal). Ticks come from a generator inside the gateway that publishes TickEvents
on the pool's bus (the path a terminal's ticks take from there on), stamped with the time they were
published; a client's latency is its receive time minus that stamp. The WebSocket baseline is the
same gateway with every frame sent through Starlette and uvicorn (``asgi_sends_only``), as before
the hub wrote shared frames straight to the sockets.

``--ws-only``: the 200-client WebSocket rows only (one message per tick, then batching), for each
gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn

from bench._util import print_table
from bench._ws import SERVE_OPTIONS, add_tick_generator, gateway_process, load, percentile, ws_clients
from mt5gateway.api import ApiKeyConfig, GatewayConfig, create_app, load_settings
from mt5gateway.api.keys import hash_key
from mt5gateway.pool import TerminalPool
from mt5gateway.pool.config import DEFAULT_SYMBOLS_BY_TERMINAL, PoolConfig, parse_pool_config
from mt5gateway.terminal import constants as c

KEY = "mt5gw_bench_trading_key"
SYMBOLS = sorted(DEFAULT_SYMBOLS_BY_TERMINAL.values())
# Each symbol's minimum volume. Each sender alternates opening a position and closing it (both are
# market orders), so the hedging accounts never run out of margin (crypto needs full margin).
ORDER_SYMBOLS = {"BTCUSD": 0.01, "ETHUSD": 0.1}
CONCURRENCY = 16
ORDER_SECONDS = 5.0
ORDER_RATE = 500
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
            "sim": {"broker_db": ":memory:"},
        },
        source="bench",
    )


# -- the gateway process --


def serve(port: int, folder: Path, options: dict[str, Any]) -> None:
    settings = load_settings(
        None,
        rate_limit={"per_minute": 100_000_000, "burst": 10_000_000},
        journal_path=folder / "journal.sqlite",
        keys=(
            ApiKeyConfig(
                name="bench", hash=hash_key(KEY), tier="PRO", scopes=("market", "accounts", "trade")
            ),
        ),
    )
    app = create_app(GatewayConfig(api=settings, pool=pool_config(folder)))
    add_tick_generator(app, app.state.gateway.pool, SYMBOLS)

    uvicorn.run(
        asgi_sends_only(app) if options.pop("asgi_sends_only", False) else app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        **options,
    )


def _accounts_ready(client: httpx.Client) -> bool:
    return all(client.get(f"/api/accounts/{login}").status_code == 200 for login in (5000001, 5000003))


def gateway(folder: Path, options: dict[str, Any] | None = None) -> contextlib.AbstractContextManager[str]:
    """This module's gateway in a process of its own; its base URL once both accounts answer."""
    return gateway_process("bench.bench_trading", folder, options, _accounts_ready, KEY)


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


class RawHttp:
    """A keep-alive HTTP/1.1 connection written by hand: the lightest load generator for this bench.

    httpx costs the client more CPU per request than the gateway's own routing, and client and gateway
    share this 2-core machine; this one writes the request bytes and reads ``content-length`` bytes.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer = reader, writer
        self.prefix = f"Host: {host}\r\nX-API-Key: {KEY}\r\n"

    @classmethod
    async def open(cls, base_url: str) -> RawHttp:
        host = base_url.removeprefix("http://")
        name, _, port = host.partition(":")
        reader, writer = await asyncio.open_connection(name, int(port))
        return cls(reader, writer, host)

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        lines = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        if body:
            lines += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(f"{method} {path} HTTP/1.1\r\n{self.prefix}{lines}\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def timed_senders(
    connections: list[RawHttp], sender: Callable[[int, RawHttp], Awaitable[None]]
) -> float:
    """Run ``sender(n, connection)`` on every connection at once; the seconds that took. Closes them."""
    started = time.perf_counter()
    await asyncio.gather(*(sender(n, http) for n, http in enumerate(connections)))
    elapsed = time.perf_counter() - started
    for http in connections:
        http.close()
    return elapsed


async def http_ceiling(base_url: str) -> tuple[float, float, float]:
    """Requests/s, p50, p99 (s) of ``GET /ws/status`` (key check, no terminal): what HTTP alone allows."""
    latencies: list[float] = []
    connections = [await RawHttp.open(base_url) for _ in range(CONCURRENCY)]
    stop_at = time.perf_counter() + ORDER_SECONDS / 2

    async def getter(http: RawHttp) -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            status, _ = await http.request("GET", "/ws/status")
            assert status == 200, status
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(getter(http) for http in connections))
    elapsed = time.perf_counter() - started
    for http in connections:
        http.close()
    return len(latencies) / elapsed, percentile(latencies, 50), percentile(latencies, 99)


async def rest_orders(
    base_url: str, seconds: float = ORDER_SECONDS, rate: float | None = None
) -> tuple[float, float, float, int]:
    """Orders/s, p50, p99 (s) and failures of market orders over REST with Idempotency-Key.

    Without ``rate`` each connection sends its next order as soon as the last is answered (the
    throughput ceiling, latency then being queueing); with ``rate`` the connections together send
    ``rate`` orders a second on a fixed schedule, and latency counts from when an order was due.
    """
    latencies: list[float] = []
    failures = 0
    connections = [await RawHttp.open(base_url) for _ in range(CONCURRENCY)]
    stop_at = time.perf_counter() + seconds

    async def sender(n: int, http: RawHttp) -> None:
        nonlocal failures
        symbol = list(ORDER_SYMBOLS)[n % 2]
        body = orjson.dumps(
            {"symbol": symbol, "side": "buy", "volume": ORDER_SYMBOLS[symbol], "deviation": 100_000}
        )
        position = None
        interval = CONCURRENCY / rate if rate else 0.0
        due = time.perf_counter() + n * interval / CONCURRENCY
        while time.perf_counter() < stop_at:
            headers = {"Idempotency-Key": uuid.uuid4().hex}
            if interval:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            started = due if interval else time.perf_counter()
            due += interval
            if position is None:
                status, answer = await http.request("POST", "/api/orders", body, headers)
            else:
                url = f"/api/positions/{position}?symbol={symbol}&deviation=100000"
                status, answer = await http.request("DELETE", url, headers=headers)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                if not failures:
                    print("first failure:", status, answer[:300])
                failures += 1
                position = None
                continue
            position = orjson.loads(answer)["result"]["order"] if position is None else None

    elapsed = await timed_senders(connections, sender)
    return len(latencies) / elapsed, percentile(latencies, 50), percentile(latencies, 99), failures


# -- WebSocket ticks --


SUBSCRIBE_ALL = [f"ticks:{symbol}" for symbol in SYMBOLS]


# The WebSocket figures are judged on the gateway as served (SERVE_OPTIONS) and compared, in the
# same run, with the same gateway sending every frame through Starlette and uvicorn (no direct
# writes: the baseline) and with permessage-deflate negotiated (uvicorn's default; frames are
# compressed per connection).
GATEWAYS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("as served", SERVE_OPTIONS),
    ("baseline: ASGI sends only", {**SERVE_OPTIONS, "asgi_sends_only": True}),
    ("deflate", {**SERVE_OPTIONS, "ws_per_message_deflate": True}),
)


def asgi_sends_only(app: Any) -> Any:
    """``app`` with the server's ``send`` hidden behind a plain function: no direct frame writes."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def plain_send(message: dict[str, Any]) -> None:
            await send(message)

        await app(scope, receive, plain_send)

    return wrapped


async def rest_rows(base_url: str, label: str) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    rate, p50, p99 = await http_ceiling(base_url)
    rows.append(
        (
            f"[{label}] baseline: GET /ws/status over the same HTTP stack",
            f"{rate:.0f}/s p50 {p50 * 1e3:.1f} ms p99 {p99 * 1e3:.1f} ms, {load()}",
            "-",
            "-",
        )
    )
    for offered in (None, ORDER_RATE):
        rate, p50, p99, failures = await rest_orders(base_url, rate=offered)
        ok = rate >= 0.98 * ORDER_RATE and (offered is None or p99 <= 0.020) and failures == 0
        rows.append(
            (
                f"[{label}] REST market orders, {CONCURRENCY} conns, "
                + ("as fast as answered" if offered is None else f"{offered}/s offered")
                + f", {failures} failed",
                f"{rate:.0f}/s p50 {p50 * 1e3:.1f} ms p99 {p99 * 1e3:.1f} ms, {load()}",
                ">= 500/s" if offered is None else "500/s with p99 <= 20 ms",
                "yes" if ok else "NO",
            )
        )
    return rows


async def ws_rows(
    base_url: str, label: str, counts: tuple[int, ...], *, judged: bool
) -> list[tuple[str, str, str, str]]:
    """Tick fan-out rows for ``counts`` clients, then 200 batching clients; ``judged``: against the target."""
    rows: list[tuple[str, str, str, str]] = []
    runs = [(n, False) for n in counts] + [(CLIENT_COUNTS[-1], True)]
    async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": KEY}) as client:
        await client.post("/bench/ticks", params={"rate": TICK_RATE})
        for count, batch in runs:
            await asyncio.sleep(1.0)  # the last run's connections closed and forgotten
            figures = await ws_clients(base_url, KEY, SUBSCRIBE_ALL, count, batch=batch, seconds=WS_SECONDS)
            p50, p99, per_s, client_cpu = figures.p50, figures.p99, figures.per_s, figures.receivers_cpu
            target = judged and count == CLIENT_COUNTS[-1]
            rows.append(
                (
                    f"[{label}] ws ticks, {count} clients x 15 symbols, {TICK_RATE}/s in"
                    + (", ?batch=1" if batch else ""),
                    f"p50 {p50 * 1e3:.1f} ms p99 {p99 * 1e3:.1f} ms, {per_s:.0f} ticks/s delivered, "
                    f"receivers {client_cpu:.0%} of a core, {load()}",
                    "p99 <= 25 ms" if target else "-",
                    ("yes" if p99 <= 0.025 else "NO") if target else "-",
                )
            )
        status = (await client.get("/ws/status")).json()
        await client.post("/bench/ticks", params={"rate": 0})
    rows.append(
        (
            f"[{label}] ws messages / frames / coalesced / dropped clients",
            f"{status['messages_sent']} / {status['frames_sent']} / {status['coalesced']} / "
            f"{status['dropped_clients']}",
            "-",
            "-",
        )
    )
    return rows


async def run(folder: Path, *, ws_only: bool) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    if not ws_only:
        rate, p50, p99 = await pool_baseline(folder / "baseline")
        rows.append(
            (
                "baseline: orders straight to the pool",
                f"{rate:.0f}/s p50 {p50 * 1e3:.1f} ms p99 {p99 * 1e3:.1f} ms, {load()}",
                "-",
                "-",
            )
        )
    for n, (label, options) in enumerate(GATEWAYS):
        (folder / f"gateway{n}").mkdir()
        with gateway(folder / f"gateway{n}", options) as base_url:
            if n == 0 and not ws_only:
                rows.extend(await rest_rows(base_url, label))
            counts = CLIENT_COUNTS if n == 0 and not ws_only else CLIENT_COUNTS[-1:]
            rows.extend(await ws_rows(base_url, label, counts, judged=n == 0))
    return rows


def main() -> None:
    if len(sys.argv) >= 5 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]), Path(sys.argv[3]), orjson.loads(sys.argv[4]))
        return
    with tempfile.TemporaryDirectory() as folder:
        rows = asyncio.run(run(Path(folder), ws_only="--ws-only" in sys.argv[1:]))
    print_table(rows)


if __name__ == "__main__":
    main()
