"""The market model: how one market day of minute bars is drawn (the facts it reproduces are in
docs/simulator.md, with a figure).

A market day (``sim.markettime``) of ``n`` open minutes is drawn from its own random stream, given
the day's anchors (``sim.market``: its volatility ``day_vol``, the previous open day's close and its
own close, a slowly mean-reverting walk with AR(1) log volatility). Per minute ``i``:

- **Shocks** ``z_i``: Student-t with ``2k`` degrees of freedom (``k = 3``: six; crypto four), unit variance,
  drawn as ``N_i * sqrt(V_i)``, ``V_i = (k - 1) / (E_1 + ... + E_k)`` with standard normal ``N`` and
  exponential ``E``. ``V_i`` is the minute's "news flow": it also drives the tick volume.
- **Volatility** ``sigma_i = exp(p_i + h_i + s_i + e_i)``, scaled so that the day's variance is
  ``day_vol**2``:

  - ``p_i``, the intraday profile: per class of symbol, a sum of bumps (sessions) and spikes (opens,
    fixings, daily data times) each set at a local time of its own exchange or city (Tokyo, Sydney,
    London, Frankfurt, New York), so daylight saving moves each as it moves the real one;
  - ``h_i``, a short memory (EGARCH-like): ``h_i = PHI * h_{i-1} + THETA * (|z_{i-1}| - E|z|)``, a
    big move raises the next minutes' volatility, fading with a half-life of ``log(0.5)/log(PHI)``
    minutes; it is what makes the autocorrelation of ``|r|`` halve within a quarter of an hour;
  - ``s_i``, a slow random multiplier (hourly knots, linearly interpolated): the hour-to-hour mood;
  - ``e_i``, releases (``sim.releases``): a calm in the ten minutes before, then a burst of
    ``log(1 + BURST * impact)`` decaying with a half-life of ``RELEASE_HALF_LIFE`` minutes.

- **Returns** ``r_i = sigma_i * z_i``, plus at a release's minute a jump of ``impact * JUMP`` average
  minutes' volatility times a Student-t draw. The first minute opens away from the previous close by
  a **gap**: after a weekend, its median given per class as basis points per unit of annual
  volatility (3 bp for EURUSD, ~45 for gold, ~15 for the indices); after a daily pause, a fifth of
  that. Minute closes form a bridge to the day's anchored close (the missing move is spread over the
  minutes in proportion to their variance, so it is invisible at any one minute).
- **Bars**: a minute opens a tick or a few away from the previous close; its high and low reach
  beyond open and close by a random share of its realised volatility.
- **Tick volume** ``~ tick_rate * a_i * exp(VOLUME_MEMORY * (h + s + e)) * sqrt(V_i) * noise``
  with ``a_i`` the profile's activity: tied to the state of the market and its news flow, not to
  ``|r_i|`` itself (their correlation is ~0.5, as in real files).
- **Spread**: a floor (the symbol's typical spread, a little wider in quiet hours) with bursts: a
  plateau of ``PLATEAU_HEIGHT`` times the floor for ``PLATEAU_MINUTES`` after the rollover (or a
  daily pause), widening in the minutes before it, at releases and while ``h + e`` is high, and a
  rare random burst.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .markettime import HOUR, MARKET_AHEAD, MARKET_ZONE, SECONDS_PER_DAY, zone_offsets
from .releases import releases_between
from .symbols import SessionKind, SymbolSpec

__all__ = ["DayAnchors", "MinuteBars", "SymbolModel"]

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

TOKYO, SYDNEY, LONDON, FRANKFURT, NEW_YORK = (
    "Asia/Tokyo",
    "Australia/Sydney",
    "Europe/London",
    "Europe/Berlin",
    MARKET_ZONE,
)

# ------------------------------------------------------------------------------------- parameters

# k: shocks are Student-t with 2k degrees of freedom, six, or four for crypto's heavier tails
TAIL_EXPONENTIALS = {SessionKind.FOREX: 3, SessionKind.METAL: 3, SessionKind.INDEX: 3, SessionKind.CRYPTO: 2}
PHI = 0.92  # short memory's persistence per minute (half-life ~8.3 minutes)
THETA = 0.18  # short memory's response to |z|
SLOW_SHOCK = 0.3  # standard deviation of the hourly log-volatility knots
BURST = 1.2  # a release's volatility burst: log(1 + BURST * impact)
RELEASE_HALF_LIFE = 12.0  # minutes
PRE_RELEASE_CALM = 0.3  # lower log volatility in the ten minutes before a release
JUMP = 3.5  # a release's jump: impact * JUMP average minutes' volatility * a Student-t draw
VOLUME_MEMORY = 0.6
VOLUME_NOISE = 1.5  # log-uniform noise width of tick volume
PLATEAU_HEIGHT = (3.0, 5.0)  # spread multiple after the rollover, drawn per day
PLATEAU_MINUTES = (30, 55)
BURST_CHANCE = 0.005  # a random spread burst in a minute
FAST_MARKET = 1.0  # spreads widen by the excess of h + s + e over this
# weekend gap median, basis points per unit of annual volatility; daily pauses get a fifth
_GAP_BP_PER_VOL = {SessionKind.FOREX: 43.0, SessionKind.METAL: 300.0, SessionKind.INDEX: 85.0}
_PAUSE_GAP_SHARE = 0.2
# the median |z| of the unit-variance Student-t with 2k degrees of freedom (a weekend gap's scale)
_STUDENT_T_MEDIAN_ABS = {2: 0.5238, 3: 0.5858}
_MIN_TICKS = 4

_EXTRA_NORMALS = 16  # per day: the gap, up to 15 release jumps
_EXTRA_UNIFORMS = 4  # per day: plateau height and length
_MAX_RELEASES = 15
_BLOCK_DAYS = 128  # the calendar (zone offsets, releases) is worked out this many days at a time


@dataclass(frozen=True)
class _Term:
    """One part of an intraday profile, set at ``hour`` local time in ``zone``: a Gaussian
    ``bump`` (``width`` hours) or a ``spike`` (rising within minutes, decaying over ``width``)."""

    zone: str
    hour: float
    width: float
    height: float
    spike: bool = False

    def shape(self, minutes: FloatArray, shift_minutes: float) -> FloatArray:
        """The term over the market minutes of a day whose ``zone`` runs ``shift_minutes`` ahead."""
        center = self.hour * 60.0 - shift_minutes
        width = self.width * 60.0
        total = np.zeros_like(minutes)
        for wrap in (-1440.0, 0.0, 1440.0):
            distance = minutes - (center + wrap)
            if self.spike:
                total += np.where(
                    distance >= 0,
                    np.exp(-np.maximum(distance, 0) / width),
                    np.exp(np.minimum(distance, 0) / 2.0),
                )
            else:
                total += np.exp(-0.5 * (distance / width) ** 2)
        return self.height * total


def _spike(zone: str, hour: float, minutes: float, height: float) -> _Term:
    return _Term(zone, hour, minutes / 60.0, height, spike=True)


# FX: regions whose weight depends on the pair's currencies
_ASIA = (
    _Term(TOKYO, 11.0, 2.2, 0.45),
    _spike(TOKYO, 9.0, 30, 0.25),
    _spike(TOKYO, 9.9, 12, 0.1),  # Tokyo fixing
)
_AUSTRALASIA = (_Term(SYDNEY, 11.0, 2.5, 0.35), _spike(SYDNEY, 10.0, 25, 0.15))
_EUROPE = (
    _Term(LONDON, 10.0, 2.3, 0.55),
    _spike(FRANKFURT, 8.0, 25, 0.2),
    _spike(LONDON, 8.0, 40, 0.7),  # London open
    _spike(LONDON, 16.0, 15, 0.35),  # the 4 pm fixing
)
_AMERICAS = (
    _Term(NEW_YORK, 10.0, 1.8, 0.75),
    _spike(NEW_YORK, 8.5, 25, 0.6),  # US data
    _spike(NEW_YORK, 10.0, 18, 0.25),
)
# region weights per currency: Asia, Australasia, Europe, Americas
_CURRENCY_REGIONS = {
    "USD": (0.3, 0.1, 0.85, 1.0),
    "EUR": (0.2, 0.05, 1.0, 0.85),
    "GBP": (0.2, 0.05, 1.05, 0.8),
    "CHF": (0.2, 0.05, 1.0, 0.75),
    "JPY": (0.85, 0.2, 0.8, 0.8),
    "AUD": (0.6, 0.85, 0.7, 0.7),
    "NZD": (0.55, 0.95, 0.65, 0.65),
    "CAD": (0.2, 0.05, 0.7, 1.1),
}
_FX_BASE = 0.2

_GOLD = (
    _spike(NEW_YORK, 18.0, 20, 0.5),  # the reopening after the daily pause
    _spike(TOKYO, 9.0, 40, 0.45),
    _Term(TOKYO, 10.5, 1.4, 0.55),  # Tokyo and Shanghai: gold's Asian peak
    _spike(LONDON, 8.0, 35, 0.45),
    _Term(LONDON, 10.0, 2.0, 0.45),
    _spike(LONDON, 15.0, 15, 0.3),  # the afternoon price fixing
    _spike(NEW_YORK, 8.33, 30, 0.55),  # COMEX open and US data
    _Term(NEW_YORK, 10.0, 1.8, 0.8),
)
_GOLD_BASE = 0.22


def _cash_session(zone: str, open_hour: float, close_hour: float, open_height: float) -> tuple[_Term, ...]:
    middle = (open_hour + close_hour) / 2
    return (
        _spike(zone, open_hour, 35, open_height),
        _Term(zone, middle, (close_hour - open_hour) / 2.5, 0.45),
        _Term(zone, close_hour - 0.1, 0.2, 0.35),  # the closing auction
    )


_US_CASH = _cash_session(NEW_YORK, 9.5, 16.0, 1.6)
_INDEX_PROFILES: dict[str, tuple[_Term, ...]] = {
    "USD": (*_US_CASH, _spike(NEW_YORK, 8.5, 20, 0.35), _spike(FRANKFURT, 9.0, 40, 0.2)),
    "EUR": (
        *_cash_session(FRANKFURT, 9.0, 17.5, 1.4),
        _spike(NEW_YORK, 8.5, 20, 0.35),
        _spike(NEW_YORK, 9.5, 35, 0.9),
    ),
    "GBP": (
        *_cash_session(LONDON, 8.0, 16.5, 1.3),
        _spike(NEW_YORK, 8.5, 20, 0.3),
        _spike(NEW_YORK, 9.5, 35, 0.8),
    ),
    "JPY": (
        *_cash_session(TOKYO, 9.0, 15.5, 1.4),
        _spike(NEW_YORK, 9.5, 35, 0.8),
        _spike(NEW_YORK, 8.5, 20, 0.3),
    ),
    "AUD": (*_cash_session(SYDNEY, 10.0, 16.0, 1.2), _spike(NEW_YORK, 9.5, 35, 0.5)),
}
_INDEX_BASE = 0.18

_CRYPTO = (
    _Term(TOKYO, 10.0, 2.0, 0.1),
    _Term(LONDON, 9.0, 3.0, 0.15),
    _Term(NEW_YORK, 10.5, 3.0, 0.35),
    _spike(NEW_YORK, 9.5, 30, 0.2),
)
_CRYPTO_BASE = 0.55
_CRYPTO_WEEKEND_ACTIVITY = 0.6

# how much a release in a currency moves a symbol, by kind (FX: its two currencies, fully)
_RELEASE_SENSITIVITY = {
    SessionKind.METAL: {"USD": 1.0},
    SessionKind.CRYPTO: {"USD": 0.5},
}
_INDEX_HOME_SENSITIVITY, _INDEX_US_SENSITIVITY = 0.7, 0.5

# spreads: wider in quiet hours (up to this share), and in the last minutes before the rollover
_QUIET_SPREAD = 0.5
_PRE_ROLLOVER = (3, 2.5)  # minutes, multiple


def _profile_terms(spec: SymbolSpec) -> tuple[float, tuple[_Term, ...]]:
    """The base level and the terms of ``spec``'s intraday volatility profile."""
    if spec.session is SessionKind.FOREX:
        weights = [
            (a + b) / 2
            for a, b in zip(
                _CURRENCY_REGIONS.get(spec.currency_base, _CURRENCY_REGIONS["USD"]),
                _CURRENCY_REGIONS.get(spec.currency_profit, _CURRENCY_REGIONS["USD"]),
                strict=True,
            )
        ]
        terms = [
            _Term(t.zone, t.hour, t.width, t.height * weight, t.spike)
            for weight, region in zip(weights, (_ASIA, _AUSTRALASIA, _EUROPE, _AMERICAS), strict=True)
            for t in region
        ]
        return _FX_BASE, tuple(terms)
    if spec.session is SessionKind.METAL:
        return _GOLD_BASE, _GOLD
    if spec.session is SessionKind.INDEX:
        return _INDEX_BASE, _INDEX_PROFILES.get(spec.currency_profit, _INDEX_PROFILES["USD"])
    return _CRYPTO_BASE, _CRYPTO


