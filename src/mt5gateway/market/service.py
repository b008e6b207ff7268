"""Market data for the HTTP API: tier checks, bars, ticks, quotes and the cached indicator response.

Every method first resolves and checks the request against the caller's tier (timeframe offered by
the service, symbol routed by the pool, both granted by the tier) and only then asks the symbol's
terminal through the pool. Bars and ticks come back as JSON bytes written from the terminal's arrays
(``terminal.arrays``: no Python object per row); the indicator response is a ``PreparedBody``
(serialised once) from the ``IndicatorCache``. The bars behind indicator responses and requests for
the newest bars are kept per (symbol, timeframe) and brought up to date with the newest few bars, so
neither a recomputation after a tick nor a bars request fetches the whole history again.

Quotes are answered from the ticks the pool already polls: the service follows the pool's tick
events (as the indicator cache does) and keeps each symbol's newest tick, and follows terminal
events to know which terminals are down. Only a symbol with no tick since the gateway started (a
quiet market) is asked of its terminal, once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from mt5gateway.errors import BadRequest, GatewayError, TerminalError
from mt5gateway.indicators import OverlayParams, minimum_history
from mt5gateway.pool import TerminalPool
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.arrays import last_row, records_json
from mt5gateway.terminal.records import record_to_dict
from mt5gateway.terminal.timeframes import TIMEFRAME_SECONDS, timeframe_from_name

from .cache import IndicatorCache, PreparedBody
from .render import Renderer
from .tiers import Tier, TierPolicy

__all__ = [
    "DEFAULT_INDICATOR_BARS",
    "MAX_BARS",
    "MAX_TICKS",
    "MIN_INDICATOR_BARS",
    "MarketService",
    "ResolvedRequest",
    "bars_body",
    "utc_now_iso",
]

MAX_BARS = 5000
# Bars of an indicator response: at least a lookback's worth of chart, 1000 when not asked.
MIN_INDICATOR_BARS = 100
DEFAULT_INDICATOR_BARS = 1000
MAX_TICKS = 10_000
# Newest ticks are looked for in this window before the terminal's last tick (quiet markets
# return fewer than asked rather than scanning a whole day).
_RECENT_TICKS_WINDOW_SECONDS = 3600
_MAX_TICK_SPAN_SECONDS = 86_400
# Bars fetched to bring kept history up to date: the forming bar and the two before it.
_TAIL_BARS = 3
# Kept history is fetched in full again after this, should the terminal have corrected a past bar.
_HISTORY_REFRESH_SECONDS = 60.0


@dataclass(frozen=True)
class _History:
    """The bars of the last full fetch of a (symbol, timeframe), kept current by tails."""

    rates: NDArray[Any]
    fetched_at: float


@dataclass(frozen=True)
class ResolvedRequest:
    """A market request that passed every check: canonical names and the terminal that serves it."""

    symbol: str
    timeframe: str | None
    terminal_id: str

    @property
    def timeframe_value(self) -> int:
        assert self.timeframe is not None
        return timeframe_from_name(self.timeframe)


def bars_body(request: ResolvedRequest, rates: NDArray[Any]) -> bytes:
    """The bars endpoint's answer for ``rates`` (from the terminal or the store), as JSON."""
    return orjson.dumps(
        {
            "success": True,
            "symbol": request.symbol,
            "timeframe": request.timeframe,
            "terminal_id": request.terminal_id,
            "count": len(rates),
            "bars": records_json(rates),
        }
    )


def _indicator_key(
    request: ResolvedRequest, bars: int, params: OverlayParams, tier: Tier
) -> tuple[str, str | None, int, OverlayParams, str]:
    # The tier is part of the key because the body names it (metadata.tier).
    return (request.symbol, request.timeframe, bars, params, tier.name)


