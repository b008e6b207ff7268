"""The mirror database: upserts of what gateways sent, failure counts, the run log, and reads.

SQLAlchemy Core over the store's engine helper (SQLite WAL by default, PostgreSQL by URL); the
mirror's tables (``tables.py``) are created at open. Every write names its columns: a snapshot
writes the figures and sync columns, a failure only the failure columns, config only the back-office
columns, so no writer can overwrite what another owns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from mt5gateway.store import create_store_engine

from .settings import AccountMeta
from .tables import BACKOFFICE_COLUMNS, FIGURE_COLUMNS, metadata, sync_accounts, sync_runs

__all__ = ["AccountFailure", "AccountSnapshot", "DataSource", "Mirror", "RunRecord"]

DataSource = Literal["LIVE", "STORED"]


@dataclass(frozen=True)
class AccountSnapshot:
    """One account's figures exactly as a gateway sent them."""

    login: int
    terminal_id: str | None
    server: str | None
    figures: Mapping[str, Any]
    updated_at: datetime | None
    source: str
    data_source: DataSource


@dataclass(frozen=True)
class AccountFailure:
    """An account the gateway listed but whose figures could not be read this cycle."""

    login: int
    terminal_id: str | None
    server: str | None
    source: str
    error: str


@dataclass(frozen=True)
class RunRecord:
    """One cycle, as the run log keeps it."""

    trigger: str
    started_at: datetime
    finished_at: datetime
    duration_seconds: float
    status: str
    accounts_total: int
    accounts_ok: int
    accounts_failed: int
    gateways_down: int
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready values."""
        return {
            "trigger": self.trigger,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "duration_seconds": self.duration_seconds,
            "status": self.status,
            "accounts_total": self.accounts_total,
            "accounts_ok": self.accounts_ok,
            "accounts_failed": self.accounts_failed,
            "gateways_down": self.gateways_down,
            "errors": list(self.errors),
        }


def _utc(value: datetime | None) -> datetime | None:
    # SQLite gives naive datetimes back; every time the mirror writes is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class Mirror:
    """The mirror's tables in one database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)
        self._insert: Any = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    @classmethod
    def open(cls, url: str) -> Mirror:
        """The mirror at ``url`` (a SQLite file's folder is created), tables created when missing."""
        return cls(create_store_engine(url))

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()

    # -- writes --

    def apply_account_meta(self, accounts: Mapping[int, AccountMeta]) -> None:
        """Write the back-office columns from config (rows are created for logins not seen yet)."""
        rows = [
            {"login": login, **meta.model_dump(include=set(BACKOFFICE_COLUMNS))}
            for login, meta in accounts.items()
        ]
        self._upsert(rows, BACKOFFICE_COLUMNS)

    def store_snapshots(self, snapshots: Sequence[AccountSnapshot], synced_at: datetime) -> None:
        """Upsert the figures of ``snapshots``; their failure counts go back to zero."""
        rows = [
            {
                "login": s.login,
                "terminal_id": s.terminal_id,
                "server": s.server,
                **{name: s.figures.get(name) for name in FIGURE_COLUMNS},
                "updated_at": s.updated_at,
                "synced_from_gateway": s.source,
                "synced_at": synced_at,
                "data_source": s.data_source,
                "consecutive_failures": 0,
                "last_error": None,
                "last_attempt_at": synced_at,
            }
            for s in snapshots
        ]
        written = ("terminal_id", "server", *FIGURE_COLUMNS, "updated_at", "synced_from_gateway", "synced_at")
        self._upsert(rows, (*written, "data_source", "consecutive_failures", "last_error", "last_attempt_at"))

    def store_failures(self, failures: Sequence[AccountFailure], at: datetime) -> dict[int, int]:
        """Count one more failure for each account (figures untouched); returns login -> failures in a row."""
        if not failures:
            return {}
        rows = [
            {
                "login": f.login,
                "terminal_id": f.terminal_id,
                "server": f.server,
                "consecutive_failures": 1,
                "last_error": f"{f.source}: {f.error}",
                "last_attempt_at": at,
            }
            for f in failures
        ]
        table = sync_accounts
        statement = self._insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.login],
            set_={
                "consecutive_failures": table.c.consecutive_failures + 1,
                "last_error": statement.excluded.last_error,
                "last_attempt_at": statement.excluded.last_attempt_at,
            },
        )
        logins = [f.login for f in failures]
        with self.engine.begin() as connection:
            connection.execute(statement, rows)
            counts = connection.execute(
                sa.select(table.c.login, table.c.consecutive_failures).where(table.c.login.in_(logins))
            )
            return {int(login): int(count) for login, count in counts}

    def record_run(self, run: RunRecord) -> None:
        """Append ``run`` to the run log."""
        values = run.as_dict()
        with self.engine.begin() as connection:
            connection.execute(
                sync_runs.insert().values(
                    **{
                        **values,
                        "started_at": run.started_at,
                        "finished_at": run.finished_at,
                    }
                )
            )

    def _upsert(self, rows: list[dict[str, Any]], columns: Iterable[str]) -> None:
        if not rows:
            return
        statement = self._insert(sync_accounts)
        statement = statement.on_conflict_do_update(
            index_elements=[sync_accounts.c.login],
            set_={name: statement.excluded[name] for name in columns},
        )
        with self.engine.begin() as connection:
            connection.execute(statement, rows)

    # -- reads --

    def accounts(self, logins: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """Mirror rows (all, or those of ``logins``), by login."""
        query = sa.select(sync_accounts).order_by(sync_accounts.c.login)
        if logins is not None:
            query = query.where(sync_accounts.c.login.in_(list(logins)))
        with self.engine.connect() as connection:
            return [self._row(row) for row in connection.execute(query).mappings()]

    def account(self, login: int) -> dict[str, Any] | None:
        """One mirror row, None when the mirror has no such login."""
        rows = self.accounts([login])
        return rows[0] if rows else None

    def failing_accounts(self, at_least: int) -> list[dict[str, Any]]:
        """Rows whose last ``at_least`` or more attempts failed."""
        query = (
            sa.select(sync_accounts)
            .where(sync_accounts.c.consecutive_failures >= at_least)
            .order_by(sync_accounts.c.login)
        )
        with self.engine.connect() as connection:
            return [self._row(row) for row in connection.execute(query).mappings()]

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest ``limit`` cycles of the run log, newest first."""
        query = sa.select(sync_runs).order_by(sync_runs.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [self._row(row) for row in connection.execute(query).mappings()]

    @staticmethod
    def _row(row: sa.RowMapping) -> dict[str, Any]:
        return {key: _utc(value) if isinstance(value, datetime) else value for key, value in row.items()}
