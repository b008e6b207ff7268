"""The recorder: ticks from the pool's event bus into the store, with M1 and longer bars built on the way.

For each recorded symbol it keeps a cursor (the newest tick accepted and how many ticks of that
millisecond it has), so ticks that come twice (a re-fetch overlapping the live stream) are taken once
and ticks sharing a millisecond are numbered the way the store expects. Ticks are written in batches
of ``batch_ticks`` or every ``batch_ms``, whichever comes first; the M1 bars that closed (a tick of a
later minute arrived) and the longer bars holding them go in the same transaction.

Nothing the terminal still has is lost: on start, and whenever the bus dropped events or a terminal
came back up, the recorder re-reads the terminal's ticks from where its record ends (on start, from
the minute of the newest stored tick, so that minute's bar is built whole) up to the terminal's now.
Replayed ticks change nothing in the store. A store that fails (a database restart) does not stop
the recorder either: what was not written is dropped and re-read the same way once the store answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray

from mt5gateway.errors import GatewayError
from mt5gateway.store import STORE_ERRORS, Store, tick_sequence
from mt5gateway.terminal.dtypes import RATES_DTYPE, TICKS_DTYPE

from .bars import KEPT_TIMEFRAMES, aggregate_bars, bars_from_ticks, period_start
from .source import fetch_ticks, terminal_now_msc

__all__ = ["Recorder", "RecorderStats", "TickBus"]

log = logging.getLogger("mt5gateway.recorder")

# A re-read asks the terminal for at most this much at a time, to bound memory after a long outage.
_FETCH_CHUNK_MSC = 3_600_000
# How long the loop waits for an event before looking at terminal events and due batches again.
_IDLE_WAIT = 0.5
# A failed re-read (terminal down) is retried after this many seconds.
_RETRY_AFTER = 1.0


class TickBus(Protocol):
    """What the recorder needs of ``TerminalPool``: routed calls and the event bus."""

    bus: Any

    async def call_symbol(self, symbol: str, function: str, *args: Any, **kwargs: Any) -> Any: ...


@dataclass
class RecorderStats:
    """Counters since start: ticks taken and written, bars written, batches, re-reads, store failures."""

    ticks_received: int = 0
    ticks_written: int = 0
    bars_written: int = 0
    batches: int = 0
    catch_ups: int = 0
    store_failures: int = 0


@dataclass
class _Stream:
    """One symbol's cursor, the ticks of its forming minute, and what waits to be written."""

    symbol: str
    digits: int
    last_msc: int = -1
    seen_at_last: int = 0
    minute_ticks: NDArray[Any] = field(default_factory=lambda: np.empty(0, dtype=TICKS_DTYPE))
    pending_ticks: list[NDArray[Any]] = field(default_factory=list)
    pending_seq: list[NDArray[np.int64]] = field(default_factory=list)
    pending_bars: list[NDArray[Any]] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return sum(len(ticks) for ticks in self.pending_ticks)

    def accept(self, ticks: NDArray[Any]) -> int:
        """Take the ticks not seen yet; returns how many."""
        times = ticks["time_msc"]
        keep = times > self.last_msc
        same = np.flatnonzero(times == self.last_msc)
        keep[same[self.seen_at_last :]] = True
        fresh = ticks[keep]
        if len(fresh) == 0:
            return 0
        seq = tick_sequence(fresh["time_msc"], continues=(self.last_msc, self.seen_at_last))
        self.last_msc = int(fresh["time_msc"][-1])
        self.seen_at_last = int(seq[-1]) + 1
        self.pending_ticks.append(fresh)
        self.pending_seq.append(seq)
        forming = np.concatenate((self.minute_ticks, fresh))
        minutes = forming["time_msc"] // 60_000
        closed = minutes < minutes[-1]
        if closed.any():
            self.pending_bars.append(bars_from_ticks(forming[closed], digits=self.digits))
        self.minute_ticks = forming[~closed]
        return len(fresh)

    def take(self) -> tuple[NDArray[Any], NDArray[np.int64], NDArray[Any]]:
        """The pending ticks, their sequence numbers and the closed bars, leaving nothing pending."""
        ticks = np.concatenate(self.pending_ticks) if self.pending_ticks else np.empty(0, TICKS_DTYPE)
        seq = np.concatenate(self.pending_seq) if self.pending_seq else np.empty(0, np.int64)
        bars = np.concatenate(self.pending_bars) if self.pending_bars else np.empty(0, RATES_DTYPE)
        self.pending_ticks, self.pending_seq, self.pending_bars = [], [], []
        return ticks, seq, bars


