"""Technical-analysis figures (issue 11), each beside a baseline measured in the same run.

1. Ten indicators on 5,000 bars (target <= 5 ms): the ``/api/ta`` body as the service builds it on a
   cache miss (every output computed over 5,000 bars plus the longest warm-up, then JSON), and the
   computation alone, against the same ten TA-Lib calls made directly on the same arrays.
2. A streamed update (target <= 5 us per indicator): ``IndicatorStream.update`` (a closed bar) and
   ``peek`` (the forming bar) over the same ten indicators, against TA-Lib's own stream handles
   called directly.
3. The scanner over 15 symbols (target <= 50 ms): ``GET /api/scan`` (every pattern and an RSI
   condition on H1) on the gateway as served (15 simulated terminals, ``mt5gateway serve`` options;
   ``bench._ta_gateway``),
   against ``GET /api/quotes`` on the same gateway (one terminal call per symbol, no analysis).
4. 200 WebSocket clients on ``ta:`` channels (RSI(14) on M5 of the 15 symbols) with ticks at
   1,000/s (target p99 <= 25 ms tick to client), against the same 200 clients on the ``ticks:``
   channels of the same gateway. Ticks come from a generator on the pool's bus (as in
   bench_trading); each ``ta:`` message carries the newest tick it reflects. After the ticks stop,
   every client's last message on every channel must carry that symbol's last tick (delivered or
   coalesced, never stale), and none may arrive older than one before it.

CPU times are the process's (``time.process_time``): on a shared machine they leave out the waits
for a busy core that wall times include; both are printed.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import talib
from talib import stream as talib_stream

from bench._ta_gateway import KEY
from bench._util import median_cpu_seconds, print_table, time_calls
from bench._ws import SERVE_OPTIONS, gateway_process, load, percentile, ws_clients
from mt5gateway.pool.config import DEFAULT_SYMBOLS_BY_TERMINAL
from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.market import Market
from mt5gateway.sim.symbols import DEFAULT_SYMBOLS
from mt5gateway.ta import Bars, IndicatorStream, compute, parse_specs, warmup_of
from mt5gateway.ta.service import indicators_body
from mt5gateway.terminal import constants as c

SYMBOLS = sorted(DEFAULT_SYMBOLS_BY_TERMINAL.values())
TEN = "RSI(14),MACD(12,26,9),BBANDS(20,2,2),SMA(50),EMA(200),ATR(14),STOCH,ADX(14),CCI(14),OBV"
BARS = 5_000
REPEAT = 100
UPDATES = 20_000
SCANS = 40
TICK_RATE = 1_000
CLIENTS = 200
WS_SECONDS = 4.0
# 2026-01-01 00:00 UTC: a fixed clock makes the bars the same on every run
CLOCK_MSC = 1_767_225_600_000


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f} us"


# -- 1. ten indicators on 5,000 bars --


def _direct_calls(bars: Bars) -> Callable[[], None]:
    """The ten TA-Lib calls of ``TEN``, made directly with their parameters."""
    h, low, close, volume = bars.high, bars.low, bars.close, bars.volume

    def calls() -> None:
        talib.RSI(close, timeperiod=14)
        talib.MACD(close, fastperiod=12, slowperiod=26, signalperiod=9)
        talib.BBANDS(close, timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0)
        talib.SMA(close, timeperiod=50)
        talib.EMA(close, timeperiod=200)
        talib.ATR(h, low, close, timeperiod=14)
        talib.STOCH(h, low, close, 5, 3, 0, 3, 0)
        talib.ADX(h, low, close, timeperiod=14)
        talib.CCI(h, low, close, timeperiod=14)
        talib.OBV(close, volume)

    return calls


def indicator_rows() -> list[tuple[str, str, str, str]]:
    specs = parse_specs(TEN)
    history = BARS + max(warmup_of(spec).bars for spec in specs)
    market = Market(DEFAULT_SYMBOLS, seed=7, clock=ManualClock(CLOCK_MSC))
    rates = market.rates_from_pos("EURUSD", c.TIMEFRAME_H1, 0, history)
    bars = Bars.from_rates(rates)
    header = {"symbol": "EURUSD", "timeframe": "H1", "tier": "PRO", "terminal_id": "MT5_05"}

    def body() -> bytes:
        return indicators_body(specs, rates, bars=BARS, header=header)

    def computation() -> list[dict[str, Any]]:
        every = Bars.from_rates(rates)
        return [compute(spec, every) for spec in specs]

    direct = _direct_calls(bars)
    direct_wall, direct_cpu = time_calls(direct, REPEAT).median, median_cpu_seconds(direct, REPEAT)
    rows = [
        (
            f"baseline: the same 10 TA-Lib calls made directly, {history} bars",
            f"{_ms(direct_cpu)} CPU, {_ms(direct_wall)} wall",
            "-",
            "-",
        )
    ]
    for label, fn in (("computation alone", computation), ("/api/ta body (+ JSON)", body)):
        cpu = median_cpu_seconds(fn, REPEAT)
        wall = time_calls(fn, REPEAT).median
        rows.append(
            (
                f"10 indicators on {BARS} bars: {label}",
                f"{_ms(cpu)} CPU ({cpu / direct_cpu:.1f}x direct), {_ms(wall)} wall, {load()}",
                "<= 5 ms",
                "yes" if cpu <= 0.005 else "NO",
            )
        )
    rows.append((f"  (the body: {len(body()) / 1e6:.2f} MB of JSON)", "-", "-", "-"))
    return rows


# -- 2. a streamed update --


def stream_rows() -> list[tuple[str, str, str, str]]:
    specs = parse_specs(TEN)
    market = Market(DEFAULT_SYMBOLS, seed=7, clock=ManualClock(CLOCK_MSC))
    rates = market.rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 3_000 + UPDATES)
    bars = Bars.from_rates(rates)
    history = bars.rows(0, 3_000)
    feed = [
        tuple(float(bars.column(name)[row]) for name in ("open", "high", "low", "close", "volume"))
        for row in range(3_000, len(bars))
    ]

    def per_update(run: Callable[[tuple[float, ...]], object]) -> float:
        start = time.process_time()
        for bar in feed:
            run(bar)
        return (time.process_time() - start) / len(feed)

    ours_update, ours_peek, raw_update, raw_peek = [], [], [], []
    for spec in specs:
        stream = IndicatorStream.open(spec, history)
        assert stream is not None
        ours_peek.append(per_update(stream.peek))
        ours_update.append(per_update(stream.update))
        positions = [("open", "high", "low", "close", "volume").index(c) for c in spec.function.inputs]
        raw = getattr(talib_stream, spec.name)(
            *(history.column(c) for c in spec.function.inputs), **spec.parameters
        )
        raw_peek.append(per_update(lambda bar, h=raw, p=positions: h.peek(*(bar[i] for i in p))))
        raw_update.append(per_update(lambda bar, h=raw, p=positions: h.update(*(bar[i] for i in p))))
    rows = [
        (
            "baseline: TA-Lib's stream handles called directly, per indicator (mean of 10)",
            f"update {_us(statistics.mean(raw_update))}, peek {_us(statistics.mean(raw_peek))}",
            "-",
            "-",
        )
    ]
    for label, samples in (("update (a closed bar)", ours_update), ("peek (the forming bar)", ours_peek)):
        worst = max(samples)
        rows.append(
            (
                f"streamed {label}, per indicator over {UPDATES} bars",
                f"mean {_us(statistics.mean(samples))}, slowest ({specs[samples.index(worst)].label}) "
                f"{_us(worst)}, {load()}",
                "<= 5 us",
                "yes" if worst <= 5e-6 else "NO",
            )
        )
    return rows


# -- 3. and 4.: a gateway as served --


def _all_up(client: httpx.Client) -> bool:
    return bool(client.get("/api/health").json().get("connected_terminals") == len(SYMBOLS))


async def _latencies(
    client: httpx.AsyncClient, path: str, params: dict[str, Any]
) -> tuple[float, list[float]]:
    """The first request's latency, then those of ``SCANS`` more."""
    samples = []
    for _ in range(SCANS + 1):
        started = time.perf_counter()
        response = await client.get(path, params=params)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return samples[0], samples[1:]


