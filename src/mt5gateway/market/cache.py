"""The indicator response cache: each response computed once per market state, sent as ready bytes.

An entry is keyed by (symbol, timeframe, bars, parameters) and stamped with the symbol's *tick
version*, a counter bumped for every tick event the pool publishes for that symbol. A new tick moves
the forming bar (and, at a bar boundary, opens a new one), so any tick makes the symbol's entries
stale; until then the pre-serialised JSON bytes are sent as they are (and their gzip form, made
once: by the renderer along with the body, or else on the first request that accepts it). Entries also expire after
``max_age`` seconds, so a tick event that never arrives cannot pin an old answer. Concurrent misses
of one key share a single computation. Entries are evicted least recently used past ``capacity``;
capacity 0 disables caching (every request computes).
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

__all__ = ["CacheStats", "IndicatorCache", "PreparedBody", "gzip_body"]

# Level 1 compresses an indicator response about 4.5x in a couple of milliseconds; higher levels
# gain little more for several times the cost.
_GZIP_LEVEL = 1


def gzip_body(json: bytes) -> bytes:
    """``json`` gzip-compressed as responses carry it (deterministic: no timestamp in the header)."""
    return gzip.compress(json, compresslevel=_GZIP_LEVEL, mtime=0)


class PreparedBody:
    """A JSON body serialised once; its gzip form is given or made on first demand, and kept.

    ``shared`` says whether the body is kept for other requests (in the cache): only then is
    compressing it worth it, since compressing costs more CPU than computing the body.
    """

    __slots__ = ("_gzip", "json", "shared")

    def __init__(self, json: bytes, *, shared: bool, gzipped: bytes | None = None) -> None:
        self.json = json
        self.shared = shared
        self._gzip = gzipped

    def gzip(self) -> bytes:
        """The body gzip-compressed (``gzip_body``)."""
        if self._gzip is None:
            self._gzip = gzip_body(self.json)
        return self._gzip


@dataclass
class CacheStats:
    """Counters of cache outcomes since start."""

    hits: int = 0
    misses: int = 0
    shared: int = 0


@dataclass(frozen=True)
class _Entry:
    version: int
    created: float
    body: PreparedBody


class IndicatorCache:
    """Pre-serialised responses by key, invalidated per symbol by ticks."""

    def __init__(self, *, capacity: int, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.max_age = max_age
        self.stats = CacheStats()
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._versions: dict[str, int] = {}
        self._inflight: dict[Hashable, asyncio.Task[PreparedBody]] = {}

    def note_tick(self, symbol: str) -> None:
        """A tick for ``symbol`` arrived: its cached responses are stale from now on."""
        self._versions[symbol] = self._versions.get(symbol, 0) + 1

    def note_tick_everywhere(self) -> None:
        """Ticks may have been missed: every cached response is stale from now on."""
        for symbol in self._versions:
            self._versions[symbol] += 1
        self._entries.clear()

    def peek(self, symbol: str, key: Hashable) -> PreparedBody | None:
        """The cached body for ``key`` if still current (counted as a hit), else ``None``."""
        entry = self._entries.get(key)
        if (
            entry is None
            or entry.version != self._versions.get(symbol, 0)
            or self._clock() - entry.created >= self.max_age
        ):
            return None
        self._entries.move_to_end(key)
        self.stats.hits += 1
        return entry.body

    async def get(
        self, symbol: str, key: Hashable, compute: Callable[[], Awaitable[bytes | PreparedBody]]
    ) -> PreparedBody:
        """The cached body for ``key`` if still current, else ``compute()`` (once for concurrent callers).

        ``compute`` returns the JSON bytes, or a ``PreparedBody`` when it made the gzip form too
        (worth it only when bodies are kept: ``capacity`` above 0).
        """
        if self.capacity == 0:
            self.stats.misses += 1
            return _prepared(await compute(), shared=False)
        version = self._versions.get(symbol, 0)
        cached = self.peek(symbol, key)
        if cached is not None:
            return cached
        task = self._inflight.get(key)
        if task is None:
            self.stats.misses += 1
            # A task of its own, so a client that disconnects does not cancel the computation
            # other callers of the same key are waiting for.
            task = asyncio.create_task(self._compute_and_store(key, version, compute))
            task.add_done_callback(_retrieve_exception)
            self._inflight[key] = task
        else:
            self.stats.shared += 1
        return await asyncio.shield(task)

    async def _compute_and_store(
        self, key: Hashable, version: int, compute: Callable[[], Awaitable[bytes | PreparedBody]]
    ) -> PreparedBody:
        try:
            body = _prepared(await compute(), shared=True)
        finally:
            del self._inflight[key]
        # Stamped with the version read *before* computing: a tick that arrived meanwhile makes
        # this entry stale at once rather than hiding behind it.
        self._entries[key] = _Entry(version, self._clock(), body)
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return body


def _prepared(body: bytes | PreparedBody, *, shared: bool) -> PreparedBody:
    return body if isinstance(body, PreparedBody) else PreparedBody(body, shared=shared)


def _retrieve_exception(task: asyncio.Task[PreparedBody]) -> None:
    # Every waiter may have gone (clients disconnected): mark a failure as seen so asyncio does
    # not log it as lost; the waiters that remain re-raise it themselves.
    if not task.cancelled():
        task.exception()
