"""The HTTP service and the composition root: the one place that builds and runs every service
(``app``), settings, keys and auth, tiers on requests, errors, rate limits, metrics and the routers;
``mt5gateway serve`` and ``mt5gateway keys``.
"""

from __future__ import annotations

from .app import build_gateway, create_app, run_gateway
from .settings import ApiKeyConfig, ApiSettings, GatewayConfig, load_gateway_config, load_settings

__all__ = [
    "ApiKeyConfig",
    "ApiSettings",
    "GatewayConfig",
    "build_gateway",
    "create_app",
    "load_gateway_config",
    "load_settings",
    "run_gateway",
]
