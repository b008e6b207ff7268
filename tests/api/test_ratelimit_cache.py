"""The per-key token bucket and the indicator response cache (versioned by ticks, single flight)."""

from __future__ import annotations

import asyncio
import gzip

import pytest

from mt5gateway.api.ratelimit import RateLimiter
from mt5gateway.errors import RateLimited
from mt5gateway.market.cache import IndicatorCache, PreparedBody


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_burst_then_refuses_with_retry_after() -> None:
    clock = _Clock()
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)
    for _ in range(3):
        limiter.hit("web")
    with pytest.raises(RateLimited) as caught:
        limiter.hit("web")
    assert caught.value.extra["retry_after"] == 1
    limiter.hit("other")  # buckets are per key
    clock.now += 1.0
    limiter.hit("web")


def test_key_specific_rate_overrides_default() -> None:
    clock = _Clock()
    limiter = RateLimiter(per_minute=6, burst=1, clock=clock)
    limiter.hit("slow")
    with pytest.raises(RateLimited) as caught:
        limiter.hit("slow")
    assert caught.value.extra["retry_after"] == 10
    limiter.hit("fast", per_minute=6000)
    clock.now += 0.01
    limiter.hit("fast", per_minute=6000)


async def test_cache_serves_same_bytes_until_a_tick() -> None:
    cache = IndicatorCache(capacity=8, max_age=60)
    computed: list[int] = []

    async def compute() -> bytes:
        computed.append(1)
        return str(len(computed)).encode()

    first = await cache.get("EURUSD", ("EURUSD", "H1"), compute)
    assert first.json == b"1"
    assert await cache.get("EURUSD", ("EURUSD", "H1"), compute) is first
    cache.note_tick("GBPUSD")
    assert await cache.get("EURUSD", ("EURUSD", "H1"), compute) is first
    cache.note_tick("EURUSD")
    assert (await cache.get("EURUSD", ("EURUSD", "H1"), compute)).json == b"2"
    assert (cache.stats.hits, cache.stats.misses) == (2, 2)


async def test_missed_ticks_make_every_entry_stale() -> None:
    cache = IndicatorCache(capacity=8, max_age=60)
    bodies = iter([b"a", b"b", b"c", b"d"])

    async def compute() -> bytes:
        return next(bodies)

    await cache.get("X", "x", compute)
    await cache.get("Y", "y", compute)
    cache.note_tick_everywhere()
    assert cache.peek("X", "x") is None
    assert (await cache.get("Y", "y", compute)).json == b"c"


async def test_cache_expires_after_max_age() -> None:
    clock = _Clock()
    cache = IndicatorCache(capacity=8, max_age=5, clock=clock)
    bodies = iter([b"a", b"b"])

    async def compute() -> bytes:
        return next(bodies)

    assert (await cache.get("X", "k", compute)).json == b"a"
    clock.now = 4.9
    assert (await cache.get("X", "k", compute)).json == b"a"
    clock.now = 5.0
    assert (await cache.get("X", "k", compute)).json == b"b"


async def test_concurrent_misses_compute_once() -> None:
    cache = IndicatorCache(capacity=8, max_age=60)
    calls = 0

    async def compute() -> bytes:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return b"x"

    bodies = await asyncio.gather(*(cache.get("X", "k", compute) for _ in range(10)))
    assert all(body is bodies[0] for body in bodies)
    assert bodies[0].json == b"x"
    assert calls == 1
    assert cache.stats.shared == 9


async def test_failure_reaches_every_waiter_and_is_not_cached() -> None:
    cache = IndicatorCache(capacity=8, max_age=60)
    attempts = 0

    async def compute() -> bytes:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("terminal down")

    results = await asyncio.gather(*(cache.get("X", "k", compute) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    with pytest.raises(RuntimeError):
        await cache.get("X", "k", compute)
    assert attempts == 2


async def test_capacity_evicts_least_recent_and_zero_disables() -> None:
    cache = IndicatorCache(capacity=2, max_age=60)
    calls: list[str] = []

    def make(key: str):  # type: ignore[no-untyped-def]
        async def compute() -> bytes:
            calls.append(key)
            return key.encode()

        return compute

    for key in ("a", "b", "a", "c", "a", "b"):
        await cache.get("X", key, make(key))
    assert calls == ["a", "b", "c", "b"]
    disabled = IndicatorCache(capacity=0, max_age=60)
    await disabled.get("X", "a", make("a"))
    assert not (await disabled.get("X", "a", make("a"))).shared
    assert calls[-2:] == ["a", "a"]


def test_prepared_body_gzip_is_made_once_and_round_trips() -> None:
    body = PreparedBody(b'{"success":true,"data":[' + b"1.2345," * 1000 + b"0]}", shared=True)
    compressed = body.gzip()
    assert body.gzip() is compressed
    assert len(compressed) < len(body.json) / 4
    assert gzip.decompress(compressed) == body.json
