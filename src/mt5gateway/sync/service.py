"""The sync worker inside a gateway (``serve`` with a ``[sync]`` table, or a back office's gateway):
``build_worker`` makes it from the settings, ``stored_lookup`` lets the bridge's ``stored_data``
read its mirror, and ``mirror_probe`` reports the mirror as the store behind the bridge. The gateway's
composition root starts and stops it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from mt5gateway.accounts.bridge import Bridge
from mt5gateway.accounts.service import StoredLookup, StoreProbe

from .freshness import Clock, system_clock
from .local import LocalSource
from .mirror import Mirror
from .settings import SyncSettings
from .source import GatewaySource
from .worker import AccountSource, SyncWorker

__all__ = ["build_worker", "mirror_probe", "stored_lookup"]


def build_worker(
    settings: SyncSettings, *, clock: Clock = system_clock, local_bridge: Bridge | None = None
) -> SyncWorker:
    """A worker over the mirror at ``settings.database_url`` and the configured sources.

    With ``settings.local_pool`` the accounts of the gateway's own pool are a source too, read
    through ``local_bridge`` (the bridge of the gateway the worker runs in).
    """
    sources: list[AccountSource] = [
        GatewaySource.from_settings(config, settings) for config in settings.sources
    ]
    if settings.local_pool:
        if local_bridge is None:
            raise ValueError("local_pool needs the gateway the worker runs in (mt5gateway serve)")
        sources.append(LocalSource(local_bridge))
    return SyncWorker(settings, Mirror.open(settings.database_url), sources=sources, clock=clock)


def stored_lookup(worker: SyncWorker) -> StoredLookup:
    """The bridge's ``stored_lookup``: the mirror's copy of a login, read off the event loop."""

    async def lookup(login: int) -> dict[str, Any] | None:
        return await asyncio.to_thread(worker.stored_copy, login)

    return lookup


def mirror_probe(worker: SyncWorker) -> StoreProbe:
    """The bridge health's ``store``: the mirror's database answers a query, or why not."""
    engine = worker.mirror.engine

    def ping() -> None:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    async def probe() -> dict[str, Any]:
        state: dict[str, Any] = {"kind": "account_mirror", "backend": engine.dialect.name}
        try:
            await asyncio.to_thread(ping)
        except sa.exc.SQLAlchemyError as exc:
            return state | {"connected": False, "error": str(exc).splitlines()[0]}
        return state | {"connected": True}

    return probe
