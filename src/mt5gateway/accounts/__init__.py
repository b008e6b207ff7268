"""Account views over the pool: accounts, positions, orders, history, and the bridge shapes.

Owns ``AccountSessions`` (``sessions``: the per-terminal lock and ``login()`` switching, with its
cost measured) and ``AccountService`` (``service``: the views the accounts router serves and the
account channels of the WebSocket hub poll).
"""

from __future__ import annotations

from .service import AccountRef, AccountService, StoredLookup, history_window
from .sessions import AccountSessions, PoolCalls, Session

__all__ = [
    "AccountRef",
    "AccountService",
    "AccountSessions",
    "PoolCalls",
    "Session",
    "StoredLookup",
    "history_window",
]
