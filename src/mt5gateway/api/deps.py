"""What the routers depend on: the ``Gateway`` (every service of one app, built by the composition
root in ``app.py`` and kept on ``app.state``) and typed dependencies that hand its services to routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from mt5gateway.accounts.bridge import Bridge
from mt5gateway.errors import NotFound
from mt5gateway.market.service import MarketService
from mt5gateway.market.tiers import TierPolicy
from mt5gateway.pool import TerminalPool
from mt5gateway.recorder.running import RecordedData
from mt5gateway.research.service import BacktestService
from mt5gateway.sync.worker import SyncWorker
from mt5gateway.ta.feed import AnalysisFeed
from mt5gateway.ta.service import TechnicalAnalysis

from .keys import KeyStore
from .metrics import Metrics
from .ratelimit import RateLimiter
from .settings import ApiSettings

__all__ = [
    "BridgeDep",
    "Gateway",
    "GatewayDep",
    "ResearchDep",
    "SyncDep",
    "TADep",
    "gateway_of",
    "get_bridge",
    "get_gateway",
    "get_research",
    "get_sync_worker",
    "get_ta",
]


@dataclass(frozen=True)
class Gateway:
    """Every service of one app, built by the composition root (``app.build_gateway``)."""

    settings: ApiSettings
    pool: TerminalPool
    keys: KeyStore
    limiter: RateLimiter
    tiers: TierPolicy
    market: MarketService
    ta: TechnicalAnalysis
    ta_feed: AnalysisFeed  # the ta: and patterns: channels
    metrics: Metrics
    data: RecordedData
    bridge: Bridge
    sync: SyncWorker | None  # the account mirror, when configured ([sync])
    research: BacktestService  # backtest jobs in worker processes


def gateway_of(request: Request) -> Gateway:
    """The ``Gateway`` of the app serving ``request``."""
    gateway: Gateway = request.app.state.gateway
    return gateway


async def get_gateway(request: Request) -> Gateway:
    """The app's ``Gateway`` (an async dependency: a sync one would run in a thread pool)."""
    return gateway_of(request)


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


async def get_bridge(request: Request) -> Bridge:
    """The account, trading and streaming services of the app serving ``request``."""
    return gateway_of(request).bridge


async def get_sync_worker(request: Request) -> SyncWorker:
    """The app's account-mirror worker; 404 when no mirror is configured."""
    worker = gateway_of(request).sync
    if worker is None:
        raise NotFound("no account mirror is configured on this gateway")
    return worker


async def get_ta(request: Request) -> TechnicalAnalysis:
    """The technical-analysis service of the app serving ``request``."""
    return gateway_of(request).ta


async def get_research(request: Request) -> BacktestService:
    """The app's backtest jobs."""
    return gateway_of(request).research


BridgeDep = Annotated[Bridge, Depends(get_bridge)]
ResearchDep = Annotated[BacktestService, Depends(get_research)]
SyncDep = Annotated[SyncWorker, Depends(get_sync_worker)]
TADep = Annotated[TechnicalAnalysis, Depends(get_ta)]