async def scan_rows(base_url: str) -> list[tuple[str, str, str, str]]:
    async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": KEY}, timeout=60) as client:
        _, quotes = await _latencies(client, "/api/quotes", {})
        scan = {"timeframe": "H1", "patterns": "all", "indicators": "RSI(14) < 30"}
        first, scans = await _latencies(client, "/api/scan", scan)
        scanned = (await client.get("/api/scan", params=scan)).json()["scanned"]
    return [
        (
            "baseline: GET /api/quotes, 15 symbols (one terminal call each)",
            f"median {_ms(statistics.median(quotes))}, p99 {_ms(percentile(quotes, 99))}",
            "-",
            "-",
        ),
        (
            f"GET /api/scan over {scanned} symbols: 61 patterns + RSI(14) < 30 on H1",
            f"median {_ms(statistics.median(scans))}, p99 {_ms(percentile(scans, 99))} "
            f"(first, history fetched: {_ms(first)}), {load()}",
            "<= 50 ms",
            "yes" if statistics.median(scans) <= 0.050 else "NO",
        ),
    ]


async def websocket_rows(base_url: str) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": KEY}) as client:
        newest: dict[str, int] = {}

        async def stop_ticks() -> None:
            await client.post("/bench/ticks", params={"rate": 0})
            await asyncio.sleep(0.3)  # the last ticks' reads and messages are on their way
            newest.update((await client.get("/bench/ticks")).json())

        runs = [
            (label, channels, count)
            for count in (1, CLIENTS)
            for label, channels in (
                ("baseline: ticks: channels", [f"ticks:{s}" for s in SYMBOLS]),
                ("ta: channels, RSI(14) on M5", [f"ta:{s}:M5:RSI(14)" for s in SYMBOLS]),
            )
        ]
        for label, channels, count in runs:
            newest.clear()
            await client.post("/bench/ticks", params={"rate": TICK_RATE})
            await asyncio.sleep(1.0)  # the last run's connections closed and forgotten
            figures = await ws_clients(
                base_url,
                KEY,
                channels,
                count,
                seconds=WS_SECONDS,
                linger=1.5,
                per_channel=True,
                during=stop_ticks,
            )
            fresh = sum(
                all(last.get(channel) == newest[channel.split(":")[1]] for channel in channels)
                for last in figures.last_stamps
            )
            judged = channels[0].startswith("ta:") and count == CLIENTS
            rows.append(
                (
                    f"{label}, {count} client{'s' * (count > 1)} x 15 symbols, {TICK_RATE} ticks/s in",
                    f"p50 {_ms(figures.p50)} p99 {_ms(figures.p99)}, {figures.per_s:.0f} messages/s delivered, "
                    f"receivers {figures.receivers_cpu:.0%} of a core, {load()}",
                    "p99 <= 25 ms" if judged else "-",
                    ("yes" if figures.p99 <= 0.025 else "NO") if judged else "-",
                )
            )
            rows.append(
                (
                    "  clients whose last message per channel carries its last tick; arrived out of order",
                    f"{fresh} of {count}; {figures.out_of_order}",
                    f"{count}; 0",
                    "yes" if fresh == count and not figures.out_of_order else "NO",
                )
            )
        status = (await client.get("/ws/status")).json()
    rows.append(
        (
            "ws messages / frames / coalesced / dropped clients",
            f"{status['messages_sent']} / {status['frames_sent']} / {status['coalesced']} / "
            f"{status['dropped_clients']}",
            "-",
            "-",
        )
    )
    return rows


async def gateway_rows(folder: Path) -> list[tuple[str, str, str, str]]:
    with gateway_process("bench._ta_gateway", folder, SERVE_OPTIONS, _all_up, KEY) as base_url:
        return [*await scan_rows(base_url), *await websocket_rows(base_url)]


def main() -> None:
    rows = [*indicator_rows(), *stream_rows()]
    with tempfile.TemporaryDirectory() as folder:
        rows.extend(asyncio.run(gateway_rows(Path(folder))))
    print_table(rows)


if __name__ == "__main__":
    main()
