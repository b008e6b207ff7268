"""The recorded data inside a gateway: the store, the gap-fill jobs the gateway runs, and the recorder
when the gateway records (``[api.recorder]``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mt5gateway.pool import ConfigError, TerminalPool
from mt5gateway.store import Store, normalize_url

from .fill import resume_fill_jobs, run_fill_job
from .recorder import Recorder

__all__ = ["RecordedData"]

log = logging.getLogger("mt5gateway.recorder")


def _may_hold_data(url: str | None) -> bool:
    """Whether the database at ``url`` may already hold jobs: anything but a SQLite file not made yet."""
    parsed = sa.make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite":
        return True
    database = parsed.database
    return database is not None and database not in ("", ":memory:") and Path(database).exists()


class RecordedData:
    """The recorded-data store, the gap-fill jobs this process runs, and the recorder when enabled.

    ``url`` is the store (None: the default file in the data folder); ``record`` runs the recorder
    over ``symbols`` (default: every symbol the pool routes). The store is opened (and migrated) on
    first use, not with the app, so a gateway that never serves recorded data creates no database.
    ``start`` (after the pool started) opens it when it may hold jobs a restart cut off, resumes
    them, and starts the recorder when ``record`` is set;
    ``stop`` (before the pool stops) cancels them (jobs resume at the next start; the recorder writes
    what is pending) and closes the store.
    """

    def __init__(
        self,
        url: str | None,
        pool: TerminalPool,
        *,
        record: bool = False,
        symbols: tuple[str, ...] | None = None,
    ) -> None:
        self.url = url
        self.pool = pool
        routed = [symbol for terminal in pool.config.terminals for symbol in terminal.symbols]
        unknown = sorted(set(symbols or ()) - set(routed))
        if record and unknown:
            raise ConfigError(f"[api.recorder] symbols not routed by the pool: {', '.join(unknown)}")
        self.recorder_symbols: tuple[str, ...] = (symbols or tuple(routed)) if record else ()
        self.recorder: Recorder | None = None
        self._store: Store | None = None
        self._opening = threading.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._recorder_task: asyncio.Task[None] | None = None

    def store(self) -> Store:
        """The store, opened and migrated on the first call (blocking: call it from a thread)."""
        with self._opening:
            if self._store is None:
                self._store = Store.open(self.url)
            return self._store

    async def open_store(self) -> Store:
        """The store, opened off the event loop when it is not open yet."""
        return self._store if self._store is not None else await asyncio.to_thread(self.store)

    def start_fill(self, job_id: str) -> None:
        """Run gap-fill job ``job_id`` in the background (the store must be open)."""
        assert self._store is not None, "open_store() first"
        self._spawn(run_fill_job(self._store, self.pool, job_id), f"gap-fill {job_id}")

    async def start(self) -> None:
        """Resume interrupted gap-fill jobs and start the recorder when enabled."""
        if not (self.recorder_symbols or _may_hold_data(self.url)):
            return
        store = await self.open_store()
        self._spawn(resume_fill_jobs(store, self.pool), "resumed gap-fill jobs")
        if self.recorder_symbols:
            self.recorder = Recorder(store=store, pool=self.pool, symbols=self.recorder_symbols)
            self._recorder_task = asyncio.create_task(self.recorder.run(), name="recorder")

    async def stop(self) -> None:
        """Stop the recorder (it writes what is pending) and the jobs, then close the store."""
        running = [*self._tasks, *([self._recorder_task] if self._recorder_task else [])]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._recorder_task = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def _spawn(self, work: Coroutine[Any, Any, Any], what: str) -> None:
        task = asyncio.create_task(work, name=what)
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(done, what))

    def _finished(self, task: asyncio.Task[Any], what: str) -> None:
        self._tasks.discard(task)
        # A job's own failures (terminal errors) are recorded on the job; anything else only here.
        with contextlib.suppress(asyncio.CancelledError):
            error = task.exception()
            if error is not None:
                log.error("%s stopped: %r", what, error, exc_info=error)
