"""The worker process: owns one terminal's backend, serves calls one at a time, streams its symbols.

The official module is not thread-safe and holds one terminal per process, so everything that
touches the backend (calls from the gateway and the tick polling) runs on the worker's one thread,
interleaved: between calls, every ``poll_interval`` the worker asks ``copy_ticks_from`` for each of
its symbols since the last tick it published and sends the new ticks, then any M1 bars that closed.

Messages to the gateway (tuples over the ``multiprocessing`` pipe):
``("ready", info)``, ``("init_failed", reason)``, ``("result", id, value, last_error)``,
``("error", id, exception_name, message)``, ``("ticks", symbol, array, cursor)``,
``("bars", symbol, array, cursor)``, ``("log", time, level, message)``.
From the gateway: ``("call", id, function, args, kwargs)``, ``("control", id, action, kwargs)``,
``("reconnect", id)``, ``("stop",)``.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from ..lifeline import exit_with_parent
from ..terminal import constants as c
from ..terminal.api import API_FUNCTIONS
from .backends import BackendSpec, make_backend

__all__ = ["StreamCursor", "WorkerSpec", "fresh_ticks", "worker_main"]

# Ticks asked for per poll and symbol (a backlog is read a chunk per poll); a single second holding
# more than this would stall the stream.
TICKS_PER_POLL = 50_000
# After a long outage, closed bars older than this many minutes are not replayed to the bus.
MAX_BAR_CATCH_UP = 1_000

log = logging.getLogger("mt5gateway.pool.worker")


@dataclass(frozen=True)
class StreamCursor:
    """Where a symbol's stream stands: the newest tick published and the newest closed bar.

    ``seen_at_last`` counts the ticks stamped ``last_msc`` already published, because several ticks
    can share one millisecond and a poll can end between them.
    """

    last_msc: int
    seen_at_last: int
    bar_time: int  # open time (epoch s) of the newest closed M1 bar published


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs, pickled to the spawned process."""

    backend: BackendSpec
    poll_interval: float
    call_timeout: float
    cursors: dict[str, StreamCursor] = field(default_factory=dict)


def fresh_ticks(ticks: np.ndarray, cursor: StreamCursor) -> tuple[np.ndarray, StreamCursor]:
    """The ticks of ``ticks`` (sorted by time_msc) not yet published, and the cursor after them."""
    times = ticks["time_msc"]
    newer = times > cursor.last_msc
    same = np.flatnonzero(times == cursor.last_msc)
    keep = newer.copy()
    keep[same[cursor.seen_at_last :]] = True
    fresh = ticks[keep]
    if len(fresh) == 0:
        return fresh, cursor
    last = int(fresh["time_msc"][-1])
    seen = int(np.count_nonzero(times == last)) if last != cursor.last_msc else len(same)
    return fresh, replace(cursor, last_msc=last, seen_at_last=seen)


class _Channel:
    """The worker's end of the pipe; sends are locked because log records may come from any thread."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    def send(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            self.conn.send(message)


class _ForwardingHandler(logging.Handler):
    """Sends each log record of the worker to the gateway, which keeps the last lines."""

    def __init__(self, channel: _Channel) -> None:
        super().__init__(logging.INFO)
        self._channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._channel.send(("log", record.created, record.levelname, record.getMessage()))
        except (OSError, ValueError):
            self.handleError(record)


class _Streams:
    """Polls the symbols' ticks and closed M1 bars and sends what is new."""

    def __init__(
        self, backend: Any, channel: _Channel, symbols: tuple[str, ...], cursors: dict[str, StreamCursor]
    ) -> None:
        self._backend = backend
        self._channel = channel
        self._cursors = dict(cursors)
        for symbol in symbols:
            if symbol not in self._cursors and (cursor := self._start_cursor(symbol)) is not None:
                self._cursors[symbol] = cursor

    def _start_cursor(self, symbol: str) -> StreamCursor | None:
        tick = self._backend.symbol_info_tick(symbol)
        if tick is None:
            log.warning("not streaming %s: symbol_info_tick failed %s", symbol, self._backend.last_error())
            return None
        start = StreamCursor(
            last_msc=int(tick.time_msc), seen_at_last=0, bar_time=int(tick.time_msc) // 60_000 * 60 - 60
        )
        ticks = self._backend.copy_ticks_from(
            symbol, start.last_msc // 1000, TICKS_PER_POLL, c.COPY_TICKS_ALL
        )
        if ticks is not None and len(ticks):
            # The ticks up to now are history, not news: start after them.
            _, start = fresh_ticks(ticks, replace(start, last_msc=-1))
        return start

    def poll(self) -> None:
        for symbol, cursor in list(self._cursors.items()):
            self._cursors[symbol] = self._poll_symbol(symbol, cursor)

    def _poll_symbol(self, symbol: str, cursor: StreamCursor) -> StreamCursor:
        # One chunk per poll: after a long outage the backlog is caught up over several polls, so
        # calls still get served in between and do not miss their deadlines.
        ticks = self._backend.copy_ticks_from(
            symbol, cursor.last_msc // 1000, TICKS_PER_POLL, c.COPY_TICKS_ALL
        )
        if ticks is None:
            return cursor  # disconnected: the supervisor deals with it; resume from here
        fresh, cursor = fresh_ticks(ticks, cursor)
        if len(fresh):
            self._channel.send(("ticks", symbol, fresh, cursor))
        return self._closed_bars(symbol, cursor)

    def _closed_bars(self, symbol: str, cursor: StreamCursor) -> StreamCursor:
        current_bar = cursor.last_msc // 60_000 * 60
        first_wanted = max(cursor.bar_time + 60, current_bar - 60 * MAX_BAR_CATCH_UP)
        if first_wanted >= current_bar:
            return cursor
        rates = self._backend.copy_rates_range(symbol, c.TIMEFRAME_M1, first_wanted, current_bar - 1)
        if rates is None:
            return cursor
        closed = rates[(rates["time"] >= first_wanted) & (rates["time"] < current_bar)]
        cursor = replace(cursor, bar_time=current_bar - 60)
        if len(closed):
            self._channel.send(("bars", symbol, closed, cursor))
        return cursor


