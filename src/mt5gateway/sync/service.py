"""The sync worker inside a gateway app: ``install`` builds it, keeps it on ``app.state.sync``, and
runs its schedule in the app's lifespan (``serve`` with a ``[sync]`` table, or a back office's app).

The bridge's ``stored_data`` reads this mirror when the app's bridge is built with
``stored_lookup=stored_lookup(worker)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from mt5gateway.accounts.service import StoredLookup

from .freshness import Clock, system_clock
from .mirror import Mirror
from .settings import SyncSettings
from .worker import SyncWorker

__all__ = ["build_worker", "install", "stored_lookup"]


def build_worker(settings: SyncSettings, *, clock: Clock = system_clock) -> SyncWorker:
    """A worker over the mirror at ``settings.database_url`` and the configured sources."""
    return SyncWorker(settings, Mirror.open(settings.database_url), clock=clock)


def stored_lookup(worker: SyncWorker) -> StoredLookup:
    """The bridge's ``stored_lookup``: the mirror's copy of a login, read off the event loop."""

    async def lookup(login: int) -> dict[str, Any] | None:
        return await asyncio.to_thread(worker.stored_copy, login)

    return lookup


def install(app: FastAPI, worker: SyncWorker, *, schedule: bool = True) -> FastAPI:
    """Keep ``worker`` on ``app.state.sync`` and start (``schedule``) / stop it in the app's lifespan."""
    app.state.sync = worker
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(lifespan_app: FastAPI) -> AsyncIterator[Any]:
        async with inner(lifespan_app) as state:
            if schedule:
                worker.start()
            try:
                yield state
            finally:
                await worker.stop()
                worker.mirror.close()

    app.router.lifespan_context = lifespan
    return app
