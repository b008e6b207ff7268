"""Market endpoints: symbols, timeframes, indicators, bars, ticks and quotes, all tier-checked.

Bars come from the symbol's terminal, or with ``source=store`` from the recorded data (same checks).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from mt5gateway.errors import BadRequest
from mt5gateway.indicators import OverlayParams, parse_overlay_params
from mt5gateway.market.service import (
    DEFAULT_INDICATOR_BARS,
    MAX_BARS,
    MAX_TICKS,
    MIN_INDICATOR_BARS,
    bars_body,
)
from mt5gateway.market.tiers import Tier
from mt5gateway.recorder.service import stored_bars
from mt5gateway.terminal.timeframes import TIMEFRAME_SECONDS

from ..auth import CLIENT_AUTH_OPENAPI, MarketCaller
from ..deps import Gateway, GatewayDep, gateway_of
from ..responses import JSONBytes, prepared_response
from ..schemas import (
    BarsResponse,
    ErrorBody,
    IndicatorResponse,
    QuotesResponse,
    SymbolsResponse,
    TicksResponse,
    TimeframesResponse,
)

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "a parameter is invalid (the sentence names it)"),
        (401, "missing or unknown X-API-Key"),
        (403, "the caller's tier does not grant the symbol or timeframe"),
        (404, "unknown symbol"),
        (429, "rate limit; see Retry-After"),
        (502, "the terminal answered with an error"),
        (503, "the symbol's terminal is down; see Retry-After and terminal_id"),
    )
}

router = APIRouter(prefix="/api", tags=["market"], responses=_ERRORS)

_DEFAULT_OVERLAY_PARAMS = OverlayParams()


def _overlay_query_parameters() -> list[dict[str, Any]]:
    """The overlay parameters as OpenAPI query parameters (the model's own ranges and defaults)."""
    schema = OverlayParams.model_json_schema()
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": field.get("description", ""),
            "schema": {key: value for key, value in field.items() if key not in ("title", "description")},
        }
        for name, field in schema["properties"].items()
    ]