def worker_main(spec: WorkerSpec, conn: Connection) -> None:
    """The worker process's entry point (``multiprocessing`` spawn target)."""
    # Ctrl-C in the gateway's terminal reaches the whole process group; the gateway stops workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()
    channel = _Channel(conn)
    root = logging.getLogger()
    root.handlers[:] = [_ForwardingHandler(channel)]
    root.setLevel(logging.INFO)
    try:
        backend = make_backend(spec.backend, spec.call_timeout)
        if not backend.initialize(**spec.backend.initialize_kwargs()):
            code, message = backend.last_error()
            channel.send(("init_failed", f"initialize failed: {message} ({code})"))
            return
        streams = _Streams(backend, channel, spec.backend.symbols, spec.cursors)
    except Exception as exc:
        channel.send(("init_failed", f"{type(exc).__name__}: {exc}"))
        return
    log.info(
        "%s serving %s (pid %d)",
        spec.backend.terminal_id,
        ", ".join(spec.backend.symbols) or "no symbols",
        os.getpid(),
    )
    channel.send(("ready", {"pid": os.getpid(), "version": backend.version()}))
    _serve(backend, channel, streams, spec)


def _serve(backend: Any, channel: _Channel, streams: _Streams, spec: WorkerSpec) -> None:
    next_poll = time.monotonic()
    while True:
        try:
            if channel.conn.poll(max(0.0, next_poll - time.monotonic())):
                message = channel.conn.recv()
                if message[0] == "stop":
                    backend.shutdown()
                    return
                channel.send(_answer(backend, message, spec))
        except (EOFError, OSError):
            return  # the gateway is gone
        now = time.monotonic()
        if now >= next_poll:
            streams.poll()
            next_poll = max(next_poll + spec.poll_interval, now)


def _answer(backend: Any, message: tuple[Any, ...], spec: WorkerSpec) -> tuple[Any, ...]:
    kind, request_id = message[0], message[1]
    try:
        if kind == "call":
            function, args, kwargs = message[2:]
            if function not in API_FUNCTIONS:
                raise ValueError(f"{function!r} is not one of the MetaTrader5 API functions")
            result = getattr(backend, function)(*args, **kwargs)
            return ("result", request_id, result, backend.last_error())
        if kind == "control":
            action, kwargs = message[2:]
            control = getattr(backend, "control", None)
            if control is None:
                raise ValueError(
                    f"{spec.backend.terminal_id} is a {spec.backend.backend} terminal, not a simulated one"
                )
            return ("result", request_id, control(action, **kwargs), None)
        # "reconnect": log in again in place, as a terminal that lost its link would.
        backend.shutdown()
        backend.initialize(**spec.backend.initialize_kwargs())
        info = backend.terminal_info()
        return ("result", request_id, info is not None and bool(info.connected), backend.last_error())
    except Exception as exc:
        return ("error", request_id, type(exc).__name__, str(exc))
