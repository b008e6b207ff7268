"""Rendering an indicator response (overlays computed from bars, serialised), in worker processes.

A recomputation takes a few milliseconds of Python and NumPy; run on the event loop it would stall
every other request (cached hits included) while it lasts, and it would use one core only.
``Renderer`` runs ``render_indicator_body`` in spawned worker processes instead (or on the loop
when configured with none); a worker that dies is replaced and the request rendered on the loop.
A body bound for the cache is gzip-compressed in the worker too, rather than on the loop by the
first request that accepts gzip. Only bytes cross the process boundary.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import multiprocessing
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import orjson
from numpy.typing import NDArray

from mt5gateway.indicators import OverlayParams
from mt5gateway.indicators.overlays import overlay_fragments
from mt5gateway.lifeline import exit_with_parent

from .cache import PreparedBody, gzip_body

__all__ = ["SERIES_ORDER", "Renderer", "render_indicator_body"]

# ohlc, fractals and line points run newest first; a point's index is its bar's position in ohlc.
SERIES_ORDER = "newest_first"

log = logging.getLogger(__name__)


def render_indicator_body(
    rates: NDArray[Any],
    params: OverlayParams,
    *,
    bars: int,
    digits: int,
    symbol: str,
    timeframe: str,
    tier: str,
    terminal_id: str,
    generated_at: str,
) -> bytes:
    """``{success, data}`` of the indicator endpoint for oldest-first ``rates``, as JSON bytes (every
    series newest first: ``series_order`` says so)."""
    data = overlay_fragments(rates, params, bars=bars, digits=digits)
    data["metadata"] = {
        "symbol": symbol,
        "timeframe": timeframe,
        "tier": tier,
        "bars_returned": min(bars, rates.shape[0]),  # the length of data.ohlc
        "terminal_id": terminal_id,
        "generated_at": generated_at,
        "series_order": SERIES_ORDER,
    }
    return orjson.dumps({"success": True, "data": data})


def _render_prepared(
    rates: NDArray[Any], params: OverlayParams, compress: bool, fields: dict[str, Any]
) -> tuple[bytes, bytes | None]:
    """The body and, when ``compress``, its gzip form."""
    body = render_indicator_body(rates, params, **fields)
    return body, gzip_body(body) if compress else None


def _ready() -> bool:
    return True


class Renderer:
    """Runs ``render_indicator_body`` in ``workers`` processes (0: on the event loop)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None

    def _new_executor(self) -> concurrent.futures.ProcessPoolExecutor:
        # Spawned, like the terminal workers: forking a process that runs threads is unsafe.
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=exit_with_parent,  # a gateway killed with SIGKILL takes its workers along
        )

    async def start(self) -> None:
        """Start the workers now rather than on the first request (each imports NumPy and the indicators)."""
        if self.workers:
            self._executor = self._new_executor()
            loop = asyncio.get_running_loop()
            await asyncio.gather(*(loop.run_in_executor(self._executor, _ready) for _ in range(self.workers)))

    async def stop(self) -> None:
        """Stop the workers."""
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, True, cancel_futures=True)

    async def render(
        self, rates: NDArray[Any], params: OverlayParams, *, shared: bool, **fields: Any
    ) -> PreparedBody:
        """The response body, rendered in a worker process when there are any.

        ``shared``: the body will be kept for other requests, so its gzip form is made now too.
        ``fields`` are ``render_indicator_body``'s keyword arguments.
        """
        job = functools.partial(_render_prepared, rates, params, shared, fields)
        executor = self._executor
        if executor is None:
            body, gzipped = job()
        else:
            try:
                body, gzipped = await asyncio.get_running_loop().run_in_executor(executor, job)
            except BrokenProcessPool:
                log.warning("an indicator render worker died; starting new ones")
                if self._executor is executor:
                    self._executor = self._new_executor()
                body, gzipped = job()
        return PreparedBody(body, shared=shared, gzipped=gzipped)
