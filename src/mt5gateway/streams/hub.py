"""The WebSocket hub: channels, one bounded outbox per client, and a sender task per client.

Publishing never waits for a client. ``publish`` encodes a message once and appends it to each
subscriber's outbox; each client's own task drains its outbox onto its socket, so a slow socket
only ever holds up its own task. Under pressure (a message for a key is still waiting in the
outbox when the next one arrives) ticks coalesce: the waiting message is replaced by the newest one
for that symbol, in place, so a slow client sees the latest price rather than a growing backlog.
Messages that must not be skipped (positions, orders, bars, ...) queue; a client whose outbox holds
more than ``max_queue`` of them, or whose oldest waiting message is older than ``max_lag_s``, is
closed with a reason (close code 4008): it is too far behind to be useful and must reconnect.

A client that opts in (``batch_max`` > 1) gets the messages waiting in its outbox as one frame,
``{"type": "batch", "messages": [...]}``, when more than one is waiting: that saves a frame per
message on both ends. Its sender lingers ``batch_linger_s`` after waking before it drains, so the
ticks of that interval go out together rather than a frame per tick while the client keeps up.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["SLOW_CLIENT_CLOSE_CODE", "Hub", "HubLimits", "HubStats", "StreamClient", "encode"]

# Application close code (4000-4999 are free for applications): "too slow, reconnect".
SLOW_CLIENT_CLOSE_CODE = 4008

Send = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]


def encode(message: dict[str, Any]) -> str:
    """A server message as JSON text (encoded once, shared by every subscriber)."""
    return orjson.dumps(message).decode()


@dataclass(frozen=True)
class HubLimits:
    """How far behind a client may fall, and how often the hub checks and beats."""

    max_queue: int = 1_000
    max_lag_s: float = 10.0
    heartbeat_s: float = 30.0
    watchdog_s: float = 0.25
    close_timeout_s: float = 1.0
    # A batching client's sender waits this long after waking before it drains, so that what is
    # published meanwhile leaves as one frame: far fewer frames (each costs the server a send, and
    # deflate when negotiated) for at most this much latency. 0: drain at once.
    batch_linger_s: float = 0.005


@dataclass
class HubStats:
    """The counters served by ``GET /ws/status``."""

    messages_sent: int = 0
    frames_sent: int = 0
    coalesced: int = 0
    dropped_clients: int = 0
    connections_total: int = 0
    error_frames: int = 0


@dataclass(eq=False)
class _Pending:
    enqueued_at: float
    coalesce_key: str | None
    payload: str


@dataclass(eq=False)
class StreamClient:
    """One connection: its subscriptions, its outbox and the task that drains it."""

    client_id: int
    send: Send
    close_socket: Close
    hub: Hub
    subscriptions: set[str] = field(default_factory=set)
    context: dict[str, Any] = field(default_factory=dict)
    closed_reason: str | None = None
    # Up to this many waiting messages go out as one ``batch`` frame (1: one frame per message).
    batch_max: int = 1
    _outbox: deque[_Pending] = field(default_factory=deque)
    _waiting: dict[str, _Pending] = field(default_factory=dict)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    @property
    def queued(self) -> int:
        """Messages waiting in the outbox."""
        return len(self._outbox)

    def lag_s(self, now: float) -> float:
        """How long the oldest waiting message has waited."""
        return now - self._outbox[0].enqueued_at if self._outbox else 0.0

    def offer(self, payload: str, coalesce_key: str | None = None) -> None:
        """Queue a message; a message with ``coalesce_key`` replaces a waiting one with the same key."""
        if self.closed_reason is not None:
            return
        if coalesce_key is not None:
            waiting = self._waiting.get(coalesce_key)
            if waiting is not None:
                waiting.payload = payload
                self.hub.stats.coalesced += 1
                return
        pending = _Pending(time.monotonic(), coalesce_key, payload)
        if coalesce_key is not None:
            self._waiting[coalesce_key] = pending
        self._outbox.append(pending)
        self._ready.set()
        if len(self._outbox) > self.hub.limits.max_queue:
            self.hub.drop(self, f"slow consumer: more than {self.hub.limits.max_queue} messages queued")

    def start(self) -> None:
        """Start the sender task."""
        self._task = asyncio.create_task(self._drain(), name=f"ws-client-{self.client_id}")

    async def _drain(self) -> None:
        linger = self.hub.limits.batch_linger_s if self.batch_max > 1 else 0.0
        while True:
            if not self._outbox:
                self._ready.clear()
                await self._ready.wait()
            if linger:
                # Woken from idle: let what else is published meanwhile join this frame.
                await asyncio.sleep(linger)
            while self._outbox:
                await self._send_waiting()

    async def _send_waiting(self) -> None:
        """Send what is waiting: one message, or up to ``batch_max`` of them as one batch frame."""
        payloads = [self._pop() for _ in range(min(len(self._outbox), self.batch_max))]
        if len(payloads) == 1:
            await self.send(payloads[0])
        else:
            # Already-encoded JSON objects joined into one frame: no re-encoding.
            await self.send('{"type":"batch","messages":[' + ",".join(payloads) + "]}")
        self.hub.stats.messages_sent += len(payloads)
        self.hub.stats.frames_sent += 1

    def _pop(self) -> str:
        pending = self._outbox.popleft()
        if pending.coalesce_key is not None:
            del self._waiting[pending.coalesce_key]
        return pending.payload

    async def stop(self) -> None:
        """Cancel the sender task and forget the outbox."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self._outbox.clear()
        self._waiting.clear()


