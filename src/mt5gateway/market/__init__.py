"""Market data for the API: tier checks, bars, ticks and quotes from the pool, the indicator response
cache (``cache``) and the rendering of indicator responses in worker processes (``render``).
"""

from __future__ import annotations

from .cache import IndicatorCache, PreparedBody
from .render import Renderer, render_indicator_body
from .service import MarketService, ResolvedRequest
from .tiers import DEFAULT_TIERS, Tier, TierPolicy

__all__ = [
    "DEFAULT_TIERS",
    "IndicatorCache",
    "MarketService",
    "PreparedBody",
    "Renderer",
    "ResolvedRequest",
    "Tier",
    "TierPolicy",
    "render_indicator_body",
]
