"""Fixtures shared by every test package: an isolated data folder, the local PostgreSQL and Redis.

A test that needs one skips with a clear reason only when the server is truly absent (a laptop);
on CI (``MT5GW_REQUIRE_SERVICES=1``, set by ``.ci/run``) an absent server fails the test instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator

import pytest

# Everything the code under test keeps by default (the simulated broker's database, the trading
# journal, the recorded-data store) goes to a folder of this test session, never to ./data of the
# checkout. Set at import, before any gateway or worker starts: spawned workers inherit it.
_SESSION_DATA_DIR = tempfile.mkdtemp(prefix="mt5gw-tests-")
os.environ["MT5GW_DATA_DIR"] = _SESSION_DATA_DIR

POSTGRES_URL = os.environ.get("MT5GW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("MT5GW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _require(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{name} is not running on {host}:{port}"
    if os.environ.get("MT5GW_REQUIRE_SERVICES"):
        pytest.fail(message + " (required on CI)")
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema on the local server, dropped afterwards."""
    _require("PostgreSQL", "127.0.0.1", 5432)
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def redis_url() -> str:
    """The local Redis server's URL."""
    _require("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture(scope="session", autouse=True)
def _session_data_dir() -> Iterator[str]:
    """The session's data folder, removed when the session ends."""
    yield _SESSION_DATA_DIR
    shutil.rmtree(_SESSION_DATA_DIR, ignore_errors=True)
