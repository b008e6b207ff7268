"""Terminal pool figures, each against the same work done in-process in the same run.

Targets (issue 3): the 15 default simulated workers up and healthy <= 5 s; RPC overhead of a tiny
call (median through the pool minus median in-process) <= 150 us; ``copy_rates_from_pos`` of 1,000
bars through the pool <= 1 ms median; memory (RSS) of the 15 workers <= 1 GiB; tick latency from
the simulator's clock to the event bus p99 <= 60 ms at the default 50 ms poll interval.

Run with ``python -m bench pool``. Imports stay inside functions: spawned workers re-import the
main module, and should not pay for the gateway side.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CALLS = 2_000
RATES_CALLS = 300
SIM_START = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)
TICK_SECONDS = 15.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (Linux ``/proc``)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def _measure() -> list[tuple[str, str, str, str]]:
    import asyncio
    import statistics

    from mt5gateway.pool import TerminalPool, default_pool_config
    from mt5gateway.pool.backends import make_backend
    from mt5gateway.terminal import constants as c

    # A Wednesday at noon: every one of the 15 markets is open and ticks, whatever today is.
    config = default_pool_config(sim={"broker_db": ":memory:", "start": SIM_START})
    rows: list[tuple[str, str, str, str]] = []

    started = time.perf_counter()
    anchor_ms = time.time_ns() // 1_000_000
    backends = [
        make_backend(t.backend_spec(config.sim, sim_anchor_msc=anchor_ms), 10.0) for t in config.terminals
    ]
    for backend in backends:
        backend.initialize()
    in_process_start = time.perf_counter() - started

    # The sim clock runs SIM_START + (real - pool creation): this offset turns a tick's sim time back
    # into real time for the latency figure.
    sim_offset_ms = time.time() * 1000 - SIM_START.timestamp() * 1000
    pool = TerminalPool(config)
    started = time.perf_counter()
    await pool.start()
    start_s = time.perf_counter() - started
    up = sum(s.status == "up" for s in pool.statuses())
    cpu = sum(_cpu_seconds(s.pid) for s in pool.statuses() if s.pid)
    load = Path("/proc/loadavg").read_text().split()[0]
    rows.append(
        (
            f"15 workers up ({up} up; their CPU {cpu:.1f} s; in-process init {in_process_start:.2f} s; load avg {load})",
            f"{start_s:.2f} s",
            "<= 5 s",
            _ok(start_s <= 5 and up == 15),
        )
    )
    try:
        local = backends[4]  # MT5_05, EURUSD, like the pool's terminal below

        async def timed(call: Any, repeat: int) -> float:
            for _ in range(50):
                await call()
            samples = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                await call()
                samples.append(time.perf_counter() - t0)
            return statistics.median(samples)

        async def local_tick() -> Any:
            return local.symbol_info_tick("EURUSD")

        async def pool_tick() -> Any:
            return await pool.call("MT5_05", "symbol_info_tick", "EURUSD")

        in_process = await timed(local_tick, CALLS)
        through_pool = await timed(pool_tick, CALLS)
        overhead_us = (through_pool - in_process) * 1e6
        rows.append(
            (
                f"RPC overhead, symbol_info_tick (pool {through_pool * 1e6:.0f} us - in-process {in_process * 1e6:.0f} us)",
                f"{overhead_us:.0f} us",
                "<= 150 us",
                _ok(overhead_us <= 150),
            )
        )

        async def local_rates() -> Any:
            return local.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 1000)

        async def pool_rates() -> Any:
            return await pool.call("MT5_05", "copy_rates_from_pos", "EURUSD", c.TIMEFRAME_M1, 0, 1000)

        rates_local = await timed(local_rates, RATES_CALLS)
        rates_pool = await timed(pool_rates, RATES_CALLS)
        rows.append(
            (
                f"copy_rates_from_pos 1,000 bars, median (in-process {rates_local * 1e3:.2f} ms)",
                f"{rates_pool * 1e3:.2f} ms",
                "<= 1 ms",
                _ok(rates_pool <= 1e-3),
            )
        )

        rss = sum(_rss_bytes(s.pid) for s in pool.statuses() if s.pid)
        rows.append(
            (
                f"RSS of the 15 workers ({rss / 15 / 2**20:.0f} MiB each)",
                f"{rss / 2**20:.0f} MiB",
                "<= 1024 MiB",
                _ok(rss <= 2**30),
            )
        )

        latencies: list[float] = []
        symbols: set[str] = set()
        async with pool.bus.subscribe("ticks") as ticks:
            until = time.monotonic() + TICK_SECONDS
            while time.monotonic() < until:
                try:
                    event = await asyncio.wait_for(anext(ticks), max(0.01, until - time.monotonic()))
                except TimeoutError:
                    break
                now_ms = time.time() * 1000
                symbols.add(event.symbol)
                latencies.extend(now_ms - (float(t) + sim_offset_ms) for t in event.ticks["time_msc"])
        if latencies:
            latencies.sort()
            p50 = latencies[len(latencies) // 2]
            p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
            rows.append(
                (
                    f"tick latency sim -> bus, p99 ({len(latencies)} ticks of {len(symbols)} symbols in {TICK_SECONDS:g} s; p50 {p50:.0f} ms)",
                    f"{p99:.0f} ms",
                    "<= 60 ms",
                    _ok(p99 <= 60),
                )
            )
        else:
            rows.append(("tick latency sim -> bus: no ticks (markets closed?)", "-", "<= 60 ms", "n/a"))
    finally:
        await pool.stop()
        for backend in backends:
            backend.shutdown()
    return rows


def _ok(passed: bool) -> str:
    return "yes" if passed else "NO"


def main() -> None:
    import asyncio

    from bench._util import print_table

    print_table(asyncio.run(_measure()))


if __name__ == "__main__":
    main()
