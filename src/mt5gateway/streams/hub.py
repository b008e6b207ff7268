"""The WebSocket hub: channels, one bounded outbox per client, and a sender task per client.

Publishing never waits for a client. ``publish`` encodes a message once and appends it to each
subscriber's outbox; each client's own task drains its outbox onto its socket, so a slow socket
only ever holds up its own task. Messages that must not be skipped (positions, orders, bars, ...)
queue; a client whose outbox holds more than ``max_queue`` of them, or whose oldest waiting message
is older than ``max_lag_s``, is closed with a reason (close code 4008): it is too far behind to be
useful and must reconnect.

Ticks are gathered and flushed at most once per ``batch_interval_s`` (the first tick after a quiet
spell at the next turn of the loop, with the rest of its burst). A flush builds the ticks ONCE per
distinct subscription set and mode, however many clients share it: one frame per tick, in order,
or for a client that opted in to batching (``batch_max`` > 1) one ``{"type": "batch", "messages":
[...]}`` frame with the latest tick per symbol. A client that can take bytes now (``write_frame``:
nothing waiting in its outbox, its socket not paused) gets those frames, serialized once, in one
write with no hand-off to its task; any other gets them through its outbox, where ticks coalesce:
a tick still waiting from an earlier flush is replaced by the newest for its symbol, in place, so a
client that is behind sees the latest price rather than a growing backlog (a batching client's
waiting tick frame is merged with the new one). A batching client also gets the other messages
waiting in its outbox as one batch frame when several are waiting.

A channel may carry both: coalesced updates and messages that must not be skipped (``ta:`` channels:
the forming bar's values, then the closed bar's). Such a message goes out after the channel's
updates published before it (gathered ones are flushed first) and before any published after it
(a waiting update of the channel is no longer replaced in place, ahead of it). A new subscriber gets
only what is published after it subscribed (a channel's gathered updates are flushed to the others
first), so a snapshot of the channel's last message is never followed by older updates.
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
from websockets.frames import Frame, Opcode

__all__ = [
    "SLOW_CLIENT_CLOSE_CODE",
    "Hub",
    "HubLimits",
    "HubStats",
    "StreamClient",
    "encode",
    "heartbeat_message",
]

# Application close code (4000-4999 are free for applications): "too slow, reconnect".
SLOW_CLIENT_CLOSE_CODE = 4008

Send = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]
# Writes a serialized frame to the client's socket now, or returns False (nothing written).
WriteFrame = Callable[[bytes], bool]


def encode(message: dict[str, Any]) -> str:
    """A server message as JSON text (encoded once, shared by every subscriber)."""
    return orjson.dumps(message).decode()


def heartbeat_message(client: str) -> dict[str, Any]:
    """A heartbeat for one client, naming it (``data.client``) as the MT5 Bridge Microservice did."""
    return {"type": "heartbeat", "timestamp": datetime.now(UTC).isoformat(), "data": {"client": client}}


@dataclass(frozen=True)
class HubLimits:
    """How far behind a client may fall, and how often the hub checks and beats."""

    max_queue: int = 1_000
    max_lag_s: float = 10.0
    heartbeat_s: float = 30.0
    watchdog_s: float = 0.25
    close_timeout_s: float = 1.0
    # The hub flushes gathered ticks at most once per interval: under a steady stream, one socket
    # write per client per interval rather than per tick (a write costs the server a system call
    # per client), for at most this much latency. A tick after a quiet spell does not wait: it
    # leaves at the next turn of the loop with its burst.
    batch_interval_s: float = 0.005


@dataclass
class HubStats:
    """The counters served by ``GET /ws/status``."""

    messages_sent: int = 0
    frames_sent: int = 0
    coalesced: int = 0
    dropped_clients: int = 0
    connections_total: int = 0
    error_frames: int = 0
    # Client messages handled, those refused with an error frame, and the time spent handling them.
    messages_processed: int = 0
    messages_failed: int = 0
    handling_seconds: float = 0.0

    def handled(self, seconds: float, *, ok: bool) -> None:
        """Count one client message handled in ``seconds``."""
        self.messages_processed += 1
        self.messages_failed += not ok
        self.handling_seconds += seconds


@dataclass(eq=False)
class _Pending:
    enqueued_at: float
    coalesce_key: str | None
    # One encoded message; for a tick frame, the frame's text ("" once merged: rebuilt at send).
    payload: str
    # A tick frame's messages by channel (None for any other message).
    ticks: dict[str, str] | None = None

    def messages(self) -> list[str]:
        """The encoded messages this entry carries."""
        return [self.payload] if self.ticks is None else list(self.ticks.values())

    def frame(self) -> str:
        """The text to send when this entry goes out alone."""
        if not self.payload and self.ticks is not None:
            self.payload = frame_text(self.messages())
        return self.payload


def frame_text(payloads: list[str]) -> str:
    """One message as it is, several as one ``batch`` frame (already-encoded JSON: no re-encoding)."""
    if len(payloads) == 1:
        return payloads[0]
    return '{"type":"batch","messages":[' + ",".join(payloads) + "]}"


def _serialized(text: str) -> bytes:
    """``text`` as one server-to-client WebSocket frame (unmasked, no extension)."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])