def _overlay_params(request: Request) -> OverlayParams:
    """The overlay parameters of the query (``bars`` is the endpoint's own)."""
    query: dict[str, str | list[str]] = {}
    for name, value in request.query_params.multi_items():
        if name == "bars":
            continue
        previous = query.get(name)
        if previous is None:
            query[name] = value
        else:
            query[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
    return parse_overlay_params(query) if query else _DEFAULT_OVERLAY_PARAMS


@router.get("/symbols", response_model=SymbolsResponse, openapi_extra=CLIENT_AUTH_OPENAPI)
async def symbols(caller: MarketCaller) -> dict[str, Any]:
    """The symbols the caller's tier may use."""
    return {"success": True, "tier": caller.tier.name, "symbols": list(caller.tier.symbols)}


@router.get("/timeframes", response_model=TimeframesResponse, openapi_extra=CLIENT_AUTH_OPENAPI)
async def timeframes(caller: MarketCaller, gateway: GatewayDep) -> dict[str, Any]:
    """The timeframes the caller's tier may use, shortest first."""
    granted = set(caller.tier.timeframes)
    ordered = [tf for tf in gateway.tiers.timeframes if tf in granted]
    return {"success": True, "tier": caller.tier.name, "timeframes": ordered}


@router.get(
    "/indicators/{symbol}/{timeframe}",
    response_class=JSONBytes,
    responses={200: {"model": IndicatorResponse}},
    openapi_extra={
        **CLIENT_AUTH_OPENAPI,
        "parameters": [*CLIENT_AUTH_OPENAPI["parameters"], *_overlay_query_parameters()],
    },
)
async def indicators(
    request: Request,
    caller: MarketCaller,
    symbol: str,
    timeframe: str,
    bars: Annotated[
        int, Query(ge=MIN_INDICATOR_BARS, le=MAX_BARS, description="bars of OHLC returned")
    ] = DEFAULT_INDICATOR_BARS,
) -> Response:
    """OHLC, fractals and horizontal and diagonal lines (SPEC 7); overlay parameters as query options."""
    body = await gateway_of(request).market.indicators(
        tier=caller.tier, symbol=symbol, timeframe=timeframe, bars=bars, params=_overlay_params(request)
    )
    return prepared_response(request, body)


@router.get("/bars/{symbol}/{timeframe}", response_model=BarsResponse, openapi_extra=CLIENT_AUTH_OPENAPI)
async def bars(
    caller: MarketCaller,
    gateway: GatewayDep,
    symbol: str,
    timeframe: str,
    count: Annotated[int, Query(ge=1, le=MAX_BARS, description="bars wanted (without from)")] = 100,
    date_from: Annotated[
        int | None, Query(alias="from", ge=0, description="epoch seconds; needs to (a range)")
    ] = None,
    date_to: Annotated[int | None, Query(alias="to", ge=0, description="epoch seconds")] = None,
    source: Annotated[
        Literal["terminal", "store"],
        Query(description="terminal, or store: the recorded bars between from and to (both needed)"),
    ] = "terminal",
) -> dict[str, Any]:
    """Bars oldest first: the newest count, the count up to `to`, or those between `from` and `to`."""
    if source == "store":
        return await _stored_bars(gateway, caller.tier, symbol, timeframe, date_from, date_to)
    return await gateway.market.bars(
        tier=caller.tier,
        symbol=symbol,
        timeframe=timeframe,
        count=count,
        date_from=date_from,
        date_to=date_to,
    )


async def _stored_bars(
    gateway: Gateway, tier: Tier, symbol: str, timeframe: str, date_from: int | None, date_to: int | None
) -> dict[str, Any]:
    """The stored bars with ``from <= time <= to``, the body of the terminal source's answer."""
    request = gateway.market.resolve(tier=tier, symbol=symbol, timeframe=timeframe)
    if date_from is None or date_to is None:
        raise BadRequest("source=store needs from and to (epoch seconds)", field="from")
    if date_to < date_from:
        raise BadRequest("Parameter to must not be before from", field="to")
    assert request.timeframe is not None  # resolve keeps the timeframe it was given, canonical
    span_bars = (date_to - date_from) // TIMEFRAME_SECONDS[request.timeframe_value]
    if span_bars > MAX_BARS:
        raise BadRequest(
            f"from..to spans {span_bars} {request.timeframe} bars; at most {MAX_BARS} per request",
            field="from",
        )
    store = await gateway.data.open_store()
    # Inclusive of `to`, as copy_rates_range is; the store's ranges are half-open.
    rates = await asyncio.to_thread(
        functools.partial(
            stored_bars,
            store=store,
            symbol=request.symbol,
            timeframe=request.timeframe,
            from_time=date_from,
            to_time=date_to + 1,
        )
    )
    return bars_body(request, rates)


@router.get("/ticks/{symbol}", response_model=TicksResponse, openapi_extra=CLIENT_AUTH_OPENAPI)
async def ticks(
    caller: MarketCaller,
    gateway: GatewayDep,
    symbol: str,
    count: Annotated[int, Query(ge=1, le=MAX_TICKS, description="most ticks returned")] = 100,
    date_from: Annotated[int | None, Query(alias="from", ge=0, description="epoch seconds")] = None,
    date_to: Annotated[int | None, Query(alias="to", ge=0, description="epoch seconds")] = None,
) -> dict[str, Any]:
    """Ticks oldest first: between `from` and `to`, count from `from`, or the newest count."""
    return await gateway.market.ticks(
        tier=caller.tier, symbol=symbol, count=count, date_from=date_from, date_to=date_to
    )


@router.get("/quotes", response_model=QuotesResponse, openapi_extra=CLIENT_AUTH_OPENAPI)
async def quotes(
    caller: MarketCaller,
    gateway: GatewayDep,
    symbols: Annotated[
        str | None, Query(description="comma-separated symbols (default: all the tier's)")
    ] = None,
) -> dict[str, Any]:
    """The last tick of each symbol; symbols whose terminal is down are listed under errors."""
    wanted = None if symbols is None else [s for s in (p.strip() for p in symbols.split(",")) if s]
    return await gateway.market.quotes(tier=caller.tier, symbols=wanted)
