"""The account mirror's settings: sources, database, schedule, retries, freshness, account metadata.

Loaded from the ``[sync]`` table of a TOML file (``mt5gateway sync --config FILE``) with environment
overrides on top: ``MT5GW_SYNC_<FIELD>``, nested fields with ``__``
(``MT5GW_SYNC_FRESHNESS__FRESH_MINUTES``), lists and tables as JSON. A source's key is read from the
environment variable it names (``api_key_env``) so that keys stay out of files; ``api_key`` is
accepted for tests and throwaway setups.

Example::

    [sync]
    database_url = "postgresql://mirror@db/backoffice"
    schedule_minute = "1/5"            # minutes 1, 6, 11, ... of every hour

    [[sync.sources]]
    name = "vps-1"
    url = "http://10.0.0.5:8000"
    api_key_env = "MT5GW_VPS1_KEY"     # a key with the accounts scope

    [sync.accounts.5000001]
    client_id = "C-001"
    fund_type = "growth"
    target_amount = 150000
    name = "Alice Growth"
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import SettingsConfigDict

from mt5gateway.settings import TableSettings

__all__ = [
    "AccountMeta",
    "FreshnessConfig",
    "SourceConfig",
    "SyncSettings",
    "default_mirror_url",
    "load_sync_settings",
]


def default_mirror_url() -> str:
    """``sqlite:///<data dir>/sync/mirror.sqlite`` with the data dir from ``$MT5GW_DATA_DIR`` (``./data``)."""
    data_dir = Path(os.environ.get("MT5GW_DATA_DIR") or "data")
    return f"sqlite:///{data_dir / 'sync' / 'mirror.sqlite'}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    """One gateway (one VPS) the mirror copies accounts from."""

    name: str = Field(min_length=1, description="the source's name in the mirror and in alerts")
    url: str = Field(min_length=1, description="the gateway's base URL, e.g. http://10.0.0.5:8000")
    api_key: str | None = Field(default=None, repr=False, description="a client key with the accounts scope")
    api_key_env: str | None = Field(default=None, description="environment variable holding that key")

    @model_validator(mode="after")
    def _has_a_key(self) -> SourceConfig:
        if self.api_key is None and self.api_key_env is None:
            raise ValueError(f"source {self.name!r}: give api_key_env (or api_key)")
        return self

    def key(self) -> str:
        """The client key: ``api_key``, else the value of ``api_key_env`` (ValueError when unset)."""
        if self.api_key is not None:
            return self.api_key
        assert self.api_key_env is not None  # the validator guarantees one of the two
        value = os.environ.get(self.api_key_env)
        if not value:
            raise ValueError(f"source {self.name!r}: environment variable {self.api_key_env} is not set")
        return value


class FreshnessConfig(_Strict):
    """Age limits (minutes) of the freshness levels: fresh < fresh_minutes <= acceptable < ... ."""

    fresh_minutes: float = Field(5.0, gt=0, description="younger than this: fresh")
    acceptable_minutes: float = Field(10.0, gt=0, description="younger than this: acceptable")
    degraded_minutes: float = Field(15.0, gt=0, description="up to this: degraded; older: critical")

    @model_validator(mode="after")
    def _increasing(self) -> FreshnessConfig:
        if not self.fresh_minutes < self.acceptable_minutes < self.degraded_minutes:
            raise ValueError("freshness limits must increase: fresh < acceptable < degraded")
        return self


class AccountMeta(_Strict):
    """What the back office knows of an account; the sync never writes these columns from a gateway."""

    client_id: str | None = Field(default=None, description="the client the account belongs to")
    fund_type: str | None = Field(default=None, description="the fund or product type")
    target_amount: float | None = Field(default=None, description="the client's target amount")
    name: str | None = Field(default=None, description="the account's display name")


class SyncSettings(TableSettings):
    """Everything the sync worker needs."""

    model_config = SettingsConfigDict(
        env_prefix="MT5GW_SYNC_", env_nested_delimiter="__", extra="forbid", frozen=True
    )
    toml_table = "sync"

    database_url: str = Field(
        default_factory=default_mirror_url,
        description="the mirror's database (SQLite file or PostgreSQL URL)",
    )
    sources: tuple[SourceConfig, ...] = Field(default=(), description="the gateways to copy from")
    local_pool: bool = Field(
        default=False, description="inside serve: also copy the accounts of the gateway's own pool"
    )
    schedule: bool = Field(
        default=True,
        description="run cycles on the schedule; false: only on demand (POST /api/admin/sync-from-vps)",
    )
    schedule_minute: str = Field(
        default="1/5", description='cron minute field of the schedule ("1/5": minutes 1, 6, 11, ...)'
    )
    concurrency: int = Field(default=8, ge=1, description="account requests in flight per gateway")
    request_timeout_seconds: float = Field(default=10.0, gt=0, description="one HTTP request's limit")
    retries: int = Field(default=3, ge=0, description="health-check retries of an unreachable gateway")
    retry_backoff_seconds: float = Field(
        default=1.0, ge=0, description="first wait between those retries; doubles after each"
    )
    freshness: FreshnessConfig = Field(default_factory=FreshnessConfig)
    gateway_down_alert_cycles: int = Field(
        default=2, ge=1, description="alert when a gateway has been down this many cycles in a row"
    )
    account_failed_alert_cycles: int = Field(
        default=3, ge=1, description="alert when an account has failed this many cycles in a row"
    )
    accounts: dict[int, AccountMeta] = Field(
        default_factory=dict, description="login -> client id, fund type, target amount, name"
    )

    def logins_of_client(self, client_id: str) -> list[int]:
        """The logins mapped to ``client_id`` in config, in login order."""
        return sorted(login for login, meta in self.accounts.items() if meta.client_id == client_id)


def load_sync_settings(path: Path | None = None, **overrides: Any) -> SyncSettings:
    """The ``[sync]`` table of the TOML file at ``path`` (none: defaults), then ``overrides``, then env."""
    return SyncSettings.load(path, **overrides)
