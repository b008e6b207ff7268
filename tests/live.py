"""A gateway app served in this test process: uvicorn on a free loopback port, on an event loop of
its own in a background thread, with its pool's terminals up before a test talks to it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from mt5gateway.pool import TerminalPool

__all__ = ["Served", "served"]


class Served:
    """The running server: its base URL and the event loop its app (and pool) live on."""

    def __init__(self, base_url: str, loop: asyncio.AbstractEventLoop) -> None:
        self.base_url = base_url
        self.loop = loop


@contextlib.contextmanager
def served(app: FastAPI, *, start_timeout_s: float = 90.0) -> Iterator[Served]:
    """Serve ``app`` until the block ends; enter once the app started and every terminal is up."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=lambda: loop.run_until_complete(server.serve(sockets=[sock])), name="gateway", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.05)
        _every_terminal_up(app.state.gateway.pool, loop, deadline)
        yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}", loop)
    finally:
        server.should_exit = True
        thread.join(60)
        loop.close()
        sock.close()


def _every_terminal_up(pool: TerminalPool, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
    """Wait until every terminal is up; one whose start failed is restarted now, not after its
    pool's backoff. A CI machine starting two 15-worker pools at once (one per test process) can
    miss a worker's connect deadline."""
    restarted: set[str] = set()
    while not all(status.status == "up" for status in pool.statuses()):
        for status in pool.statuses():
            if status.status == "down" and status.terminal_id not in restarted:
                restarted.add(status.terminal_id)
                asyncio.run_coroutine_threadsafe(pool.restart(status.terminal_id), loop).result(60)
        if time.monotonic() > deadline:
            states = {s.terminal_id: (s.status, s.last_error) for s in pool.statuses() if s.status != "up"}
            raise RuntimeError(f"terminals not up: {states}")
        time.sleep(0.05)
