"""The gateway's settings: the ``[api]`` table (bind address, API keys (hashed), tiers, rate limits,
cache, the recorded-data store and the recorder, the trade journal, WebSocket limits) and
``GatewayConfig``, which bundles it with the ``[pool]`` and ``[sync]`` tables for the composition root.

Loaded from the ``[api]`` table of a TOML file (``mt5gateway serve --config FILE``) with environment
overrides on top: ``MT5GW_API_<FIELD>``, nested fields with ``__`` (``MT5GW_API_RATE_LIMIT__PER_MINUTE``),
lists and tables as JSON (``MT5GW_API_KEYS='[{"name": "web", ...}]'``). Keys are stored as hashes
made by ``mt5gateway keys new``; plaintext keys never belong in a file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import SettingsConfigDict

from mt5gateway.market.tiers import DEFAULT_TIERS, Tier, TierPolicy
from mt5gateway.pool.config import PoolConfig, default_pool_config, load_pool_config
from mt5gateway.research.settings import ResearchSettings
from mt5gateway.settings import TableSettings
from mt5gateway.streams.hub import HubLimits
from mt5gateway.sync.settings import SyncSettings, load_sync_settings

__all__ = [
    "SCOPES",
    "ApiKeyConfig",
    "ApiSettings",
    "GatewayConfig",
    "RateLimitConfig",
    "RecorderConfig",
    "TierConfig",
    "WebSocketConfig",
    "load_gateway_config",
    "load_settings",
]

Scope = Literal["market", "accounts", "trade", "data", "research"]
SCOPES: tuple[Scope, ...] = ("market", "accounts", "trade", "data")


def _checked_hash(value: str) -> str:
    algorithm, _, digest = value.lower().partition(":")
    if algorithm != "sha256" or len(digest) != 64 or any(ch not in "0123456789abcdef" for ch in digest):
        raise ValueError('a key hash looks like "sha256:<64 hex digits>" (mt5gateway keys new)')
    return f"{algorithm}:{digest}"


class ApiKeyConfig(BaseModel):
    """One client key, as ``mt5gateway keys new`` prints it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="who the key belongs to; used in logs, metrics and rate limits")
    hash: str = Field(description='"sha256:<hex>" of the key')
    tier: str = Field(default="FREE", description="the key's own tier")
    scopes: tuple[Scope, ...] = Field(default=("market",), description="what the key may do")
    trusted: bool = Field(
        default=False, description="a trusted key (a front end's backend) may pass X-User-Tier"
    )
    rate_limit_per_minute: int | None = Field(
        default=None, ge=1, description="this key's steady rate; the service default when absent"
    )
    rate_limit_burst: int | None = Field(
        default=None, ge=1, description="this key's burst; the service default when absent"
    )
    account: int | None = Field(
        default=None,
        ge=1,
        le=2**63 - 1,
        description="the key's default account (S4's GET /account, WebSocket account_info); "
        "default: the first account the pool knows",
    )

    @field_validator("hash")
    @classmethod
    def _hash_has_algorithm(cls, value: str) -> str:
        return _checked_hash(value)


class TierConfig(BaseModel):
    """What a tier grants."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbols: tuple[str, ...]
    timeframes: tuple[str, ...]


class RateLimitConfig(BaseModel):
    """Per-key token bucket: a steady rate and a burst."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_minute: int = Field(default=600, ge=1, description="steady requests per minute per key")
    burst: int = Field(default=60, ge=1, description="requests a key may make at once after a pause")


