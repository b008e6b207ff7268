"""The ``ta:`` and ``patterns:`` channels of the WebSocket hub.

``ta:SYMBOL:TF:SPEC`` carries one indicator's values: the forming bar's as its symbol ticks
(coalesced like ticks: a client that is behind gets the newest), then the final values when the bar
closes (never skipped, never overtaken by the next bar's). ``patterns:SYMBOL:TF`` carries an event
when a closed bar completes candlestick patterns.

One track per (symbol, timeframe) with subscribers does the work, in one task of its own. It opens
a TA-Lib stream handle per channel on the closed bars of enough history (the warm-up and then
some), and on each tick reads the newest two bars from the terminal: one read in flight per track,
ticks arriving meanwhile fold into the next read. A new forming bar means the bars before it have
closed: each is fed to every handle (``update``, O(1)) and published; the forming bar's values are
``peek``s (O(1)). The bars are the terminal's own, never rebuilt from ticks, so the values equal
TA-Lib's batch function over the terminal's bars, bit for bit (``tests/ta/test_feed.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mt5gateway.errors import GatewayError
from mt5gateway.market.service import MarketService, ResolvedRequest
from mt5gateway.streams.feeds import EventSource
from mt5gateway.streams.hub import Hub
from mt5gateway.streams.protocol import Channel, ProtocolError, parse_channel

from .catalogue import PATTERNS
from .compute import Bars
from .incremental import BarValues, IndicatorStream
from .patterns import Occurrence
from .specs import IndicatorSpec
from .warmup import checked_warmup, warmup_of

__all__ = ["MAX_ANALYSIS_CHANNELS", "AnalysisFeed"]

log = logging.getLogger(__name__)

MAX_ANALYSIS_CHANNELS = 2_000
"""Most ``ta:`` and ``patterns:`` channels with subscribers at once, over all clients."""
_KINDS = ("ta", "patterns")
# closed bars fetched beyond the longest warm-up when a handle opens
_MARGIN_BARS = 10
_RETRY_S = 1.0
_BAR_KEYS = ("open", "high", "low", "close", "volume")
_PATTERN_SPECS = tuple(IndicatorSpec(name, function.defaults) for name, function in PATTERNS.items())


def _bar_values(rate: Any) -> BarValues:
    """A bar (one ``RATES_DTYPE`` row) as ``BarValues``."""
    return (
        float(rate["open"]),
        float(rate["high"]),
        float(rate["low"]),
        float(rate["close"]),
        float(rate["tick_volume"]),
    )


class _Track:
    """The channels of one (symbol, timeframe): their stream handles and the task that feeds them."""

    def __init__(self, feed: AnalysisFeed, request: ResolvedRequest) -> None:
        self.feed = feed
        self.request = request
        self.indicators: dict[str, IndicatorSpec] = {}  # ta channel -> spec
        self.streams: dict[str, IndicatorStream] = {}
        self.since: dict[str, int] = {}  # ta channel -> open time of the first bar its handle has seen
        self.patterns_channel: str | None = None
        self.pattern_streams: list[IndicatorStream] = []
        self.unopened: set[str] = set()  # channels whose handles are not open yet
        self.opening_due = False  # try to open them (on a subscription, then at each bar close)
        self.last_closed: int | None = None  # open time of the newest bar fed to the handles
        self.forming: tuple[int, BarValues] | None = None
        self.tick_msc = 0  # the newest tick seen
        self.stale = False  # a tick arrived since the last read
        self.wake = asyncio.Event()
        self.task = asyncio.create_task(self._run(), name=f"ta-{request.symbol}-{request.timeframe}")

    @property
    def empty(self) -> bool:
        return not self.indicators and self.patterns_channel is None

    def add(self, channel: Channel) -> None:
        if channel.kind == "ta":
            assert channel.spec is not None
            self.indicators[channel.name] = channel.spec
        else:
            self.patterns_channel = channel.name
        self.unopened.add(channel.name)
        self.opening_due = True
        self.wake.set()

    def remove(self, name: str) -> None:
        self.indicators.pop(name, None)
        self.streams.pop(name, None)
        self.since.pop(name, None)
        self.unopened.discard(name)
        if name == self.patterns_channel:
            self.patterns_channel = None
            self.pattern_streams = []

    def note_tick(self, time_msc: int) -> None:
        self.tick_msc = max(self.tick_msc, time_msc)
        self.stale = True
        self.wake.set()

    async def _run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            try:
                if self.unopened and self.opening_due:
                    await self._open()
                if self.stale and self.forming is not None:
                    self.stale = False
                    await self._refresh()
            except GatewayError as exc:
                # a terminal down: keep the subscribers, try again shortly
                log.warning("%s %s: %s", self.request.symbol, self.request.timeframe, exc.message)
                await self._retry()
            except Exception:
                # a bug must not silence the channels for good: logged, and tried again
                log.exception("ta track %s %s failed", self.request.symbol, self.request.timeframe)
                await self._retry()

    async def _retry(self) -> None:
        await asyncio.sleep(_RETRY_S)
        self.stale = self.opening_due = True
        self.wake.set()

    # -- opening handles --

    async def _open(self) -> None:
        self.opening_due = False
        opening = {name: spec for name, spec in self.indicators.items() if name in self.unopened}
        patterns = self.patterns_channel in self.unopened
        needed = [warmup_of(spec).bars for spec in opening.values()]
        if patterns:
            needed += [warmup_of(spec).lookback for spec in _PATTERN_SPECS]
        rates = await self.feed.market.newest_rates(self.request, max(needed, default=0) + _MARGIN_BARS + 1)
        if len(rates) < 2:  # no closed bar yet
            await asyncio.sleep(_RETRY_S)
            self.opening_due = True
            self.wake.set()
            return
        closed, forming = rates[:-1], rates[-1]
        if self.last_closed is None:
            self.last_closed = int(closed["time"][-1])
            self.forming = (int(forming["time"]), _bar_values(forming))
        closed = closed[closed["time"] <= self.last_closed]
        if not len(closed) or int(closed["time"][-1]) != self.last_closed:
            # bars closed since the handles were last fed: the next read feeds them, then this opens
            self.stale = self.opening_due = True
            self.wake.set()
            return
        history = Bars.from_rates(closed)
        for name, spec in opening.items():
            if name not in self.unopened:
                continue  # unsubscribed while the bars were read
            stream = IndicatorStream.open(spec, history)
            if stream is not None:
                self.streams[name] = stream
                self.since[name] = int(history.time[0])
                self.unopened.discard(name)
                self._publish_forming(name, stream)
        if patterns and self.patterns_channel in self.unopened:
            streams = [IndicatorStream.open(spec, history) for spec in _PATTERN_SPECS]
            if all(stream is not None for stream in streams):
                assert self.patterns_channel is not None
                self.pattern_streams = [stream for stream in streams if stream is not None]
                self.unopened.discard(self.patterns_channel)

    # -- following the bars --

    async def _refresh(self) -> None:
        assert self.forming is not None and self.last_closed is not None
        tick_msc = self.tick_msc
        rates = await self.feed.market.newest_rates(self.request, 2)
        if not len(rates):
            return
        forming = rates[-1]
        forming_time = int(forming["time"])
        if forming_time > self.forming[0]:
            if len(rates) == 2 and int(rates["time"][0]) == self.forming[0]:
                closed = rates[:1]
            else:  # several bars closed since the last read
                between = await self.feed.market.rates_between(
                    self.request, self.last_closed + 1, forming_time - 1
                )
                closed = between[(between["time"] > self.last_closed) & (between["time"] < forming_time)]
            for rate in closed:
                self._close(rate, tick_msc)
            if self.unopened:
                self.opening_due = True
                self.wake.set()
        self.forming = (forming_time, _bar_values(forming))
        for name, stream in self.streams.items():
            self._publish_forming(name, stream, tick_msc)

    def _message(
        self, name: str, time: int, bar: BarValues, closed: bool, values: dict[str, float], tick_msc: int
    ) -> dict[str, Any]:
        return {
            "type": "ta",
            "channel": name,
            "symbol": self.request.symbol,
            "timeframe": self.request.timeframe,
            "spec": self.indicators[name].label,
            "time": time,
            "closed": closed,
            "values": values,
            "bar": dict(zip(_BAR_KEYS, bar, strict=True)),
            "since": self.since[name],
            "tick_time_msc": tick_msc,
        }

    def _publish_forming(self, name: str, stream: IndicatorStream, tick_msc: int | None = None) -> None:
        assert self.forming is not None
        time, bar = self.forming
        message = self._message(
            name, time, bar, False, stream.peek(bar), self.tick_msc if tick_msc is None else tick_msc
        )
        self.feed.publish(name, message, coalesce=True)

    def _close(self, rate: Any, tick_msc: int) -> None:
        """Feed a closed bar to every handle; publish the final values and the patterns it completes."""
        time, bar = int(rate["time"]), _bar_values(rate)
        for name, stream in self.streams.items():
            self.feed.publish(name, self._message(name, time, bar, True, stream.update(bar), tick_msc))
        if self.pattern_streams and self.patterns_channel is not None:
            found = []
            for stream in self.pattern_streams:
                signal = int(stream.update(bar)["integer"])
                if signal:
                    found.append(Occurrence(time, stream.spec, signal).as_dict())
            if found:
                self.feed.publish(
                    self.patterns_channel,
                    {
                        "type": "patterns",
                        "channel": self.patterns_channel,
                        "symbol": self.request.symbol,
                        "timeframe": self.request.timeframe,
                        "time": time,
                        "patterns": found,
                    },
                )
        self.last_closed = time


class AnalysisFeed:
    """The tracks behind the ``ta:`` and ``patterns:`` channels, fed by the pool's ticks."""

    def __init__(
        self, hub: Hub, market: MarketService, bus: EventSource, *, max_channels: int = MAX_ANALYSIS_CHANNELS
    ) -> None:
        self.hub = hub
        self.market = market
        self.bus = bus
        self.max_channels = max_channels
        self._tracks: dict[tuple[str, str], _Track] = {}
        self._by_symbol: dict[str, list[_Track]] = {}
        self._channels: set[str] = set()
        self._last: dict[str, dict[str, Any]] = {}
        self._pump: asyncio.Task[None] | None = None
        hub.add_listener(self._on_subscription)

    async def start(self) -> None:
        """Follow the pool's ticks."""
        self._pump = asyncio.create_task(self._follow_ticks(), name="ta-feed-ticks")

    async def stop(self) -> None:
        """Stop following ticks and every track."""
        tasks = [track.task for track in self._tracks.values()]
        if self._pump is not None:
            tasks.append(self._pump)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pump = None
        self._tracks.clear()
        self._by_symbol.clear()
        self._channels.clear()
        self._last.clear()

    def admit(self, channels: list[Channel]) -> None:
        """Refuse channels the feed cannot take: a warm-up too long, or too many channels in all."""
        for channel in channels:
            if channel.spec is not None:
                checked_warmup(channel.spec, field="channel")
        added = {channel.name for channel in channels} - self._channels
        if len(self._channels) + len(added) > self.max_channels:
            raise ProtocolError(
                "too_many_channels", f"at most {self.max_channels} ta: and patterns: channels on this gateway"
            )

    def snapshot(self, name: str) -> dict[str, Any] | None:
        """The last values published on a ``ta:`` channel, for a new subscriber."""
        return self._last.get(name)

    def publish(self, name: str, message: dict[str, Any], *, coalesce: bool = False) -> None:
        if message["type"] == "ta":
            self._last[name] = message
        self.hub.publish(name, message, coalesce=coalesce)

    def _on_subscription(self, name: str, count: int) -> None:
        if name.partition(":")[0] not in _KINDS:
            return
        if count and name not in self._channels:
            channel = parse_channel(name)
            assert channel.symbol is not None and channel.timeframe is not None
            key = (channel.symbol, channel.timeframe)
            track = self._tracks.get(key)
            if track is None:
                track = _Track(self, self.market.routed(*key))
                self._tracks[key] = track
                self._by_symbol.setdefault(channel.symbol, []).append(track)
            self._channels.add(name)
            track.add(channel)
        elif not count and name in self._channels:
            self._channels.discard(name)
            self._last.pop(name, None)
            channel = parse_channel(name)
            assert channel.symbol is not None and channel.timeframe is not None
            key = (channel.symbol, channel.timeframe)
            track = self._tracks[key]
            track.remove(name)
            if track.empty:
                track.task.cancel()
                del self._tracks[key]
                siblings = self._by_symbol[channel.symbol]
                siblings.remove(track)
                if not siblings:
                    del self._by_symbol[channel.symbol]

    async def _follow_ticks(self) -> None:
        subscription = self.bus.subscribe("ticks")
        dropped = 0
        try:
            events: AsyncIterator[Any] = subscription
            async for event in events:
                if subscription.dropped != dropped:
                    # ticks were lost while this task lagged: any track may have missed its newest
                    dropped = subscription.dropped
                    for track in self._tracks.values():
                        track.note_tick(track.tick_msc)
                tracks = self._by_symbol.get(event.symbol)
                if tracks and len(event.ticks):
                    newest: NDArray[np.int64] = event.ticks["time_msc"]
                    for track in tracks:
                        track.note_tick(int(newest[-1]))
        finally:
            subscription.close()
