"""The ``ta:`` and ``patterns:`` channels' feed over a simulated day: a pool on a manual clock moved
in 5-minute steps, the feed following its ticks into the hub. Every message is checked against
TA-Lib's batch function over the terminal's own bars: forming values (peeks) and final values
(updates) bit for bit, pattern events exactly, in order, each bar closed once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import talib

from mt5gateway.market.cache import IndicatorCache
from mt5gateway.market.render import Renderer
from mt5gateway.market.service import MarketService
from mt5gateway.market.tiers import TierPolicy
from mt5gateway.pool import TerminalPool
from mt5gateway.streams.hub import Hub, StreamClient
from mt5gateway.ta import PATTERNS, Bars, compute, parse_spec
from mt5gateway.ta.feed import AnalysisFeed
from tests.pool.fixtures import running_pool, small_config

START = datetime(2024, 1, 10, tzinfo=UTC)  # a Wednesday: EURUSD ticks all day
STEP_S = 300
M15 = 900
INDICATORS = ("RSI(14)", "MACD(12,26,9)", "BBANDS(20,2,2,SMA)", "HT_SINE", "OBV", "STOCH(5,3,SMA,3,SMA)")


@dataclass
class Collector:
    """A hub client's socket: every message it was sent, in order."""

    messages: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, text: str) -> None:
        self.messages.append(orjson.loads(text))

    async def close(self, code: int, reason: str) -> None:
        pass

    def on(self, channel: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("channel") == channel]


@asynccontextmanager
async def following(pool: TerminalPool) -> AsyncIterator[tuple[Hub, AnalysisFeed, MarketService]]:
    market = MarketService(
        pool=pool, tiers=TierPolicy(), cache=IndicatorCache(capacity=0, max_age=1.0), renderer=Renderer(0)
    )
    hub = Hub()
    feed = AnalysisFeed(hub, market, pool.bus)
    await hub.start()
    await feed.start()
    try:
        yield hub, feed, market
    finally:
        await feed.stop()
        await hub.stop()


def _manual_config() -> Any:
    """EURUSD on one simulated terminal whose clock stands at START until moved; ticks polled often."""
    return small_config(
        ["EURUSD"],
        sim={"broker_db": ":memory:", "start": START.isoformat(), "manual": True},
        poll_interval=0.01,
    )


async def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


def _subscribe(hub: Hub, client: StreamClient, *channels: str) -> None:
    for channel in channels:
        hub.subscribe(client, channel)


async def test_a_simulated_day_of_streamed_values_equals_batch() -> None:
    async with running_pool(_manual_config()) as pool, following(pool) as (hub, _feed, market):
        socket = Collector()
        client = hub.connect(socket.send, socket.close)
        channels = [f"ta:EURUSD:M15:{spec}" for spec in INDICATORS]
        _subscribe(hub, client, *channels, "patterns:EURUSD:M15")
        await wait_for(lambda: all(socket.on(channel) for channel in channels))
        for _ in range(86_400 // STEP_S):
            await pool.sim_control("T1", "clock_advance", seconds=STEP_S)
            newest = (await pool.call("T1", "symbol_info_tick", "EURUSD")).time_msc
            # every channel has shown the newest tick's bar
            await wait_for(lambda: all(socket.on(ch)[-1]["tick_time_msc"] == newest for ch in channels))  # noqa: B023
        forming = socket.on(channels[0])[-1]["time"]
        since = min(socket.on(channel)[0]["since"] for channel in channels) - 100 * M15
        rates = await market.rates_between(market.routed("EURUSD", "M15"), since, forming)
    closed_rates = rates[rates["time"] < forming]
    for text, channel in zip(INDICATORS, channels, strict=True):
        _check_channel(parse_spec(text), socket.on(channel), closed_rates)
    _check_patterns(socket.on("patterns:EURUSD:M15"), closed_rates, first=socket.on(channels[0])[0]["time"])


def _check_channel(spec: Any, messages: list[dict[str, Any]], rates: Any) -> None:
    since = messages[0]["since"]
    assert all(m["since"] == since for m in messages)
    history = rates[rates["time"] >= since]
    batch = compute(spec, Bars.from_rates(history))
    row_of = {int(t): row for row, t in enumerate(history["time"])}
    closed_times = [m["time"] for m in messages if m["closed"]]
    # a day of M15 bars, each closed once, in order, none skipped
    assert len(closed_times) == 96
    assert closed_times == [int(t) for t in history["time"][-96:]]
    last_closed = -1
    for message in messages:
        if message["closed"]:
            row = row_of[message["time"]]
            assert message["time"] > last_closed
            last_closed = message["time"]
            bar = history[row]
            assert message["bar"] == {
                "open": bar["open"],
                "high": bar["high"],
                "low": bar["low"],
                "close": bar["close"],
                "volume": float(bar["tick_volume"]),
            }
            for name, value in message["values"].items():
                np.testing.assert_array_equal(
                    _number(value), batch[name][row], err_msg=f"{spec} closed {name}"
                )
        else:
            # never a value of a bar already closed
            assert message["time"] > last_closed
            closed = history[history["time"] < message["time"]]
            forming = np.zeros(1, dtype=closed.dtype)
            forming["time"] = message["time"]
            for key in ("open", "high", "low", "close"):
                forming[key] = message["bar"][key]
            forming["tick_volume"] = int(message["bar"]["volume"])
            expected = compute(spec, Bars.from_rates(np.concatenate([closed, forming])))
            for name, value in message["values"].items():
                np.testing.assert_array_equal(
                    _number(value), expected[name][-1], err_msg=f"{spec} forming {name}"
                )


def _number(value: float | None) -> float:
    return float("nan") if value is None else value


def _check_patterns(events: list[dict[str, Any]], rates: Any, *, first: int) -> None:
    expected: dict[int, set[tuple[str, int]]] = {}
    for name in PATTERNS:
        signals = getattr(talib, name)(rates["open"], rates["high"], rates["low"], rates["close"])
        for row in np.flatnonzero(signals):
            if rates["time"][row] >= first:
                expected.setdefault(int(rates["time"][row]), set()).add((name, int(signals[row])))
    got = {event["time"]: {(p["pattern"], p["signal"]) for p in event["patterns"]} for event in events}
    assert len(got) == len(events)  # one event per bar
    assert got == expected
    assert len(events) > 10


async def test_a_later_subscriber_gets_values_at_once_and_the_track_ends_with_the_last() -> None:
    async with running_pool(_manual_config()) as pool, following(pool) as (hub, feed, _):
        first, second = Collector(), Collector()
        a = hub.connect(first.send, first.close)
        b = hub.connect(second.send, second.close)
        hub.subscribe(a, "ta:EURUSD:H1:RSI(14)")
        await wait_for(lambda: first.on("ta:EURUSD:H1:RSI(14)"))
        assert feed.snapshot("ta:EURUSD:H1:RSI(14)") == first.on("ta:EURUSD:H1:RSI(14)")[-1]
        hub.subscribe(b, "ta:EURUSD:H1:EMA(50)")  # a second channel on the same track opens its own handle
        await wait_for(lambda: second.on("ta:EURUSD:H1:EMA(50)"))
        await pool.sim_control("T1", "clock_advance", seconds=3_600)
        await wait_for(lambda: any(m["closed"] for m in second.on("ta:EURUSD:H1:EMA(50)")))
        assert any(m["closed"] for m in first.on("ta:EURUSD:H1:RSI(14)"))
        await hub.disconnect(a)
        await hub.disconnect(b)
        assert feed.snapshot("ta:EURUSD:H1:RSI(14)") is None
        assert not feed._tracks  # the track stopped with its last channel