@dataclass(eq=False)
class _TickShipment:
    """The ticks of one flush for one subscription set and mode, encoded once for all its clients.

    ``messages`` are (channel, encoded message) in publish order; for batching clients, only the
    latest per channel (``coalesced`` counts the others), to go out as one ``batch`` frame.
    """

    messages: list[tuple[str, str]]
    batched: bool
    coalesced: int = 0
    _text: str | None = None
    _wire: bytes | None = None

    @classmethod
    def build(cls, gathered: list[tuple[str, str]], channels: frozenset[str], batched: bool) -> _TickShipment:
        """The gathered ticks on ``channels``, for clients that batch or not."""
        messages = [(channel, payload) for channel, payload in gathered if channel in channels]
        if not batched:
            return cls(messages, batched)
        latest = list(dict(messages).items())
        return cls(latest, batched, coalesced=len(messages) - len(latest))

    @property
    def frames(self) -> int:
        """How many WebSocket frames this shipment is."""
        return 1 if self.batched else len(self.messages)

    @property
    def text(self) -> str:
        """A batching client's frame text."""
        if self._text is None:
            self._text = frame_text([payload for _, payload in self.messages])
        return self._text

    @property
    def wire(self) -> bytes:
        """The shipment as serialized frames, for clients written to directly: the batch frame, or
        one frame per message back to back (one socket write however many)."""
        if self._wire is None:
            if self.batched:
                self._wire = _serialized(self.text)
            else:
                self._wire = b"".join(_serialized(payload) for _, payload in self.messages)
        return self._wire


