"""HTTP service throughput and latency (issue 4), with the load generator in the same run.

The gateway runs as ``mt5gateway serve`` in a subprocess on the 15 simulated terminals (uvicorn,
one process); the load generator is a minimal keep-alive HTTP/1.1 client on asyncio streams in this
process (httpx costs more CPU per request than the server does, which on 2 cores would measure the
client). Each run: 32 connections for a few seconds after a warm-up.

Targets: cached ``/api/indicators/EURUSD/H1?bars=1000`` >= 3,000 req/s with p99 <= 10 ms; uncached
(a second server with the indicator cache disabled, so every request fetches the bars from the
terminal, computes and serialises) >= 300 req/s; the indicator computation on 5,000 bars <= 5 ms.
Baselines: ``/api/timeframes`` (auth, rate limit and a tiny JSON body: the framework's ceiling), the
uncached run with the indicator rendered on the event loop instead of in a worker process, and the
server on uvloop instead of asyncio's own event loop (``serve --loop``).

The machine is shared, so every HTTP row carries the CPU seconds the gateway's processes (server,
terminal and render workers) spent per request, the load generator's, and the 1-minute load average
at the end of the run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import uvloop

from bench._util import Timing, free_port, print_table, time_calls
from mt5gateway.api.keys import generate_key, hash_key
from mt5gateway.indicators import OverlayParams, find_overlays, minimum_history
from mt5gateway.indicators.overlays import overlay_fragments
from mt5gateway.sim.terminal import SimConfig, SimTerminal
from mt5gateway.terminal import constants as c

CONNECTIONS = 32
DURATION_S = 6.0
WARMUP_S = 1.5
CACHED_PATH = "/api/indicators/EURUSD/H1?bars=1000"


@dataclass(frozen=True)
class Server:
    """A running gateway: its base URL and process id."""

    base: str
    pid: int

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])


@dataclass(frozen=True)
class LoadRun:
    """One load run: throughput, latencies, and the CPU it took on each side."""

    rate: float
    timing: Timing
    server_cpu_ms: float  # per request, the gateway and its worker processes
    client_cpu_ms: float  # per request, the load generator
    load_average: float


def _tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of process ``root`` and its live descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as file:
                # Fields after the parenthesised command name: state ppid ... utime(12) stime(13).
                fields = file.read().rpartition(b")")[2].split()
        except OSError:
            continue  # exited meanwhile
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    tree = {root}
    grew = True
    while grew:
        added = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= added
        grew = bool(added)
    return sum(times.get(pid, 0.0) for pid in tree)


@contextmanager
def _gateway(
    key: str,
    *,
    cache_size: int,
    render_workers: int = 1,
    loop: str = "asyncio",
    scopes: tuple[str, ...] = ("market",),
) -> Iterator[Server]:
    """``mt5gateway serve`` in a subprocess; yields it once /api/health answers ok."""
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "bench.toml"
        config.write_text(
            "[api]\n"
            f"port = {port}\n"
            f"indicator_cache_size = {cache_size}\n"
            f"indicator_render_workers = {render_workers}\n"
            "[api.rate_limit]\nper_minute = 100000000\nburst = 1000000\n"
            f'[[api.keys]]\nname = "bench"\nhash = "{hash_key(key)}"\ntier = "PRO"\n'
            f"scopes = {list(scopes)!r}\n".replace("'", '"')
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("MT5GW_API_")}
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mt5gateway.cli",
                "serve",
                "--config",
                str(config),
                "--log-level",
                "warning",
                "--loop",
                loop,
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/api/health", timeout=2) as response:
                        if orjson.loads(response.read())["status"] == "ok":
                            break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the gateway did not start")
                time.sleep(0.2)
            yield Server(base, process.pid)
        finally:
            process.terminate()
            process.wait(30)


async def _connection(
    port: int, request: bytes, stop_at: float, record_from: float, latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (now := time.perf_counter()) < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            body = await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                status_line = head.partition(b"\r\n")[0]
                raise RuntimeError(f"unexpected response: {status_line!r} {body[:300]!r}")
            if now >= record_from:
                latencies.append(time.perf_counter() - now)
    finally:
        writer.close()


async def _load(port: int, path: str, key: str) -> tuple[float, Timing]:
    """Requests per second and latencies of ``CONNECTIONS`` keep-alive clients looping on ``path``."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\nAccept-Encoding: gzip\r\n\r\n".encode()
    latencies: list[float] = []
    start = time.perf_counter()
    record_from = start + WARMUP_S
    stop_at = record_from + DURATION_S
    await asyncio.gather(
        *(_connection(port, request, stop_at, record_from, latencies) for _ in range(CONNECTIONS))
    )
    return len(latencies) / DURATION_S, Timing(latencies)


