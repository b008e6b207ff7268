"""Prometheus metrics: requests by route and status, latency histograms, terminal up and restarts.

Request metrics are recorded by a pure ASGI middleware (cheap enough for the cached indicator path);
the route label is the route's path template (``/api/bars/{symbol}/{timeframe}``), never the raw
path, so label sets stay bounded. Terminal gauges are read from the pool at scrape time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mt5gateway.pool.stats import TerminalStatus

__all__ = ["Metrics", "MetricsMiddleware"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _TerminalCollector(Collector):
    """Terminal up gauges and restart counters, read from the pool when scraped."""

    def __init__(self, statuses: Callable[[], Iterable[TerminalStatus]]) -> None:
        self._statuses = statuses

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "mt5gw_terminal_up", "1 when the terminal answers, else 0", labels=["terminal_id", "symbol"]
        )
        restarts = CounterMetricFamily(
            "mt5gw_terminal_restarts", "restarts of the terminal's worker", labels=["terminal_id"]
        )
        for status in self._statuses():
            symbol = status.symbols[0] if status.symbols else ""
            up.add_metric([status.terminal_id, symbol], 1.0 if status.status == "up" else 0.0)
            restarts.add_metric([status.terminal_id], float(status.restarts))
        yield up
        yield restarts


class Metrics:
    """One registry per app (tests start several apps in one process)."""

    def __init__(self, terminal_statuses: Callable[[], Iterable[TerminalStatus]]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mt5gw_http_requests",
            "HTTP requests by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mt5gw_http_request_duration_seconds",
            "HTTP request latency by method and route",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_TerminalCollector(terminal_statuses))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and its latency."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Times every HTTP request and records it under its route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record_status)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status, time.perf_counter() - started)
