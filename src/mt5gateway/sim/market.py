"""The simulated market: bars and ticks of every symbol, a pure function of (seed, symbol, time).

All times are server times (``sim.markettime``: the server's wall clock written as epoch seconds
as if it were UTC, as MT5 does), epoch seconds (bars) or epoch milliseconds (ticks). History starts
on 2000-01-01 and ends on 2100-01-01; before the first bar there is nothing.

How prices are made (generated symbols)
---------------------------------------
- **Daily anchors.** For every day since 2000-01-01 random draws (seeded by seed, symbol and a
  block of 2048 days) give the day's volatility, an AR(1) log-volatility (volatility clusters),
  and its closing log price, a slowly mean-reverting walk around the symbol's ``start_price``
  (half-life two years, shorter for volatile symbols) so levels stay realistic at any date.
  Closed days do not move.
- **Minutes.** The open minutes of a market day are drawn by the market model (``sim.model``:
  Student-t shocks, a short volatility memory over a slow random one, an intraday profile set in
  each exchange's local time, jumps at scheduled releases, gaps after weekends and pauses, tick
  volume and a spread floor with bursts and a rollover plateau) from a generator seeded by (seed,
  symbol, day), as a bridge from the previous open day's close to the day's anchor. Days are
  market days (New York + 7 h); with a server clock other than the broker convention their bars
  are restamped in server time as they are served.
- **Ticks.** The ticks of each hour are drawn from a generator seeded by (seed, symbol, hour) so
  that each minute's ticks reproduce its bar exactly: as many ticks as ``tick_volume``, the first
  bid is the open, the last the close, the highest the high, the lowest the low, times strictly
  increasing inside the minute. Ask = bid + the minute's spread + 0..2 points. Flags: BID and/or
  ASK for what changed since the previous tick (both on the first tick of an hour, and on a tick
  that repeats its predecessor, which only a replay can produce). ``last``, ``volume`` and
  ``volume_real`` are 0 (no exchange trades), so ``COPY_TICKS_TRADE`` finds nothing.
- **Higher timeframes** are exact aggregates of the minutes: open of the first, highest high,
  lowest low, close of the last, summed tick and real volume, and the *minimum* spread. Bars of
  M1..D1 start at multiples of their length in server time; W1 bars on Sunday 00:00 and MN1 bars on
  the 1st. D1 and longer are built from cached hourly rows, so long spans stay cheap.

The live edge
-------------
Nothing after the clock's now is served. The bar of the current minute is the aggregate of its ticks
up to now (it appears with its first tick), so it grows until the minute turns. ``last_tick`` is the
newest tick at or before now; while the market is closed, the last tick before the close.

Replay
------
A symbol given a ``ReplayBars`` (from ``replay.load_replay_csv``) serves those bars instead, their
times taken as server times: at their
timeframe and its multiples (asking for a shorter or incommensurate timeframe raises
``MarketError``), with ticks drawn inside each bar as above. Prices are rounded to the symbol's
tick size, and a bar whose tick volume is too small to draw it (4 ticks for a bar whose high and
low are both beyond its open and close) gets the minimum.

Errors
------
``UnknownSymbol`` (a ``KeyError`` and ``MarketError``) for a symbol the market does not have;
``MarketError`` (a ``ValueError``) for a bad timeframe, count, position or flags. The terminal layer
maps them to ``last_error`` codes.

Memory
------
Caches are bounded LRUs per symbol: 128 days of minute bars (about 11 MB), 4096 days of hourly
rows (about 6 MB; long D1, W1 and MN1 spans do not pass through the minute cache) and 24 hours of
ticks (about 4 MB): some 25 MB of market data for a worker process serving one symbol.
"""

from __future__ import annotations

import abc
import hashlib
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from ..terminal import constants as c
from ..terminal.dtypes import RATES_DTYPE, TICKS_DTYPE
from ..terminal.records import Tick
from ..terminal.timeframes import TIMEFRAME_SECONDS
from .clock import Clock
from .markettime import ServerTime
from .model import DayAnchors, SymbolModel
from .replay import ReplayBars, load_replay_csv
from .symbols import SECONDS_PER_DAY, SymbolSpec

__all__ = ["HISTORY_END", "HISTORY_START", "Market", "MarketError", "UnknownSymbol"]

Rates = npt.NDArray[np.void]
Ticks = npt.NDArray[np.void]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

EPOCH_DAY = 10_957  # 2000-01-01
END_DAY = 47_482  # 2100-01-01
HISTORY_START = EPOCH_DAY * SECONDS_PER_DAY
HISTORY_END = END_DAY * SECONDS_PER_DAY

HOUR = 3_600
_LOG_VOL_PERSISTENCE = 0.97  # day-to-day AR(1) coefficient of log volatility
_LOG_VOL_SHOCK = 0.12
_LONGEST_HALF_LIFE_DAYS = 730.0
_LEVEL_SPREAD = 0.35  # stationary standard deviation of the log price around log(start_price)
_ANCHOR_BLOCK_DAYS = 2_048
_INITIAL_STATE_INDEX = 1 << 40  # a stream number no anchor block reaches
_MIN_GENERATED_TICKS = 4

# generator streams, so that the draws of anchors, minutes and ticks never overlap
_STREAM_ANCHORS = 1
_STREAM_MINUTES = 2
_STREAM_TICKS = 3

_BASE_CACHE_DAYS = 128
_COARSE_CACHE_DAYS = 4_096
_TICK_CACHE_CHUNKS = 24
_GENERATION_BATCH_DAYS = 8  # small batches keep the temporaries in cache

_INFO_FLAGS = c.TICK_FLAG_BID | c.TICK_FLAG_ASK
_TRADE_FLAGS = c.TICK_FLAG_LAST | c.TICK_FLAG_VOLUME | c.TICK_FLAG_BUY | c.TICK_FLAG_SELL


class MarketError(ValueError):
    """A request the market cannot serve: bad timeframe, count, position, flags or time."""