SubscriptionListener = Callable[[str, int], None]


class Hub:
    """Channels and clients; ``publish`` fans a message out without waiting for anyone."""

    def __init__(self, limits: HubLimits | None = None) -> None:
        self.limits = limits or HubLimits()
        self.stats = HubStats()
        self.clients: dict[int, StreamClient] = {}
        self._subscribers: dict[str, set[StreamClient]] = {}
        self._ids = itertools.count(1)
        self._listeners: list[SubscriptionListener] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._closing: set[asyncio.Task[None]] = set()

    # -- lifecycle --

    async def start(self) -> None:
        """Start the heartbeat and the watchdog that drops clients too far behind."""
        self._tasks = [
            asyncio.create_task(self._heartbeat(), name="ws-heartbeat"),
            asyncio.create_task(self._watchdog(), name="ws-watchdog"),
        ]

    async def stop(self) -> None:
        """Stop the hub's tasks and every client's sender."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for client in list(self.clients.values()):
            await self.disconnect(client)
        for task in list(self._closing):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- clients and subscriptions --

    def connect(self, send: Send, close: Close, *, batch_max: int = 1) -> StreamClient:
        """Register a connection and start its sender (``batch_max`` > 1: batch frames under pressure)."""
        client = StreamClient(
            client_id=next(self._ids), send=send, close_socket=close, hub=self, batch_max=batch_max
        )
        self.clients[client.client_id] = client
        self.stats.connections_total += 1
        client.start()
        return client

    async def disconnect(self, client: StreamClient) -> None:
        """Forget a connection (it closed, or the hub dropped it)."""
        for channel in list(client.subscriptions):
            self.unsubscribe(client, channel)
        self.clients.pop(client.client_id, None)
        await client.stop()

    def add_listener(self, listener: SubscriptionListener) -> None:
        """Call ``listener(channel, subscriber_count)`` whenever a channel's subscriber count changes."""
        self._listeners.append(listener)

    def subscribe(self, client: StreamClient, channel: str) -> bool:
        """Add a subscription; False when the client already had it."""
        if channel in client.subscriptions:
            return False
        client.subscriptions.add(channel)
        subscribers = self._subscribers.setdefault(channel, set())
        subscribers.add(client)
        self._notify(channel, len(subscribers))
        return True

    def unsubscribe(self, client: StreamClient, channel: str) -> bool:
        """Remove a subscription; False when the client did not have it."""
        if channel not in client.subscriptions:
            return False
        client.subscriptions.discard(channel)
        subscribers = self._subscribers.get(channel, set())
        subscribers.discard(client)
        if not subscribers:
            self._subscribers.pop(channel, None)
        self._notify(channel, len(subscribers))
        return True

    def _notify(self, channel: str, count: int) -> None:
        for listener in self._listeners:
            listener(channel, count)

    def subscriber_count(self, channel: str) -> int:
        """How many clients listen on ``channel``."""
        return len(self._subscribers.get(channel, ()))

    def channels(self) -> list[str]:
        """Channels with at least one subscriber."""
        return list(self._subscribers)

    # -- sending --

    def publish(self, channel: str, message: dict[str, Any], *, coalesce: bool = False) -> int:
        """Send ``message`` to the channel's subscribers; returns how many got it queued."""
        subscribers = self._subscribers.get(channel)
        if not subscribers:
            return 0
        payload = encode(message)
        key = channel if coalesce else None
        for client in list(subscribers):
            client.offer(payload, key)
        return len(subscribers)

    def send_to(self, client: StreamClient, message: dict[str, Any]) -> None:
        """Queue a message for one client (replies, error frames, snapshots)."""
        if message.get("type") == "error":
            self.stats.error_frames += 1
        client.offer(encode(message))

    def drop(self, client: StreamClient, reason: str) -> None:
        """Close a client that is too far behind, with ``reason``; never waits for it."""
        if client.closed_reason is not None:
            return
        client.closed_reason = reason
        self.stats.dropped_clients += 1
        task = asyncio.create_task(self._close(client, reason), name=f"ws-drop-{client.client_id}")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close(self, client: StreamClient, reason: str) -> None:
        await self.disconnect(client)
        # A stalled peer may never read the close frame: give up on it after a short wait.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                client.close_socket(SLOW_CLIENT_CLOSE_CODE, reason), self.limits.close_timeout_s
            )

    # -- background tasks --

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.limits.heartbeat_s)
            payload = encode({"type": "heartbeat", "timestamp": datetime.now(UTC).isoformat()})
            for client in list(self.clients.values()):
                client.offer(payload)

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(self.limits.watchdog_s)
            now = time.monotonic()
            for client in list(self.clients.values()):
                lag = client.lag_s(now)
                if lag > self.limits.max_lag_s:
                    self.drop(client, f"slow consumer: {lag:.1f} s behind (limit {self.limits.max_lag_s} s)")

    def status(self) -> dict[str, Any]:
        """Counters for ``GET /ws/status``."""
        return {
            "active_connections": len(self.clients),
            "connections_total": self.stats.connections_total,
            "messages_sent": self.stats.messages_sent,
            "frames_sent": self.stats.frames_sent,
            "coalesced": self.stats.coalesced,
            "dropped_clients": self.stats.dropped_clients,
            "error_frames": self.stats.error_frames,
            "subscriptions": {channel: len(clients) for channel, clients in self._subscribers.items()},
        }