class RecorderConfig(BaseModel):
    """The recorder run inside the service (``[api.recorder]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(default=False, description="record ticks and bars while the service runs")
    symbols: tuple[str, ...] | None = Field(
        default=None, description="symbols to record (default: every symbol the pool routes)"
    )


class WebSocketConfig(BaseModel):
    """How far behind a WebSocket client may fall before it is closed, and the heartbeat
    (``[api.websocket]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_queue: int = Field(default=1_000, ge=1, description="messages waiting for one client, at most")
    max_lag_seconds: float = Field(
        default=10.0, gt=0, description="age of its oldest waiting message, at most"
    )
    heartbeat_seconds: float = Field(default=30.0, gt=0, description="a heartbeat to every client this often")
    check_seconds: float = Field(default=0.25, gt=0, description="how often those two bounds are checked")

    def hub_limits(self) -> HubLimits:
        """The hub's limits from these settings."""
        return HubLimits(
            max_queue=self.max_queue,
            max_lag_s=self.max_lag_seconds,
            heartbeat_s=self.heartbeat_seconds,
            watchdog_s=self.check_seconds,
        )


def _default_tiers() -> dict[str, TierConfig]:
    return {t.name: TierConfig(symbols=t.symbols, timeframes=t.timeframes) for t in DEFAULT_TIERS}


class ApiSettings(TableSettings):
    """Everything the HTTP service needs besides the pool (whose config has its own loader)."""

    model_config = SettingsConfigDict(
        env_prefix="MT5GW_API_", env_nested_delimiter="__", extra="forbid", frozen=True
    )
    toml_table = "api"

    host: str = Field(default="127.0.0.1", description="bind address")
    port: int = Field(default=8000, ge=0, le=65535, description="bind port (0: any free port)")
    keys: tuple[ApiKeyConfig, ...] = Field(default=(), description="client keys, hashed")
    admin_key_hash: str | None = Field(
        default=None, description='"sha256:<hex>" of the admin key; admin endpoints refuse all when unset'
    )
    tiers: dict[str, TierConfig] = Field(
        default_factory=_default_tiers, description="tiers in order, lowest first"
    )
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    metrics_public_on_loopback: bool = Field(
        default=True,
        description="serve /metrics without the admin key when the service is bound to loopback",
    )
    indicator_cache_size: int = Field(
        default=512, ge=0, description="indicator responses kept ready to send (0 disables the cache)"
    )
    indicator_cache_max_age_seconds: float = Field(
        default=60.0, gt=0, description="a cached response is recomputed after this even without a tick"
    )
    indicator_render_workers: int = Field(
        default=1,
        ge=0,
        le=32,
        description="processes that compute indicator responses (0: on the event loop)",
    )
    max_body_bytes: int = Field(
        default=65_536,
        ge=1_024,
        le=16 * 1_048_576,
        description="the largest request body (JSON) read; a longer one is refused with 413 unread",
    )
    terminal_retry_after_seconds: int = Field(
        default=5, ge=1, description="Retry-After sent with a 503 when the pool gives none"
    )
    store_url: str | None = Field(
        default=None,
        description="recorded-data database (sqlite:///file.db or postgresql://...); "
        "default: mt5gateway.db in the data folder ($MT5GW_DATA_DIR, ./data)",
    )
    recorder: RecorderConfig = Field(default_factory=RecorderConfig)
    journal_path: Path | None = Field(
        default=None,
        description="the trade journal's SQLite file; default: $MT5GW_JOURNAL_PATH, else "
        "trading/journal.sqlite in the data folder ($MT5GW_DATA_DIR, ./data)",
    )
    account_poll_seconds: float = Field(
        default=1.0, gt=0, description="how often subscribed accounts, positions and orders are polled"
    )
    websocket: WebSocketConfig = Field(default_factory=WebSocketConfig)
    research: ResearchSettings = Field(default_factory=ResearchSettings, description="backtest jobs")

    @field_validator("admin_key_hash")
    @classmethod
    def _admin_hash_has_algorithm(cls, value: str | None) -> str | None:
        return None if value is None else _checked_hash(value)

    def tier_policy(self) -> TierPolicy:
        """The configured tiers as the policy the market services check."""
        return TierPolicy(
            Tier(name.upper(), tuple(s.upper() for s in t.symbols), tuple(tf.upper() for tf in t.timeframes))
            for name, t in self.tiers.items()
        )


def load_settings(path: Path | None = None, **overrides: Any) -> ApiSettings:
    """The ``[api]`` table of the TOML file at ``path`` (none: defaults), then ``overrides``, then env."""
    return ApiSettings.load(path, **overrides)


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the composition root builds a gateway from: ``[api]``, ``[pool]`` and ``[sync]``."""

    api: ApiSettings = field(default_factory=lambda: load_settings(None))
    pool: PoolConfig = field(default_factory=default_pool_config)
    sync: SyncSettings | None = None  # None: no account mirror in this gateway


def load_gateway_config(path: Path | None, **api_overrides: Any) -> GatewayConfig:
    """The gateway's config from ``path``: a TOML file (``[api]``, ``[pool]``, ``[sync]``; the default
    15 simulated terminals without ``[pool]``, no mirror without ``[sync]``) or the original service's
    ``mt5_terminals.json`` (terminals only). ``api_overrides`` win over the ``[api]`` table; the
    environment wins over both. Raises ``ConfigError``, ``OSError`` or ``ValueError``."""
    if path is None:
        return GatewayConfig(api=load_settings(None, **api_overrides))
    if path.suffix.lower() == ".json":
        return GatewayConfig(api=load_settings(None, **api_overrides), pool=load_pool_config(path))
    with path.open("rb") as file:
        document = tomllib.load(file)
    return GatewayConfig(
        api=load_settings(path, **api_overrides),
        pool=load_pool_config(path) if "pool" in document else default_pool_config(),
        sync=load_sync_settings(path) if "sync" in document else None,
    )
