"""The technical-analysis endpoints' logic: catalogue, indicators, patterns and the scanner.

Every request is checked against the caller's tier by the market service (timeframe offered,
symbol routed, both granted) before any terminal is asked, reads its bars through the market
service's kept history (enough of it that the bars returned are past every indicator's warm-up),
and is cached like the overlays: one computation per market state, keyed by the canonical specs,
sent as ready bytes (``IndicatorCache``). The scanner reads every symbol of the tier at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from mt5gateway.errors import BadRequest, GatewayError
from mt5gateway.market.cache import PreparedBody
from mt5gateway.market.service import MarketService, ResolvedRequest, utc_now_iso
from mt5gateway.market.tiers import Tier

from .catalogue import CATALOGUE, PATTERNS, function_body
from .compute import Bars, compute
from .conditions import parse_conditions
from .patterns import find_patterns, parse_patterns, pattern_body
from .scan import ScanQuery, scan_bars
from .specs import IndicatorSpec, parse_specs
from .warmup import checked_warmup, warmup_of

__all__ = ["DEFAULT_TA_BARS", "MAX_INDICATORS", "MAX_TA_BARS", "TechnicalAnalysis", "indicators_body"]

MAX_INDICATORS = 20
"""Most indicators in one request (and distinct indicators in one scan)."""
DEFAULT_TA_BARS = 500
MAX_TA_BARS = 5_000

_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def _checked_specs(specs: list[IndicatorSpec], *, field: str, what: str) -> list[IndicatorSpec]:
    if len(specs) > MAX_INDICATORS:
        raise BadRequest(f"{len(specs)} {what} asked; at most {MAX_INDICATORS} per request", field=field)
    for spec in specs:
        checked_warmup(spec, field=field)
    return specs


def _indicator_body(
    spec: IndicatorSpec, outputs: dict[str, np.ndarray[Any, Any]], shown: int
) -> dict[str, Any]:
    warmup = warmup_of(spec)
    return {
        "spec": spec.label,
        "function": spec.name,
        "parameters": spec.parameters,
        "lookback": warmup.lookback,
        "warmup_bars": warmup.bars,
        "outputs": {name: values[-shown:] if shown else values[:0] for name, values in outputs.items()},
    }


def indicators_body(
    specs: list[IndicatorSpec], rates: NDArray[Any], *, bars: int, header: dict[str, Any]
) -> bytes:
    """The ``/api/ta`` body for oldest-first ``rates``: each spec's outputs over the newest ``bars``
    of them (computed over all of them), aligned with ``time``; ``header`` names the request."""
    every = Bars.from_rates(rates)
    shown = min(bars, len(every))
    return orjson.dumps(
        {
            "success": True,
            **header,
            "bars": shown,
            "computed_over": {"bars": len(every), "from": int(every.time[0]) if len(every) else None},
            "time": every.time[len(every) - shown :],
            "indicators": [_indicator_body(spec, compute(spec, every), shown) for spec in specs],
            "generated_at": utc_now_iso(),
        },
        option=_NUMPY,
    )


class TechnicalAnalysis:
    """``/api/ta``, ``/api/patterns`` and ``/api/scan`` over one market service."""

    def __init__(self, *, market: MarketService) -> None:
        self.market = market
        self._functions = orjson.dumps(
            {
                "success": True,
                "count": len(CATALOGUE),
                "functions": [function_body(f) for f in CATALOGUE.values()],
            }
        )
        self._patterns = orjson.dumps(
            {
                "success": True,
                "count": len(PATTERNS),
                "patterns": [pattern_body(f) for f in PATTERNS.values()],
            }
        )

    def functions(self) -> bytes:
        """``GET /api/ta/functions``: every served function with its group, inputs, parameters
        (name, type, our default, range) and outputs."""
        return self._functions

    def pattern_list(self) -> bytes:
        """``GET /api/patterns``: every candlestick pattern with its readable name and parameters."""
        return self._patterns

    async def indicators(
        self, *, tier: Tier, symbol: str, timeframe: str, indicators: str | list[str], bars: int
    ) -> PreparedBody:
        """Each indicator's outputs over the newest ``bars`` bars (the forming one last), aligned
        with their ``time``, null before a value exists, with its lookback and warm-up."""
        request = self.market.resolve(tier=tier, symbol=symbol, timeframe=timeframe)
        specs = _checked_specs(parse_specs(indicators), field="indicators", what="indicators")
        if not specs:
            raise BadRequest(
                "indicators is required: one or more specs such as RSI(14),MACD", field="indicators"
            )
        key = ("ta", request.symbol, request.timeframe, bars, tuple(s.canonical for s in specs), tier.name)

        async def compute_body() -> bytes:
            history = bars + max(warmup_of(spec).bars for spec in specs)
            rates = await self.market.recent_rates(request, history)
            header = {
                "symbol": request.symbol,
                "timeframe": request.timeframe,
                "tier": tier.name,
                "terminal_id": request.terminal_id,
            }
            return indicators_body(specs, rates, bars=bars, header=header)

        return await self.market.cache.get(request.symbol, key, compute_body)

    async def patterns(
        self, *, tier: Tier, symbol: str, timeframe: str, patterns: str | list[str], bars: int
    ) -> PreparedBody:
        """Every occurrence of ``patterns`` among the newest ``bars`` closed bars, newest first."""
        request = self.market.resolve(tier=tier, symbol=symbol, timeframe=timeframe)
        chosen = parse_patterns(patterns)
        if not chosen:
            raise BadRequest(
                "patterns is required: all, or names such as CDLENGULFING,CDLHAMMER", field="patterns"
            )
        key = (
            "patterns",
            request.symbol,
            request.timeframe,
            bars,
            tuple(s.canonical for s in chosen),
            tier.name,
        )

        async def compute_body() -> bytes:
            # the forming bar is fetched and left out: a candle is judged once it has closed
            history = bars + max(warmup_of(spec).lookback for spec in chosen) + 1
            every = Bars.from_rates(await self.market.recent_rates(request, history))
            closed = every.rows(0, max(len(every) - 1, 0))
            found = find_patterns(chosen, closed, newest=bars)
            return orjson.dumps(
                {
                    "success": True,
                    "symbol": request.symbol,
                    "timeframe": request.timeframe,
                    "tier": tier.name,
                    "terminal_id": request.terminal_id,
                    "bars": min(bars, len(closed)),
                    "patterns": [spec.canonical for spec in chosen],
                    "count": len(found),
                    "occurrences": [occurrence.as_dict() for occurrence in found],
                    "generated_at": utc_now_iso(),
                }
            )

        return await self.market.cache.get(request.symbol, key, compute_body)

    async def scan(
        self, *, tier: Tier, timeframe: str, patterns: str | list[str], conditions: str | list[str]
    ) -> dict[str, Any]:
        """The tier's symbols showing one of ``patterns`` on their last closed bar and meeting every
        condition there; all symbols read at once. A symbol whose terminal fails is listed under
        ``errors``."""
        canonical = self.market.tiers.timeframe(timeframe)
        self.market.tiers.check_timeframe(tier, canonical)
        query = ScanQuery(tuple(parse_patterns(patterns)), tuple(parse_conditions(conditions)))
        if not query.patterns and not query.conditions:
            raise BadRequest(
                "give patterns (all, or names such as CDLENGULFING) or indicators (conditions such as "
                "RSI(14)<30), or both",
                field="patterns",
            )
        _checked_specs(query.indicators, field="indicators", what="indicators in the conditions")
        history = query.history_bars
        requests: list[ResolvedRequest] = []
        errors: dict[str, Any] = {}
        for symbol in tier.symbols:
            try:
                requests.append(self.market.resolve(tier=tier, symbol=symbol, timeframe=canonical))
            except GatewayError as exc:  # a tier symbol no terminal routes
                errors[symbol] = exc.body()
        fetched = await asyncio.gather(
            *(self.market.recent_rates(request, history) for request in requests), return_exceptions=True
        )
        matches: list[dict[str, Any]] = []
        for request, rates in zip(requests, fetched, strict=True):
            if isinstance(rates, GatewayError):
                errors[request.symbol] = rates.body()
                continue
            if isinstance(rates, BaseException):
                raise rates
            hit = scan_bars(query, Bars.from_rates(rates))
            if hit is not None:
                matches.append({"symbol": request.symbol, "terminal_id": request.terminal_id, **hit})
        return {
            "success": True,
            "tier": tier.name,
            "timeframe": canonical,
            "patterns": [spec.canonical for spec in query.patterns],
            "conditions": [str(condition) for condition in query.conditions],
            "scanned": len(requests),
            "count": len(matches),
            "matches": matches,
            "errors": errors,
            "generated_at": utc_now_iso(),
        }
