"""Bars, ticks, quotes and the MT5 Bridge Microservice's ``POST /order`` (issue 17), with baselines.

The gateway runs as ``mt5gateway serve`` in a subprocess with its defaults (the 15 simulated
terminals, uvicorn), a PRO key with every scope and rate limits out of the way; the load generator is
bench_api's keep-alive client (and bench_trading's for orders) in this process.

Targets: ``GET /api/bars/EURUSD/H1?count=1000`` at most 0.5 ms of CPU per request to build the body
and at least 1,500 req/s; ``GET /api/quotes`` (the tier's 15 symbols) at least 2,000 req/s; S4
``POST /order`` at 100 orders/s with p99 at most 20 ms. Baselines, same run: the former bars body (a
dict per bar and the response model's pass, measured in this process on the same bars), the
framework's ceiling (``/api/timeframes``), the former quotes path (a ``symbol_info_tick`` call to each
of the 15 workers per request, through a pool in this process, before the gateway starts), and
``POST /api/orders`` at the same 100/s on the same gateway.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import orjson
import uvloop
from pydantic import BaseModel, TypeAdapter

from bench._util import Timing, print_table, time_calls
from bench.bench_api import _gateway, _http_row, _run_load
from bench.bench_trading import KEY, RawHttp, percentile, timed_senders
from mt5gateway.pool import TerminalPool, default_pool_config
from mt5gateway.pool.config import DEFAULT_SYMBOLS_BY_TERMINAL
from mt5gateway.sim.terminal import SimConfig, SimTerminal
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.arrays import records_json

BARS_PATH = "/api/bars/EURUSD/H1?count=1000"
ORDER_RATE = 100
ORDER_SECONDS = 6.0
SENDERS = 8


class _FormerBarsResponse(BaseModel):
    """The bars response model as the route validated each body before (a list of dicts)."""

    success: bool
    symbol: str
    timeframe: str
    terminal_id: str
    count: int
    bars: list[dict[str, Any]]


def _body_rows() -> list[tuple[str, str, str, str]]:
    """CPU to build the 1,000-bar body: now (from the arrays) against the former path."""
    terminal = SimTerminal(SimConfig(seed=42, db_path=":memory:"))
    terminal.initialize()
    rates = terminal.copy_rates_from_pos("EURUSD", c.TIMEFRAME_H1, 0, 1000)
    terminal.shutdown()
    assert rates is not None and len(rates) == 1000
    head = {"success": True, "symbol": "EURUSD", "timeframe": "H1", "terminal_id": "MT5_05", "count": 1000}
    adapter = TypeAdapter(_FormerBarsResponse)

    def former() -> bytes:
        names = rates.dtype.names or ()
        body = {**head, "bars": [dict(zip(names, row, strict=True)) for row in rates.tolist()]}
        return orjson.dumps(adapter.dump_python(adapter.validate_python(body), mode="json"))

    def current() -> bytes:
        return orjson.dumps({**head, "bars": records_json(rates)})

    assert orjson.loads(former()) == orjson.loads(current())
    now, before = time_calls(current, repeat=200, warmup=20), time_calls(former, repeat=200, warmup=20)

    def row(label: str, timing: Timing, target: float | None) -> tuple[str, str, str, str]:
        value = timing.median * 1000
        verdict = "-" if target is None else ("yes" if value <= target else "NO")
        return (label, f"{value:.3f} ms (median)", "-" if target is None else f"<= {target} ms", verdict)

    return [
        row("1,000-bar body from the arrays (CPU)", now, 0.5),
        row(f"  baseline: a dict per bar + response model ({before.median / now.median:.1f}x)", before, None),
    ]


async def _former_quotes(seconds: float = 4.0) -> tuple[float, float]:
    """Requests/s and p99 (s) of the former quotes path: each of the 15 workers asked per request."""
    async with TerminalPool(default_pool_config()) as pool:
        latencies: list[float] = []
        stop_at = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                await asyncio.gather(
                    *(
                        pool.call(terminal, "symbol_info_tick", symbol)
                        for terminal, symbol in DEFAULT_SYMBOLS_BY_TERMINAL.items()
                    )
                )
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(client() for _ in range(32)))
    return len(latencies) / seconds, percentile(latencies, 99)


async def _orders(base_url: str, path: str) -> tuple[float, float, float, int]:
    """Orders/s, p50, p99 (s) and failures of market BTCUSD orders at ``ORDER_RATE``/s on ``path``.

    Buys and sells alternate (the hedging account's margin stays small); each order carries its
    own Idempotency-Key on ``/api/orders`` and none on ``/order`` (the S4 client's way).
    """
    latencies: list[float] = []
    failures = 0
    connections = [await RawHttp.open(base_url) for _ in range(SENDERS)]
    interval = SENDERS / ORDER_RATE
    stop_at = time.perf_counter() + ORDER_SECONDS

    async def sender(n: int, http: RawHttp) -> None:
        nonlocal failures
        due = time.perf_counter() + n * interval / SENDERS
        side = "buy" if n % 2 else "sell"
        while time.perf_counter() < stop_at:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            started, due = due, due + interval
            if path == "/order":
                body, headers = (
                    {"symbol": "BTCUSD", "order_type": side, "volume": 0.01, "deviation": 100_000},
                    {},
                )
            else:
                body = {"symbol": "BTCUSD", "side": side, "volume": 0.01, "deviation": 100_000}
                headers = {"Idempotency-Key": uuid.uuid4().hex}
            status, answer = await http.request("POST", path, orjson.dumps(body), headers)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                if not failures:
                    print("first failure:", status, answer[:300])
                failures += 1
            side = "sell" if side == "buy" else "buy"

    elapsed = await timed_senders(connections, sender)
    return len(latencies) / elapsed, percentile(latencies, 50), percentile(latencies, 99), failures


def _order_row(
    label: str, result: tuple[float, float, float, int], target_p99_ms: float | None
) -> tuple[str, str, str, str]:
    rate, p50, p99, failures = result
    ok = failures == 0 and (target_p99_ms is None or p99 * 1000 <= target_p99_ms)
    value = f"{rate:,.0f} orders/s, p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms, {failures} failed"
    target = f"{ORDER_RATE}/s, p99 <= {target_p99_ms:g} ms" if target_p99_ms else "-"
    return (label, value, target, "yes" if ok else ("NO" if target_p99_ms else "-"))


def main() -> None:
    rows = _body_rows()
    rate, p99 = uvloop.run(_former_quotes())
    former_quotes = (
        "  baseline: quotes from the 15 workers per request (pool, no HTTP)",
        f"{rate:,.0f} req/s, p99 {p99 * 1000:.2f} ms",
        "-",
        "-",
    )
    with _gateway(KEY, cache_size=512, scopes=("market", "accounts", "trade"), loop="auto") as server:
        rows.append(
            _http_row(
                "baseline /api/timeframes (32 conns)", _run_load(server, "/api/timeframes", KEY), 0, None
            )
        )
        rows.append(_http_row(f"GET {BARS_PATH}", _run_load(server, BARS_PATH, KEY), 1500, None))
        rows.append(
            _http_row(
                "GET /api/ticks/BTCUSD?count=1000",
                _run_load(server, "/api/ticks/BTCUSD?count=1000", KEY),
                0,
                None,
            )
        )
        rows.append(
            _http_row("GET /api/quotes (15 symbols)", _run_load(server, "/api/quotes", KEY), 2000, None)
        )
        rows.append(former_quotes)
        rows.append(
            _order_row("S4 POST /order (no Idempotency-Key)", uvloop.run(_orders(server.base, "/order")), 20)
        )
        rows.append(
            _order_row(
                "  baseline: POST /api/orders, same rate",
                uvloop.run(_orders(server.base, "/api/orders")),
                None,
            )
        )
    print_table(rows)


if __name__ == "__main__":
    main()
