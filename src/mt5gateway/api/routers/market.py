"""Market endpoints: symbols, timeframes, indicators, bars, ticks and quotes, all tier-checked.

Bars come from the symbol's terminal, or with ``source=store`` from the recorded data (same checks).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
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
from ..openapi import errors
from ..params import epoch_query, query_int
from ..responses import JSONBytes, prepared_response
from ..schemas import (
    BarsResponse,
    IndicatorResponse,
    QuotesResponse,
    SymbolsResponse,
    TicksResponse,
    TimeframesResponse,
)

__all__ = ["router"]

# Tier refusals name the tier, what it may use (accessible_symbols and accessible_timeframes) and
# upgrade_required; the original service answered 500 where these say 400, 404, 502 and 503.
_TIERED = errors(
    (403, "the caller's tier does not grant the symbol or timeframe (tier_denied)"),
    (404, "no terminal serves the symbol"),
    (502, "the terminal answered with an error"),
    (503, "the symbol's terminal is down; see Retry-After and terminal_id"),
)

router = APIRouter(prefix="/api", tags=["market"])

_DEFAULT_OVERLAY_PARAMS = OverlayParams()

Symbol = Annotated[str, Path(min_length=1, max_length=32, description="a symbol the pool routes")]
Timeframe = Annotated[str, Path(min_length=1, max_length=8, description="a timeframe (M5 .. D1)")]


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


@router.get(
    "/symbols",
    response_model=SymbolsResponse,
    summary="Lists the symbols the caller's tier may use.",
    openapi_extra=CLIENT_AUTH_OPENAPI,
)
async def symbols(caller: MarketCaller) -> dict[str, Any]:
    """The symbols the caller's tier may use, in configured order."""
    return {"success": True, "tier": caller.tier.name, "symbols": list(caller.tier.symbols)}


@router.get(
    "/timeframes",
    response_model=TimeframesResponse,
    summary="Lists the timeframes the caller's tier may use, shortest first.",
    openapi_extra=CLIENT_AUTH_OPENAPI,
)
async def timeframes(caller: MarketCaller, gateway: GatewayDep) -> dict[str, Any]:
    """The timeframes the caller's tier may use, shortest first."""
    granted = set(caller.tier.timeframes)
    ordered = [tf for tf in gateway.tiers.timeframes if tf in granted]
    return {"success": True, "tier": caller.tier.name, "timeframes": ordered}


@router.get(
    "/indicators/{symbol}/{timeframe}",
    response_class=JSONBytes,
    summary="Computes OHLC, fractals and horizontal and diagonal lines for a symbol and timeframe.",
    responses={200: {"model": IndicatorResponse}, **_TIERED},
    openapi_extra={
        **CLIENT_AUTH_OPENAPI,
        "parameters": [*CLIENT_AUTH_OPENAPI["parameters"], *_overlay_query_parameters()],
    },
)
async def indicators(
    request: Request,
    caller: MarketCaller,
    symbol: Symbol,
    timeframe: Timeframe,
    bars: Annotated[
        int, query_int(ge=MIN_INDICATOR_BARS, le=MAX_BARS, description="bars of OHLC returned")
    ] = DEFAULT_INDICATOR_BARS,
) -> Response:
    """SPEC 7; overlay parameters as query options. Every series runs newest first (as the original
    contract's example): a line point's ``index`` is its bar's position in ``ohlc``."""
    body = await gateway_of(request).market.indicators(
        tier=caller.tier, symbol=symbol, timeframe=timeframe, bars=bars, params=_overlay_params(request)
    )
    return prepared_response(request, body)


@router.get(
    "/bars/{symbol}/{timeframe}",
    response_class=JSONBytes,
    summary="Returns a symbol's bars, oldest first, from its terminal or from the recorded data.",
    responses={
        200: {"model": BarsResponse},
        **_TIERED,
        **errors((503, "the terminal is down, or (source=store) the database did not answer")),
    },
    openapi_extra=CLIENT_AUTH_OPENAPI,
)
async def bars(
    caller: MarketCaller,
    gateway: GatewayDep,
    symbol: Symbol,
    timeframe: Timeframe,
    count: Annotated[int, query_int(ge=1, le=MAX_BARS, description="bars wanted (without from)")] = 100,
    date_from: Annotated[
        int | None, epoch_query(alias="from", description="epoch seconds; needs to (a range)")
    ] = None,
    date_to: Annotated[int | None, epoch_query(alias="to", description="epoch seconds")] = None,
    source: Annotated[
        Literal["terminal", "store"],
        Query(description="terminal, or store: the recorded bars between from and to (both needed)"),
    ] = "terminal",
) -> Response:
    """The newest count, the count up to `to`, or those between `from` and `to`."""
    if source == "store":
        return JSONBytes(await _stored_bars(gateway, caller.tier, symbol, timeframe, date_from, date_to))
    body = await gateway.market.bars(
        tier=caller.tier,
        symbol=symbol,
        timeframe=timeframe,
        count=count,
        date_from=date_from,
        date_to=date_to,
    )
    return JSONBytes(body)


async def _stored_bars(
    gateway: Gateway, tier: Tier, symbol: str, timeframe: str, date_from: int | None, date_to: int | None
) -> bytes:
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


@router.get(
    "/ticks/{symbol}",
    response_class=JSONBytes,
    summary="Returns a symbol's ticks, oldest first: a span, a count from a time, or the newest.",
    responses={200: {"model": TicksResponse}, **_TIERED},
    openapi_extra=CLIENT_AUTH_OPENAPI,
)
async def ticks(
    caller: MarketCaller,
    gateway: GatewayDep,
    symbol: Symbol,
    count: Annotated[int, query_int(ge=1, le=MAX_TICKS, description="most ticks returned")] = 100,
    date_from: Annotated[int | None, epoch_query(alias="from", description="epoch seconds")] = None,
    date_to: Annotated[int | None, epoch_query(alias="to", description="epoch seconds")] = None,
) -> Response:
    """Between `from` and `to`, count from `from`, or the newest count."""
    body = await gateway.market.ticks(
        tier=caller.tier, symbol=symbol, count=count, date_from=date_from, date_to=date_to
    )
    return JSONBytes(body)


@router.get(
    "/quotes",
    response_model=QuotesResponse,
    summary="Gives the last tick of each symbol, from the ticks the terminals already stream.",
    responses=errors(
        (403, "the caller's tier does not grant a symbol asked for"),
        (404, "no terminal serves a symbol asked for"),
    ),
    openapi_extra=CLIENT_AUTH_OPENAPI,
)
async def quotes(
    caller: MarketCaller,
    gateway: GatewayDep,
    symbols: Annotated[
        str | None,
        Query(max_length=1000, description="comma-separated symbols (default: all the tier's)"),
    ] = None,
) -> dict[str, Any]:
    """Symbols whose terminal is down are listed under errors, the others still answer."""
    wanted = None if symbols is None else [s for s in (p.strip() for p in symbols.split(",")) if s]
    return await gateway.market.quotes(tier=caller.tier, symbols=wanted)