class UnknownSymbol(MarketError, KeyError):
    """The market has no such symbol."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown symbol"


# ---------------------------------------------------------------------------------------- helpers

K = TypeVar("K")
V = TypeVar("V")


class _LRU(Generic[K, V]):
    """A small thread-safe LRU mapping (values are computed outside the lock by the caller)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)


def _stable_key(name: str) -> int:
    """A 64-bit key of a symbol name that is the same in every process (``hash()`` is salted)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


class _Streams:
    """Independent random streams numbered 0, 1, 2, ... (days, hours, blocks) of one (seed, symbol,
    purpose): stream ``i`` is one seeded PCG64 advanced by ``i * 2**64`` draws. Advancing is
    logarithmic, so opening a stream costs a few microseconds where seeding a new one costs ~15."""

    def __init__(self, seed: int, symbol_key: int, purpose: int) -> None:
        self._origin = np.random.PCG64((seed << 72) | (symbol_key << 8) | purpose).state

    def generators(self, indices: Iterable[int]) -> Iterator[np.random.Generator]:
        """One generator per index, in order; each is only valid until the next is yielded."""
        bit_generator = np.random.PCG64(0)
        generator = np.random.Generator(bit_generator)
        for index in indices:
            bit_generator.state = self._origin
            bit_generator.advance(index << 64)
            yield generator

    def generator(self, index: int) -> np.random.Generator:
        """The generator of stream ``index``."""
        return next(self.generators([index]))


def _ar1(innovations: FloatArray, coefficient: float, initial: float) -> FloatArray:
    """``x[t] = coefficient * x[t-1] + innovations[t]`` with ``x[-1] = initial``, vectorised.

    Uses the closed form ``x[t] = a**(t+1) * (initial + sum_j innovations[j] * a**-(j+1))`` per
    block, the block short enough that ``a**-block`` stays far from overflow.
    """
    out = np.empty_like(innovations)
    block = max(1, int(300 / -math.log(coefficient)))
    state = initial
    for start in range(0, len(innovations), block):
        segment = innovations[start : start + block]
        powers = np.cumprod(np.full(len(segment), coefficient))  # a**1 .. a**n, cheaper than pow
        values = powers * (state + np.cumsum(segment / powers))
        out[start : start + len(segment)] = values
        state = float(values[-1])
    return out


def _aggregate(rows: Rates, keys: IntArray) -> Rates:
    """Bars grouping consecutive ``rows`` with equal ``keys`` (each key the group's open time)."""
    if len(rows) == 0:
        return np.empty(0, dtype=RATES_DTYPE)
    starts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate(([0], starts))
    ends = np.append(starts[1:], len(rows)) - 1
    out = np.empty(len(starts), dtype=RATES_DTYPE)
    out["time"] = keys[starts]
    out["open"] = rows["open"][starts]
    out["close"] = rows["close"][ends]
    out["high"] = np.maximum.reduceat(rows["high"], starts)
    out["low"] = np.minimum.reduceat(rows["low"], starts)
    out["tick_volume"] = np.add.reduceat(rows["tick_volume"], starts)
    out["spread"] = np.minimum.reduceat(rows["spread"], starts)
    out["real_volume"] = np.add.reduceat(rows["real_volume"], starts)
    return out


def _join(parts: list[npt.NDArray[np.void]], dtype: np.dtype[np.void]) -> npt.NDArray[np.void]:
    """A new array joining same-dtype record arrays (never a view of one: callers hand results out
    and must not let a caller's edit reach a cache). Joined as raw bytes: the record path is far
    slower."""
    if len(parts) == 1:
        return parts[0].copy()
    if not parts:
        return np.empty(0, dtype=dtype)
    joined: npt.NDArray[np.void] = np.concatenate(
        [np.ascontiguousarray(part).view(np.uint8) for part in parts]
    ).view(dtype)
    return joined


def _period_keys(times: IntArray, timeframe: int) -> IntArray:
    """The open time of the ``timeframe`` bar containing each time."""
    if timeframe == c.TIMEFRAME_W1:
        days = times // SECONDS_PER_DAY
        return (days - (days + 4) % 7) * SECONDS_PER_DAY  # back to Sunday (1970-01-01 a Thursday)
    if timeframe == c.TIMEFRAME_MN1:
        months = times.astype("datetime64[s]").astype("datetime64[M]")
        return months.astype("datetime64[s]").astype(np.int64)
    seconds = TIMEFRAME_SECONDS[timeframe]
    return times - times % seconds


def _period_last_day(day: int, timeframe: int) -> int:
    """The last day of the ``timeframe`` period that starts at or contains ``day``."""
    if timeframe == c.TIMEFRAME_W1:
        return day - (day + 4) % 7 + 6
    if timeframe == c.TIMEFRAME_MN1:
        month = np.datetime64(day, "D").astype("datetime64[M]")
        return int((month + 1).astype("datetime64[D]").astype(np.int64)) - 1
    return day


def _ticks_from_bars(
    bars: Rates, scale: float, tick_points: int, bar_ms: int, rng: np.random.Generator
) -> Ticks:
    """Ticks that reproduce each bar exactly (see the module docstring), oldest first.

    ``bars`` must be drawable: ``tick_volume`` at least the number of distinct extremes to visit.
    """
    count = bars["tick_volume"].astype(np.int64)
    total = int(count.sum())
    n_bars = len(bars)
    if total == 0:
        return np.empty(0, dtype=TICKS_DTYPE)
    uniform = rng.random(4 * n_bars + 2 * total)
    noise = rng.standard_normal(total)
    u_first, u_second, u_order, u_tail = uniform[: 4 * n_bars].reshape(4, n_bars)
    u_gap, u_spread = uniform[4 * n_bars :].reshape(2, total)

    # prices in points
    o, h, lo, cl = (np.rint(bars[f] * scale).astype(np.int64) for f in ("open", "high", "low", "close"))
    starts = np.cumsum(count) - count
    bar_of = np.repeat(np.arange(n_bars), count)
    index = np.arange(total)
    k = index - starts[bar_of]
    n = count[bar_of]

    # times: exponential gaps squeezed into the bar, plus the tick's rank for strict increase
    gaps = -np.log1p(-u_gap)
    running = np.cumsum(gaps)
    within = running - (running[starts] - gaps[starts])[bar_of]
    span = within[starts + count - 1] - np.log(u_tail + 1e-12) + 1e-9
    fraction = within / span[bar_of]
    offsets = np.floor(fraction * (bar_ms - n)).astype(np.int64) + k
    time_msc = bars["time"].astype(np.int64)[bar_of] * 1000 + offsets

    # knots: open at 0, the two extremes at interior positions, close at the end
    interior = np.maximum(count - 2, 1)
    first = 1 + np.floor(u_first * interior).astype(np.int64)
    second = 1 + np.floor(u_second * np.maximum(interior - 1, 1)).astype(np.int64)
    second += second >= first
    low_first = u_order < 0.5
    value_a = np.where(low_first, lo, h)
    value_b = np.where(low_first, h, lo)
    pos_a, pos_b = np.minimum(first, second), np.maximum(first, second)
    three = count == 3
    needed = np.where(h > np.maximum(o, cl), h, np.where(lo < np.minimum(o, cl), lo, o))
    value_a = np.where(three, needed, value_a)
    value_b = np.where(three, needed, value_b)
    pos_a = np.where(three, 1, pos_a)
    pos_b = np.where(three, 1, pos_b)
    few = count <= 2
    value_a = np.where(few, o, value_a)
    value_b = np.where(few, o, value_b)
    pos_a = np.where(few, 0, pos_a)
    pos_b = np.where(few, 0, pos_b)

    pa, pb, va, vb = pos_a[bar_of], pos_b[bar_of], value_a[bar_of], value_b[bar_of]
    before_a = k < pa
    between = (k >= pa) & (k < pb)
    i0 = np.where(before_a, 0, np.where(between, pa, pb))
    i1 = np.where(before_a, pa, np.where(between, pb, n - 1))
    v0 = np.where(before_a, o[bar_of], np.where(between, va, vb))
    v1 = np.where(before_a, va, np.where(between, vb, cl[bar_of]))
    f = (k - i0) / np.maximum(i1 - i0, 1)
    path = v0 + (v1 - v0) * f + noise * (0.6 * (h - lo)[bar_of]) * np.sqrt(f * (1.0 - f))
    bid = np.clip(np.rint(path).astype(np.int64), lo[bar_of], h[bar_of])
    bid = bid - bid % tick_points

    # spread: the bar's (minimum) spread plus 0..2 points; a tick whose bid repeats its
    # predecessor's alternates its extra point so that it still changes the ask
    extra = (u_spread < 0.3).astype(np.int64) + (u_spread < 0.08)
    extra[starts] = 0
    changed = np.ones(total, dtype=bool)
    changed[1:] = bid[1:] != bid[:-1]
    changed[starts] = True
    run_start = np.maximum.accumulate(np.where(changed, index, 0))
    run_extra = extra[run_start]
    flipped = np.where(run_extra == 0, 1, run_extra - 1)
    extra = np.where((index - run_start) % 2 == 1, flipped, run_extra)
    ask = bid + bars["spread"].astype(np.int64)[bar_of] + extra

    bid_moved = np.ones(total, dtype=bool)
    ask_moved = np.ones(total, dtype=bool)
    bid_moved[1:] = bid[1:] != bid[:-1]
    ask_moved[1:] = ask[1:] != ask[:-1]
    flags = np.where(bid_moved, c.TICK_FLAG_BID, 0) | np.where(ask_moved, c.TICK_FLAG_ASK, 0)
    flags[flags == 0] = _INFO_FLAGS

    ticks = np.zeros(total, dtype=TICKS_DTYPE)
    ticks["time"] = time_msc // 1000
    ticks["bid"] = bid / scale
    ticks["ask"] = ask / scale
    ticks["time_msc"] = time_msc
    ticks["flags"] = flags
    return ticks


def _bar_from_ticks(ticks: Ticks, open_time: int, scale: float) -> Rates:
    """One bar aggregating ``ticks`` (the forming bar at the live edge)."""
    bar = np.zeros(1, dtype=RATES_DTYPE)
    bids = ticks["bid"]
    bar["time"] = open_time
    bar["open"] = bids[0]
    bar["high"] = bids.max()
    bar["low"] = bids.min()
    bar["close"] = bids[-1]
    bar["tick_volume"] = len(ticks)
    bar["spread"] = int(np.rint((ticks["ask"] - bids) * scale).min())
    return bar


# ------------------------------------------------------------------------------------------ feeds


@dataclass(frozen=True, slots=True)
class _LiveChunk:
    """The tick chunk ``last_tick`` read last, kept so that the next call is a binary search."""

    start_msc: int
    end_msc: int
    ticks: Ticks
    times: IntArray
    before: Tick | None  # the last tick before the chunk, when the chunk had none at or before now


class _Feed(abc.ABC):
    """One symbol's source of bars (per day, at its base timeframe) and ticks (per chunk)."""

    spec: SymbolSpec
    base_seconds: int
    open_days: IntArray  # sorted epoch day numbers that have bars

    def __init__(
        self, spec: SymbolSpec, seed: int, base_seconds: int, shift: ServerTime | None = None
    ) -> None:
        self.spec = spec
        self.seed = seed
        # how server time differs from the feed's own (market) time; None: it does not
        self.shift = shift
        self.key = _stable_key(spec.name)
        self._tick_streams = _Streams(seed, self.key, _STREAM_TICKS)
        self.base_seconds = base_seconds
        self.coarse_seconds = max(HOUR, base_seconds)
        self.chunk_seconds = max(HOUR, base_seconds)
        self.scale = float(10**spec.digits)
        self._base_cache: _LRU[int, Rates] = _LRU(_BASE_CACHE_DAYS)
        self._coarse_cache: _LRU[int, Rates] = _LRU(_COARSE_CACHE_DAYS)
        self._tick_cache: _LRU[int, Ticks] = _LRU(_TICK_CACHE_CHUNKS)
        self.live_chunk: _LiveChunk | None = None

    def market_msc(self, server_msc: int) -> int:
        """The feed's own time of a server time (ms)."""
        return server_msc if self.shift is None else self.shift.market_msc(server_msc)

    def market_sec(self, server_sec: int) -> int:
        """The feed's own time of a server time (s)."""
        return self.market_msc(server_sec * 1000) // 1000

    def server_sec(self, market_sec: int) -> int:
        """The server time of one of the feed's own times (s)."""
        return market_sec if self.shift is None else self.shift.server_msc(market_sec * 1000) // 1000

    def to_server(self, rows: npt.NDArray[np.void]) -> npt.NDArray[np.void]:
        """Rates or ticks (a fresh array, changed in place) restamped in server time; a time that
        does not exist in server time (the hour skipped in March) is dropped."""
        if self.shift is None or len(rows) == 0:
            return rows
        times, exists = self.shift.server_from_market(rows["time"])
        delta = times - rows["time"]
        rows["time"] = times
        if rows.dtype == TICKS_DTYPE:
            rows["time_msc"] += delta * 1000
        kept: npt.NDArray[np.void] = rows if exists.all() else rows[exists]
        return kept

    def tick_to_server(self, tick: Tick) -> Tick:
        """One tick restamped in server time."""
        if self.shift is None:
            return tick
        time_msc = self.shift.server_msc(tick.time_msc)
        return tick._replace(time=time_msc // 1000, time_msc=time_msc)

    @abc.abstractmethod
    def _make_days(self, days: IntArray) -> list[Rates]:
        """The base bars of each of ``days`` (open days), one array per day."""

    @staticmethod
    def _through_cache(
        cache: _LRU[int, Rates], days: IntArray, make: Callable[[IntArray], list[Rates]], remember: bool
    ) -> list[Rates]:
        """Each day's rows from ``cache``; the missing ones made a batch at a time (and cached if
        ``remember``)."""
        found = [cache.get(int(day)) for day in days]
        missing = np.array([int(day) for day, rows in zip(days, found, strict=True) if rows is None])
        made: dict[int, Rates] = {}
        for start in range(0, len(missing), _GENERATION_BATCH_DAYS):
            batch = missing[start : start + _GENERATION_BATCH_DAYS]
            for day, rows in zip(batch.tolist(), make(batch), strict=True):
                if remember:
                    cache.put(day, rows)
                made[day] = rows
        return [rows if rows is not None else made[int(day)] for day, rows in zip(days, found, strict=True)]

    def days_base(self, days: IntArray, *, remember: bool = True) -> list[Rates]:
        """The base bars of each day in ``days`` (cached if ``remember``)."""
        return self._through_cache(self._base_cache, days, self._make_days, remember)

    def days_coarse(self, days: IntArray) -> list[Rates]:
        """The bars of each day in ``days`` aggregated to ``coarse_seconds`` (hourly rows), cached.

        Long spans would only flush the minute cache, so their minutes are made and dropped."""
        return self._through_cache(
            self._coarse_cache,
            days,
            lambda batch: [self.coarsen(base) for base in self.days_base(batch, remember=False)],
            True,
        )

    def coarsen(self, base: Rates) -> Rates:
        """A day's base bars aggregated to ``coarse_seconds``."""
        if self.coarse_seconds == self.base_seconds:
            return base
        return _aggregate(base, _period_keys(base["time"], c.TIMEFRAME_H1))

    def chunk_ticks(self, chunk_start: int) -> Ticks:
        """Every tick of the bars opening in ``[chunk_start, chunk_start + chunk_seconds)``."""
        ticks = self._tick_cache.get(chunk_start)
        if ticks is not None:
            return ticks
        day = chunk_start // SECONDS_PER_DAY
        position = np.searchsorted(self.open_days, day)
        if position < len(self.open_days) and self.open_days[position] == day:
            base = self.days_base(np.array([day]))[0]
            times = base["time"]
            lo, hi = np.searchsorted(times, [chunk_start, chunk_start + self.chunk_seconds])
            rng = self._tick_streams.generator(chunk_start)
            ticks = _ticks_from_bars(
                base[lo:hi], self.scale, self.spec.tick_points, self.base_seconds * 1000, rng
            )
        else:
            ticks = np.empty(0, dtype=TICKS_DTYPE)
        self._tick_cache.put(chunk_start, ticks)
        return ticks


class _GeneratedFeed(_Feed):
    """Prices drawn from the model in the module docstring."""

    def __init__(self, spec: SymbolSpec, seed: int, shift: ServerTime | None) -> None:
        super().__init__(spec, seed, 60, shift)
        sessions = spec.sessions
        all_days = np.arange(EPOCH_DAY, END_DAY, dtype=np.int64)
        is_open = sessions.open_days_mask(all_days)
        self.open_days = all_days[is_open]
        self._minutes = sessions.minutes_per_day
        self._model = SymbolModel(spec)
        self._minute_offsets = 60 * (sessions.open_minute + np.arange(self._minutes, dtype=np.int64))
        self._minute_streams = _Streams(seed, self.key, _STREAM_MINUTES)
        self._anchor_streams = _Streams(seed, self.key, _STREAM_ANCHORS)
        # the daily anchors, filled lazily from 2000-01-01 on (see _anchor_through)
        self._day_is_open = is_open
        self._log_close = np.empty(len(all_days))
        self._log_previous = np.empty(len(all_days))
        self._day_vol = np.empty(len(all_days))
        self._anchored = 0
        self._anchor_lock = threading.Lock()
        self._log_start = math.log(spec.start_price)
        open_share = len(sessions.weekdays) / 7
        self._daily_vol = spec.annual_volatility / math.sqrt(365.25 * open_share)
        # pull back towards start_price: half-life two years, or shorter for a volatile symbol so
        # that its level stays within about 35 % (log) of start_price
        variance_per_day = self._daily_vol**2 * open_share
        pull = max(math.log(2.0) / _LONGEST_HALF_LIFE_DAYS, variance_per_day / (2 * _LEVEL_SPREAD**2))
        self._reversion = 1.0 - pull
        # start the walk from its stationary distribution, not exactly at start_price
        stationary = math.sqrt(variance_per_day / (1 - self._reversion**2))
        initial = self._anchor_streams.generator(_INITIAL_STATE_INDEX).standard_normal()
        self._deviation_state = float(initial) * stationary
        self._previous_close_state = self._log_start + self._deviation_state
        self._log_vol_state = 0.0

    def bars_per_day(self, timeframe_seconds: int) -> int:
        """Bars of a timeframe (at most a day long) on every whole open day."""
        sessions = self.spec.sessions
        first = sessions.open_minute * 60 // timeframe_seconds
        last = -(-sessions.close_minute * 60 // timeframe_seconds)
        return last - first

    def _anchor_through(self, last_index: int) -> None:
        """Compute the per-day anchors (closing log price, the previous open day's close, the day's
        volatility) up to day index ``last_index``, a block of days at a time from 2000-01-01.

        Each block draws from its own generator and carries the walk's state over, so a day's
        anchor is the same however far the computation has gone."""
        with self._anchor_lock:
            while self._anchored <= last_index:
                block = self._anchored // _ANCHOR_BLOCK_DAYS
                lo, hi = self._anchored, min(self._anchored + _ANCHOR_BLOCK_DAYS, len(self._log_close))
                is_open = self._day_is_open[lo:hi]
                shocks = self._anchor_streams.generator(block).standard_normal((2, hi - lo))
                log_vol = _ar1(shocks[0] * _LOG_VOL_SHOCK, _LOG_VOL_PERSISTENCE, self._log_vol_state)
                day_vol = self._daily_vol * np.exp(
                    log_vol - _LOG_VOL_SHOCK**2 / (1 - _LOG_VOL_PERSISTENCE**2)
                )
                moves = np.where(is_open, day_vol * shocks[1], 0.0)
                deviation = _ar1(moves, self._reversion, self._deviation_state)
                log_close = self._log_start + deviation
                # the close of the last open day before each day
                local = np.arange(hi - lo)
                last_open = np.maximum.accumulate(np.where(is_open, local, -1))
                before = np.concatenate(([-1], last_open[:-1]))
                self._log_previous[lo:hi] = np.where(
                    before >= 0, log_close[np.maximum(before, 0)], self._previous_close_state
                )
                self._log_close[lo:hi] = log_close
                self._day_vol[lo:hi] = day_vol
                self._log_vol_state = float(log_vol[-1])
                self._deviation_state = float(deviation[-1])
                if last_open[-1] >= 0:
                    self._previous_close_state = float(log_close[last_open[-1]])
                self._anchored = hi

    def _make_days(self, days: IntArray) -> list[Rates]:
        last_index = int(days.max()) - EPOCH_DAY
        if last_index >= self._anchored:
            self._anchor_through(last_index)
        index = days - EPOCH_DAY
        anchors = DayAnchors(
            day_vol=self._day_vol[index],
            log_previous=self._log_previous[index],
            log_close=self._log_close[index],
            after_weekend=~self._day_is_open[index - 1],
        )
        draws = self._model.draw(self._minute_streams.generators(days.tolist()), len(days))
        bars = self._model.minutes_of(days, anchors, draws, self.spec.tick_size)
        ticks_per_unit = self.scale / self.spec.tick_points  # a division keeps decimals exact
        times = (days * SECONDS_PER_DAY)[:, None] + self._minute_offsets
        # one array per day, written directly (evicting a day frees exactly its memory)
        out = []
        for row in range(len(days)):
            rates = np.empty(self._minutes, dtype=RATES_DTYPE)
            rates["time"] = times[row]
            rates["open"] = bars.open[row] / ticks_per_unit
            rates["high"] = bars.high[row] / ticks_per_unit
            rates["low"] = bars.low[row] / ticks_per_unit
            rates["close"] = bars.close[row] / ticks_per_unit
            rates["tick_volume"] = bars.tick_volume[row]
            rates["spread"] = bars.spread[row]
            rates["real_volume"] = 0
            out.append(rates)
        return out


class _ReplayFeed(_Feed):
    """Bars from a file, served per day; ticks drawn inside them."""

    def __init__(self, spec: SymbolSpec, seed: int, replay: ReplayBars) -> None:
        super().__init__(spec, seed, replay.timeframe_seconds)
        source = replay.rates
        rates = np.zeros(len(source), dtype=RATES_DTYPE)
        unit = spec.tick_points
        points = {}
        for field in ("open", "high", "low", "close"):
            points[field] = np.rint(source[field] * self.scale / unit).astype(np.int64) * unit
            rates[field] = points[field] / self.scale
        o, h, lo, cl = points["open"], points["high"], points["low"], points["close"]
        beyond = (h > np.maximum(o, cl)).astype(np.int64) + (lo < np.minimum(o, cl))
        drawable = np.where((beyond == 0) & (o == cl), 1, 2 + beyond)
        volume = np.maximum(source["tick_volume"].astype(np.int64), drawable)
        if np.any(volume > self.base_seconds * 1000):
            raise MarketError(f"replay of {spec.name}: more ticks in a bar than milliseconds")
        rates["time"] = source["time"]
        rates["tick_volume"] = volume
        rates["spread"] = source["spread"] if replay.has_spread else spec.spread
        days: IntArray = rates["time"] // SECONDS_PER_DAY
        starts = np.flatnonzero(np.diff(days)) + 1
        self.open_days = days[np.concatenate(([0], starts))]
        self._rows_by_day = dict(zip(self.open_days.tolist(), np.split(rates, starts), strict=True))

    def _make_days(self, days: IntArray) -> list[Rates]:
        return [self._rows_by_day[day] for day in days.tolist()]


# ----------------------------------------------------------------------------------------- market


class Market:
    """Bars and ticks of ``symbols`` for a seed, with the live edge at ``clock``'s now.

    ``replay``: ``ReplayBars`` or paths of CSV files (``replay.load_replay_csv``) whose symbols are
    served from the file instead of generated.
    """

    def __init__(
        self,
        symbols: Mapping[str, SymbolSpec],
        *,
        seed: int,
        clock: Clock,
        replay: Iterable[ReplayBars | str | os.PathLike[str]] | None = None,
        server_time: ServerTime | None = None,
    ) -> None:
        if seed < 0:
            raise MarketError(f"the market seed must be a non-negative integer, got {seed}")
        self.seed = seed
        self.clock = clock
        self.server_time = server_time or ServerTime()
        self._shift = None if self.server_time.is_market_time else self.server_time
        self._specs = dict(symbols)
        self.symbols: Mapping[str, SymbolSpec] = MappingProxyType(self._specs)
        self._feeds: dict[str, _Feed] = {}
        for item in replay or ():
            bars = item if isinstance(item, ReplayBars) else load_replay_csv(item)
            spec = self.spec(bars.symbol)
            self._feeds[spec.name] = _ReplayFeed(spec, seed, bars)
        self._feed_lock = threading.Lock()

    # -------------------------------------------------------------------- symbols and sessions

    def spec(self, symbol: str) -> SymbolSpec:
        """The specification of ``symbol``; raises ``UnknownSymbol``."""
        try:
            return self._specs[symbol]
        except KeyError:
            raise UnknownSymbol(f"unknown symbol {symbol!r}") from None

    def _feed(self, symbol: str) -> _Feed:
        feed = self._feeds.get(symbol)
        if feed is None:
            spec = self.spec(symbol)
            with self._feed_lock:
                feed = self._feeds.get(symbol)
                if feed is None:
                    feed = self._feeds[symbol] = _GeneratedFeed(spec, self.seed, self._shift)
        return feed

    def _in_market_time(self, symbol: str, t_sec: npt.ArrayLike) -> IntArray:
        """Server times as the symbol's sessions read them (a replayed symbol's are server times)."""
        feed = self._feeds.get(symbol)
        shift = feed.shift if feed is not None else self._shift
        times = np.asarray(t_sec, dtype=np.int64)
        return times if shift is None else shift.market_from_server(times)

    def is_open(self, symbol: str, t_sec: int) -> bool:
        """Whether ``symbol`` trades in the minute containing server time ``t_sec``."""
        spec = self.spec(symbol)
        if self._shift is None:
            return spec.sessions.is_open(t_sec)
        return spec.sessions.is_open(int(self._in_market_time(symbol, [t_sec])[0]))

    def open_mask(self, symbol: str, t_sec: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Vectorised ``is_open`` over an array of server times."""
        return self.spec(symbol).sessions.open_mask(self._in_market_time(symbol, t_sec))

    def session_minutes(self, symbol: str, day: int) -> IntArray:
        """Server times of every open minute of the server's day ``day`` (``t // 86400``)."""
        minutes = day * SECONDS_PER_DAY + 60 * np.arange(1440, dtype=np.int64)
        found: IntArray = minutes[self.open_mask(symbol, minutes)]
        return found

    # ------------------------------------------------------------------------------------ bars

    def rates_range(self, symbol: str, timeframe: int, from_sec: int, to_sec: int) -> Rates:
        """The bars opening within ``[from_sec, to_sec]``, oldest first (none after now)."""
        feed = self._feed(symbol)
        self._check_timeframe(feed, timeframe)
        return self._range(feed, timeframe, int(from_sec), int(to_sec), self.clock.now_msc())

    def rates_from(self, symbol: str, timeframe: int, date_from_sec: int, count: int) -> Rates:
        """The ``count`` newest bars opening at or before ``date_from_sec``, oldest first."""
        feed = self._feed(symbol)
        self._check_timeframe(feed, timeframe)
        self._check_count(count)
        return self._newest(feed, timeframe, int(date_from_sec), count, self.clock.now_msc())

    def rates_from_pos(self, symbol: str, timeframe: int, start_pos: int, count: int) -> Rates:
        """``count`` bars ending ``start_pos`` bars before the current one (position 0), oldest first."""
        feed = self._feed(symbol)
        self._check_timeframe(feed, timeframe)
        self._check_count(count)
        if start_pos < 0:
            raise MarketError(f"start_pos must be >= 0, got {start_pos}")
        now_msc = self.clock.now_msc()
        date_from, skip = self._skip_whole_days(feed, timeframe, start_pos, now_msc)
        if date_from is None:
            return np.empty(0, dtype=RATES_DTYPE)
        rows = self._newest(feed, timeframe, date_from, skip + count, now_msc)
        return rows[: max(0, len(rows) - skip)]

    def _skip_whole_days(
        self, feed: _Feed, timeframe: int, start_pos: int, now_msc: int
    ) -> tuple[int | None, int]:
        """Where counting back ``start_pos`` bars from now may start without generating the days in
        between: (a time to read back from, the positions still to skip there); ``None`` when the
        position is before the start of history. Generated symbols have the same number of bars on
        every whole open day, so whole days are skipped by arithmetic."""
        now_sec = now_msc // 1000
        calendar = timeframe in (c.TIMEFRAME_W1, c.TIMEFRAME_MN1)
        if not isinstance(feed, _GeneratedFeed) or calendar or feed.shift is not None:
            return now_sec, start_pos
        per_day = feed.bars_per_day(TIMEFRAME_SECONDS[timeframe])
        newest = int(np.searchsorted(feed.open_days, now_sec // SECONDS_PER_DAY, side="right")) - 1
        if newest < 0 or start_pos < per_day:
            return now_sec, start_pos
        newest_day = int(feed.open_days[newest])
        in_newest = len(self._range(feed, timeframe, newest_day * SECONDS_PER_DAY, now_sec, now_msc))
        whole_days = (start_pos - in_newest) // per_day
        if whole_days < 1:
            return now_sec, start_pos
        if newest - whole_days - 1 < 0:
            return None, 0
        day = int(feed.open_days[newest - whole_days - 1])
        return (day + 1) * SECONDS_PER_DAY - 1, start_pos - in_newest - whole_days * per_day

    @staticmethod
    def _check_timeframe(feed: _Feed, timeframe: int) -> None:
        if timeframe not in TIMEFRAME_SECONDS:
            raise MarketError(f"unknown timeframe {timeframe}")
        if timeframe in (c.TIMEFRAME_W1, c.TIMEFRAME_MN1):
            if feed.base_seconds > SECONDS_PER_DAY:
                raise MarketError(f"{feed.spec.name}: no bars at that timeframe")
            return
        if TIMEFRAME_SECONDS[timeframe] % feed.base_seconds:
            raise MarketError(
                f"{feed.spec.name} replays {feed.base_seconds} s bars: no bars at timeframe {timeframe}"
            )

    @staticmethod
    def _check_count(count: int) -> None:
        if count < 0:
            raise MarketError(f"count must be >= 0, got {count}")

    def _day_rows(self, feed: _Feed, days: IntArray, coarse: bool, now_msc: int) -> list[Rates]:
        """The bars of each open day in ``days`` (base or hourly rows), cut at the live edge."""
        now_sec = now_msc // 1000
        complete = days[(days + 1) * SECONDS_PER_DAY <= now_sec]
        parts = feed.days_coarse(complete) if coarse else feed.days_base(complete)
        if len(complete) < len(days):
            live = self._live_base(feed, int(days[len(complete)]), now_msc)
            parts.append(feed.coarsen(live) if coarse else live)
        return parts

    def _live_base(self, feed: _Feed, day: int, now_msc: int) -> Rates:
        """The base bars of ``day`` known at ``now_msc``: closed bars, then the forming one."""
        base = feed.days_base(np.array([day]))[0]
        length = feed.base_seconds
        times = base["time"]
        closed = int(np.searchsorted(times, now_msc // 1000 - length, side="right"))
        if closed == len(base) or times[closed] * 1000 > now_msc:
            return base[:closed]
        open_time = int(times[closed])
        chunk = open_time - open_time % feed.chunk_seconds
        ticks = feed.chunk_ticks(chunk)
        lo = int(np.searchsorted(ticks["time_msc"], open_time * 1000, side="left"))
        hi = int(np.searchsorted(ticks["time_msc"], now_msc, side="right"))
        if hi <= lo:
            return base[:closed]
        return _join([base[:closed], _bar_from_ticks(ticks[lo:hi], open_time, feed.scale)], RATES_DTYPE)

    def _range(self, feed: _Feed, timeframe: int, from_sec: int, to_sec: int, now_msc: int) -> Rates:
        to_sec = min(to_sec, now_msc // 1000)
        if to_sec < from_sec:
            return np.empty(0, dtype=RATES_DTYPE)
        first_day = feed.market_sec(from_sec) // SECONDS_PER_DAY
        last_second = (_period_last_day(to_sec // SECONDS_PER_DAY, timeframe) + 1) * SECONDS_PER_DAY - 1
        last_day = feed.market_sec(last_second) // SECONDS_PER_DAY
        days = feed.open_days[
            np.searchsorted(feed.open_days, first_day) : np.searchsorted(feed.open_days, last_day, "right")
        ]
        if len(days) == 0:
            return np.empty(0, dtype=RATES_DTYPE)
        calendar = timeframe in (c.TIMEFRAME_W1, c.TIMEFRAME_MN1)
        coarse = calendar or TIMEFRAME_SECONDS[timeframe] >= feed.coarse_seconds
        parts = self._day_rows(feed, days, coarse, feed.market_msc(now_msc))
        rows = feed.to_server(_join(parts, RATES_DTYPE))
        level = feed.coarse_seconds if coarse else feed.base_seconds
        if calendar or TIMEFRAME_SECONDS[timeframe] != level:
            rows = _aggregate(rows, _period_keys(rows["time"], timeframe))
        lo, hi = np.searchsorted(rows["time"], [from_sec, to_sec + 1]).tolist()
        return rows[lo:hi]

    def _newest(self, feed: _Feed, timeframe: int, date_from: int, count: int, now_msc: int) -> Rates:
        """The ``count`` newest bars opening at or before ``date_from``."""
        if count == 0:
            return np.empty(0, dtype=RATES_DTYPE)
        end = min(date_from, now_msc // 1000)
        available = int(
            np.searchsorted(feed.open_days, feed.market_sec(end) // SECONDS_PER_DAY, side="right")
        )
        if available == 0:
            return np.empty(0, dtype=RATES_DTYPE)
        # open days likely to hold ``count`` bars; doubled until enough or history runs out
        if timeframe == c.TIMEFRAME_W1:
            days_needed = 7 * (count + 1)
        elif timeframe == c.TIMEFRAME_MN1:
            days_needed = 31 * (count + 1)
        else:
            per_day = max(1, feed.spec.sessions.minutes_per_day * 60 // TIMEFRAME_SECONDS[timeframe])
            days_needed = -(-count // per_day) + 1
        while True:
            first = max(0, available - days_needed)
            first_day = int(feed.open_days[first])
            # a period start, so that the oldest bar is whole (ranges fetch whole days from there)
            start = int(_period_keys(np.array([feed.server_sec(first_day * SECONDS_PER_DAY)]), timeframe)[0])
            rows = self._range(feed, timeframe, start, date_from, now_msc)
            if len(rows) >= count or first == 0:
                return rows[-count:]
            days_needed *= 2

    # ----------------------------------------------------------------------------------- ticks

    @staticmethod
    def _select_flags(ticks: Ticks, flags: int) -> Ticks:
        if flags == c.COPY_TICKS_ALL:
            return ticks
        wanted = {c.COPY_TICKS_INFO: _INFO_FLAGS, c.COPY_TICKS_TRADE: _TRADE_FLAGS}.get(flags)
        if wanted is not None:
            selected: Ticks = ticks[(ticks["flags"] & wanted) != 0]
            return selected
        raise MarketError(f"unknown tick flags {flags}; use COPY_TICKS_ALL, INFO or TRADE")

    def _chunks_of_day(self, feed: _Feed, day: int, from_msc: int, to_msc: int) -> list[Ticks]:
        """Tick chunks of ``day`` that overlap ``[from_msc, to_msc]``."""
        step = feed.chunk_seconds
        start = max(day * SECONDS_PER_DAY, from_msc // 1000 // step * step)
        stop = min((day + 1) * SECONDS_PER_DAY, to_msc // 1000 + 1)
        return [feed.chunk_ticks(chunk) for chunk in range(start, stop, step)]

    def _ticks_between(self, feed: _Feed, days: IntArray, from_msc: int, to_msc: int) -> Ticks:
        parts = [t for day in days.tolist() for t in self._chunks_of_day(feed, day, from_msc, to_msc)]
        ticks = _join(parts, TICKS_DTYPE)
        times = ticks["time_msc"]
        lo = int(np.searchsorted(times, from_msc, side="left"))
        hi = int(np.searchsorted(times, to_msc, side="right"))
        return ticks[lo:hi]

    def ticks_range(self, symbol: str, from_msc: int, to_msc: int, flags: int) -> Ticks:
        """Ticks with ``from_msc <= time_msc <= to_msc`` (none after now), oldest first."""
        feed = self._feed(symbol)
        self._select_flags(np.empty(0, dtype=TICKS_DTYPE), flags)
        to_msc = min(int(to_msc), self.clock.now_msc())
        from_msc = int(from_msc)
        if to_msc < from_msc:
            return np.empty(0, dtype=TICKS_DTYPE)
        market_from, market_to = feed.market_msc(from_msc), feed.market_msc(to_msc)
        days = feed.open_days[
            np.searchsorted(feed.open_days, market_from // 1000 // SECONDS_PER_DAY) : np.searchsorted(
                feed.open_days, market_to // 1000 // SECONDS_PER_DAY, side="right"
            )
        ]
        ticks = feed.to_server(self._ticks_between(feed, days, market_from, market_to))
        return self._select_flags(ticks, flags)

    def ticks_from(self, symbol: str, from_msc: int, count: int, flags: int) -> Ticks:
        """Up to ``count`` ticks with ``time_msc >= from_msc`` (none after now), oldest first."""
        feed = self._feed(symbol)
        self._select_flags(np.empty(0, dtype=TICKS_DTYPE), flags)
        self._check_count(count)
        now_msc = feed.market_msc(self.clock.now_msc())
        from_msc = feed.market_msc(int(from_msc))
        position = int(np.searchsorted(feed.open_days, from_msc // 1000 // SECONDS_PER_DAY))
        last = int(np.searchsorted(feed.open_days, now_msc // 1000 // SECONDS_PER_DAY, side="right"))
        found: list[Ticks] = []
        total = 0
        while total < count and position < last:
            day = feed.open_days[position : position + 1]
            ticks = self._select_flags(self._ticks_between(feed, day, from_msc, now_msc), flags)
            found.append(ticks)
            total += len(ticks)
            position += 1
        if not found:
            return np.empty(0, dtype=TICKS_DTYPE)
        return feed.to_server(_join(found, TICKS_DTYPE)[:count])

    def last_tick(self, symbol: str) -> Tick:
        """The newest tick at or before now (while closed, the last one before the close).

        Raises ``MarketError`` when the clock is before the symbol's first tick.
        """
        feed = self._feed(symbol)
        now_msc = feed.market_msc(self.clock.now_msc())
        live = feed.live_chunk
        if live is not None and live.start_msc <= now_msc < live.end_msc:
            position = int(live.times.searchsorted(now_msc, side="right"))
            if position:
                return feed.tick_to_server(Tick._make(live.ticks[position - 1].item()))
            if live.before is not None:
                return feed.tick_to_server(live.before)
        return feed.tick_to_server(self._last_tick_slow(feed, now_msc))

    def _last_tick_slow(self, feed: _Feed, now_msc: int) -> Tick:
        now_sec = now_msc // 1000
        step = feed.chunk_seconds
        chunk = now_sec - now_sec % step
        ticks = feed.chunk_ticks(chunk)
        times = np.ascontiguousarray(ticks["time_msc"])  # a field view would be copied by every search
        position = int(times.searchsorted(now_msc, side="right"))
        if position:
            feed.live_chunk = _LiveChunk(chunk * 1000, (chunk + step) * 1000, ticks, times, None)
            return Tick._make(ticks[position - 1].item())
        before = self._last_tick_before(feed, chunk)
        feed.live_chunk = _LiveChunk(chunk * 1000, (chunk + step) * 1000, ticks, times, before)
        return before

    @staticmethod
    def _last_tick_before(feed: _Feed, chunk: int) -> Tick:
        """The last tick before the chunk starting at ``chunk``: that of the last earlier bar."""
        day_index = int(np.searchsorted(feed.open_days, chunk // SECONDS_PER_DAY, side="right"))
        for index in range(day_index - 1, -1, -1):
            base = feed.days_base(feed.open_days[index : index + 1])[0]
            earlier_bars = base["time"][base["time"] < chunk]
            if len(earlier_bars):
                open_time = int(earlier_bars[-1])
                earlier = feed.chunk_ticks(open_time - open_time % feed.chunk_seconds)
                return Tick._make(earlier[-1].item())
        raise MarketError(f"{feed.spec.name} has no tick before {chunk} (history starts in 2000)")
