"""The composition root: the one place that builds every service of a gateway from its config, the
one lifespan that starts them in order and stops them in reverse, and the FastAPI app over them.

``build_gateway(config)`` makes the services (nothing opened or started): the pool, the market
service with its cache and render workers, the technical-analysis service over it, keys, tiers,
rate limits and metrics, the recorded data and the recorder, the bridge (account views, trading and
its journal, the WebSocket hub and its feeds), the feed of the ``ta:`` and ``patterns:`` channels,
the backtest jobs and, with a ``[sync]`` table, the account mirror's worker. ``run_gateway`` starts
them in that
order and stops them in reverse. ``create_app(config)`` does both for an app; routers read the
services through the typed dependencies of ``deps``. Packages below ``api/`` never import this
module or wrap the app themselves.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from mt5gateway import __version__
from mt5gateway.accounts.bridge import Bridge
from mt5gateway.market.cache import IndicatorCache
from mt5gateway.market.render import Renderer
from mt5gateway.market.service import MarketService
from mt5gateway.pool import TerminalPool
from mt5gateway.recorder.running import RecordedData
from mt5gateway.research.service import BacktestService
from mt5gateway.sync import Clock, build_worker, mirror_probe, stored_lookup, system_clock
from mt5gateway.ta.feed import AnalysisFeed
from mt5gateway.ta.service import TechnicalAnalysis

from .deps import Gateway
from .errors import install_error_handlers
from .fastpath import INDICATOR_PREFIX, CachedIndicatorFastPath
from .guards import RequestGuard
from .keys import KeyStore
from .metrics import Metrics, MetricsMiddleware
from .openapi import document_api
from .ratelimit import RateLimiter
from .responses import OrjsonResponse
from .routers import accounts, admin, backtests, data, health, market, s4, sync, ta, trading, ws
from .settings import GatewayConfig
from .wsdirect import CaptureWebSocketSend

__all__ = ["build_gateway", "create_app", "run_gateway"]


def build_gateway(config: GatewayConfig, *, clock: Clock = system_clock) -> Gateway:
    """Every service of a gateway over ``config``, built and wired, none started.

    ``clock`` is the account mirror's (tests pass a manual one).
    """
    settings = config.api
    pool = TerminalPool(config.pool)
    tiers = settings.tier_policy()
    cache = IndicatorCache(
        capacity=settings.indicator_cache_size, max_age=settings.indicator_cache_max_age_seconds
    )
    bridge = Bridge.build(
        pool,
        journal_path=settings.journal_path,
        hub_limits=settings.websocket.hub_limits(),
        account_poll_s=settings.account_poll_seconds,
    )
    sync_worker = None
    if config.sync is not None:
        sync_worker = build_worker(config.sync, clock=clock, local_bridge=bridge)
        bridge.accounts.stored_lookup = stored_lookup(sync_worker)
        bridge.accounts.store_probe = mirror_probe(sync_worker)
    market_service = MarketService(
        pool=pool, tiers=tiers, cache=cache, renderer=Renderer(settings.indicator_render_workers)
    )
    return Gateway(
        settings=settings,
        pool=pool,
        keys=KeyStore(settings.keys, settings.admin_key_hash),
        limiter=RateLimiter(per_minute=settings.rate_limit.per_minute, burst=settings.rate_limit.burst),
        tiers=tiers,
        market=market_service,
        ta=TechnicalAnalysis(market=market_service),
        ta_feed=AnalysisFeed(bridge.hub, market_service, pool.bus),
        metrics=Metrics(pool.statuses),
        data=RecordedData(
            settings.store_url,
            pool,
            record=settings.recorder.enabled,
            symbols=settings.recorder.symbols,
        ),
        bridge=bridge,
        sync=sync_worker,
        research=BacktestService(settings.research, settings.store_url),
    )


@asynccontextmanager
async def run_gateway(gateway: Gateway) -> AsyncIterator[Gateway]:
    """Start ``gateway``'s services in order; on exit (or a failed start) stop those started, in reverse.

    The pool first (every other service calls its terminals), then the market service, the recorded
    data (interrupted gap-fill jobs resume, the recorder starts when enabled), the bridge (the
    journal's unanswered rows are settled in the background, the hub and its feeds start), the
    ``ta:`` and ``patterns:`` channels' feed (on the hub), the backtest jobs (those a stopped
    gateway left are settled) and the mirror's schedule.
    """
    async with AsyncExitStack() as stack:
        # Before the workers start: the collection it runs holds the loop, and no call may be waiting.
        _freeze_startup_objects()
        stack.callback(gc.unfreeze)  # a process that builds another app (the tests) collects this one
        await _started(stack, gateway.pool.start, gateway.pool.stop)
        await _started(stack, gateway.market.start, gateway.market.stop)
        await _started(stack, gateway.data.start, gateway.data.stop)
        await _started(stack, gateway.bridge.start, gateway.bridge.stop)
        await _started(stack, gateway.ta_feed.start, gateway.ta_feed.stop)
        await _started(stack, gateway.research.start, gateway.research.stop)
        if gateway.sync is not None:
            worker = gateway.sync
            stack.callback(worker.mirror.close)
            stack.push_async_callback(worker.stop)
            if worker.settings.schedule:
                worker.start()
        yield gateway


async def _started(
    stack: AsyncExitStack, start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]
) -> None:
    """Run ``start``, then have ``stack`` run ``stop`` on the way out."""
    await start()
    stack.push_async_callback(stop)


def create_app(config: GatewayConfig, *, clock: Clock = system_clock) -> FastAPI:
    """The gateway app over ``config``: its services built by ``build_gateway`` (on ``app.state.gateway``)
    and run by its lifespan."""
    gateway = build_gateway(config, clock=clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with run_gateway(gateway):
            yield

    # /docs and /redoc with Swagger UI's and ReDoc's files served by the gateway (no CDN: they
    # render offline).
    app = FastAPIOffline(
        title="mt5gateway",
        version=__version__,
        description="MetaTrader 5 terminals behind one HTTP + WebSocket API: market data, tiered indicators, accounts, trading, admin.",
        lifespan=lifespan,
        default_response_class=OrjsonResponse,
    )
    app.state.gateway = gateway
    install_error_handlers(app)
    # Trading routes are matched first: the app tries its routes in order and each failed match
    # costs (a fifth of an order's CPU with them last); the rest pay a handful of failed matches.
    for module in (trading, health, market, ta, admin, data, sync, accounts, backtests, s4, ws):
        app.include_router(module.router)
    indicator_route = next(
        route
        for route in market.router.routes
        if isinstance(route, APIRoute) and route.path.startswith(INDICATOR_PREFIX)
    )
    # The last middleware added is the outermost: metrics see the fast path's answers and the
    # guard's refusals too; the guard gives every request its id and checks the key before a body.
    app.add_middleware(CachedIndicatorFastPath, gateway=gateway, route=indicator_route)
    app.add_middleware(RequestGuard, gateway=gateway, max_bytes=gateway.settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=gateway.metrics)
    # Outermost, so that it sees the server's own WebSocket send (see wsdirect).
    app.add_middleware(CaptureWebSocketSend)
    document_api(app)
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