@dataclass(eq=False)
class StreamClient:
    """One connection: its subscriptions, its outbox and the task that drains it."""

    client_id: int
    send: Send
    close_socket: Close
    hub: Hub
    # Who the client is, for its heartbeats (its key's name; by default its id).
    name: str = ""
    subscriptions: set[str] = field(default_factory=set)
    context: dict[str, Any] = field(default_factory=dict)
    closed_reason: str | None = None
    # Up to this many waiting messages go out as one ``batch`` frame (1: one frame per message).
    batch_max: int = 1
    # Where the server allows it, the hub's shared tick frames are written straight to the socket
    # when nothing else is waiting for it, with no hand-off to the sender task.
    write_frame: WriteFrame | None = None
    _outbox: deque[_Pending] = field(default_factory=deque)
    _waiting: dict[str, _Pending] = field(default_factory=dict)
    # The hub's tick frame still waiting in the outbox (batching clients only).
    _tick_frame: _Pending | None = None
    # ``subscriptions`` frozen: the key under which the hub shares tick frames.
    subscription_key: frozenset[str] = frozenset()
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    # The sender task has taken entries out of the outbox and not finished sending them.
    _sending: bool = False

    @property
    def queued(self) -> int:
        """Messages waiting in the outbox."""
        return len(self._outbox)

    def lag_s(self, now: float) -> float:
        """How long the oldest waiting message has waited."""
        return now - self._outbox[0].enqueued_at if self._outbox else 0.0

    def offer(self, payload: str, *, channel: str | None = None) -> None:
        """Queue a message that must not be skipped (anything but ticks: see ``offer_ticks``).

        ``channel``: a channel that also carries coalesced updates; the one waiting, if any, keeps
        its place ahead of this message and is no longer replaced by newer ones.
        """
        if self.closed_reason is None:
            if channel is not None:
                self._seal(channel)
            self._append(_Pending(time.monotonic(), None, payload))

    def _seal(self, channel: str) -> None:
        waiting = self._waiting.pop(channel, None)
        if waiting is not None:
            waiting.coalesce_key = None
        frame = self._tick_frame
        if frame is not None and frame.ticks is not None and channel in frame.ticks:
            self._tick_frame = None

    def offer_ticks(self, shipment: _TickShipment) -> None:
        """Send the hub's shared ticks: written at once when nothing is waiting for the socket and
        it takes them, else queued (a batching client's merged into its waiting tick frame)."""
        if self.closed_reason is not None:
            return
        stats = self.hub.stats
        stats.coalesced += shipment.coalesced
        if (
            self.write_frame is not None
            and not self._outbox
            and not self._sending
            and self.write_frame(shipment.wire)
        ):
            stats.messages_sent += len(shipment.messages)
            stats.frames_sent += shipment.frames
            return
        if not shipment.batched:
            self._queue_ticks(shipment.messages)
            return
        ticks = dict(shipment.messages)
        waiting = self._tick_frame
        if waiting is None:
            self._tick_frame = _Pending(time.monotonic(), None, shipment.text, ticks)
            self._append(self._tick_frame)
            return
        assert waiting.ticks is not None
        merged = waiting.ticks | ticks
        stats.coalesced += len(waiting.ticks) + len(ticks) - len(merged)
        waiting.ticks, waiting.payload = merged, ""

    def _queue_ticks(self, messages: list[tuple[str, str]]) -> None:
        """Queue one flush's ticks, one message each: a tick still waiting from an earlier flush
        (the client is behind) is replaced by the newest; ticks of this flush keep their order."""
        fresh: set[str] = set()
        now = time.monotonic()
        for channel, payload in messages:
            waiting = self._waiting.get(channel)
            if waiting is not None and channel not in fresh:
                waiting.payload = payload
                self.hub.stats.coalesced += 1
                continue
            if waiting is not None:
                # The channel's newest waiting tick is the one a later flush may replace.
                waiting.coalesce_key = None
            pending = self._waiting[channel] = _Pending(now, channel, payload)
            self._append(pending)
            fresh.add(channel)

    def _append(self, pending: _Pending) -> None:
        self._outbox.append(pending)
        self._ready.set()
        if len(self._outbox) > self.hub.limits.max_queue:
            self.hub.drop(self, f"slow consumer: more than {self.hub.limits.max_queue} messages queued")

    def start(self) -> None:
        """Start the sender task."""
        self._task = asyncio.create_task(self._drain(), name=f"ws-client-{self.client_id}")

    async def _drain(self) -> None:
        while True:
            if not self._outbox:
                self._ready.clear()
                await self._ready.wait()
            while self._outbox:
                await self._send_waiting()

    async def _send_waiting(self) -> None:
        """Send what is waiting: one entry, or up to ``batch_max`` of them as one batch frame."""
        entries = [self._pop() for _ in range(min(len(self._outbox), self.batch_max))]
        self._sending = True
        try:
            if len(entries) == 1:
                # A shared tick frame goes out as the hub built it, the same text for every client.
                count = 1 if entries[0].ticks is None else len(entries[0].ticks)
                await self.send(entries[0].frame())
            else:
                payloads = [payload for entry in entries for payload in entry.messages()]
                count = len(payloads)
                await self.send(frame_text(payloads))
        finally:
            self._sending = False
        self.hub.stats.messages_sent += count
        self.hub.stats.frames_sent += 1

    def _pop(self) -> _Pending:
        pending = self._outbox.popleft()
        if pending.coalesce_key is not None:
            del self._waiting[pending.coalesce_key]
        if pending is self._tick_frame:
            self._tick_frame = None
        return pending

    async def stop(self) -> None:
        """Cancel the sender task and forget the outbox."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self._outbox.clear()
        self._waiting.clear()
        self._tick_frame = None


SubscriptionListener = Callable[[str, int], None]


class Hub:
    """Channels and clients; ``publish`` fans a message out without waiting for anyone."""

    def __init__(self, limits: HubLimits | None = None) -> None:
        self.limits = limits or HubLimits()
        self.stats = HubStats()
        self.clients: dict[int, StreamClient] = {}
        self._subscribers: dict[str, set[StreamClient]] = {}
        # Ticks published since the last flush: (channel, encoded message) in publish order.
        self._gathered: list[tuple[str, str]] = []
        self._flush_handle: asyncio.Handle | None = None
        self._flushed_at = float("-inf")
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
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._gathered.clear()
        for client in list(self.clients.values()):
            await self.disconnect(client)
        for task in list(self._closing):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- clients and subscriptions --

    def connect(
        self,
        send: Send,
        close: Close,
        *,
        batch_max: int = 1,
        write_frame: WriteFrame | None = None,
        name: str | None = None,
    ) -> StreamClient:
        """Register a connection and start its sender (``batch_max`` > 1: batch frames under pressure;
        ``write_frame``: shared tick frames may be written straight to the socket; ``name``: who it is,
        for its heartbeats)."""
        client_id = next(self._ids)
        client = StreamClient(
            client_id=client_id,
            send=send,
            close_socket=close,
            hub=self,
            name=name or f"client-{client_id}",
            batch_max=batch_max,
            write_frame=write_frame,
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
        # updates gathered before the subscription go to the subscribers they were published for: a
        # new subscriber starts from the channel's last message (a snapshot), never before it
        self._flush_channel(channel)
        client.subscriptions.add(channel)
        client.subscription_key = frozenset(client.subscriptions)
        subscribers = self._subscribers.setdefault(channel, set())
        subscribers.add(client)
        self._notify(channel, len(subscribers))
        return True

    def unsubscribe(self, client: StreamClient, channel: str) -> bool:
        """Remove a subscription; False when the client did not have it."""
        if channel not in client.subscriptions:
            return False
        client.subscriptions.discard(channel)
        client.subscription_key = frozenset(client.subscriptions)
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
        """Send ``message`` to the channel's subscribers; returns how many will get it.

        ``coalesce`` (ticks): the message goes out with the hub's next flush, shared by every
        subscriber, and may be replaced by a newer one for the same channel while a client is behind.
        """
        subscribers = self._subscribers.get(channel)
        if not subscribers:
            return 0
        payload = encode(message)
        if coalesce:
            self._gathered.append((channel, payload))
            if self._flush_handle is None:
                loop = asyncio.get_running_loop()
                wait = self._flushed_at + self.limits.batch_interval_s - loop.time()
                self._flush_handle = (
                    loop.call_later(wait, self._flush) if wait > 0 else loop.call_soon(self._flush)
                )
            return len(subscribers)
        self._flush_channel(channel)  # the channel's gathered updates go first
        for client in subscribers:
            client.offer(payload, channel=channel)
        return len(subscribers)

    def _flush_channel(self, channel: str) -> None:
        """Flush now if updates of ``channel`` are gathered."""
        if self._flush_handle is not None and any(gathered == channel for gathered, _ in self._gathered):
            self._flush_handle.cancel()
            self._flush()

    def _flush(self) -> None:
        """Hand the gathered ticks to their subscribers, built once per distinct subscription set
        and mode (batching or not) however many clients share it."""
        self._flush_handle = None
        self._flushed_at = asyncio.get_running_loop().time()
        gathered, self._gathered = self._gathered, []
        channels = {channel for channel, _ in gathered}
        clients: set[StreamClient] = set().union(
            *(self._subscribers.get(channel, ()) for channel in channels)
        )
        shipments: dict[tuple[frozenset[str], bool], _TickShipment] = {}
        for client in clients:
            kind = (client.subscription_key, client.batch_max > 1)
            shipment = shipments.get(kind)
            if shipment is None:
                shipment = shipments[kind] = _TickShipment.build(gathered, *kind)
            client.offer_ticks(shipment)

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
            for client in list(self.clients.values()):
                client.offer(encode(heartbeat_message(client.name)))

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
            "messages_processed": self.stats.messages_processed,
            "messages_failed": self.stats.messages_failed,
            "subscriptions": {channel: len(clients) for channel, clients in self._subscribers.items()},
        }
