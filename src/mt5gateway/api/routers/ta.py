"""Technical-analysis endpoints: the TA-Lib catalogue, indicators, candlestick patterns and the
scanner, tier-checked like the market endpoints (docs/ta.md for the spec and condition syntax)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from mt5gateway.market.service import MAX_BARS
from mt5gateway.ta.service import DEFAULT_TA_BARS, MAX_TA_BARS

from ..auth import CLIENT_AUTH_OPENAPI, MarketCaller
from ..deps import TADep
from ..responses import JSONBytes, prepared_response
from ..schemas import (
    ErrorBody,
    PatternListResponse,
    PatternsResponse,
    ScanResponse,
    TAFunctionsResponse,
    TAResponse,
)

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "a spec, condition or parameter is invalid (the sentence names it), or too many indicators"),
        (401, "missing or unknown X-API-Key"),
        (403, "the key lacks the market scope, or the tier does not grant the symbol or timeframe"),
        (404, "unknown symbol"),
        (429, "rate limit; see Retry-After"),
        (502, "the terminal answered with an error"),
        (503, "the symbol's terminal is down; see Retry-After and terminal_id"),
    )
}

router = APIRouter(prefix="/api", tags=["technical analysis"], responses=_ERRORS)

_Route = TypeVar("_Route", bound=Callable[..., Any])


def _json_get(path: str, model: type[Any], summary: str) -> Callable[[_Route], _Route]:
    """A GET route answering ready JSON bytes documented as ``model``."""
    return router.get(
        path,
        response_class=JSONBytes,
        summary=summary,
        responses={200: {"model": model}},
        openapi_extra=CLIENT_AUTH_OPENAPI,
    )


_Specs = Annotated[
    list[str],
    Query(description="indicator specs, comma-separated or repeated: RSI(14),MACD(12,26,9),BBANDS(20,2,2)"),
]
_Patterns = Annotated[
    list[str], Query(description="all, or pattern names, comma-separated or repeated: CDLENGULFING,HAMMER")
]


@_json_get(
    "/ta/functions", TAFunctionsResponse, "Lists every TA-Lib function served, with parameters and outputs."
)
async def functions(_caller: MarketCaller, ta: TADep) -> Response:
    """Every TA-Lib function served: group, inputs, parameters (type, our default, range), outputs."""
    return JSONBytes(ta.functions())


@_json_get("/ta/{symbol}/{timeframe}", TAResponse, "Computes TA-Lib indicators over a symbol's newest bars.")
async def indicators(
    request: Request,
    caller: MarketCaller,
    ta: TADep,
    symbol: str,
    timeframe: str,
    indicators: _Specs = [],  # noqa: B006  # FastAPI copies a default list per request
    bars: Annotated[int, Query(ge=1, le=MAX_TA_BARS, description="bars returned, past every warm-up")] = (
        DEFAULT_TA_BARS
    ),
) -> Response:
    """Each indicator's outputs aligned with the newest bars (the forming one last), null before a
    value exists, with each one's lookback and warm-up."""
    body = await ta.indicators(
        tier=caller.tier, symbol=symbol, timeframe=timeframe, indicators=indicators, bars=bars
    )
    return prepared_response(request, body)


@_json_get("/patterns", PatternListResponse, "Lists every candlestick pattern the gateway finds.")
async def pattern_list(_caller: MarketCaller, ta: TADep) -> Response:
    """Every candlestick pattern: its TA-Lib name, readable name and parameters."""
    return JSONBytes(ta.pattern_list())


@_json_get(
    "/patterns/{symbol}/{timeframe}",
    PatternsResponse,
    "Finds candlestick patterns among a symbol's newest closed bars.",
)
async def patterns(
    request: Request,
    caller: MarketCaller,
    ta: TADep,
    symbol: str,
    timeframe: str,
    patterns: _Patterns = ["all"],  # noqa: B006  # FastAPI copies a default list per request
    bars: Annotated[
        int, Query(ge=1, le=MAX_BARS, description="newest closed bars searched")
    ] = DEFAULT_TA_BARS,
) -> Response:
    """Every occurrence among the newest closed bars, newest first: time, pattern, readable name,
    direction (bullish +100 / bearish -100, as TA-Lib signals)."""
    body = await ta.patterns(
        tier=caller.tier, symbol=symbol, timeframe=timeframe, patterns=patterns, bars=bars
    )
    return prepared_response(request, body)


@router.get(
    "/scan",
    response_model=ScanResponse,
    summary="Scans every symbol of the tier for patterns and indicator conditions.",
    openapi_extra=CLIENT_AUTH_OPENAPI,
)
async def scan(
    caller: MarketCaller,
    ta: TADep,
    timeframe: Annotated[str, Query(description="the timeframe scanned, e.g. H1")],
    patterns: _Patterns = [],  # noqa: B006  # FastAPI copies a default list per request
    indicators: Annotated[
        list[str], Query(description="conditions, all to hold: RSI(14)<30, close > SMA(200)")
    ] = [],  # noqa: B006
) -> dict[str, Any]:
    """The tier's symbols with one of the patterns on their last closed bar and every condition
    holding there, all symbols read at once."""
    return await ta.scan(tier=caller.tier, timeframe=timeframe, patterns=patterns, conditions=indicators)