def _run_load(server: Server, path: str, key: str) -> LoadRun:
    server_cpu, client_cpu = _tree_cpu_seconds(server.pid), time.process_time()
    rate, timing = uvloop.run(_load(server.port, path, key))
    # The warm-up's requests are not counted in the rate: charge the CPU over the whole run.
    requests = rate * (DURATION_S + WARMUP_S)
    return LoadRun(
        rate=rate,
        timing=timing,
        server_cpu_ms=(_tree_cpu_seconds(server.pid) - server_cpu) / requests * 1000,
        client_cpu_ms=(time.process_time() - client_cpu) / requests * 1000,
        load_average=os.getloadavg()[0],
    )


def _http_row(
    measure: str, run: LoadRun, target_rate: float, target_p99_ms: float | None
) -> tuple[str, str, str, str]:
    p50, p99 = run.timing.percentile(50) * 1000, run.timing.percentile(99) * 1000
    ok = run.rate >= target_rate and (target_p99_ms is None or p99 <= target_p99_ms)
    target = f">= {target_rate:,.0f} req/s" + (f", p99 <= {target_p99_ms:g} ms" if target_p99_ms else "")
    value = (
        f"{run.rate:,.0f} req/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms; CPU/req server {run.server_cpu_ms:.2f} ms, "
        f"client {run.client_cpu_ms:.2f} ms; load {run.load_average:.1f}"
    )
    return (measure, value, target, "yes" if ok else "NO")


def _computation_rows() -> list[tuple[str, str, str, str]]:
    terminal = SimTerminal(SimConfig(seed=42, db_path=":memory:"))
    terminal.initialize()
    rates = terminal.copy_rates_from_pos("EURUSD", c.TIMEFRAME_H1, 0, 5000)
    assert rates is not None, terminal.last_error()
    params = OverlayParams()
    assert len(rates) == 5000 >= minimum_history(params)
    high, low, close = (rates[name].astype("float64") for name in ("high", "low", "close"))
    analysis = time_calls(lambda: find_overlays(high, low, close, params), repeat=30, warmup=3)
    payload = time_calls(
        lambda: orjson.dumps(overlay_fragments(rates, params, bars=5000, digits=5)), repeat=30, warmup=3
    )
    terminal.shutdown()

    def row(measure: str, timing: Timing, target_ms: float | None) -> tuple[str, str, str, str]:
        value = timing.median * 1000
        if target_ms is None:
            return (measure, f"{value:.2f} ms (median)", "-", "-")
        return (
            measure,
            f"{value:.2f} ms (median)",
            f"<= {target_ms:g} ms",
            "yes" if value <= target_ms else "NO",
        )

    return [
        row("indicators on 5,000 H1 bars: fractals, ATR, lines", analysis, 5.0),
        row("  + the 5,000-bar payload's JSON (overlay_fragments, orjson)", payload, None),
    ]


def _loop_rows(key: str, loop: str, label: str, *, with_targets: bool) -> list[tuple[str, str, str, str]]:
    """Baseline, cached and uncached runs of a gateway on ``loop``; targets checked when asked."""
    rows = []
    with _gateway(key, cache_size=512, loop=loop) as server:
        run = _run_load(server, "/api/timeframes", key)
        rows.append(_http_row(f"{label}baseline /api/timeframes (32 conns)", run, 0, None))
        run = _run_load(server, CACHED_PATH, key)
        rows.append(
            _http_row(f"{label}cached {CACHED_PATH}", run, *((3000, 10) if with_targets else (0, None)))
        )
    with _gateway(key, cache_size=0, loop=loop) as server:
        run = _run_load(server, CACHED_PATH, key)
        target = 300 if with_targets else 0
        rows.append(_http_row(f"{label}uncached (cache off: fetch, compute, serialise)", run, target, None))
    return rows


def main() -> None:
    key = generate_key()
    rows = _computation_rows()
    rows += _loop_rows(key, "asyncio", "", with_targets=True)
    with _gateway(key, cache_size=0, render_workers=0) as server:
        run = _run_load(server, CACHED_PATH, key)
        rows.append(_http_row("  baseline: uncached, rendered on the event loop", run, 0, None))
    rows += _loop_rows(key, "uvloop", "  uvloop: ", with_targets=False)
    print_table(rows)


if __name__ == "__main__":
    main()
