"""Builders shared by the pool tests: small simulated pools and a client hammering terminals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from mt5gateway.pool import TerminalPool
from mt5gateway.pool.config import PoolConfig, parse_pool_config

# Crypto trades at weekends too, so these symbols tick whatever day the tests run.
STREAMING_SYMBOLS = ("BTCUSD", "ETHUSD")


def small_config(symbols: Iterable[str], **overrides: Any) -> PoolConfig:
    """One simulated terminal per symbol (T1, T2, ...), fast health checks, in-memory brokers."""
    settings: dict[str, Any] = {
        "terminals": [{"id": f"T{i}", "symbols": [s]} for i, s in enumerate(symbols, start=1)],
        "sim": {"broker_db": ":memory:"},
        "health_interval": 0.5,
        "backoff_initial": 0.5,
        "deadlines": {"fast": 1.5},
    }
    settings.update(overrides)
    return parse_pool_config(settings, source="test")


@asynccontextmanager
async def running_pool(config: PoolConfig) -> AsyncIterator[TerminalPool]:
    """A started pool whose terminals are all up; stopped afterwards."""
    pool = TerminalPool(config)
    await pool.start()
    try:
        down = [s.terminal_id for s in pool.statuses() if s.status != "up"]
        assert not down, f"terminals not up after start: {down}"
        yield pool
    finally:
        await pool.stop()


@dataclass
class Hammer:
    """Calls ``symbol_info_tick`` on the given terminals in a loop and counts what failed."""

    pool: TerminalPool
    symbols: list[str]
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            for symbol in self.symbols:
                try:
                    tick = await self.pool.call_symbol(symbol, "symbol_info_tick", symbol)
                except Exception as exc:
                    self.failures.append(f"{symbol}: {type(exc).__name__}: {exc}")
                else:
                    if tick is None:
                        self.failures.append(
                            f"{symbol}: None {self.pool.last_error(self.pool.terminal_for_symbol(symbol))}"
                        )
                    else:
                        self.ok += 1
            await asyncio.sleep(0.002)

    async def __aenter__(self) -> Hammer:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def wait_until(predicate: Callable[[], Any], timeout: float, step: float = 0.02) -> float:
    """Seconds until ``predicate()`` (sync or async) is truthy; fails the test after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        outcome = predicate()
        if asyncio.iscoroutine(outcome):
            outcome = await outcome
        if outcome:
            return time.monotonic() - started
        await asyncio.sleep(step)
    raise AssertionError(f"not true within {timeout} s")


async def serves(pool: TerminalPool, symbol: str) -> bool:
    """Whether the terminal of ``symbol`` answers a call now."""
    try:
        return await pool.call_symbol(symbol, "symbol_info_tick", symbol) is not None
    except Exception:
        return False
