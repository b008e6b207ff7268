"""Real bars from a CSV file, for the market to replay instead of generated prices.

The file has a header row naming at least ``time, open, high, low, close, tick_volume`` and
optionally ``spread`` (points); other columns are ignored. ``time`` is the bar's open time in server
time, as an MT5 export writes it (a date-time is read as if it were UTC), as epoch seconds or a
date-time (``2024-03-01 14:05``, ``2024.03.01 14:05:00``, ISO 8601). The bars'
timeframe is the smallest step between two rows (M1 ... D1) unless given. The symbol is given or
taken from the file name up to its first ``_`` (``EURUSD_M1.csv`` replays EURUSD).

The market serves these bars for that symbol at their timeframe and every multiple of it, and draws
ticks inside each bar that reproduce it (see ``mt5gateway.sim.market``).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..terminal import constants as c
from ..terminal.dtypes import RATES_DTYPE
from ..terminal.timeframes import TIMEFRAME_SECONDS

__all__ = ["ReplayBars", "load_replay_csv"]

_REQUIRED = ("time", "open", "high", "low", "close", "tick_volume")
# the timeframes a replay may use as its base: fixed lengths that divide a day
_BASE_SECONDS = sorted(s for tf, s in TIMEFRAME_SECONDS.items() if tf <= c.TIMEFRAME_D1)


@dataclass(frozen=True)
class ReplayBars:
    """Bars of one symbol at one timeframe, sorted by time; ``has_spread`` False when the file gave
    none (the market then uses the symbol's typical spread)."""

    symbol: str
    timeframe_seconds: int
    rates: npt.NDArray[np.void]
    has_spread: bool

    def __post_init__(self) -> None:
        rates = self.rates
        if self.timeframe_seconds not in _BASE_SECONDS:
            raise ValueError(f"replay timeframe of {self.timeframe_seconds} s is not M1..D1")
        times = rates["time"]
        if np.any(times % self.timeframe_seconds):
            raise ValueError(f"replay bar times are not aligned to {self.timeframe_seconds} s")
        if np.any(np.diff(times) <= 0):
            raise ValueError("replay bar times must be strictly increasing")
        bad = (rates["high"] < np.maximum(rates["open"], rates["close"])) | (
            rates["low"] > np.minimum(rates["open"], rates["close"])
        )
        if np.any(bad):
            first = int(times[np.argmax(bad)])
            raise ValueError(f"replay bar at {first} has high/low outside its open/close")
        if np.any(rates["low"] <= 0):
            raise ValueError("replay prices must be positive")


def _parse_time(text: str) -> int:
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    date, _, clock = text.replace("T", " ").partition(" ")
    moment = datetime.fromisoformat(f"{date.replace('.', '-')} {clock or '00:00'}".strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _infer_timeframe(times: npt.NDArray[np.int64]) -> int:
    steps = np.diff(times)
    positive = steps[steps > 0]
    smallest = int(positive.min()) if len(positive) else 60
    for seconds in _BASE_SECONDS:
        if smallest <= seconds and all(t % seconds == 0 for t in times[:50].tolist()):
            return seconds
    raise ValueError(f"cannot infer a replay timeframe from a {smallest} s step")


def load_replay_csv(
    path: str | os.PathLike[str], *, symbol: str | None = None, timeframe_seconds: int | None = None
) -> ReplayBars:
    """Read a CSV of bars (see the module docstring); raises ValueError on a malformed file."""
    file = Path(path)
    name = (symbol or file.stem.split("_")[0]).upper()
    with file.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip().lower().lstrip("<").rstrip(">") for h in reader.fieldnames or []]
        missing = [column for column in _REQUIRED if column not in header]
        if missing:
            raise ValueError(f"{file}: missing columns {', '.join(missing)}")
        reader.fieldnames = header
        rows = list(reader)
    if not rows:
        raise ValueError(f"{file}: no bars")
    has_spread = "spread" in header
    rates = np.zeros(len(rows), dtype=RATES_DTYPE)
    try:
        rates["time"] = [_parse_time(row["time"]) for row in rows]
        for column in ("open", "high", "low", "close"):
            rates[column] = [float(row[column]) for row in rows]
        rates["tick_volume"] = [int(float(row["tick_volume"])) for row in rows]
        if has_spread:
            rates["spread"] = [int(float(row["spread"])) for row in rows]
    except (TypeError, ValueError) as error:
        raise ValueError(f"{file}: {error}") from None
    rates.sort(order="time")
    seconds = timeframe_seconds or _infer_timeframe(rates["time"])
    return ReplayBars(symbol=name, timeframe_seconds=seconds, rates=rates, has_spread=has_spread)
