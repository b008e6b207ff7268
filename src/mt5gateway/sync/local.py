"""The local pool as a source: the sync worker inside ``serve`` copies the accounts of its own pool.

Same contract as ``GatewaySource`` (``worker.AccountSource``), read through the bridge's account
views in-process instead of over HTTP: health is the pool's summary, the list is the bridge's
account list, the figures are its ``live_data`` (always ``LIVE``: a terminal that does not answer
is a failed account, never a copy of the mirror itself).
"""

from __future__ import annotations

import time
from datetime import datetime

from mt5gateway.accounts.bridge import Bridge
from mt5gateway.accounts.service import LIVE_FIELDS
from mt5gateway.errors import GatewayError

from .mirror import AccountSnapshot
from .source import AccountFetchError, GatewayHealth, GatewayUnreachable, ListedAccount

__all__ = ["LOCAL_SOURCE_NAME", "LocalSource"]

LOCAL_SOURCE_NAME = "local"


class LocalSource:
    """The accounts of the pool the worker runs next to, read through that gateway's bridge."""

    def __init__(self, bridge: Bridge, *, name: str = LOCAL_SOURCE_NAME) -> None:
        self._bridge = bridge
        self.name = name
        self.url = "local pool"

    async def health(self) -> GatewayHealth:
        """The pool's summary status (``ok``, ``degraded``, ``error``); the pool is always reachable."""
        started = time.perf_counter()
        summary = self._bridge.pool.health()
        return GatewayHealth(
            reachable=True,
            status=str(summary["status"]),
            response_time=time.perf_counter() - started,
            attempts=1,
        )

    async def list_accounts(self) -> list[ListedAccount]:
        """The logins the pool knows."""
        try:
            refs = await self._bridge.accounts.accounts()
        except GatewayError as exc:
            raise GatewayUnreachable(f"{self.name}: account list: {exc.message}") from exc
        return [ListedAccount(login=r.login, terminal_id=r.terminal_id, server=r.server) for r in refs]

    async def fetch(self, account: ListedAccount) -> AccountSnapshot:
        """The account's live figures as the terminal gave them."""
        try:
            live = await self._bridge.accounts.live_data(account.login)
        except GatewayError as exc:
            raise AccountFetchError(f"{exc.code}: {exc.message}") from exc
        return AccountSnapshot(
            login=account.login,
            terminal_id=live["terminal_id"],
            server=account.server,
            figures={name: live[name] for name in LIVE_FIELDS},
            updated_at=datetime.fromisoformat(live["fetched_at"]),
            source=self.name,
            data_source="LIVE",
        )

    async def aclose(self) -> None:
        """Nothing to close: the pool belongs to the app."""
