"""The FastAPI application: routers, the error handler, metrics, and a lifespan that runs the pool."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from mt5gateway import __version__
from mt5gateway.accounts import bridge
from mt5gateway.market.cache import IndicatorCache
from mt5gateway.market.render import Renderer
from mt5gateway.market.service import MarketService
from mt5gateway.pool import TerminalPool

from .auth import CLIENT_KEY_SCHEME
from .deps import Gateway
from .errors import install_error_handlers
from .fastpath import INDICATOR_PREFIX, CachedIndicatorFastPath
from .keys import KeyStore
from .metrics import Metrics, MetricsMiddleware
from .ratelimit import RateLimiter
from .responses import OrjsonResponse
from .routers import admin, data, health, market, sync
from .settings import ApiSettings
from .wsdirect import CaptureWebSocketSend

__all__ = ["create_app"]


def create_app(settings: ApiSettings, pool: TerminalPool) -> FastAPI:
    """An app serving ``pool`` (started and stopped by the app's lifespan) with ``settings``."""
    tiers = settings.tier_policy()
    cache = IndicatorCache(
        capacity=settings.indicator_cache_size, max_age=settings.indicator_cache_max_age_seconds
    )
    gateway = Gateway(
        settings=settings,
        pool=pool,
        keys=KeyStore(settings.keys, settings.admin_key_hash),
        limiter=RateLimiter(per_minute=settings.rate_limit.per_minute, burst=settings.rate_limit.burst),
        tiers=tiers,
        market=MarketService(
            pool=pool, tiers=tiers, cache=cache, renderer=Renderer(settings.indicator_render_workers)
        ),
        metrics=Metrics(pool.statuses),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Before the workers start: the collection it runs holds the loop, and no call may be waiting.
        _freeze_startup_objects()
        try:
            await pool.start()
            try:
                await gateway.market.start()
                try:
                    # Recorded data: interrupted gap-fill jobs resume, the recorder starts when enabled.
                    await gateway.data.start()
                    try:
                        yield
                    finally:
                        await gateway.data.stop()
                finally:
                    await gateway.market.stop()
            finally:
                await pool.stop()
        finally:
            gc.unfreeze()  # a process that builds another app (the tests) collects this one

    app = FastAPI(
        title="mt5gateway",
        version=__version__,
        description="MetaTrader 5 terminals behind one HTTP + WebSocket API: market data, tiered indicators, accounts, trading, admin.",
        lifespan=lifespan,
        default_response_class=OrjsonResponse,
    )
    app.state.gateway = gateway
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(market.router)
    app.include_router(admin.router)
    app.include_router(data.router)
    app.include_router(sync.router)  # answers 404 until serve installs a mirror ([sync] table)
    indicator_route = next(
        route
        for route in market.router.routes
        if isinstance(route, APIRoute) and route.path.startswith(INDICATOR_PREFIX)
    )
    # The last middleware added is the outermost: metrics see the fast path's answers too.
    app.add_middleware(CachedIndicatorFastPath, gateway=gateway, route=indicator_route)
    app.add_middleware(MetricsMiddleware, metrics=gateway.metrics)
    # Outermost, so that it sees the server's own WebSocket send (see wsdirect).
    app.add_middleware(CaptureWebSocketSend)
    _document_client_key(app)
    # Accounts, trading and the WebSocket hub: their routers, started after the pool, stopped before it.
    bridge.install(app)
    return app


def _freeze_startup_objects() -> None:
    """Move what start-up built (modules, the app and its routes) out of the collector's scans.

    A full collection walked every one of those objects: 70 ms with the gateway up, in the middle
    of whatever requests were waiting (REST orders at 500/s: p99 62 ms in the run it hit, against
    12 ms). They live as long as the process, so the collector gains nothing by scanning them;
    the garbage start-up left is collected first, so nothing collectable is frozen.
    """
    gc.collect()
    gc.freeze()


def _document_client_key(app: FastAPI) -> None:
    """Add the ``ClientKey`` security scheme the market routes name (their check reads the header)."""
    build_schema = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build_schema()  # FastAPI keeps it as app.openapi_schema
            schema.setdefault("components", {}).setdefault("securitySchemes", {})["ClientKey"] = (
                CLIENT_KEY_SCHEME
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
