"""The in-process event bus: ticks, closed bars and terminal status changes, fanned out to subscribers.

Publishing never blocks (workers' events arrive on the event loop and must not wait for a slow
reader): each subscriber has a bounded queue, and when it is full the oldest event is dropped and
counted in ``Subscription.dropped``, so a consumer can tell it lost events.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np

__all__ = ["BarEvent", "EventBus", "Subscription", "TerminalEvent", "TickEvent"]


@dataclass(frozen=True)
class TickEvent:
    """New ticks of one symbol, in order, each tick published once (topic ``ticks``)."""

    terminal_id: str
    symbol: str
    ticks: np.ndarray  # TICKS_DTYPE


@dataclass(frozen=True)
class BarEvent:
    """A bar that has just closed (topic ``bars``)."""

    terminal_id: str
    symbol: str
    timeframe: int
    rates: np.ndarray  # one row of RATES_DTYPE


@dataclass(frozen=True)
class TerminalEvent:
    """A terminal's status changed (topic ``terminal``): ``starting``, ``up``, ``down``, ``stopped``."""

    terminal_id: str
    status: str
    reason: str


class Subscription:
    """An async iterator over one topic's events; ``close()`` (or ``async with``) unsubscribes."""

    def __init__(self, bus: EventBus, topic: str, maxsize: int) -> None:
        self._bus = bus
        self.topic = topic
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self.dropped = 0
        self._closed = False

    def _offer(self, event: Any) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(event)

    def get_nowait(self) -> Any:
        """The next event if one is waiting; raises ``asyncio.QueueEmpty`` otherwise."""
        return self._queue.get_nowait()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        if self._closed:
            raise StopAsyncIteration
        return await self._queue.get()

    def close(self) -> None:
        """Stop receiving events."""
        self._closed = True
        self._bus._unsubscribe(self)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class EventBus:
    """Topic-based fan-out within one process (the pool's workers publish, services subscribe)."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Subscription]] = {}

    def subscribe(self, topic: str, *, maxsize: int = 10_000) -> Subscription:
        """Receive every event published on ``topic`` from now on."""
        subscription = Subscription(self, topic, maxsize)
        self._subscribers.setdefault(topic, []).append(subscription)
        return subscription

    def publish(self, topic: str, event: Any) -> None:
        """Hand ``event`` to each subscriber of ``topic`` (call from the event loop's thread)."""
        for subscription in self._subscribers.get(topic, ()):
            subscription._offer(event)

    def subscriber_count(self, topic: str) -> int:
        """How many subscriptions ``topic`` has."""
        return len(self._subscribers.get(topic, ()))

    def _unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.topic, [])
        if subscription in subscribers:
            subscribers.remove(subscription)
