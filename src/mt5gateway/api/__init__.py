"""The HTTP service: the FastAPI app, settings, keys and auth, tiers on requests, errors, rate limits,
metrics and the routers (health, market, admin); ``mt5gateway serve`` and ``mt5gateway keys``.
"""

from __future__ import annotations

from .app import create_app
from .settings import ApiKeyConfig, ApiSettings, load_settings

__all__ = ["ApiKeyConfig", "ApiSettings", "create_app", "load_settings"]
