"""Where the mirror's figures come from: a gateway over HTTP (one per VPS).

``GatewaySource`` speaks the gateway's public API with a client key of the accounts scope:
``GET /api/health`` (retried with backoff while unreachable), ``GET /api/accounts`` (the account
list) and ``GET /api/mt5/account/{login}/info`` (``live_data`` and ``stored_data``). Requests for
accounts are concurrent, bounded by ``concurrency``. What comes back is handed on as sent: the
source never fills in or computes a figure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from .mirror import AccountSnapshot, DataSource
from .settings import SourceConfig, SyncSettings
from .tables import FIGURE_COLUMNS

__all__ = ["AccountFetchError", "GatewayHealth", "GatewaySource", "GatewayUnreachable", "ListedAccount"]

Sleep = Callable[[float], Awaitable[None]]


class GatewayUnreachable(Exception):
    """The gateway did not answer (connection refused, timeout, or a proxy's 5xx)."""


class AccountFetchError(Exception):
    """One account's figures could not be read (the gateway answered with an error, or nothing usable)."""


@dataclass(frozen=True)
class ListedAccount:
    """An account in the gateway's list."""

    login: int
    terminal_id: str | None
    server: str | None


@dataclass(frozen=True)
class GatewayHealth:
    """The outcome of a health check (after its retries)."""

    reachable: bool
    status: str
    response_time: float | None
    attempts: int
    error: str | None = None


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _error_of(response: httpx.Response) -> str:
    """``HTTP <status> <code>: <message>`` from the gateway's error body, or just the status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        return f"HTTP {response.status_code} {body.get('code', 'error')}: {body['error']}"
    return f"HTTP {response.status_code}"


class GatewaySource:
    """One gateway, reached over HTTP with its client key."""

    def __init__(
        self,
        config: SourceConfig,
        *,
        timeout: float = 10.0,
        concurrency: int = 8,
        retries: int = 3,
        retry_backoff: float = 1.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = config.name
        self.url = config.url.rstrip("/")
        self._retries = retries
        self._retry_backoff = retry_backoff
        self._sleep = sleep
        self._slots = asyncio.Semaphore(concurrency)
        self._client = httpx.AsyncClient(
            base_url=self.url,
            headers={"X-API-Key": config.key()},
            timeout=timeout,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )

    @classmethod
    def from_settings(
        cls, config: SourceConfig, settings: SyncSettings, *, sleep: Sleep = asyncio.sleep
    ) -> GatewaySource:
        """A source with the timeouts, concurrency and retries of ``settings``."""
        return cls(
            config,
            timeout=settings.request_timeout_seconds,
            concurrency=settings.concurrency,
            retries=settings.retries,
            retry_backoff=settings.retry_backoff_seconds,
            sleep=sleep,
        )

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.aclose()

    async def _get(self, path: str) -> httpx.Response:
        try:
            response = await self._client.get(path)
        except httpx.HTTPError as exc:
            raise GatewayUnreachable(f"{self.name}: {type(exc).__name__}: {exc}".rstrip(": ")) from exc
        # A 503 with the gateway's JSON body is the gateway itself speaking (its terminals are down);
        # other 5xx without it are a proxy in front of a dead gateway.
        if response.status_code >= 500 and "application/json" not in response.headers.get("content-type", ""):
            raise GatewayUnreachable(f"{self.name}: HTTP {response.status_code} without the gateway's body")
        return response

    async def health(self) -> GatewayHealth:
        """``GET /api/health``, retried ``retries`` times with doubling waits while unreachable."""
        error = ""
        for attempt in range(self._retries + 1):
            if attempt:
                await self._sleep(self._retry_backoff * 2 ** (attempt - 1))
            started = time.perf_counter()
            try:
                response = await self._get("/api/health")
            except GatewayUnreachable as exc:
                error = str(exc)
                continue
            elapsed = time.perf_counter() - started
            try:
                status = str(response.json().get("status", "unknown"))
            except (ValueError, AttributeError):
                status = f"HTTP {response.status_code}"
            return GatewayHealth(reachable=True, status=status, response_time=elapsed, attempts=attempt + 1)
        return GatewayHealth(
            reachable=False, status="unreachable", response_time=None, attempts=self._retries + 1, error=error
        )

    async def list_accounts(self) -> list[ListedAccount]:
        """``GET /api/accounts``: the logins the gateway serves (GatewayUnreachable when it cannot say)."""
        response = await self._get("/api/accounts")
        if response.status_code != 200:
            raise GatewayUnreachable(f"{self.name}: account list: {_error_of(response)}")
        try:
            return [
                ListedAccount(
                    login=int(item["login"]), terminal_id=item.get("terminal_id"), server=item.get("server")
                )
                for item in response.json()["accounts"]
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise GatewayUnreachable(f"{self.name}: account list: unexpected answer ({exc!r})") from exc

    async def fetch(self, account: ListedAccount) -> AccountSnapshot:
        """The account's figures: ``live_data`` when the terminal answered, else the gateway's ``stored_data``."""
        async with self._slots:
            try:
                response = await self._client.get(f"/api/mt5/account/{account.login}/info")
            except httpx.HTTPError as exc:
                raise AccountFetchError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
        if response.status_code != 200:
            raise AccountFetchError(_error_of(response))
        body = response.json()
        live, stored = body.get("live_data"), body.get("stored_data")
        data_source: DataSource
        if isinstance(live, dict):
            figures, data_source = live, "LIVE"
            updated_at = _parse_time((body.get("metadata") or {}).get("fetched_at"))
        elif isinstance(stored, dict):
            figures, data_source = stored, "STORED"
            updated_at = _parse_time(stored.get("updated_at"))
        else:
            raise AccountFetchError("the gateway sent neither live_data nor stored_data")
        return AccountSnapshot(
            login=account.login,
            terminal_id=account.terminal_id,
            server=account.server,
            figures={name: figures[name] for name in FIGURE_COLUMNS if name in figures},
            updated_at=updated_at,
            source=self.name,
            data_source=data_source,
        )
