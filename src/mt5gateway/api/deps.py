"""What the routers depend on: the ``Gateway`` services object kept on ``app.state`` and its alias."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from mt5gateway.market.service import MarketService
from mt5gateway.market.tiers import TierPolicy
from mt5gateway.pool import TerminalPool

from .keys import KeyStore
from .metrics import Metrics
from .ratelimit import RateLimiter
from .settings import ApiSettings

__all__ = ["Gateway", "GatewayDep", "gateway_of", "get_gateway"]


@dataclass(frozen=True)
class Gateway:
    """The services one app instance uses, built by ``create_app``."""

    settings: ApiSettings
    pool: TerminalPool
    keys: KeyStore
    limiter: RateLimiter
    tiers: TierPolicy
    market: MarketService
    metrics: Metrics


def gateway_of(request: Request) -> Gateway:
    """The ``Gateway`` of the app serving ``request``."""
    gateway: Gateway = request.app.state.gateway
    return gateway


async def get_gateway(request: Request) -> Gateway:
    """The app's ``Gateway`` (an async dependency: a sync one would run in a thread pool)."""
    return gateway_of(request)


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
