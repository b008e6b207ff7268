"""The pool's pure parts: tick de-duplication, restart backoff, the wire format, the event bus."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from datetime import datetime

import numpy as np
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt5gateway.pool.bus import EventBus, TickEvent
from mt5gateway.pool.stats import UptimeMeter
from mt5gateway.pool.supervisor import Backoff, deadline_kind
from mt5gateway.pool.wire import WireError, decode_value, encode_value, recv_frame, send_frame
from mt5gateway.pool.worker import StreamCursor, fresh_ticks
from mt5gateway.terminal.dtypes import RATES_DTYPE, TICKS_DTYPE
from mt5gateway.terminal.records import AccountInfo, Tick


def _ticks(times: list[int]) -> np.ndarray:
    ticks = np.zeros(len(times), dtype=TICKS_DTYPE)
    ticks["time_msc"] = times
    ticks["time"] = np.asarray(times) // 1000
    ticks["bid"] = np.arange(len(times))  # identity of each tick
    return ticks


@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=60).map(sorted),
    st.lists(st.integers(0, 60), max_size=8),
)
def test_polling_a_growing_window_yields_each_tick_once_in_order(times: list[int], cuts: list[int]) -> None:
    # Ticks are stamped in ms (several per ms); each poll sees the stream up to some point and
    # re-reads from the start of the cursor's second, as the worker does.
    stream = _ticks([1_000 + t for t in times])
    cursor = StreamCursor(last_msc=0, seen_at_last=0, bar_time=0)
    published: list[float] = []
    for visible in [*sorted(cuts), len(stream)]:
        window = stream[: min(visible, len(stream))]
        window = window[window["time_msc"] >= cursor.last_msc // 1000 * 1000]
        fresh, cursor = fresh_ticks(window, cursor)
        published.extend(fresh["bid"].tolist())
    assert published == stream["bid"].tolist()


def test_ticks_sharing_the_cursor_millisecond_are_not_repeated() -> None:
    cursor = StreamCursor(last_msc=5, seen_at_last=2, bar_time=0)
    fresh, cursor = fresh_ticks(_ticks([4, 5, 5, 5, 6]), cursor)
    assert fresh["time_msc"].tolist() == [5, 6]
    assert (cursor.last_msc, cursor.seen_at_last) == (6, 1)
    fresh, same = fresh_ticks(_ticks([5, 5, 5, 6]), cursor)
    assert len(fresh) == 0 and same == cursor


def test_backoff_doubles_with_jitter_up_to_the_maximum_and_resets() -> None:
    backoff = Backoff(1.0, 60.0, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(9)]
    for attempt, delay in enumerate(delays):
        ceiling = min(60.0, 2.0**attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays[-3:]}) == 3  # jittered, not lockstep
    backoff.reset()
    assert 0.5 <= backoff.next_delay() <= 1.0


def test_deadline_kinds_follow_the_call() -> None:
    assert deadline_kind("symbol_info_tick") == "fast"
    assert deadline_kind("copy_rates_from_pos") == "history"
    assert deadline_kind("history_deals_get") == "history"
    assert deadline_kind("order_send") == "trade"
    assert deadline_kind("initialize") == "connect"


def test_wire_round_trips_api_values() -> None:
    rates = np.zeros(3, dtype=RATES_DTYPE)
    rates["close"] = [1.5, 2.5, 3.5]
    tick = Tick(1, 1.1, 1.2, 0.0, 0, 1000, 6, 0.0)
    value = {
        "rates": rates,
        "ticks": (tick, tick),
        "version": (500, 4755, "24 Jan 2025"),
        "when": datetime(2025, 1, 2, 3, 4, 5),
        "request": {"action": 1, "symbol": "EURUSD", "volume": 0.1},
        "none": None,
    }
    back = decode_value(orjson.loads(orjson.dumps(encode_value(value))))
    assert back["rates"].dtype == RATES_DTYPE and back["rates"].tolist() == rates.tolist()
    assert back["ticks"] == (tick, tick) and type(back["ticks"][0]) is Tick
    assert back["version"] == value["version"] and back["when"] == value["when"]
    assert back["request"] == value["request"] and back["none"] is None
    account = AccountInfo(*range(28))
    assert decode_value(encode_value(account)) == account


def test_wire_refuses_what_is_not_data() -> None:
    with pytest.raises(WireError):
        decode_value({"__record__": "os.system", "fields": []})
    with pytest.raises(WireError):
        decode_value({"__ndarray__": [["x", "O"]], "data": ""})
    with pytest.raises(TypeError):
        encode_value(object())


def test_frames_cross_a_socket_and_garbage_is_refused() -> None:
    left, right = socket.socketpair()
    with left, right:
        send_frame(left, {"id": 1, "call": "version"})
        assert recv_frame(right) == {"id": 1, "call": "version"}
        left.sendall(b"\x00\x00\x00\x03abc")
        with pytest.raises(WireError):
            recv_frame(right)
        left.close()
        with pytest.raises(WireError):
            recv_frame(right)


async def test_bus_fans_out_and_drops_oldest_for_a_slow_subscriber() -> None:
    bus = EventBus()
    fast = bus.subscribe("ticks")
    slow = bus.subscribe("ticks", maxsize=2)
    events = [TickEvent("T", "EURUSD", _ticks([i])) for i in range(3)]
    for event in events:
        bus.publish("ticks", event)
    assert [await asyncio.wait_for(anext(fast), 1) for _ in range(3)] == events
    assert slow.dropped == 1
    assert [slow.get_nowait(), slow.get_nowait()] == events[1:]
    async with slow:
        pass
    assert bus.subscriber_count("ticks") == 1
    fast.close()
    assert bus.subscriber_count("ticks") == 0


def test_uptime_counts_from_the_first_start_and_drops_while_down() -> None:
    meter = UptimeMeter()
    assert meter.percent() == 0.0  # never up yet
    time.sleep(0.05)  # spawning: not downtime
    meter.set_up(True)
    time.sleep(0.05)
    assert meter.percent() == 100.0
    meter.set_up(False)
    time.sleep(0.05)
    meter.set_up(True)
    assert 40.0 < meter.percent() < 75.0
