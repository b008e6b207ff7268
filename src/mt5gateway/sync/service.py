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
from .local import LocalSource
from .mirror import Mirror
from .settings import SyncSettings
from .source import GatewaySource
from .worker import AccountSource, SyncWorker

__all__ = ["build_worker", "install", "stored_lookup"]


def build_worker(
    settings: SyncSettings, *, clock: Clock = system_clock, app: FastAPI | None = None
) -> SyncWorker:
    """A worker over the mirror at ``settings.database_url`` and the configured sources.

    With ``settings.local_pool`` the accounts of ``app``'s own pool are a source too (``app`` is
    the gateway app whose bridge is on ``app.state.bridge`` once its lifespan has started).
    """
    sources: list[AccountSource] = [
        GatewaySource.from_settings(config, settings) for config in settings.sources
    ]
    if settings.local_pool:
        if app is None:
            raise ValueError("local_pool needs the gateway app the worker runs in (mt5gateway serve)")
        sources.append(LocalSource(lambda: app.state.bridge))
    return SyncWorker(settings, Mirror.open(settings.database_url), sources=sources, clock=clock)


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
