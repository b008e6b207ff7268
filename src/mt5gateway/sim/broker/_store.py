"""SQLite persistence of a simulated trade server: one file per server, write-through per request.

The broker keeps its whole state in memory and stages every change here; ``commit`` writes the
staged rows in one transaction. WAL with ``synchronous=NORMAL`` keeps a commit in the tens of
microseconds. Several processes may open the same file: ``begin`` takes the write lock and says
whether another connection committed since this one last looked (``PRAGMA data_version``), so the
broker reloads before acting on stale state.
"""

from __future__ import annotations

import sqlite3
from dataclasses import fields
from operator import attrgetter
from typing import Any, TypeVar

from ._model import Account, Deal, Order, Position

__all__ = ["BrokerStore", "StoredState"]

_Row = TypeVar("_Row", Account, Position, Order, Deal)

# Table per model class; the columns are the dataclass fields, in order.
_TABLES: dict[type, str] = {Account: "accounts", Position: "positions", Order: "orders", Deal: "deals"}
_KEYS: dict[type, str] = {Account: "login", Position: "ticket", Order: "ticket", Deal: "ticket"}
_SQL_TYPES = {"int": "INTEGER", "float": "REAL", "str": "TEXT"}


def _columns(model: type) -> list[str]:
    return [f.name for f in fields(model)]


def _create_sql(model: type) -> str:
    key = _KEYS[model]
    # Quoted names: a deal's "order" column is an SQL keyword.
    cols = ", ".join(
        f'"{f.name}" {_SQL_TYPES[str(f.type)]}' + (" PRIMARY KEY" if f.name == key else "")
        for f in fields(model)
    )
    return f"CREATE TABLE IF NOT EXISTS {_TABLES[model]} ({cols})"


_UPSERT: dict[type, str] = {
    model: f"INSERT OR REPLACE INTO {table} VALUES ({', '.join('?' * len(_columns(model)))})"
    for model, table in _TABLES.items()
}
_ROW_VALUES: dict[type, Any] = {model: attrgetter(*_columns(model)) for model in _TABLES}


class StoredState:
    """Everything a broker persisted, as loaded from the file."""

    def __init__(
        self,
        accounts: list[Account],
        positions: list[Position],
        orders: list[Order],
        deals: list[Deal],
        meta: dict[str, int],
    ) -> None:
        self.accounts = accounts
        self.positions = positions
        self.orders = orders
        self.deals = deals
        self.meta = meta


class BrokerStore:
    """The SQLite file of one simulated server (``":memory:"`` for a throwaway one)."""

    def __init__(self, db_path: str) -> None:
        self._conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        with self._conn:
            for model in _TABLES:
                self._conn.execute(_create_sql(model))
            self._conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER)")
            self._conn.execute("CREATE INDEX IF NOT EXISTS deals_login_time ON deals (login, time_msc)")
        self._staged: list[tuple[str, tuple[Any, ...]]] = []
        self._data_version = self._read_data_version()
        self._in_transaction = False

    def close(self) -> None:
        """Close the file (staged, uncommitted changes are dropped)."""
        self._conn.close()

    def _read_data_version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def changed_elsewhere(self) -> bool:
        """Whether another connection committed to the file since this one last looked."""
        version = self._read_data_version()
        changed = version != self._data_version
        self._data_version = version
        return changed

    def begin(self) -> bool:
        """Take the write lock for one request; True when another connection changed the data."""
        self._conn.execute("BEGIN IMMEDIATE")
        self._in_transaction = True
        return self.changed_elsewhere()

    def commit(self) -> None:
        """Write every staged change and end the request's transaction."""
        if not self._in_transaction:
            self._conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in self._staged:
                self._conn.execute(sql, params)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        finally:
            self._staged.clear()
            self._in_transaction = False
        # Our own commit does not change data_version for this connection; nothing to refresh.

    def rollback(self) -> None:
        """Drop the staged changes and release the write lock."""
        self._staged.clear()
        if self._in_transaction:
            self._conn.execute("ROLLBACK")
            self._in_transaction = False

    def save(self, row: Account | Position | Order | Deal) -> None:
        """Stage an insert-or-replace of one row."""
        model = type(row)
        self._staged.append((_UPSERT[model], _ROW_VALUES[model](row)))

    def delete_position(self, ticket: int) -> None:
        """Stage the removal of a closed position."""
        self._staged.append(("DELETE FROM positions WHERE ticket = ?", (ticket,)))

    def set_meta(self, key: str, value: int) -> None:
        """Stage a counter or timestamp (ticket counter, last processed time)."""
        self._staged.append(("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value)))

    def load(self) -> StoredState:
        """Read the whole persisted state."""
        return StoredState(
            accounts=self._load(Account),
            positions=self._load(Position),
            orders=self._load(Order),
            deals=self._load(Deal),
            meta={str(k): int(v) for k, v in self._conn.execute("SELECT key, value FROM meta")},
        )

    def _load(self, model: type[_Row]) -> list[_Row]:
        names = _columns(model)
        quoted = ", ".join(f'"{name}"' for name in names)
        cursor = self._conn.execute(f"SELECT {quoted} FROM {_TABLES[model]} ORDER BY {_KEYS[model]}")
        return [model(**dict(zip(names, row, strict=True))) for row in cursor]
