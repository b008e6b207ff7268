"""The MT5 bridge's services in one place: account views, trading, the journal, the WebSocket hub.

``start(app_state)`` builds them over the app's pool (``app_state.gateway.pool``), keeps them on
``app_state.bridge`` for the accounts, trading and ws routers, and starts the hub and its feeds;
``stop(app_state)`` stops them and closes the journal. The app's lifespan calls ``start`` after the
pool has started and ``stop`` before the pool stops.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from mt5gateway.pool import TerminalPool
from mt5gateway.streams.feeds import Feeds
from mt5gateway.streams.hub import Hub, HubLimits
from mt5gateway.trading.journal import Journal
from mt5gateway.trading.service import TradingService

from .service import AccountRef, AccountService, StoredLookup
from .sessions import AccountSessions

__all__ = ["JOURNAL_RETENTION_S", "Bridge", "default_journal_path", "install", "start", "stop"]

# How long an answered Idempotency-Key is remembered (a week: far longer than any client retries).
JOURNAL_RETENTION_S = 7 * 86_400.0


def default_journal_path() -> Path:
    """``$MT5GW_JOURNAL_PATH``, else ``$MT5GW_DATA_DIR/trading/journal.sqlite`` (``./data`` by default)."""
    explicit = os.environ.get("MT5GW_JOURNAL_PATH")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("MT5GW_DATA_DIR") or "data") / "trading" / "journal.sqlite"


def configured_accounts(pool: TerminalPool) -> list[AccountRef]:
    """The logins the pool's config routes, with their terminal and trade server."""
    refs: list[AccountRef] = []
    for terminal in pool.config.terminals:
        server = terminal.server or (pool.config.sim.server if terminal.backend == "sim" else None)
        refs.extend(
            AccountRef(login=login, terminal_id=terminal.id, server=server) for login in terminal.routes_login
        )
    return refs


@dataclass(frozen=True)
class Bridge:
    """The services behind the accounts, trading and ws routers."""

    pool: TerminalPool
    sessions: AccountSessions
    accounts: AccountService
    journal: Journal
    trading: TradingService
    hub: Hub
    feeds: Feeds

    @classmethod
    def build(
        cls,
        pool: TerminalPool,
        *,
        journal_path: str | Path | None = None,
        hub_limits: HubLimits | None = None,
        account_poll_s: float = 1.0,
        stored_lookup: StoredLookup | None = None,
    ) -> Bridge:
        """The services over ``pool`` (nothing started yet)."""
        default_logins = {t.id: t.login for t in pool.config.terminals if t.login is not None}
        sessions = AccountSessions(pool, default_logins=default_logins)
        accounts = AccountService(
            sessions=sessions, configured=lambda: configured_accounts(pool), stored_lookup=stored_lookup
        )
        journal = Journal(journal_path if journal_path is not None else default_journal_path())
        hub = Hub(hub_limits)
        return cls(
            pool=pool,
            sessions=sessions,
            accounts=accounts,
            journal=journal,
            trading=TradingService(sessions=sessions, journal=journal),
            hub=hub,
            feeds=Feeds(hub, pool.bus, accounts, account_poll_s=account_poll_s),
        )


async def start(
    app_state: Any, *, journal_retention_s: float = JOURNAL_RETENTION_S, **options: Any
) -> Bridge:
    """Build the bridge over ``app_state.gateway.pool``, keep it on ``app_state.bridge``, start it.

    Answered journal entries older than ``journal_retention_s`` are dropped first (a key repeated
    after that is a new request); the unanswered ones are settled in the background
    (``TradingService.start``). ``options`` go to ``Bridge.build`` (``journal_path``,
    ``hub_limits``, ``account_poll_s``, ``stored_lookup``).
    """
    bridge = Bridge.build(app_state.gateway.pool, **options)
    bridge.journal.prune(journal_retention_s)
    app_state.bridge = bridge
    # Before the first request: what the journal holds unanswered now is what a crash left.
    bridge.trading.start()
    await bridge.hub.start()
    await bridge.feeds.start()
    return bridge


async def stop(app_state: Any) -> None:
    """Stop settling the journal, the feeds and the hub (closing every WebSocket client), then
    close the journal."""
    bridge: Bridge | None = getattr(app_state, "bridge", None)
    if bridge is None:
        return
    await bridge.trading.stop()
    await bridge.feeds.stop()
    await bridge.hub.stop()
    bridge.journal.close()


def install(app: FastAPI, **options: Any) -> FastAPI:
    """Mount the accounts, trading and ws routers on ``app`` and run ``start``/``stop`` in its lifespan.

    For an app made by ``mt5gateway.api.create_app`` (its lifespan starts the pool first); ``options``
    go to ``start``. Installing again only updates the options (so a test can install with its own
    journal and limits into an app that ``create_app`` already installed the bridge into). Returns
    ``app``.
    """
    installed: dict[str, Any] | None = getattr(app.state, "bridge_options", None)
    if installed is not None:
        installed.update(options)
        return app
    app.state.bridge_options = dict(options)
    # The routers import this module for ``Bridge``: imported here to keep that one-way at import time.
    from mt5gateway.api.routers import accounts, trading, ws  # noqa: PLC0415

    for module in (accounts, ws):
        app.include_router(module.router)
    app.include_router(trading.router)
    # Trading routes are matched first: the app tries its routes in order and each failed match
    # costs (a fifth of an order's CPU with them last); the rest pay a handful of failed matches.
    app.router.routes.insert(0, app.router.routes.pop())
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(lifespan_app: FastAPI) -> AsyncIterator[Any]:
        async with inner(lifespan_app) as state:
            await start(lifespan_app.state, **lifespan_app.state.bridge_options)
            try:
                yield state
            finally:
                await stop(lifespan_app.state)

    app.router.lifespan_context = lifespan
    return app
