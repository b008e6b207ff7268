"""The gateway's end of one worker process: spawn, requests with deadlines, and incoming events.

Requests go down a ``multiprocessing`` pipe (pickle: both ends are this program on this host) and
answers come back keyed by request id, so any number of coroutines may wait on one worker while it
serves them one at a time. The pipe is read from the event loop (``loop.add_reader``; a reader
thread where the loop cannot watch pipes), so waiting never blocks the loop. The loop reads only
what the pipe holds at each wake-up and assembles large answers over several (``FrameReader``):
uvloop makes the descriptor non-blocking, where a whole-message ``recv`` would fail half-way. A request that misses
its deadline fails with ``TerminalTimeout`` and reports the worker hung: the supervisor kills it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from ..errors import BadRequest, TerminalError, TerminalTimeout, TerminalUnavailable
from .frames import FrameReader
from .worker import WorkerSpec, worker_main

__all__ = ["WorkerClient", "WorkerStartError"]

_SPAWN = multiprocessing.get_context("spawn")
# Requests in the pipe to one worker at a time; more wait for a turn in the gateway. Bounded so that
# the unread requests (small: ~0.1-2 KB each) always fit the pipe's buffer and sending never blocks
# the event loop, even towards a hung worker.
MAX_IN_FLIGHT = 32


class WorkerStartError(Exception):
    """The worker process could not start serving (backend missing, initialize failed, too slow)."""


class WorkerClient:
    """One worker process and the requests in flight to it."""

    def __init__(
        self,
        terminal_id: str,
        *,
        on_event: Callable[[tuple[Any, ...]], None],
        on_lost: Callable[[WorkerClient, str], None],
        on_hung: Callable[[WorkerClient, str], None],
    ) -> None:
        self.terminal_id = terminal_id
        self._on_event = on_event
        self._on_lost = on_lost
        self._on_hung = on_hung
        self._loop = asyncio.get_running_loop()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[tuple[Any, Any]]] = {}
        self._turns = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._ready: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        # A start that already timed out is not awaiting this any more: don't warn about it.
        self._ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._process: Any = None
        self._conn: Connection | None = None
        self._watched_fd: int | None = None
        self._reader: FrameReader | None = None
        self.closed = False
        self.pid: int | None = None
        self.started_at: float | None = None

    async def start(self, spec: WorkerSpec, timeout: float) -> dict[str, Any]:
        """Spawn the worker and wait until its backend is initialized; returns its ready info."""
        parent_conn, child_conn = _SPAWN.Pipe()
        process = _SPAWN.Process(
            target=worker_main, args=(spec, child_conn), name=f"mt5gw-{self.terminal_id}", daemon=True
        )
        # Spawning writes the pickled spec to the child and waits on it: keep that off the loop.
        await asyncio.to_thread(process.start)
        child_conn.close()  # the child's copy stays open in the child; ours would hide its death
        self._process, self._conn = process, parent_conn
        self.pid, self.started_at = process.pid, time.time()
        self._watch(parent_conn)
        try:
            return await asyncio.wait_for(asyncio.shield(self._ready), timeout)
        except TimeoutError:
            self.kill(f"not ready within {timeout:g} s")
            raise WorkerStartError(f"worker not ready within {timeout:g} s") from None

    def _watch(self, conn: Connection) -> None:
        try:
            self._loop.add_reader(conn.fileno(), self._drain)
            self._watched_fd = conn.fileno()
            self._reader = FrameReader(conn.fileno())
        except NotImplementedError:
            threading.Thread(target=self._read_in_thread, args=(conn,), daemon=True).start()

    def _drain(self) -> None:
        # One read per wake-up: the reader is level-triggered, so the loop calls back while more
        # is waiting, and a frame still partial after this read is completed by the next ones.
        reader = self._reader
        if reader is None or self.closed:
            return
        try:
            messages = reader.read_available()
        except (EOFError, OSError):
            self._lose("the worker process exited")
            return
        for message in messages:
            self._dispatch(message)

    def _read_in_thread(self, conn: Connection) -> None:
        try:
            while True:
                self._loop.call_soon_threadsafe(self._dispatch, conn.recv())
        except (EOFError, OSError):
            self._loop.call_soon_threadsafe(self._lose, "the worker process exited")

    def _dispatch(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind in {"result", "error"}:
            future = self._pending.pop(message[1], None)
            if future is None or future.done():
                return  # its deadline already passed
            if kind == "result":
                future.set_result((message[2], message[3]))
            else:
                # The caller's arguments were wrong (bad types, unknown control) or the backend broke.
                error_type = BadRequest if message[2] in {"TypeError", "ValueError"} else TerminalError
                future.set_exception(
                    error_type(
                        f"{self.terminal_id}: {message[2]}: {message[3]}", terminal_id=self.terminal_id
                    )
                )
        elif kind == "ready":
            if not self._ready.done():
                self._ready.set_result(message[1])
        elif kind == "init_failed":
            if not self._ready.done():
                self._ready.set_exception(WorkerStartError(message[1]))
        else:
            self._on_event(message)

    async def request(self, message: tuple[Any, ...], deadline: float, what: str) -> tuple[Any, Any]:
        """Send ``(kind, *rest)`` as ``(kind, id, *rest)``; returns ``(value, last_error)``.

        ``deadline`` bounds the answer from the moment the request is sent; a call waiting for a
        turn (``MAX_IN_FLIGHT`` already sent) waits at most ``deadline`` for it too.
        """
        if self._turns.locked():
            try:
                await asyncio.wait_for(self._turns.acquire(), deadline)
            except TimeoutError:
                raise TerminalTimeout(
                    f"terminal {self.terminal_id}: {what} waited {deadline:g} s for a turn: "
                    f"{MAX_IN_FLIGHT} calls ahead of it",
                    terminal_id=self.terminal_id,
                    retry_after=1,
                ) from None
        else:
            await self._turns.acquire()
        try:
            return await self._exchange(message, deadline, what)
        finally:
            self._turns.release()

    async def _exchange(self, message: tuple[Any, ...], deadline: float, what: str) -> tuple[Any, Any]:
        if self.closed or self._conn is None:
            raise TerminalUnavailable(
                f"terminal {self.terminal_id} is restarting", terminal_id=self.terminal_id, retry_after=1
            )
        request_id = next(self._ids)
        future: asyncio.Future[tuple[Any, Any]] = self._loop.create_future()
        self._pending[request_id] = future
        try:
            self._conn.send((message[0], request_id, *message[1:]))
        except (OSError, ValueError):
            self._pending.pop(request_id, None)
            self._lose("the pipe to the worker broke")
            raise TerminalUnavailable(
                f"terminal {self.terminal_id} is unavailable: its worker is gone",
                terminal_id=self.terminal_id,
                retry_after=1,
            ) from None
        timer = self._loop.call_later(deadline, self._expire, request_id, deadline, what)
        try:
            return await future
        finally:
            timer.cancel()

    def _expire(self, request_id: int, deadline: float, what: str) -> None:
        future = self._pending.pop(request_id, None)
        if future is None or future.done():
            return
        reason = f"{what} missed its {deadline:g} s deadline"
        future.set_exception(
            TerminalTimeout(
                f"terminal {self.terminal_id}: {reason}", terminal_id=self.terminal_id, retry_after=1
            )
        )
        self._on_hung(self, reason)

    def _lose(self, reason: str) -> None:
        if self.closed:
            return
        self._close(reason)
        self._on_lost(self, reason)

    def _close(self, reason: str) -> None:
        self.closed = True
        if self._watched_fd is not None:
            self._loop.remove_reader(self._watched_fd)
            self._watched_fd = None
            self._reader = None
        if not self._ready.done():
            self._ready.set_exception(WorkerStartError(reason))
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(
                    TerminalUnavailable(
                        f"terminal {self.terminal_id} is unavailable: {reason}",
                        terminal_id=self.terminal_id,
                        retry_after=1,
                    )
                )
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def kill(self, reason: str) -> None:
        """End the process at once (SIGKILL) and fail what is in flight; no ``on_lost`` callback."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        if not self.closed:
            self._close(reason)

    async def stop(self, grace: float) -> None:
        """Ask the worker to shut its backend down and exit; kill it after ``grace`` seconds."""
        if self._conn is not None and not self.closed:
            with contextlib.suppress(OSError, ValueError):
                self._conn.send(("stop",))
        if self._process is not None:
            await asyncio.to_thread(self._process.join, grace)
        self.kill("stopped")
        await self.reap()

    async def reap(self) -> None:
        """Wait (off the loop) for the killed or exited process to be collected."""
        if self._process is not None:
            await asyncio.to_thread(self._process.join, 5.0)

    @property
    def exitcode(self) -> int | None:
        """The process's exit status once it has ended."""
        return None if self._process is None else self._process.exitcode
