"""Account views: what the terminal says about an account, with where and when it was read.

Every view runs in an ``AccountSessions`` session, so a terminal hosting several accounts is
switched to the right one first (and the switch's cost is reported in ``metadata``). Records come
out as the module's fields (``record_to_dict``); times in records are epoch seconds as MT5 gives
them, ``fetched_at`` is UTC ISO-8601. The bridge views keep the account-mirror design's shapes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mt5gateway.errors import AccountNotFound
from mt5gateway.terminal import record_to_dict

from .sessions import AccountSessions, Session

__all__ = ["LIVE_FIELDS", "AccountRef", "AccountService", "StoreProbe", "StoredLookup", "history_window"]

# The mirror's copy of an account (sync package), when one is configured.
StoredLookup = Callable[[int], Awaitable[dict[str, Any] | None]]
# The state of the store behind the bridge: {kind, backend, connected, error?} (the design's "mongodb").
StoreProbe = Callable[[], Awaitable[dict[str, Any]]]

# Without from/to, history views cover the last 30 days (and a day ahead, for server clocks east of UTC).
_DEFAULT_HISTORY = timedelta(days=30)
_CLOCK_SLACK = timedelta(days=1)

LIVE_FIELDS = (
    "balance",
    "equity",
    "profit",
    "margin",
    "margin_free",
    "margin_level",
    "leverage",
    "currency",
    "trade_allowed",
)


@dataclass(frozen=True)
class AccountRef:
    """A login the pool knows, with the terminal that hosts it and its trade server."""

    login: int
    terminal_id: str
    server: str | None


def history_window(date_from: datetime | None, date_to: datetime | None) -> tuple[datetime, datetime]:
    """The (from, to) of a history view: the last 30 days unless given.

    A time without a zone is UTC, as the API's times are (the MetaTrader5 module would read a naive
    datetime in the host's local zone).
    """
    end = _utc(date_to) if date_to else datetime.now(UTC) + _CLOCK_SLACK
    start = _utc(date_from) if date_from else end - _DEFAULT_HISTORY - _CLOCK_SLACK
    return start, end


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class AccountService:
    """Account, position, order and history views over the pool."""

    def __init__(
        self,
        *,
        sessions: AccountSessions,
        configured: Callable[[], list[AccountRef]],
        store_probe: StoreProbe,
        stored_lookup: StoredLookup | None = None,
    ) -> None:
        self.sessions = sessions
        self._configured = configured
        self.store_probe = store_probe
        self.stored_lookup = stored_lookup

    async def accounts(self) -> list[AccountRef]:
        """Every login known to the pool: configured ones, and those terminals are logged into."""
        await self.sessions.discover()
        refs = {ref.login: ref for ref in self._configured()}
        for login, (terminal_id, server) in self.sessions.discovered.items():
            refs.setdefault(login, AccountRef(login=login, terminal_id=terminal_id, server=server))
        return sorted(refs.values(), key=lambda ref: ref.login)

    async def default_login(self, preferred: int | None = None) -> int:
        """``preferred`` (a key's default account), else the first account the pool knows."""
        if preferred is not None:
            return preferred
        refs = await self.accounts()
        if not refs:
            raise AccountNotFound("no account is known to the pool: configure a terminal's login")
        return refs[0].login

    async def _read(
        self, login: int, reader: Callable[[Session], Awaitable[Any]]
    ) -> tuple[Any, dict[str, Any]]:
        async with self.sessions.session(await self.sessions.route(login=login), login) as session:
            value = await reader(session)
            return value, {**session.metadata(), "fetched_at": _now_iso()}

    async def account(self, login: int) -> dict[str, Any]:
        """Every AccountInfo field, plus ``terminal_id``, ``fetched_at`` and ``metadata``."""
        info, metadata = await self._read(login, lambda s: s.call("account_info"))
        if info.login != login:
            raise AccountNotFound(
                f"account {login} is not logged in on {metadata['terminal_id']}", login=login
            )
        return {
            **record_to_dict(info),
            "terminal_id": metadata["terminal_id"],
            "fetched_at": metadata["fetched_at"],
            "metadata": metadata,
        }

    async def positions(self, login: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Open positions."""
        records, metadata = await self._read(login, lambda s: s.call("positions_get"))
        return [record_to_dict(r) for r in records], metadata

    async def orders(self, login: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Pending orders."""
        records, metadata = await self._read(login, lambda s: s.call("orders_get"))
        return [record_to_dict(r) for r in records], metadata

    async def deals(
        self, login: int, date_from: datetime | None = None, date_to: datetime | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Deals between ``date_from`` and ``date_to`` (default: the last 30 days)."""
        start, end = history_window(date_from, date_to)
        records, metadata = await self._read(login, lambda s: s.call("history_deals_get", start, end))
        return [record_to_dict(r) for r in records], {
            **metadata,
            "from": start.isoformat(),
            "to": end.isoformat(),
        }

    async def history_orders(
        self, login: int, date_from: datetime | None = None, date_to: datetime | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Orders of the history (filled, cancelled, expired, ...) between the two dates."""
        start, end = history_window(date_from, date_to)
        records, metadata = await self._read(login, lambda s: s.call("history_orders_get", start, end))
        return [record_to_dict(r) for r in records], {
            **metadata,
            "from": start.isoformat(),
            "to": end.isoformat(),
        }

    # -- the account-mirror design's bridge views --

    async def bridge_health(self, terminal_id: str) -> dict[str, Any]:
        """``{status, timestamp, mt5: {available, terminal_info: {...}}, store, mongodb}`` for one
        terminal; ``store`` is the store behind the bridge, ``mongodb`` the design's name for it."""
        async with self.sessions.session(terminal_id) as session:
            info = await session.call_raw("terminal_info")
        store = await self.store_probe()
        available = info is not None and bool(info.connected)
        return {
            "status": "healthy" if available and store["connected"] else "unhealthy",
            "timestamp": _now_iso(),
            "mt5": {
                "available": available,
                "terminal_id": terminal_id,
                "terminal_info": None
                if info is None
                else {
                    "connected": info.connected,
                    "trade_allowed": info.trade_allowed,
                    "name": info.name,
                    "company": info.company,
                    "build": info.build,
                },
            },
            "store": store,
            "mongodb": {"connected": store["connected"], "alias_of": "store"},
        }

    async def live_data(self, login: int) -> dict[str, Any]:
        """The account's live figures (the bridge's ``live_data``), with where and when they were read."""
        info, metadata = await self._read(login, lambda s: s.call("account_info"))
        return {
            "login": info.login,
            "name": info.name,
            "server": info.server,
            "company": info.company,
            **{name: getattr(info, name) for name in LIVE_FIELDS},
            "terminal_id": metadata["terminal_id"],
            "fetched_at": metadata["fetched_at"],
        }

    async def stored_data(self, login: int) -> dict[str, Any]:
        """The mirror's copy of the account; without one, its fields empty and a ``reason``."""
        if self.stored_lookup is None:
            return _no_stored_copy("no account mirror is configured on this gateway")
        copy = await self.stored_lookup(login)
        return (
            copy
            if copy is not None
            else _no_stored_copy("the account mirror holds no copy of this account yet")
        )


def _no_stored_copy(reason: str) -> dict[str, Any]:
    """``stored_data`` when there is no copy: still an object, as the design's clients read it."""
    return {**dict.fromkeys(LIVE_FIELDS), "reason": reason}