def _release_sensitivity(spec: SymbolSpec) -> dict[str, float]:
    if spec.session is SessionKind.FOREX:
        return {spec.currency_base: 1.0, spec.currency_profit: 1.0}
    if spec.session is SessionKind.INDEX:
        return {"USD": _INDEX_US_SENSITIVITY, spec.currency_profit: _INDEX_HOME_SENSITIVITY}
    return _RELEASE_SENSITIVITY[spec.session]


@dataclass(frozen=True)
class _DayShape:
    """The deterministic part of a day with a given set of zone offsets."""

    log_profile: FloatArray  # p_i
    activity: FloatArray  # tick-rate shape, mean 1
    spread: FloatArray  # spread floor multiple


_SHAPES: dict[tuple[object, ...], _DayShape] = {}
_SHAPES_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Block:
    """A block of days' calendar: each day's zone offsets (its shape's key) and the releases."""

    zone_shifts: list[tuple[int, ...]]
    release_times: IntArray  # market time, sorted
    release_impacts: list[float]  # impact x the symbol's sensitivity


@dataclass(frozen=True)
class DayAnchors:
    """Per day of a batch: its volatility, the previous open day's close and its own (log)."""

    day_vol: FloatArray
    log_previous: FloatArray
    log_close: FloatArray
    after_weekend: npt.NDArray[np.bool_]  # the previous open day is not the day before


