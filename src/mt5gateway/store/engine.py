"""Engines: SQLite (WAL) in the data folder by default, PostgreSQL (psycopg 3) by URL; migrations.

``default_url()`` is ``sqlite:///<data dir>/mt5gateway.db`` with the data dir from ``$MT5GW_DATA_DIR``
(``./data`` when unset). ``migrate(url)`` brings a database to the newest schema with the Alembic
scripts shipped in this package, so every process can call it at start-up.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

__all__ = ["DATA_DIR_ENV", "create_store_engine", "data_dir", "default_url", "migrate", "normalize_url"]

DATA_DIR_ENV = "MT5GW_DATA_DIR"
_ALEMBIC_DIR = Path(__file__).with_name("alembic")


def data_dir() -> Path:
    """The data folder: ``$MT5GW_DATA_DIR`` or ``./data``."""
    return Path(os.environ.get(DATA_DIR_ENV) or "data")


def default_url() -> str:
    """The embedded database: a SQLite file in the data folder."""
    return f"sqlite:///{data_dir() / 'mt5gateway.db'}"


def normalize_url(url: str | None) -> str:
    """``None`` -> the default SQLite file; ``postgresql://`` / ``postgres://`` -> the psycopg 3 driver."""
    if not url:
        return default_url()
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _tune_sqlite(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # WAL lets readers (API, gaps CLI) run while the recorder writes; NORMAL sync is durable at
    # each checkpoint and survives a process crash, which is the failure the recorder guards against.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_store_engine(url: str | None = None) -> sa.Engine:
    """An engine for ``url`` (see ``normalize_url``); a SQLite file's folder is created when missing."""
    url = normalize_url(url)
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed)
        sa.event.listen(engine, "connect", _tune_sqlite)
        return engine
    return sa.create_engine(parsed, pool_pre_ping=True)


def migrate(url: str | sa.Engine | None = None) -> None:
    """Upgrade the database at ``url`` (or behind an engine) to the newest schema."""
    engine = url if isinstance(url, sa.Engine) else create_store_engine(url)
    config = Config()
    config.set_main_option("script_location", str(_ALEMBIC_DIR))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        if engine is not url:
            engine.dispose()
