"""The pre-serialised payload writes the very bytes the former dict-per-bar payload did.

The payload runs newest first since the original contract's order was adopted (issue 17); the
former payloads ran oldest first, so each series is turned back before the bytes are compared.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import orjson
import pytest
from numpy.typing import NDArray

from mt5gateway.indicators import OverlayParams
from mt5gateway.indicators.overlays import overlay_fragments
from mt5gateway.market.render import render_indicator_body

from .builders import rates


def _random_walk(seed: int, count: int) -> NDArray[np.void]:
    walk = np.random.RandomState(seed)  # the legacy generator: the same numbers on every NumPy
    close = 1.1 + np.cumsum(walk.normal(0, 0.002, count))
    spread = np.abs(walk.normal(0, 0.0015, count))
    return rates(close + spread, close - spread, close)


def _oldest_first(data: dict[str, Any]) -> dict[str, Any]:
    """The payload with every series in the former order (ohlc, line points, fractals reversed)."""
    turned = dict(data, ohlc=data["ohlc"][::-1])
    for group in ("horizontal", "diagonal", "fractals"):
        turned[group] = {name: points[::-1] for name, points in data[group].items()}
    return turned


def _former_bytes(body: bytes) -> bytes:
    return orjson.dumps(_oldest_first(orjson.loads(body)))


# SHA-256 and length of orjson.dumps(compute_overlays(...)) as written by the former implementation
# (a Python dict per bar, per line point and per fractal). The series hold empty line slots, lines
# cut at the oldest returned bar, unrounded prices and four lines per kind.
FORMER_PAYLOADS = [
    (
        1,
        1200,
        {"bars": 1000, "digits": 5},
        {},
        166097,
        "273a319c3a0f0bbe05ea04904b4ae01c3b43d940ea3fe778edcc778cfcbbc798",
    ),
    (
        2,
        1500,
        {"bars": None, "digits": None},
        {},
        355706,
        "08246e73f19fa04bdd421f3fb754593e09e6b8748ff5c02b530202ae93c80678",
    ),
    (
        3,
        900,
        {"bars": 300, "digits": 2},
        {"tolerance_mode": "atr", "window": 21, "lines_per_kind": 4},
        105444,
        "89b652a719bd81780fc3280872a666a89d4f0cd794d683208487dbc3224aa66e",
    ),
]


@pytest.mark.parametrize(("seed", "count", "options", "params", "size", "digest"), FORMER_PAYLOADS)
def test_payload_bytes_are_those_of_the_former_implementation(
    seed: int, count: int, options: dict[str, Any], params: dict[str, Any], size: int, digest: str
) -> None:
    body = orjson.dumps(overlay_fragments(_random_walk(seed, count), OverlayParams(**params), **options))
    former = _former_bytes(body)
    assert (len(former), hashlib.sha256(former).hexdigest()) == (size, digest)


def test_response_body_bytes_are_those_of_the_former_implementation() -> None:
    body = render_indicator_body(
        _random_walk(1, 1200),
        OverlayParams(),
        bars=1000,
        digits=5,
        symbol="EURUSD",
        timeframe="H1",
        tier="PRO",
        terminal_id="MT5_01",
        generated_at="2026-11-21T10:00:00.000Z",
    )
    payload = orjson.loads(body)
    assert payload["data"]["metadata"].pop("series_order") == "newest_first"
    former = orjson.dumps({"success": True, "data": _oldest_first(payload["data"])})
    assert len(former) == 166268
    assert (
        hashlib.sha256(former).hexdigest()
        == "e819b2883be88542b09ce3378f65a4fc1034c6a56856bb8d6dc20d499eaa1574"
    )


def test_numbers_of_any_magnitude_are_written_as_python_values_are() -> None:
    prices = np.array([1e-7, 0.30000000000000004, 1.0, 100.0, 12345678.9, 1e16, 1e21, -0.0, np.nan] * 5)
    bars = rates(prices, prices, prices)
    bars["tick_volume"][0] = 2**63 + 5  # the field is unsigned
    ohlc = orjson.dumps(overlay_fragments(bars)["ohlc"])
    expected = [
        {"time": t, "open": o, "high": h, "low": lo, "close": c, "volume": v}
        for t, o, h, lo, c, v in zip(
            *(bars[name].tolist() for name in ("time", "open", "high", "low", "close", "tick_volume")),
            strict=True,
        )
    ][::-1]
    assert ohlc == orjson.dumps(expected)
