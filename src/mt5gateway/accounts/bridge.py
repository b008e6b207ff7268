"""The MT5 bridge's services in one place: account views, trading, the journal, the WebSocket hub.

``Bridge.build(pool, ...)`` makes them over a pool (nothing opened or started); the gateway's
composition root calls ``start`` after the pool has started and ``stop`` before the pool stops.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mt5gateway.pool import TerminalPool
from mt5gateway.streams.feeds import Feeds
from mt5gateway.streams.hub import Hub, HubLimits
from mt5gateway.trading.journal import Journal
from mt5gateway.trading.service import TradingService

from .service import AccountRef, AccountService, StoredLookup, StoreProbe
from .sessions import AccountSessions

__all__ = [
    "JOURNAL_RETENTION_S",
    "Bridge",
    "configured_accounts",
    "default_journal_path",
    "journal_probe",
    "terminal_servers",
]

# How long an answered Idempotency-Key is remembered (a week: far longer than any client retries).
JOURNAL_RETENTION_S = 7 * 86_400.0


def default_journal_path() -> Path:
    """``$MT5GW_JOURNAL_PATH``, else ``$MT5GW_DATA_DIR/trading/journal.sqlite`` (``./data`` by default)."""
    explicit = os.environ.get("MT5GW_JOURNAL_PATH")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("MT5GW_DATA_DIR") or "data") / "trading" / "journal.sqlite"


def terminal_servers(pool: TerminalPool) -> dict[str, str | None]:
    """Each terminal's trade server as configured (a simulated one's is the simulator's)."""
    sim_server = pool.config.sim.server
    return {t.id: t.server or (sim_server if t.backend == "sim" else None) for t in pool.config.terminals}


def configured_accounts(pool: TerminalPool) -> list[AccountRef]:
    """The logins the pool's config routes, with their terminal and trade server."""
    servers = terminal_servers(pool)
    return [
        AccountRef(login=login, terminal_id=terminal.id, server=servers[terminal.id])
        for terminal in pool.config.terminals
        for login in terminal.routes_login
    ]


def journal_probe(journal: Journal) -> StoreProbe:
    """The bridge's own store, the trade journal, as the bridge health's ``store`` (without a mirror)."""

    async def probe() -> dict[str, Any]:
        state: dict[str, Any] = {"kind": "trade_journal", "backend": "sqlite"}
        try:
            journal.get("", "")  # a read: the journal answers
        except Exception as exc:  # any failure means "not connected", and says why
            return state | {"connected": False, "error": f"{type(exc).__name__}: {exc}"}
        return state | {"connected": True}

    return probe


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
    journal_retention_s: float = JOURNAL_RETENTION_S

    @classmethod
    def build(
        cls,
        pool: TerminalPool,
        *,
        journal_path: str | Path | None = None,
        hub_limits: HubLimits | None = None,
        account_poll_s: float = 1.0,
        stored_lookup: StoredLookup | None = None,
        journal_retention_s: float = JOURNAL_RETENTION_S,
    ) -> Bridge:
        """The services over ``pool`` (nothing started yet)."""
        default_logins = {t.id: t.login for t in pool.config.terminals if t.login is not None}
        sessions = AccountSessions(pool, default_logins=default_logins)
        journal = Journal(journal_path if journal_path is not None else default_journal_path())
        accounts = AccountService(
            sessions=sessions,
            configured=lambda: configured_accounts(pool),
            store_probe=journal_probe(journal),
            stored_lookup=stored_lookup,
        )
        hub = Hub(hub_limits)
        return cls(
            pool=pool,
            sessions=sessions,
            accounts=accounts,
            journal=journal,
            trading=TradingService(sessions=sessions, journal=journal),
            hub=hub,
            feeds=Feeds(hub, pool.bus, accounts, account_poll_s=account_poll_s),
            journal_retention_s=journal_retention_s,
        )

    async def start(self) -> None:
        """Open the journal, settle what it holds unanswered, start the hub and its feeds.

        Answered entries older than ``journal_retention_s`` are dropped first (a key repeated after
        that is a new request); the unanswered ones are settled in the background
        (``TradingService.start``), before the first request: what the journal holds unanswered now
        is what a crash left.
        """
        self.journal.open()
        self.journal.prune(self.journal_retention_s)
        self.trading.start()
        await self.hub.start()
        await self.feeds.start()

    async def stop(self) -> None:
        """Stop settling the journal, the feeds and the hub (closing every WebSocket client), then
        close the journal."""
        await self.trading.stop()
        await self.feeds.stop()
        await self.hub.stop()
        self.journal.close()