def utc_now_iso() -> str:
    """Now, as the responses' ``generated_at`` writes it: ``2024-01-10T12:00:00.000Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class MarketService:
    """The market endpoints' logic over one pool and one tier policy."""

    def __init__(
        self, *, pool: TerminalPool, tiers: TierPolicy, cache: IndicatorCache, renderer: Renderer
    ) -> None:
        self.pool = pool
        self.tiers = tiers
        self.cache = cache
        self.renderer = renderer
        self._digits: dict[str, int] = {}
        self._history: dict[tuple[str, int], _History] = {}
        self._watchers: list[asyncio.Task[None]] = []
        # Each symbol's newest polled tick, as its quote; the terminals that are not up.
        self._quotes: dict[str, dict[str, Any]] = {}
        self._down: dict[str, str] = {}

    async def start(self) -> None:
        """Start the render workers; follow tick events (cached indicator responses go stale on each
        tick; quotes keep the newest) and terminal events."""
        await self.renderer.start()
        self._down = {s.terminal_id: s.status for s in self.pool.statuses() if s.status != "up"}
        self._watchers = [
            asyncio.create_task(self._watch_ticks(), name="market-ticks"),
            asyncio.create_task(self._watch_terminals(), name="market-terminals"),
        ]

    async def stop(self) -> None:
        """Stop following events and stop the render workers."""
        for watcher in self._watchers:
            watcher.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        self._watchers = []
        await self.renderer.stop()

    async def _watch_ticks(self) -> None:
        async with self.pool.bus.subscribe("ticks") as ticks:
            dropped = 0
            async for event in ticks:
                if ticks.dropped != dropped:
                    # Events were lost while this task lagged: any symbol may have ticked.
                    dropped = ticks.dropped
                    self.cache.note_tick_everywhere()
                self.cache.note_tick(event.symbol)
                if len(event.ticks):
                    self._quotes[event.symbol] = {"terminal_id": event.terminal_id, **last_row(event.ticks)}

    async def _watch_terminals(self) -> None:
        async with self.pool.bus.subscribe("terminal") as events:
            async for event in events:
                if event.status == "up":
                    self._down.pop(event.terminal_id, None)
                else:
                    self._down[event.terminal_id] = event.status

    # -- checks -------------------------------------------------------------------------------

    def routed(self, symbol: str, timeframe: str) -> ResolvedRequest:
        """A request already checked against a tier (a stream's subscription): its terminal."""
        return ResolvedRequest(symbol, timeframe, self.pool.terminal_for_symbol(symbol))

    def resolve(self, *, tier: Tier, symbol: str, timeframe: str | None = None) -> ResolvedRequest:
        """Check a request against ``tier`` without asking any terminal.

        Order: timeframe offered (400), symbol routed (404), symbol granted (403), timeframe
        granted (403).
        """
        canonical_timeframe = None if timeframe is None else self.tiers.timeframe(timeframe)
        canonical_symbol = symbol.upper()
        terminal_id = self.pool.terminal_for_symbol(canonical_symbol)
        self.tiers.check_symbol(tier, canonical_symbol)
        if canonical_timeframe is not None:
            self.tiers.check_timeframe(tier, canonical_timeframe)
        return ResolvedRequest(canonical_symbol, canonical_timeframe, terminal_id)

    # -- terminal calls -------------------------------------------------------------------------

    async def _call(self, request: ResolvedRequest, function: str, *args: Any) -> Any:
        result = await self.pool.call(request.terminal_id, function, *args)
        if result is None:
            code, message = self.pool.last_error(request.terminal_id) or (c.RES_E_FAIL, "no reason given")
            raise TerminalError(
                f"Terminal {request.terminal_id} could not answer {function} for {request.symbol}: "
                f"{message} ({code})",
                terminal_id=request.terminal_id,
                last_error_code=code,
            )
        return result

    async def _digits_of(self, request: ResolvedRequest) -> int:
        digits = self._digits.get(request.symbol)
        if digits is None:
            info = await self._call(request, "symbol_info", request.symbol)
            digits = self._digits[request.symbol] = int(info.digits)
        return digits

    async def newest_rates(self, request: ResolvedRequest, count: int) -> NDArray[Any]:
        """The newest ``count`` bars straight from the terminal, oldest first (the forming bar last)."""
        rates: NDArray[Any] = await self._call(
            request, "copy_rates_from_pos", request.symbol, request.timeframe_value, 0, count
        )
        return rates

    async def rates_between(self, request: ResolvedRequest, first: int, last: int) -> NDArray[Any]:
        """The bars opened from ``first`` to ``last`` (epoch s, both included), oldest first."""
        rates: NDArray[Any] = await self._call(
            request, "copy_rates_range", request.symbol, request.timeframe_value, first, last
        )
        return rates

    async def recent_rates(self, request: ResolvedRequest, count: int) -> NDArray[Any]:
        """The newest ``count`` bars (oldest first, the forming bar last), fetching only the newest few
        when the last fetch still covers the rest.

        Closed bars never change, so the bars kept from the previous fetch are joined with a fresh
        tail of ``_TAIL_BARS`` bars (the forming bar and the ones just closed). The tail must overlap
        the kept bars, or bars could be missing between them: then, and after
        ``_HISTORY_REFRESH_SECONDS`` in any case, everything is fetched again.
        """
        key = (request.symbol, request.timeframe_value)
        kept = self._history.get(key)
        now = time.monotonic()
        if kept is not None and len(kept.rates) >= count and now - kept.fetched_at < _HISTORY_REFRESH_SECONDS:
            tail = await self.newest_rates(request, _TAIL_BARS)
            if len(tail) and tail["time"][0] <= kept.rates["time"][-1]:
                older = kept.rates[kept.rates["time"] < tail["time"][0]]
                excess = max(0, len(older) + len(tail) - len(kept.rates))
                joined = np.concatenate([older[excess:], tail])
                self._history[key] = _History(joined, kept.fetched_at)
                return joined[-count:]
        rates = await self.newest_rates(request, count)
        self._history[key] = _History(rates, now)
        return rates

    # -- endpoints ------------------------------------------------------------------------------

    async def bars(
        self,
        *,
        tier: Tier,
        symbol: str,
        timeframe: str,
        count: int,
        date_from: int | None,
        date_to: int | None,
    ) -> bytes:
        """Bars oldest first: the newest ``count``, the ``count`` up to ``to``, or those in ``from..to``."""
        request = self.resolve(tier=tier, symbol=symbol, timeframe=timeframe)
        if date_from is not None:
            if date_to is None:
                raise BadRequest("Parameter from needs to as well (bars between from and to)", field="to")
            if date_to < date_from:
                raise BadRequest("Parameter to must not be before from", field="to")
            span_bars = (date_to - date_from) // TIMEFRAME_SECONDS[request.timeframe_value]
            if span_bars > MAX_BARS:
                raise BadRequest(
                    f"from..to spans {span_bars} {request.timeframe} bars; at most {MAX_BARS} per request",
                    field="from",
                )
            rates = await self.rates_between(request, date_from, date_to)
        elif date_to is not None:
            rates = await self._call(
                request, "copy_rates_from", request.symbol, request.timeframe_value, date_to, count
            )
        else:
            # The newest bars: the kept history and a fresh tail, as for indicator responses (a
            # worker call of 3 bars rather than `count`).
            rates = await self.recent_rates(request, count)
        return bars_body(request, rates)

    async def ticks(
        self, *, tier: Tier, symbol: str, count: int, date_from: int | None, date_to: int | None
    ) -> bytes:
        """Ticks oldest first: in ``from..to``, ``count`` from ``from``, or the newest ``count``."""
        request = self.resolve(tier=tier, symbol=symbol)
        if date_from is not None and date_to is not None:
            if date_to < date_from:
                raise BadRequest("Parameter to must not be before from", field="to")
            if date_to - date_from > _MAX_TICK_SPAN_SECONDS:
                raise BadRequest(
                    f"from..to may span at most {_MAX_TICK_SPAN_SECONDS} seconds of ticks", field="to"
                )
            ticks = await self._call(
                request, "copy_ticks_range", request.symbol, date_from, date_to, c.COPY_TICKS_ALL
            )
            ticks = ticks[:count]
        elif date_from is not None:
            ticks = await self._call(
                request, "copy_ticks_from", request.symbol, date_from, count, c.COPY_TICKS_ALL
            )
        else:
            if date_to is None:
                last = await self._call(request, "symbol_info_tick", request.symbol)
                date_to = int(last.time) + 1
            ticks = await self._call(
                request,
                "copy_ticks_range",
                request.symbol,
                date_to - _RECENT_TICKS_WINDOW_SECONDS,
                date_to,
                c.COPY_TICKS_ALL,
            )
            ticks = ticks[-count:]
        return orjson.dumps(
            {
                "success": True,
                "symbol": request.symbol,
                "terminal_id": request.terminal_id,
                "count": len(ticks),
                "ticks": records_json(ticks),
            }
        )

    async def _asked_quote(self, request: ResolvedRequest) -> dict[str, Any]:
        """The symbol's last tick asked of its terminal (a down terminal: ``TerminalUnavailable`` with
        the pool's ``retry_after``, at once)."""
        tick = await self._call(request, "symbol_info_tick", request.symbol)
        # A tick polled meanwhile is newer than this answer.
        return self._quotes.setdefault(
            request.symbol, {"terminal_id": request.terminal_id, **record_to_dict(tick)}
        )

    async def quotes(self, *, tier: Tier, symbols: Iterable[str] | None) -> dict[str, Any]:
        """The last tick of each symbol (default: all the tier's); a down terminal is reported per symbol."""
        wanted = list(tier.symbols) if symbols is None else list(dict.fromkeys(s.upper() for s in symbols))
        requests = [self.resolve(tier=tier, symbol=symbol) for symbol in wanted]
        asked = [r for r in requests if r.terminal_id in self._down or r.symbol not in self._quotes]
        answers: dict[str, Any] = {}
        if asked:
            results = await asyncio.gather(*(self._asked_quote(r) for r in asked), return_exceptions=True)
            answers = {r.symbol: result for r, result in zip(asked, results, strict=True)}
        quotes: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for request in requests:
            result = answers[request.symbol] if request.symbol in answers else self._quotes[request.symbol]
            if isinstance(result, GatewayError):
                errors[request.symbol] = result.body()
            elif isinstance(result, BaseException):
                raise result
            else:
                quotes[request.symbol] = result
        return {"success": True, "tier": tier.name, "quotes": quotes, "errors": errors}

    def cached_indicators(
        self, *, tier: Tier, symbol: str, timeframe: str, bars: int, params: OverlayParams
    ) -> PreparedBody | None:
        """The indicator response if the cache holds a current one (checks as ``indicators`` does)."""
        request = self.resolve(tier=tier, symbol=symbol, timeframe=timeframe)
        return self.cache.peek(request.symbol, _indicator_key(request, bars, params, tier))

    async def indicators(
        self, *, tier: Tier, symbol: str, timeframe: str, bars: int, params: OverlayParams
    ) -> PreparedBody:
        """The indicator response body (``{success, data}``) serialised, from the cache when current."""
        request = self.resolve(tier=tier, symbol=symbol, timeframe=timeframe)
        key = _indicator_key(request, bars, params, tier)

        async def compute() -> PreparedBody:
            digits = await self._digits_of(request)
            rates = await self.recent_rates(request, max(bars, minimum_history(params)))
            return await self.renderer.render(
                rates,
                params,
                shared=self.cache.capacity > 0,
                bars=bars,
                digits=digits,
                symbol=request.symbol,
                timeframe=request.timeframe,
                tier=tier.name,
                terminal_id=request.terminal_id,
                generated_at=utc_now_iso(),
            )

        return await self.cache.get(request.symbol, key, compute)
