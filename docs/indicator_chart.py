"""Print an ASCII chart of the overlays on simulated bars (the picture in docs/indicators.md).

Run: ``.venv/bin/python docs/indicator_chart.py [SYMBOL] [TIMEFRAME]`` (default EURUSD H4). Each
column gathers ``BARS_PER_COLUMN`` bars of the lookback: ``|`` spans their range, ``^`` / ``v`` mark a
peak / bottom fractal, ``P`` / ``B`` the best horizontal peak / bottom line, ``A`` / ``D`` the best
ascending / descending line.
"""

from __future__ import annotations

import sys

import numpy as np

from mt5gateway.indicators import Line, OverlayParams, find_overlays, minimum_history
from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.market import Market
from mt5gateway.sim.symbols import DEFAULT_SYMBOLS
from mt5gateway.terminal import timeframe_from_name

HEIGHT = 28
BARS_PER_COLUMN = 4
# 2026-01-01 00:00 UTC: a fixed clock gives the same picture on every run
CLOCK_MSC = 1_767_225_600_000


def main() -> None:
    symbol = sys.argv[1] if len(sys.argv) > 1 else "EURUSD"
    timeframe = sys.argv[2] if len(sys.argv) > 2 else "H4"
    params = OverlayParams()
    market = Market(DEFAULT_SYMBOLS, seed=7, clock=ManualClock(CLOCK_MSC))
    rates = market.rates_from_pos(symbol, timeframe_from_name(timeframe), 0, minimum_history(params))
    high, low, close = (np.ascontiguousarray(rates[name]) for name in ("high", "low", "close"))
    overlays = find_overlays(high, low, close, params)
    count = close.shape[0]
    first_row = count - params.lookback
    columns = params.lookback // BARS_PER_COLUMN
    top, bottom = high[first_row:].max(), low[first_row:].min()

    def level(price: float) -> int | None:
        """The chart row of a price (0 = top), or None when off the chart."""
        row = round((top - price) / (top - bottom) * (HEIGHT - 1))
        return row if 0 <= row < HEIGHT else None

    grid = [[" "] * columns for _ in range(HEIGHT)]
    for column in range(columns):
        rows = slice(first_row + column * BARS_PER_COLUMN, first_row + (column + 1) * BARS_PER_COLUMN)
        upper, lower = level(float(high[rows].max())), level(float(low[rows].min()))
        for row in range(upper or 0, (lower if lower is not None else HEIGHT - 1) + 1):
            grid[row][column] = "|"
    best: list[tuple[str, list[Line]]] = [
        ("P", overlays.peak_lines),
        ("B", overlays.bottom_lines),
        ("A", overlays.ascending_lines),
        ("D", overlays.descending_lines),
    ]
    for mark, lines in best:
        if not lines:
            continue
        line = lines[0]
        for column in range(columns):
            bar = first_row + column * BARS_PER_COLUMN + BARS_PER_COLUMN - 1
            row = level(line.value_at(bar)) if bar >= line.first_row else None
            if row is not None:
                grid[row][column] = mark
    for mark, fractal_rows, prices in (
        ("^", overlays.fractals.peaks, high),
        ("v", overlays.fractals.bottoms, low),
    ):
        for fractal_row in fractal_rows[fractal_rows >= first_row]:
            row = level(float(prices[fractal_row]))
            if row is not None:
                grid[row][(fractal_row - first_row) // BARS_PER_COLUMN] = mark
    digits = DEFAULT_SYMBOLS[symbol].digits
    print(
        f"{symbol} {timeframe}, last {params.lookback} bars, {BARS_PER_COLUMN} per column, defaults of SPEC 7"
    )
    for row, cells in enumerate(grid):
        price = top - (top - bottom) * row / (HEIGHT - 1)
        print(f"{price:>{digits + 6}.{digits}f} {''.join(cells)}")
    for mark, lines in best:
        for line in lines[:1]:
            print(
                f"{mark}: anchors at index {count - 1 - line.first_row} and {count - 1 - line.last_row}, "
                f"{line.touches} touches, angle {line.angle:+.1f} deg, score {line.score:.1f}"
            )


if __name__ == "__main__":
    main()
