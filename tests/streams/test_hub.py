"""The hub's queueing: coalescing under pressure, dropping clients too far behind, isolation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import orjson
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from mt5gateway.streams.hub import SLOW_CLIENT_CLOSE_CODE, Hub, HubLimits, StreamClient


class Socket:
    """The two ends the hub drives: ``send`` (optionally held shut) and ``close``."""

    def __init__(self) -> None:
        self.received: list[dict[str, object]] = []
        self.closed: tuple[int, str] | None = None
        self.open = asyncio.Event()
        self.open.set()

    async def send(self, text: str) -> None:
        await self.open.wait()
        self.received.append(orjson.loads(text))

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    # Only a ``DirectSocket`` takes serialized frames straight away.
    write_frame: Callable[[bytes], bool] | None = None


def batching_client(hub: Hub, socket: Socket, *channels: str) -> StreamClient:
    """A client that takes batch frames, subscribed to ``channels`` (written to directly when the
    socket can take frames so)."""
    client = hub.connect(socket.send, socket.close, batch_max=10, write_frame=socket.write_frame)
    for channel in channels:
        hub.subscribe(client, channel)
    return client


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_ticks_coalesce_to_the_latest_per_symbol_while_a_client_is_behind() -> None:
    hub = Hub(HubLimits(batch_interval_s=0.0))  # a flush at every turn of the loop
    socket = Socket()
    socket.open.clear()
    client = hub.connect(socket.send, socket.close)
    hub.subscribe(client, "ticks:EURUSD")
    hub.subscribe(client, "ticks:USDJPY")
    for i in range(100):
        hub.publish("ticks:EURUSD", {"type": "tick_data", "bid": i}, coalesce=True)
        hub.publish("ticks:USDJPY", {"type": "tick_data", "bid": 1000 + i}, coalesce=True)
        await settle()
    # The sender holds the first EURUSD tick; behind it one waiting slot per symbol.
    assert client.queued <= 2
    socket.open.set()
    await settle()
    bids = [m["bid"] for m in socket.received]
    assert bids == [0, 1099, 99]  # USDJPY had been waiting since the first flush
    assert hub.stats.coalesced == 197
    await hub.stop()


async def test_ticks_are_not_coalesced_for_a_client_that_keeps_up() -> None:
    hub = Hub()
    socket = Socket()
    client = hub.connect(socket.send, socket.close)
    hub.subscribe(client, "ticks:EURUSD")
    for i in range(20):
        hub.publish("ticks:EURUSD", {"bid": i}, coalesce=True)
        await settle()
    await asyncio.sleep(0.02)  # past the flush interval
    # One message per tick, in order: the ticks gathered by one flush are not coalesced.
    assert [m["bid"] for m in socket.received] == list(range(20))
    assert hub.stats.coalesced == 0 and hub.stats.frames_sent == 20
    await hub.stop()


async def test_client_over_the_queue_bound_is_closed_with_a_reason() -> None:
    hub = Hub(HubLimits(max_queue=10))
    stalled, healthy = Socket(), Socket()
    stalled.open.clear()
    slow = hub.connect(stalled.send, stalled.close)
    fast = hub.connect(healthy.send, healthy.close)
    for client in (slow, fast):
        hub.subscribe(client, "positions:5001")
    for i in range(12):
        hub.publish("positions:5001", {"n": i})
        await settle()
    assert stalled.closed is not None and stalled.closed[0] == SLOW_CLIENT_CLOSE_CODE
    assert "slow consumer" in stalled.closed[1]
    assert [m["n"] for m in healthy.received] == list(range(12))
    assert hub.stats.dropped_clients == 1
    assert slow.client_id not in hub.clients and hub.subscriber_count("positions:5001") == 1
    await hub.stop()


async def test_client_behind_for_too_long_is_dropped_by_the_watchdog() -> None:
    hub = Hub(HubLimits(max_lag_s=0.1, watchdog_s=0.02))
    await hub.start()
    stalled = Socket()
    stalled.open.clear()
    client = hub.connect(stalled.send, stalled.close)
    hub.subscribe(client, "orders:5001")
    hub.publish("orders:5001", {"n": 1})
    hub.publish("orders:5001", {"n": 2})
    await asyncio.sleep(0.3)
    assert stalled.closed is not None and "behind" in stalled.closed[1]
    await hub.stop()


async def test_heartbeat_reaches_every_client() -> None:
    hub = Hub(HubLimits(heartbeat_s=0.05))
    await hub.start()
    sockets = [Socket() for _ in range(3)]
    for socket in sockets:
        hub.connect(socket.send, socket.close)
    await asyncio.sleep(0.12)
    await hub.stop()
    for socket in sockets:
        assert any(m["type"] == "heartbeat" for m in socket.received)


async def test_subscription_listeners_see_counts_and_status_counts_channels() -> None:
    hub = Hub()
    seen: list[tuple[str, int]] = []
    hub.add_listener(lambda channel, count: seen.append((channel, count)))
    a, b = Socket(), Socket()
    ca, cb = hub.connect(a.send, a.close), hub.connect(b.send, b.close)
    hub.subscribe(ca, "account:5001")
    hub.subscribe(cb, "account:5001")
    assert not hub.subscribe(cb, "account:5001")
    assert hub.status()["subscriptions"] == {"account:5001": 2}
    await hub.disconnect(ca)
    await hub.disconnect(cb)
    assert seen == [("account:5001", 1), ("account:5001", 2), ("account:5001", 1), ("account:5001", 0)]
    assert hub.status()["active_connections"] == 0


async def test_a_client_that_opted_in_gets_waiting_messages_as_one_batch_frame() -> None:
    hub = Hub(HubLimits(batch_interval_s=0.0))
    socket = Socket()
    batching_client(hub, socket, "orders:5001")
    hub.publish("orders:5001", {"n": 0})
    await settle()
    socket.open.clear()
    hub.publish("orders:5001", {"n": 1})
    await settle()  # the sender now waits on the socket with message 1
    for i in range(2, 6):
        hub.publish("orders:5001", {"n": i})
    socket.open.set()
    await settle()
    assert socket.received == [
        {"n": 0},
        {"n": 1},
        {"type": "batch", "messages": [{"n": 2}, {"n": 3}, {"n": 4}, {"n": 5}]},
    ]
    assert hub.stats.messages_sent == 6 and hub.stats.frames_sent == 3
    await hub.stop()


async def test_a_tick_after_a_quiet_spell_leaves_at_once_and_later_ones_wait_for_the_interval() -> None:
    hub = Hub(HubLimits(batch_interval_s=0.05))
    socket = Socket()
    batching_client(hub, socket, "ticks:EURUSD", "ticks:USDJPY")
    hub.publish("ticks:EURUSD", {"bid": 0}, coalesce=True)
    hub.publish("ticks:USDJPY", {"bid": 100}, coalesce=True)
    await settle()
    # Nothing was flushed lately: the burst left at the next turn of the loop, as one frame.
    assert socket.received == [{"type": "batch", "messages": [{"bid": 0}, {"bid": 100}]}]
    for i in range(1, 4):
        hub.publish("ticks:EURUSD", {"bid": i}, coalesce=True)
        hub.publish("ticks:USDJPY", {"bid": 100 + i}, coalesce=True)
        await settle()
    assert len(socket.received) == 1  # within the interval of the last flush: gathered
    await asyncio.sleep(0.1)
    # Published within the interval: the latest of each symbol, in one frame.
    assert socket.received[1:] == [{"type": "batch", "messages": [{"bid": 3}, {"bid": 103}]}]
    assert hub.stats.frames_sent == 2 and hub.stats.coalesced == 4
    await hub.stop()


async def test_batching_clients_with_the_same_subscriptions_share_one_frame_per_interval() -> None:
    hub = Hub(HubLimits(batch_interval_s=0.01))
    sockets = [Socket() for _ in range(3)]
    sent: list[str] = []

    def recording(socket: Socket) -> Callable[[str], Awaitable[None]]:
        async def send(text: str) -> None:
            sent.append(text)
            await socket.send(text)

        return send

    clients = [hub.connect(recording(s), s.close, batch_max=10) for s in sockets]
    for client in clients[:2]:
        hub.subscribe(client, "ticks:EURUSD")
        hub.subscribe(client, "ticks:USDJPY")
    hub.subscribe(clients[2], "ticks:EURUSD")
    hub.publish("ticks:EURUSD", {"bid": 1}, coalesce=True)
    hub.publish("ticks:USDJPY", {"bid": 101}, coalesce=True)
    await asyncio.sleep(0.05)
    both = {"type": "batch", "messages": [{"bid": 1}, {"bid": 101}]}
    assert [s.received for s in sockets] == [[both], [both], [{"bid": 1}]]
    # The two clients with the same subscriptions were handed the very same text.
    shared = [text for text in sent if "batch" in text]
    assert len(shared) == 2 and shared[0] is shared[1]
    await hub.stop()


async def test_a_batching_client_behind_gets_its_waiting_tick_frames_merged() -> None:
    hub = Hub(HubLimits(batch_interval_s=0.005))
    socket = Socket()
    client = batching_client(hub, socket, "ticks:EURUSD", "ticks:USDJPY")
    socket.open.clear()
    hub.publish("ticks:EURUSD", {"bid": 0}, coalesce=True)
    await asyncio.sleep(0.02)  # the sender now waits on the socket with that frame
    for i in range(1, 4):
        hub.publish("ticks:EURUSD", {"bid": i}, coalesce=True)
        if i == 1:
            hub.publish("ticks:USDJPY", {"bid": 100 + i}, coalesce=True)
        await asyncio.sleep(0.02)  # a flush per round: each frame merges into the waiting one
    assert client.queued == 1
    socket.open.set()
    await settle()
    assert socket.received == [{"bid": 0}, {"type": "batch", "messages": [{"bid": 3}, {"bid": 101}]}]
    assert hub.stats.messages_sent == 3 and hub.stats.coalesced == 2
    await hub.stop()


class DirectSocket(Socket):
    """A socket that also takes serialized frames straight away while ``writable`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[dict[str, object]] = []
        self.writable = True

    def write_frame(self, data: bytes) -> bool:
        if not self.writable:
            return False
        reader = StreamReader()
        reader.feed_data(data)
        parser = Frame.parse(reader.read_exact, mask=False)
        try:
            next(parser)
        except StopIteration as parsed:
            frame: Frame = parsed.value
        assert frame.opcode is Opcode.TEXT and frame.fin and not reader.buffer  # exactly one frame
        self.written.append(orjson.loads(frame.data))
        return True


async def test_shared_tick_frames_are_written_straight_to_a_socket_that_takes_them() -> None:
    hub = Hub(HubLimits(batch_interval_s=0.0))
    sockets = [DirectSocket(), DirectSocket()]
    for socket in sockets:
        batching_client(hub, socket, "ticks:EURUSD", "ticks:USDJPY")
    hub.publish("ticks:EURUSD", {"bid": 1}, coalesce=True)
    hub.publish("ticks:USDJPY", {"bid": 101}, coalesce=True)
    await settle()
    both = {"type": "batch", "messages": [{"bid": 1}, {"bid": 101}]}
    assert [(s.written, s.received) for s in sockets] == [([both], []), ([both], [])]
    assert hub.stats.frames_sent == 2 and hub.stats.messages_sent == 4
    await hub.stop()


async def test_a_socket_that_cannot_take_a_frame_now_gets_it_from_its_sender() -> None:
    hub = Hub(HubLimits(batch_interval_s=0.0))
    socket = DirectSocket()
    socket.writable = False  # as when the transport is paused by a full buffer
    batching_client(hub, socket, "ticks:EURUSD")
    hub.publish("ticks:EURUSD", {"bid": 1}, coalesce=True)
    await settle()
    assert socket.written == [] and socket.received == [{"bid": 1}]
    await hub.stop()


async def test_a_direct_write_never_overtakes_a_message_still_waiting_or_being_sent() -> None:
    hub = Hub(HubLimits(batch_interval_s=0.0))
    socket = DirectSocket()
    batching_client(hub, socket, "ticks:EURUSD", "orders:5001")
    socket.open.clear()
    hub.publish("orders:5001", {"n": 0})
    await settle()  # the sender now holds message 0, the outbox is empty
    hub.publish("ticks:EURUSD", {"bid": 1}, coalesce=True)
    await settle()
    assert socket.written == []  # queued behind the message being sent
    hub.publish("orders:5001", {"n": 1})
    hub.publish("ticks:EURUSD", {"bid": 2}, coalesce=True)
    await settle()
    socket.open.set()
    await settle()
    assert socket.received == [{"n": 0}, {"type": "batch", "messages": [{"bid": 2}, {"n": 1}]}]
    # Once the outbox is empty, the next frame goes straight to the socket again.
    hub.publish("ticks:EURUSD", {"bid": 3}, coalesce=True)
    await settle()
    assert socket.written == [{"bid": 3}]
    await hub.stop()


async def test_a_message_that_must_not_be_skipped_keeps_its_place_among_coalesced_updates() -> None:
    """A ``ta:`` channel: forming values coalesce, a closed bar's values never skip and are never
    overtaken by the next bar's forming values, for a client that keeps up and one that is behind."""
    for batching in (False, True):
        hub = Hub(HubLimits(batch_interval_s=0.05))  # gathered updates wait for the flush
        socket = Socket()
        client = batching_client(hub, socket) if batching else hub.connect(socket.send, socket.close)
        hub.subscribe(client, "ta:EURUSD:M1:RSI(14)")
        # gathered, not flushed yet: the closed message goes after it, not before
        hub.publish("ta:EURUSD:M1:RSI(14)", {"bar": 1, "closed": False}, coalesce=True)
        hub.publish("ta:EURUSD:M1:RSI(14)", {"bar": 1, "closed": True})
        await asyncio.sleep(0.1)
        socket.open.clear()  # now the client falls behind
        for update in range(5):
            hub.publish("ta:EURUSD:M1:RSI(14)", {"bar": 2, "closed": False, "n": update}, coalesce=True)
            await asyncio.sleep(0.06)
        hub.publish("ta:EURUSD:M1:RSI(14)", {"bar": 2, "closed": True})
        for update in range(5):
            hub.publish("ta:EURUSD:M1:RSI(14)", {"bar": 3, "closed": False, "n": update}, coalesce=True)
            await asyncio.sleep(0.06)
        socket.open.set()
        await asyncio.sleep(0.1)
        received = [
            (m["bar"], m["closed"], m.get("n"))
            for frame in socket.received
            for m in (frame["messages"] if frame.get("type") == "batch" else [frame])  # type: ignore[union-attr]
        ]
        assert received[:2] == [(1, False, None), (1, True, None)]
        # bar 2's updates coalesced to fewer, then its close, then bar 3's newest update last
        closes = [i for i, (bar, closed, _) in enumerate(received) if closed]
        assert [received[i][0] for i in closes] == [1, 2]
        assert all(bar == 2 for bar, _, _ in received[2 : closes[1]])
        assert all(bar == 3 for bar, _, _ in received[closes[1] + 1 :])
        assert received[-1] == (3, False, 4)
        await hub.stop()


async def test_a_new_subscriber_gets_nothing_published_before_it_subscribed() -> None:
    """Updates gathered but not flushed yet go to the subscribers they were published for: a new
    subscriber's snapshot (the channel's last message) is never followed by older updates."""
    hub = Hub(HubLimits(batch_interval_s=0.05))
    early, late = Socket(), Socket()
    first = hub.connect(early.send, early.close)
    hub.subscribe(first, "ta:EURUSD:M1:RSI(14)")
    hub.publish("ta:EURUSD:M1:RSI(14)", {"n": 0}, coalesce=True)
    await asyncio.sleep(0.1)
    for n in (1, 2):  # gathered, not flushed yet
        hub.publish("ta:EURUSD:M1:RSI(14)", {"n": n}, coalesce=True)
    second = hub.connect(late.send, late.close)
    hub.subscribe(second, "ta:EURUSD:M1:RSI(14)")
    hub.send_to(second, {"n": 2, "snapshot": True})
    hub.publish("ta:EURUSD:M1:RSI(14)", {"n": 3}, coalesce=True)
    await asyncio.sleep(0.1)
    assert [m["n"] for m in early.received] == [0, 1, 2, 3]
    assert [m["n"] for m in late.received] == [2, 3]
    await hub.stop()
