"""Market data for the API: tier checks, bars, ticks and quotes from the pool, the indicator cache."""

from __future__ import annotations

from .cache import IndicatorCache
from .service import MarketService
from .tiers import DEFAULT_TIERS, Tier, TierPolicy

__all__ = ["DEFAULT_TIERS", "IndicatorCache", "MarketService", "Tier", "TierPolicy"]
