"""Indicator overlays (SPEC 7) on simulated EURUSD H1 bars: the issue's target is 5,000 bars in <= 5 ms.

Timed as the service does it: the payload's JSON (``orjson.dumps(overlay_fragments(...))``).
``compute_overlays`` (the same payload as Python values, parsed back from that JSON) is listed too.

The baseline, timed in the same run on the same array, is the plainest NumPy pass a fractal search
needs: a rolling max of the highs over the window (``sliding_window_view(...).max``).
"""

from __future__ import annotations

import os

import numpy as np
import orjson
from numpy.lib.stride_tricks import sliding_window_view

from bench._util import median_cpu_seconds, print_table, time_calls
from mt5gateway.indicators import OverlayParams, compute_overlays, find_overlays, minimum_history
from mt5gateway.indicators.overlays import overlay_fragments
from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.market import Market
from mt5gateway.sim.symbols import DEFAULT_SYMBOLS
from mt5gateway.terminal import constants

BARS = 5000
TARGET_MS = 5.0
REPEAT = 200
# 2026-01-01 00:00 UTC: a fixed clock makes the bars the same on every run
CLOCK_MSC = 1_767_225_600_000


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def main() -> None:
    market = Market(DEFAULT_SYMBOLS, seed=7, clock=ManualClock(CLOCK_MSC))
    rates = market.rates_from_pos("EURUSD", constants.TIMEFRAME_H1, 0, BARS)
    digits = DEFAULT_SYMBOLS["EURUSD"].digits
    params = OverlayParams()
    high = np.ascontiguousarray(rates["high"])
    low, close = np.ascontiguousarray(rates["low"]), np.ascontiguousarray(rates["close"])

    def payload_json(bars: int) -> bytes:
        return orjson.dumps(overlay_fragments(rates, params, bars=bars, digits=digits))

    baseline = time_calls(lambda: sliding_window_view(high, params.window).max(axis=1), REPEAT)
    full = time_calls(lambda: payload_json(BARS), REPEAT)
    full_cpu = median_cpu_seconds(lambda: payload_json(BARS), REPEAT)
    typical = time_calls(lambda: payload_json(1000), REPEAT)
    plain = time_calls(lambda: compute_overlays(rates, params, bars=BARS, digits=digits), REPEAT // 4)
    analysis = time_calls(lambda: find_overlays(high, low, close, params), REPEAT)
    wide = OverlayParams(lookback=5000)
    widest = time_calls(lambda: find_overlays(high, low, close, wide), 20)
    payload = payload_json(BARS)

    overlays = find_overlays(high, low, close, params)
    found = sum(
        bool(lines)
        for lines in (
            overlays.peak_lines,
            overlays.bottom_lines,
            overlays.ascending_lines,
            overlays.descending_lines,
        )
    )
    verdict = "yes" if full.median <= TARGET_MS / 1000 else "NO"
    print(f"load average {' '.join(f'{value:.1f}' for value in os.getloadavg())} on {os.cpu_count()} cores")
    print(
        f"EURUSD H1, {BARS} bars (minimum history {minimum_history(params)}), "
        f"{overlays.fractals.peaks.size} peaks / {overlays.fractals.bottoms.size} bottoms, "
        f"{found} of 4 line kinds found; payload {len(payload) / 1024:.0f} KiB"
    )
    print_table(
        [
            ("baseline: numpy rolling max, window 35", _ms(baseline.median), "-", "-"),
            (f"payload JSON, bars={BARS} (median)", _ms(full.median), f"<= {TARGET_MS} ms", verdict),
            (f"payload JSON, bars={BARS} (p99)", _ms(full.percentile(99)), "-", "-"),
            (f"payload JSON, bars={BARS} (median CPU time)", _ms(full_cpu), "-", "-"),
            ("payload JSON, bars=1000 (median)", _ms(typical.median), "-", "-"),
            (f"compute_overlays (Python values), bars={BARS} (median)", _ms(plain.median), "-", "-"),
            ("find_overlays: analysis only (median)", _ms(analysis.median), "-", "-"),
            ("find_overlays, lookback 5000 (median)", _ms(widest.median), "-", "-"),
            ("compute / baseline", f"{full.median / baseline.median:.1f} x", "-", "-"),
        ]
    )


if __name__ == "__main__":
    main()
