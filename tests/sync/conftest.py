"""Fixtures of the sync tests: one real gateway process, a mirror on SQLite and PostgreSQL,
and a worker over HTTP with a manual clock and short retry waits."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from mt5gateway.sync import ManualClock, Mirror, SourceConfig, SyncSettings, SyncWorker
from tests.net import free_port

from .gateway import VIEWER_KEY, GatewayProcess, gateway_process


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """The gateway process shared by the sync tests (a test that kills it starts it again)."""
    with gateway_process(tmp_path_factory.mktemp("sync-gateway"), free_port()) as process:
        yield process


@pytest.fixture(params=["sqlite", "postgresql"])
def mirror_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mirror.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def sync_settings(url: str, gateway: GatewayProcess, **overrides: object) -> SyncSettings:
    """Settings for one source (the test gateway), retry waits short enough for a test."""
    values: dict[str, object] = {
        "database_url": url,
        "sources": [SourceConfig(name="vps-1", url=gateway.url, api_key=VIEWER_KEY)],
        "retry_backoff_seconds": 0.01,
        "request_timeout_seconds": 10.0,
        **overrides,
    }
    return SyncSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@contextlib.asynccontextmanager
async def sync_worker(settings: SyncSettings, clock: ManualClock) -> AsyncIterator[SyncWorker]:
    """A worker over a mirror opened at ``settings.database_url``; stopped and closed when done."""
    worker = SyncWorker(settings, Mirror.open(settings.database_url), clock=clock)
    try:
        yield worker
    finally:
        await worker.stop()
        worker.mirror.close()


@pytest.fixture
async def worker(mirror_url: str, gateway: GatewayProcess, clock: ManualClock) -> AsyncIterator[SyncWorker]:
    async with sync_worker(sync_settings(mirror_url, gateway), clock) as sync:
        yield sync
