"""Account-mirror figures, against a sequential baseline measured in the same run.

Targets (issue 7): one cycle over the 7 simulated accounts of a real gateway <= 1 s (the original
design took about 8 s); 1,000 accounts over 10 gateways <= 10 s.

- 7 accounts: the test gateway (``tests.sync.gateway``, its own process: three simulated terminals,
  two of which switch between three accounts each), the worker over HTTP into a SQLite mirror.
- 1,000 accounts: 10 lightweight gateway stand-ins (``tests.sync.lite_gateway``, one process, one
  port each, 100 accounts each, every info answer after 2 ms), since 10 full gateways with their
  terminal processes do not fit the bench machine. Same worker, same mirror code.

The baseline is the same worker with one request in flight per gateway (each gateway's accounts one
after another, as the original design read them; the 10 gateways are still asked in parallel).
On this 2-core machine the 1,000-account cycle is bound by the client's CPU (httpx costs about
1 ms a request, a third of it in httpcore's failed ``import sniffio`` per request while sniffio is not
installed), so more requests in flight do not make it faster.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from tests.sync.gateway import VIEWER_KEY, gateway_process
from tests.sync.lite_gateway import LITE_KEY

from bench._util import free_port, print_table
from mt5gateway.sync import Mirror, SourceConfig, SyncSettings, SyncWorker

ROOT = Path(__file__).resolve().parents[1]
LITE_GATEWAYS, LITE_ACCOUNTS = 10, 100
DEFAULT_CONCURRENCY = SyncSettings.model_fields["concurrency"].default


async def _cycle_seconds(
    folder: Path, sources: list[SourceConfig], *, concurrency: int, cycles: int, expect: int
) -> list[float]:
    """Durations of ``cycles`` cycles (after one warm-up) into a fresh SQLite mirror."""
    url = f"sqlite:///{folder / f'mirror-{concurrency}-{time.monotonic_ns()}.sqlite'}"
    settings = SyncSettings(database_url=url, sources=tuple(sources), concurrency=concurrency)
    worker = SyncWorker(settings, Mirror.open(url))
    try:
        await worker.run_cycle()
        samples = []
        for _ in range(cycles):
            run = await worker.run_cycle()
            if run.accounts_ok != expect:
                raise RuntimeError(f"a cycle synced {run.accounts_ok} of {expect} accounts: {run.errors[:3]}")
            samples.append(run.duration_seconds)
        return samples
    finally:
        await worker.stop()
        worker.mirror.close()


def _start_lite_gateways(ports: list[int]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.sync.lite_gateway", "--ports", ",".join(map(str, ports))]
    command += ["--accounts", str(LITE_ACCOUNTS), "--latency-ms", "2"]
    process = subprocess.Popen(command, cwd=ROOT)
    deadline = time.monotonic() + 30
    for port in ports:
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1.0)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    process.kill()
                    raise RuntimeError("the lite gateways did not start") from None
                time.sleep(0.05)
    return process


def _row(measure: str, samples: list[float], target: float | None) -> tuple[str, str, str, str]:
    median = statistics.median(samples)
    text = f"{median:.3f} s (median of {len(samples)}, max {max(samples):.3f})"
    if target is None:
        return (measure, text, "baseline", "")
    return (measure, text, f"<= {target:g} s", "yes" if max(samples) <= target else "NO")


def main() -> None:
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        with gateway_process(folder, free_port()) as gateway:
            source = [SourceConfig(name="vps", url=gateway.url, api_key=VIEWER_KEY)]
            fast = asyncio.run(
                _cycle_seconds(folder, source, concurrency=DEFAULT_CONCURRENCY, cycles=10, expect=7)
            )
            slow = asyncio.run(_cycle_seconds(folder, source, concurrency=1, cycles=5, expect=7))
        rows.append(_row("7 accounts, 1 real gateway, 1 in flight", slow, None))
        rows.append(_row(f"7 accounts, 1 real gateway, {DEFAULT_CONCURRENCY} in flight", fast, 1.0))

        ports = [free_port() for _ in range(LITE_GATEWAYS)]
        lite = _start_lite_gateways(ports)
        try:
            sources = [
                SourceConfig(name=f"vps-{i}", url=f"http://127.0.0.1:{port}", api_key=LITE_KEY)
                for i, port in enumerate(ports)
            ]
            total = LITE_GATEWAYS * LITE_ACCOUNTS
            slow = asyncio.run(_cycle_seconds(folder, sources, concurrency=1, cycles=1, expect=total))
            fast = asyncio.run(
                _cycle_seconds(folder, sources, concurrency=DEFAULT_CONCURRENCY, cycles=3, expect=total)
            )
        finally:
            lite.kill()
            lite.wait()
        rows.append(_row(f"{total} accounts, {LITE_GATEWAYS} lite gateways, 1 in flight each", slow, None))
        rows.append(
            _row(
                f"{total} accounts, {LITE_GATEWAYS} lite gateways, {DEFAULT_CONCURRENCY} in flight each",
                fast,
                10.0,
            )
        )
    print_table(rows)


if __name__ == "__main__":
    main()
