"""The cached indicator response served before FastAPI's routing: the hot path of the service.

``GET /api/indicators/{symbol}/{timeframe}`` with at most ``bars`` in the query is what the front end
polls; when the cache holds a current body for it, this ASGI middleware checks the key, tier and
rate limit with the same functions the route uses and sends the ready bytes, skipping route matching
and dependency solving (most of a cached request's cost). Everything else, including every refusal
and every cache miss, goes on to the FastAPI route, which produces the same body or the error.
"""

from __future__ import annotations

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from mt5gateway.errors import GatewayError
from mt5gateway.indicators import OverlayParams
from mt5gateway.market.cache import PreparedBody
from mt5gateway.market.service import DEFAULT_INDICATOR_BARS, MAX_BARS, MIN_INDICATOR_BARS

from .auth import identify, take_rate_token
from .deps import Gateway
from .encoding import accepts_gzip

__all__ = ["INDICATOR_PREFIX", "CachedIndicatorFastPath"]

INDICATOR_PREFIX = "/api/indicators/"
_DEFAULT_PARAMS = OverlayParams()
_NEEDED_HEADERS = frozenset({b"x-api-key", b"authorization", b"x-user-tier", b"accept-encoding"})
_MAX_BARS_DIGITS = len(str(MAX_BARS))


class CachedIndicatorFastPath:
    """Answers current cached indicator requests itself; passes every other request on."""

    def __init__(self, app: ASGIApp, *, gateway: Gateway, route: BaseRoute) -> None:
        self.app = app
        self.gateway = gateway
        # Set as the scope's route so metrics label these requests like the route's own.
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"].startswith(INDICATOR_PREFIX)
        ):
            answer = self._cached(scope)
            if answer is not None:
                body, gzipped = answer
                content = body.gzip() if gzipped else body.json
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(content)).encode()),
                    (b"vary", b"Accept-Encoding"),
                ]
                if gzipped:
                    headers.append((b"content-encoding", b"gzip"))
                scope["route"] = self.route
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": content})
                return
        await self.app(scope, receive, send)

    def _cached(self, scope: Scope) -> tuple[PreparedBody, bool] | None:
        parts = scope["path"][len(INDICATOR_PREFIX) :].split("/")
        bars = _bars(scope["query_string"])
        if len(parts) != 2 or bars is None:
            return None
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _NEEDED_HEADERS
        }
        try:
            key, caller = identify(self.gateway, headers, "market")
            body = self.gateway.market.cached_indicators(
                tier=caller.tier, symbol=parts[0], timeframe=parts[1], bars=bars, params=_DEFAULT_PARAMS
            )
            if body is None:
                return None
            take_rate_token(self.gateway, key)
        except GatewayError:
            return None  # the route reports it
        return body, accepts_gzip(headers.get("accept-encoding", ""))


def _bars(query: bytes) -> int | None:
    """``bars`` of a query holding nothing else, when valid; ``None`` sends the request to the route
    (which checks the key before any parameter)."""
    if not query:
        return DEFAULT_INDICATOR_BARS
    name, _, value = query.partition(b"=")
    # The length first: int() of thousands of digits raises (and costs) before any range check.
    if name != b"bars" or not value.isdigit() or len(value) > _MAX_BARS_DIGITS:
        return None
    bars = int(value)
    return bars if MIN_INDICATOR_BARS <= bars <= MAX_BARS else None
