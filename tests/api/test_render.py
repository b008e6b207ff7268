"""Indicator rendering in worker processes: same bytes as on the loop, gzip made there for bodies kept,
and survival of a dead worker."""

from __future__ import annotations

import gzip
import multiprocessing
import os
import signal
from typing import Any

import orjson
import pytest

from mt5gateway.indicators import OverlayParams
from mt5gateway.market.render import Renderer, render_indicator_body
from mt5gateway.sim.terminal import SimConfig, SimTerminal
from mt5gateway.terminal import constants as c

FIELDS: dict[str, Any] = {
    "bars": 300,
    "digits": 5,
    "symbol": "EURUSD",
    "timeframe": "H1",
    "tier": "FREE",
    "terminal_id": "MT5_05",
    "generated_at": "2026-01-01T00:00:00.000Z",
}


@pytest.fixture(scope="module")
def rates() -> Any:
    terminal = SimTerminal(SimConfig(seed=7, db_path=":memory:"))
    assert terminal.initialize()
    history = terminal.copy_rates_from_pos("EURUSD", c.TIMEFRAME_H1, 0, 600)
    terminal.shutdown()
    return history


async def test_worker_renders_the_same_bytes_as_the_loop(rates: Any) -> None:
    params = OverlayParams()
    in_loop = render_indicator_body(rates, params, **FIELDS)
    renderer = Renderer(1)
    await renderer.start()
    try:
        body = await renderer.render(rates, params, shared=False, **FIELDS)
        assert (body.json, body.shared) == (in_loop, False)
    finally:
        await renderer.stop()
    metadata = orjson.loads(in_loop)["data"]["metadata"]
    assert list(metadata) == [
        "symbol",
        "timeframe",
        "tier",
        "bars_returned",
        "terminal_id",
        "generated_at",
        "series_order",
    ]
    assert metadata["bars_returned"] == 300


async def test_a_dead_worker_is_replaced_and_the_request_still_answered(
    rates: Any, caplog: pytest.LogCaptureFixture
) -> None:
    params = OverlayParams()
    expected = render_indicator_body(rates, params, **FIELDS)
    before = set(multiprocessing.active_children())
    renderer = Renderer(1)
    await renderer.start()
    try:
        workers = set(multiprocessing.active_children()) - before
        assert len(workers) == 1
        os.kill(workers.pop().pid, signal.SIGKILL)
        assert (await renderer.render(rates, params, shared=False, **FIELDS)).json == expected
        assert "render worker died" in caplog.text
        assert (await renderer.render(rates, params, shared=False, **FIELDS)).json == expected
    finally:
        await renderer.stop()


@pytest.mark.parametrize("workers", [0, 1])
async def test_a_body_kept_in_the_cache_comes_with_its_gzip_form(rates: Any, workers: int) -> None:
    params = OverlayParams()
    renderer = Renderer(workers)
    await renderer.start()
    try:
        body = await renderer.render(rates, params, shared=True, **FIELDS)
    finally:
        await renderer.stop()
    assert body.shared and body.json == render_indicator_body(rates, params, **FIELDS)
    compressed = body.gzip()
    assert body.gzip() is compressed
    assert gzip.decompress(compressed) == body.json