class Recorder:
    """Records ``symbols`` from ``pool`` into ``store``; ``await run()`` until cancelled."""

    def __init__(
        self,
        *,
        store: Store,
        pool: TickBus,
        symbols: Sequence[str],
        batch_ticks: int = 1_000,
        batch_ms: int = 100,
    ) -> None:
        if batch_ticks < 1 or batch_ms < 1:
            raise ValueError("batch_ticks and batch_ms must be positive")
        self.store = store
        self.pool = pool
        self.symbols = tuple(symbols)
        self.batch_ticks = batch_ticks
        self.batch_seconds = batch_ms / 1000
        self.stats = RecorderStats()
        self.ready = asyncio.Event()  # set once the start-up re-read is written
        self._streams: dict[str, _Stream] = {}
        self._stale: set[str] = set(self.symbols)
        self._retry_at = 0.0
        self._first_pending_at: float | None = None
        self._next_get: asyncio.Future[Any] | None = None

    async def run(self) -> None:
        """Record until cancelled; pending ticks are written before returning."""
        ticks = self.pool.bus.subscribe("ticks", maxsize=100_000)
        terminals = self.pool.bus.subscribe("terminal")
        dropped = 0
        try:
            await self._catch_up()
            self.ready.set()
            while True:
                event = await self._next_event(ticks)
                # Lost events and restarted streams are noticed before the event is taken: ticks after
                # a hole must not move the cursor over it.
                if ticks.dropped != dropped:
                    log.warning("the bus dropped %d tick events: re-reading", ticks.dropped - dropped)
                    dropped = ticks.dropped
                    self._stale.update(self.symbols)
                if _terminal_came_up(terminals):
                    self._stale.update(self.symbols)
                # A stale symbol's live ticks are left to its re-read, which reaches past them.
                if event is not None and event.symbol in self._streams and event.symbol not in self._stale:
                    self._accept(self._streams[event.symbol], event.ticks)
                if self._stale and time.monotonic() >= self._retry_at:
                    await self._catch_up()
                if self._batch_due():
                    await self._flush_or_forget()
        finally:
            if self._next_get is not None:
                self._next_get.cancel()
            ticks.close()
            terminals.close()
            with contextlib.suppress(*STORE_ERRORS):
                await self.flush()

    async def _next_event(self, subscription: Any) -> Any:
        """The next tick event, or ``None`` when a batch falls due (or the idle wait ends) first."""
        wait = _IDLE_WAIT
        if self._first_pending_at is not None:
            wait = max(0.0, self._first_pending_at + self.batch_seconds - time.monotonic())
        # The read outlives a timeout instead of being cancelled, so an event is never lost between
        # the queue and a cancelled wait.
        if self._next_get is None:
            self._next_get = asyncio.ensure_future(anext(subscription))
        done, _ = await asyncio.wait({self._next_get}, timeout=wait)
        if not done:
            return None
        event, self._next_get = self._next_get.result(), None
        return event

    def _batch_due(self) -> bool:
        if self._first_pending_at is None:
            return False
        if time.monotonic() - self._first_pending_at >= self.batch_seconds:
            return True
        return sum(stream.pending for stream in self._streams.values()) >= self.batch_ticks

    def _accept(self, stream: _Stream, ticks: NDArray[Any]) -> None:
        taken = stream.accept(ticks)
        self.stats.ticks_received += taken
        if taken and self._first_pending_at is None:
            self._first_pending_at = time.monotonic()

    async def _catch_up(self) -> None:
        """Re-read every stale symbol's ticks from the terminal, from where the record ends to now."""
        for symbol in sorted(self._stale):
            try:
                await self._catch_up_symbol(symbol)
            except GatewayError as exc:
                log.warning("cannot re-read %s yet: %s", symbol, exc.message)
                self._retry_at = time.monotonic() + _RETRY_AFTER
            except STORE_ERRORS as exc:
                self._forget_unwritten(exc)
                return
            else:
                self._stale.discard(symbol)
                self.stats.catch_ups += 1

    async def _flush_or_forget(self) -> None:
        try:
            await self.flush()
        except STORE_ERRORS as exc:
            self._forget_unwritten(exc)

    def _forget_unwritten(self, exc: Exception) -> None:
        """The store failed a read or write: drop what is not written and re-read it all from the
        terminal, from the store's newest tick, once the store answers again."""
        log.error("the store failed (%s): re-reading from its newest tick once it answers", exc)
        self.stats.store_failures += 1
        self._streams.clear()
        self._stale = set(self.symbols)
        self._first_pending_at = None
        self._retry_at = time.monotonic() + _RETRY_AFTER

    async def _catch_up_symbol(self, symbol: str) -> None:
        stream = self._streams.get(symbol)
        if stream is None:
            info = await self.pool.call_symbol(symbol, "symbol_info", symbol)
            if info is None:
                raise GatewayError(f"the terminal has no symbol_info for {symbol}")
            stream = self._streams[symbol] = _Stream(symbol, int(info.digits))
        now_msc = await terminal_now_msc(self.pool, symbol)
        if stream.last_msc >= 0:
            start = stream.last_msc
        else:
            newest = await asyncio.to_thread(self.store.newest_tick, symbol)
            # whole minutes, so the first bar built is the minute's whole bar
            start = (newest[0] if newest else now_msc) // 60_000 * 60_000
        while start <= now_msc:
            end = min(start + _FETCH_CHUNK_MSC, now_msc + 1)
            self._accept(stream, await fetch_ticks(self.pool, symbol, start, end))
            if stream.pending >= self.batch_ticks:
                await self.flush()
            start = end

    async def flush(self) -> None:
        """Write what is pending (ticks, closed bars and the longer bars holding them) in one transaction."""
        batches = [(stream.symbol, *stream.take()) for stream in self._streams.values() if stream.pending]
        self._first_pending_at = None
        if batches:
            await asyncio.to_thread(self._write, batches)

    def _write(self, batches: list[tuple[str, NDArray[Any], NDArray[np.int64], NDArray[Any]]]) -> None:
        with self.store.engine.begin() as connection:
            for symbol, ticks, seq, bars in batches:
                self.stats.ticks_written += self.store.write_ticks(
                    symbol, ticks, seq=seq, connection=connection
                )
                if len(bars):
                    self.stats.bars_written += self._write_bars(connection, symbol, bars)
        self.stats.batches += 1

    def _write_bars(self, connection: sa.Connection, symbol: str, m1: NDArray[Any]) -> int:
        written = self.store.write_bars(symbol, "M1", m1, connection=connection)
        # Longer bars are re-aggregated from every stored M1 bar of their period, so a restart or a
        # gap fill in the middle of a period still gives the whole period's bar.
        first = int(period_start(m1["time"][:1], "D1")[0])
        day_m1 = self.store.read_bars(symbol, "M1", first, int(m1["time"][-1]) + 60, connection=connection)
        for name in KEPT_TIMEFRAMES[1:]:
            touched = np.unique(period_start(m1["time"], name))
            longer = aggregate_bars(day_m1, name)
            written += self.store.write_bars(
                symbol, name, longer[np.isin(longer["time"], touched)], connection=connection
            )
        return written


def _terminal_came_up(subscription: Any) -> bool:
    """Whether any terminal reported ``up`` since the last look (its stream restarts after a gap)."""
    came_up = False
    while True:
        try:
            event = subscription.get_nowait()
        except asyncio.QueueEmpty:
            return came_up
        came_up = came_up or event.status == "up"