@dataclass(frozen=True)
class MinuteBars:
    """A batch of days' minutes: prices in points (integer-valued floats), volume and spread."""

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    tick_volume: FloatArray
    spread: FloatArray


class SymbolModel:
    """The model of one symbol: its profile, sensitivities and parameters (see the module docstring)."""

    def __init__(self, spec: SymbolSpec) -> None:
        self.spec = spec
        sessions = spec.sessions
        self.open_minute = sessions.open_minute
        self.minutes = sessions.minutes_per_day
        self._market_minutes = (self.open_minute + np.arange(self.minutes)).astype(np.float64)
        self._base, self._terms = _profile_terms(spec)
        self._zones = tuple(sorted({term.zone for term in self._terms}))
        # what a day's shape depends on besides the zone offsets (shapes are shared by all models)
        self._shape_key = (self._base, self._terms, self.open_minute, self.minutes, spec.session)
        self._blocks: dict[int, _Block] = {}
        self._blocks_lock = threading.Lock()
        self._sensitivity = _release_sensitivity(spec)
        gap_per_vol = _GAP_BP_PER_VOL.get(spec.session, 0.0)
        self._tail = TAIL_EXPONENTIALS[spec.session]
        self._weekend_gap = gap_per_vol * spec.annual_volatility * 1e-4 / _STUDENT_T_MEDIAN_ABS[self._tail]
        has_pause = self.minutes < 1440
        self._pause_gap = self._weekend_gap * _PAUSE_GAP_SHARE if has_pause else 0.0
        crypto = spec.session is SessionKind.CRYPTO
        self._plateau_height = (1.5, 2.0) if crypto else PLATEAU_HEIGHT
        self._weekend_activity = _CRYPTO_WEEKEND_ACTIVITY if crypto else 1.0
        # the short memory's closed form, x[t] = PHI**t * cumsum(innovation / PHI**t)
        self._powers = PHI ** np.arange(1, self.minutes + 1, dtype=np.float64)
        self._theta_inverse_powers = THETA / self._powers
        self._mean_abs_z = _mean_abs_student_t(self._tail)
        # the hourly knots of the slow multiplier, linearly interpolated (a matrix product)
        hours = self._market_minutes / 60.0
        knot = np.floor(hours).astype(np.int64)
        self._knots = np.zeros((25, self.minutes))
        self._knots[knot, np.arange(self.minutes)] = 1.0 - (hours - knot)
        self._knots[knot + 1, np.arange(self.minutes)] = hours - knot
        self._knots *= SLOW_SHOCK
        self.random_normals = self.minutes + 25 + _EXTRA_NORMALS
        self.random_uniforms = 5 * self.minutes + _EXTRA_UNIFORMS

    # ------------------------------------------------------------------------------ the profile

    def _block(self, block: int) -> _Block:
        """The calendar of days ``[block * _BLOCK_DAYS, (block + 1) * _BLOCK_DAYS)``, cached."""
        found = self._blocks.get(block)
        if found is not None:
            return found
        days = block * _BLOCK_DAYS + np.arange(_BLOCK_DAYS, dtype=np.int64)
        noon_utc = days * SECONDS_PER_DAY + 12 * HOUR - MARKET_AHEAD + 4 * HOUR
        market_offset = zone_offsets(MARKET_ZONE, noon_utc) + MARKET_AHEAD
        # minutes each zone runs ahead of market time on each day (at its noon), (days, zones)
        shifts = [(zone_offsets(zone, noon_utc) - market_offset) // 60 for zone in self._zones]
        keys: list[tuple[int, ...]] = (
            list(zip(*(column.tolist() for column in shifts), strict=True)) if shifts else [()] * len(days)
        )
        start = int(days[0]) * SECONDS_PER_DAY
        moving = [
            (market_time, release.impact * self._sensitivity[release.currency])
            for market_time, release in releases_between(start, start + _BLOCK_DAYS * SECONDS_PER_DAY)
            if self._sensitivity.get(release.currency, 0.0) > 0
        ]
        found = _Block(
            keys,
            np.array([t for t, _ in moving], dtype=np.int64),
            [impact for _, impact in moving],
        )
        with self._blocks_lock:
            self._blocks[block] = found
        return found

    def _shape(self, shifts: tuple[int, ...]) -> _DayShape:
        key = (self._shape_key, shifts)
        shape = _SHAPES.get(key)
        if shape is not None:
            return shape
        by_zone = dict(zip(self._zones, shifts, strict=True))
        profile = np.full(self.minutes, self._base)
        for term in self._terms:
            profile += term.shape(self._market_minutes, by_zone[term.zone])
        activity = profile / profile.mean()
        quiet = np.maximum(1.0 - activity, 0.0)  # hours busier than the average sit on the floor
        spread = 1.0 + _QUIET_SPREAD * quiet**2
        close_minute = self.open_minute + self.minutes
        if close_minute == 1440 and self.spec.session is not SessionKind.CRYPTO:
            spread[-_PRE_ROLLOVER[0] :] *= _PRE_ROLLOVER[1]
        shape = _DayShape(np.log(profile), activity, spread)
        with _SHAPES_LOCK:
            _SHAPES[key] = shape
        return shape

    def shapes(self, days: IntArray) -> list[_DayShape]:
        """The deterministic shape of each day (profiles cached per set of zone offsets)."""
        return [
            self._shape(self._block(day // _BLOCK_DAYS).zone_shifts[day % _BLOCK_DAYS])
            for day in days.tolist()
        ]

    def releases(self, days: IntArray) -> list[tuple[int, int, float]]:
        """(row in ``days``, minute index, impact) of each release that moves this symbol."""
        found = []
        for row, day in enumerate(days.tolist()):
            block = self._block(day // _BLOCK_DAYS)
            start = day * SECONDS_PER_DAY + self.open_minute * 60
            lo, hi = np.searchsorted(block.release_times, [start, start + self.minutes * 60]).tolist()
            for index in range(lo, min(hi, lo + _MAX_RELEASES)):
                found.append(
                    (row, (int(block.release_times[index]) - start) // 60, block.release_impacts[index])
                )
        return found

    # ------------------------------------------------------------------------------ the minutes

    def draw(
        self, generators: Iterator[np.random.Generator], n_days: int
    ) -> tuple[FloatArray, Float32Array, Float32Array]:
        """The random numbers of ``n_days`` days, each from its own generator, in a fixed order."""
        normals = np.empty((n_days, self.random_normals))
        exponentials = np.empty((n_days, self._tail, self.minutes), dtype=np.float32)
        uniforms = np.empty((n_days, self.random_uniforms), dtype=np.float32)
        for row, rng in zip(range(n_days), generators, strict=False):
            rng.standard_normal(out=normals[row])
            rng.standard_exponential(out=exponentials[row], dtype=np.float32)
            rng.random(out=uniforms[row], dtype=np.float32)
        return normals, exponentials, uniforms

    def minutes_of(
        self,
        days: IntArray,
        anchors: DayAnchors,
        draws: tuple[FloatArray, Float32Array, Float32Array],
        point_size: float,
    ) -> MinuteBars:
        """The minute bars of ``days`` (prices in units of ``point_size``, the symbol's tick)."""
        normals, exponentials, uniforms = draws
        n = self.minutes
        shapes = self.shapes(days)
        shocks = normals[:, :n]
        knots = normals[:, n : n + 25]
        extra = normals[:, n + 25 :]
        u_open, u_up, u_down, u_spread, u_volume = (uniforms[:, i * n : (i + 1) * n] for i in range(5))
        u_extra = uniforms[:, 5 * n :]

        # shocks z = N * sqrt(V): Student-t with 2k degrees of freedom, unit variance
        flow = exponentials.sum(axis=1)
        np.reciprocal(flow, out=flow)
        flow *= np.float32(self._tail - 1)  # V
        root_flow = np.sqrt(flow, out=flow)  # V is only ever used as sqrt(V)
        z = root_flow * shocks

        # log volatility: profile + short memory + slow multiplier + releases
        memory = np.empty_like(z)
        memory[:, 0] = 0.0
        np.abs(z[:, :-1], out=memory[:, 1:])
        memory[:, 1:] -= self._mean_abs_z
        memory *= self._theta_inverse_powers
        np.cumsum(memory, axis=1, out=memory)
        memory *= self._powers
        state = memory + knots @ self._knots
        releases = self.releases(days)
        for row, minute, impact in releases:
            calm_from = max(0, minute - 10)
            state[row, calm_from:minute] -= PRE_RELEASE_CALM
            if minute < n:
                decay = 0.5 ** (np.arange(n - minute) / RELEASE_HALF_LIFE)
                state[row, minute:] += math.log1p(BURST * impact) * decay
        log_sigma = np.stack([shape.log_profile for shape in shapes])
        log_sigma += state
        sigma = np.exp(log_sigma, out=log_sigma)
        sigma *= (anchors.day_vol / np.sqrt(np.einsum("ij,ij->i", sigma, sigma)))[:, None]

        returns = sigma * z
        average_sigma = anchors.day_vol / math.sqrt(n)
        jumps = []
        # a release's draw is numbered within its own day: a day must not depend on the batch it is in
        numbers: dict[int, int] = {}
        for row, minute, impact in releases:
            number = numbers[row] = numbers.get(row, -1) + 1
            if minute < n:
                draw = extra[row, 1 + number % (_EXTRA_NORMALS - 1)]
                returns[row, minute] += impact * JUMP * average_sigma[row] * draw
                jumps.append((row, minute, impact))

        # the path: a gap from the previous close, then a bridge to the day's anchored close
        gap_scale = np.where(anchors.after_weekend, self._weekend_gap, self._pause_gap)
        start = anchors.log_previous + gap_scale * extra[:, 0] * root_flow[:, 0]
        path = np.cumsum(returns, axis=1)
        variance = np.cumsum(sigma * sigma, axis=1)
        missing = (path[:, -1] - (anchors.log_close - start)) / variance[:, -1]
        variance *= missing[:, None]
        path -= variance
        path += start[:, None]

        # prices in points (integer-valued floats)
        price = np.exp(path, out=path)
        price *= 1.0 / point_size
        close = np.rint(price)
        sigma_points = np.multiply(sigma, price, out=sigma)  # the minute's volatility in points
        reach = root_flow * sigma_points  # and its realised volatility
        opens = np.empty_like(close)
        opens[:, 0] = np.rint(np.exp(start) / point_size)
        opens[:, 1:] = close[:, :-1]
        centered = u_open - np.float32(0.5)
        jitter = np.abs(centered) * sigma_points
        jitter *= 0.5
        np.floor(jitter, out=jitter)
        jitter += 1.0
        jitter[:, 0] = 0.0
        opens += np.copysign(jitter, centered)
        np.maximum(opens, 1.0, out=opens)
        high = np.maximum(opens, close)
        high += np.rint(u_up * reach)
        low = np.minimum(opens, close)
        low -= np.rint(u_down * reach)
        high += high == low
        np.maximum(low, 1.0, out=low)

        # tick volume: the market's state and news flow, not |r| itself
        excitement = state * VOLUME_MEMORY
        excitement += (u_volume - np.float32(0.5)) * VOLUME_NOISE
        volume = np.exp(excitement, out=excitement)
        volume *= root_flow
        volume /= volume.mean(axis=1, keepdims=True)
        activity = np.stack([shape.activity for shape in shapes])
        weekday = (days + 3) % 7
        busy = np.where(weekday >= 5, self._weekend_activity, 1.0) * self.spec.tick_rate
        volume *= activity
        volume *= busy[:, None]
        np.rint(volume, out=volume)
        np.maximum(volume, _MIN_TICKS, out=volume)

        # spread: a floor with bursts and the plateau after the rollover
        spread = np.stack([shape.spread for shape in shapes])
        spread *= self.spec.spread
        excess = np.maximum(state - FAST_MARKET, 0.0)
        excess += 1.0
        spread *= excess
        bursts = u_spread < BURST_CHANCE
        spread[bursts] *= 2.0 + 3.0 * u_spread[bursts] / BURST_CHANCE
        low_height, high_height = self._plateau_height
        heights = low_height + (high_height - low_height) * u_extra[:, 0]
        lengths = PLATEAU_MINUTES[0] + (PLATEAU_MINUTES[1] - PLATEAU_MINUTES[0]) * u_extra[:, 1]
        index = np.arange(min(n, PLATEAU_MINUTES[1] + 8))
        taper = np.clip((lengths[:, None] + 8.0 - index) / 8.0, 0.0, 1.0)
        spread[:, : len(index)] *= 1.0 + (heights[:, None] - 1.0) * taper
        for row, minute, impact in jumps:
            spread[row, max(0, minute - 1) : minute + 3] *= 1.0 + impact
        np.rint(spread, out=spread)
        np.maximum(spread, 1.0, out=spread)
        return MinuteBars(opens, high, low, close, volume, spread)


def _mean_abs_student_t(tail: int) -> float:
    """E|z| of the unit-variance Student-t with ``2k`` degrees of freedom."""
    nu = 2.0 * tail
    scale = math.sqrt((nu - 2.0) / nu)
    mean_abs_t = (
        2.0 * math.sqrt(nu) * math.gamma((nu + 1) / 2) / (math.sqrt(math.pi) * (nu - 1) * math.gamma(nu / 2))
    )
    return scale * mean_abs_t
