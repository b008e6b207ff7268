"""Bars built from recorded ticks as MT5 builds them, and the timeframes the recorder keeps.

An M1 bar is the minute's bid path: open = first bid, high / low = extreme bids, close = last bid,
``tick_volume`` = the number of ticks, ``spread`` = the smallest ask - bid of the minute in points,
``real_volume`` = the summed exchange volume. Longer bars aggregate their M1 bars (first open,
highest high, lowest low, last close, summed volumes, smallest spread). Both are vectorised.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from mt5gateway.market.tiers import DEFAULT_TIERS
from mt5gateway.terminal.dtypes import RATES_DTYPE
from mt5gateway.terminal.timeframes import TIMEFRAME_SECONDS, TIMEFRAMES

__all__ = ["KEPT_TIMEFRAMES", "aggregate_bars", "bars_from_ticks", "period_start"]

# M1 (what gaps are measured on) and every timeframe a tier serves, shortest first.
KEPT_TIMEFRAMES: tuple[str, ...] = tuple(
    name for name in TIMEFRAMES if name == "M1" or any(name in tier.timeframes for tier in DEFAULT_TIERS)
)


def period_start(times: NDArray[np.int64], timeframe: str) -> NDArray[np.int64]:
    """Open time of the ``timeframe`` bar (M1 .. D1) holding each epoch second."""
    seconds = TIMEFRAME_SECONDS[TIMEFRAMES[timeframe]]
    start: NDArray[np.int64] = times - times % seconds
    return start


def _group_starts(keys: NDArray[np.int64]) -> NDArray[np.intp]:
    return np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))


def bars_from_ticks(ticks: NDArray[Any], *, digits: int) -> NDArray[Any]:
    """M1 bars of ``ticks`` (in time order; ``digits`` of the symbol's prices), one per minute with ticks."""
    if len(ticks) == 0:
        return np.empty(0, dtype=RATES_DTYPE)
    minutes = ticks["time_msc"] // 60_000 * 60
    starts = _group_starts(minutes)
    ends = np.append(starts[1:], len(ticks)) - 1
    bids = ticks["bid"]
    spread_points = np.rint((ticks["ask"] - bids) * 10.0**digits).astype(np.int64)
    bars = np.empty(len(starts), dtype=RATES_DTYPE)
    bars["time"] = minutes[starts]
    bars["open"] = bids[starts]
    bars["high"] = np.maximum.reduceat(bids, starts)
    bars["low"] = np.minimum.reduceat(bids, starts)
    bars["close"] = bids[ends]
    bars["tick_volume"] = np.diff(np.append(starts, len(ticks)))
    bars["spread"] = np.minimum.reduceat(spread_points, starts)
    bars["real_volume"] = np.add.reduceat(ticks["volume"], starts)
    return bars


def aggregate_bars(bars: NDArray[Any], timeframe: str) -> NDArray[Any]:
    """``timeframe`` bars (M1 .. D1) aggregating shorter ``bars`` (in time order)."""
    if len(bars) == 0:
        return np.empty(0, dtype=RATES_DTYPE)
    keys = period_start(bars["time"], timeframe)
    starts = _group_starts(keys)
    ends = np.append(starts[1:], len(bars)) - 1
    out = np.empty(len(starts), dtype=RATES_DTYPE)
    out["time"] = keys[starts]
    out["open"] = bars["open"][starts]
    out["high"] = np.maximum.reduceat(bars["high"], starts)
    out["low"] = np.minimum.reduceat(bars["low"], starts)
    out["close"] = bars["close"][ends]
    for field, reduce in (("tick_volume", np.add), ("spread", np.minimum), ("real_volume", np.add)):
        out[field] = reduce.reduceat(bars[field], starts)
    return out
