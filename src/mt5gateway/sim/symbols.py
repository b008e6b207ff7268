"""Symbol specifications and trading sessions of the simulated server.

Server time is UTC. Sessions, per ``SessionKind``:

- ``forex`` and ``metal``: Monday 00:00 to Friday 23:59 (the last bar of the week opens Friday
  23:59); closed on Saturday and Sunday.
- ``index`` (US30, NDX100): Monday to Friday, 01:00 to 22:00 (the last bar opens 21:59), the usual
  hours of an index CFD with its daily break; the cash session (14:30 to 21:00) is the busiest part.
- ``crypto``: every minute of every day.

A session is one interval of the day repeated on some weekdays, so "is this minute open" is a
vectorised comparison and every open day of a symbol has the same number of minutes.

``DEFAULT_SYMBOLS`` holds the 15 symbols of the default deployment; ``spec_from_dict`` builds more
from configuration (optionally ``"like"`` an existing symbol, overriding some fields).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..terminal import constants as c

__all__ = [
    "DEFAULT_SYMBOLS",
    "SESSIONS",
    "SessionKind",
    "Sessions",
    "SymbolSpec",
    "spec_from_dict",
    "weekday_of_day",
]

SECONDS_PER_DAY = 86_400
MINUTES_PER_DAY = 1_440


class SessionKind(enum.StrEnum):
    """Which trading hours (and intraday activity pattern) a symbol follows."""

    FOREX = "forex"
    METAL = "metal"
    INDEX = "index"
    CRYPTO = "crypto"


def weekday_of_day(day: int | npt.NDArray[np.int64]) -> Any:
    """Weekday (Monday = 0 ... Sunday = 6) of an epoch day number (1970-01-01 was a Thursday)."""
    return (day + 3) % 7


@dataclass(frozen=True)
class Sessions:
    """Open from ``open_minute`` to ``close_minute`` (minutes after 00:00 UTC, close exclusive) on
    each of ``weekdays`` (Monday = 0 ... Sunday = 6)."""

    weekdays: frozenset[int]
    open_minute: int
    close_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.open_minute < self.close_minute <= MINUTES_PER_DAY:
            raise ValueError(f"bad session hours {self.open_minute}..{self.close_minute} (minutes of day)")
        if not self.weekdays <= set(range(7)):
            raise ValueError(f"weekdays must be in 0..6, got {sorted(self.weekdays)}")

    @property
    def minutes_per_day(self) -> int:
        """Open minutes on an open day."""
        return self.close_minute - self.open_minute

    def day_is_open(self, day: int) -> bool:
        """Whether the epoch day number ``day`` has a session."""
        return int(weekday_of_day(day)) in self.weekdays

    def open_days_mask(self, days: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Vectorised ``day_is_open``."""
        by_weekday = np.zeros(7, dtype=bool)
        by_weekday[list(self.weekdays)] = True
        open_days: npt.NDArray[np.bool_] = by_weekday[weekday_of_day(days)]
        return open_days

    def is_open(self, t_sec: int) -> bool:
        """Whether the minute containing ``t_sec`` (epoch seconds) is open."""
        day, second = divmod(int(t_sec), SECONDS_PER_DAY)
        return self.day_is_open(day) and self.open_minute <= second // 60 < self.close_minute

    def open_mask(self, t_sec: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Vectorised ``is_open`` over an array of epoch seconds."""
        times = np.asarray(t_sec, dtype=np.int64)
        minute = times % SECONDS_PER_DAY // 60
        in_hours = (minute >= self.open_minute) & (minute < self.close_minute)
        return in_hours & self.open_days_mask(times // SECONDS_PER_DAY)

    def minutes(self, day: int) -> npt.NDArray[np.int64]:
        """Epoch seconds of every open minute of epoch day ``day`` (empty on a closed day)."""
        if not self.day_is_open(day):
            return np.empty(0, dtype=np.int64)
        start = day * SECONDS_PER_DAY
        return start + 60 * np.arange(self.open_minute, self.close_minute, dtype=np.int64)


SESSIONS: dict[SessionKind, Sessions] = {
    SessionKind.FOREX: Sessions(frozenset(range(5)), 0, MINUTES_PER_DAY),
    SessionKind.METAL: Sessions(frozenset(range(5)), 0, MINUTES_PER_DAY),
    SessionKind.INDEX: Sessions(frozenset(range(5)), 60, 22 * 60),
    SessionKind.CRYPTO: Sessions(frozenset(range(7)), 0, MINUTES_PER_DAY),
}

_ALL_FILLING = c.SYMBOL_FILLING_FOK | c.SYMBOL_FILLING_IOC
_ALL_EXPIRATIONS = (
    c.SYMBOL_EXPIRATION_GTC
    | c.SYMBOL_EXPIRATION_DAY
    | c.SYMBOL_EXPIRATION_SPECIFIED
    | c.SYMBOL_EXPIRATION_SPECIFIED_DAY
)
# SYMBOL_ORDER_MARKET | LIMIT | STOP | STOP_LIMIT | SL | TP | CLOSEBY (MQL5 bit flags 1..64)
_ALL_ORDER_KINDS = 127


@dataclass(frozen=True)
class SymbolSpec:
    """What the simulated server knows about one symbol (``symbol_info`` is built from this).

    Prices have ``digits`` decimals (``point`` = 10**-digits) and move in steps of ``tick_size``.
    ``spread`` is the typical spread in points (wider at rollover and in quiet hours), swaps are in
    points per lot and night (``swap_mode`` POINTS, triple on ``swap_rollover3days``).
    ``start_price`` is the level prices wander around, ``annual_volatility`` the yearly standard
    deviation of log returns, ``tick_rate`` the mean number of ticks in an open minute.
    """

    name: str
    description: str
    path: str
    digits: int
    tick_size: float
    contract_size: float
    volume_min: float
    volume_max: float
    volume_step: float
    currency_base: str
    currency_profit: str
    currency_margin: str
    calc_mode: int
    session: SessionKind
    start_price: float
    annual_volatility: float
    spread: int
    swap_long: float
    swap_short: float
    tick_rate: float
    stops_level: int = 0
    freeze_level: int = 0
    trade_mode: int = c.SYMBOL_TRADE_MODE_FULL
    trade_exemode: int = c.SYMBOL_TRADE_EXECUTION_MARKET
    filling_mode: int = _ALL_FILLING
    expiration_mode: int = _ALL_EXPIRATIONS
    order_mode: int = _ALL_ORDER_KINDS
    swap_mode: int = c.SYMBOL_SWAP_MODE_POINTS
    swap_rollover3days: int = c.DAY_OF_WEEK_WEDNESDAY
    chart_mode: int = c.SYMBOL_CHART_MODE_BID
    sessions: Sessions = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.digits <= 8:
            raise ValueError(f"{self.name}: digits must be 0..8, got {self.digits}")
        units = self.tick_size / self.point
        if self.tick_size <= 0 or abs(units - round(units)) > 1e-9:
            raise ValueError(f"{self.name}: tick_size {self.tick_size} is not a whole number of points")
        if self.start_price <= 0 or self.annual_volatility <= 0 or self.tick_rate < 1 or self.spread < 0:
            raise ValueError(f"{self.name}: start_price, annual_volatility, tick_rate must be positive")
        if not 0 < self.volume_min <= self.volume_max or self.volume_step <= 0:
            raise ValueError(f"{self.name}: bad volume limits")
        object.__setattr__(self, "session", SessionKind(self.session))
        object.__setattr__(self, "sessions", SESSIONS[self.session])

    @property
    def point(self) -> float:
        """The price's smallest decimal, 10**-digits."""
        return float(10.0**-self.digits)

    @property
    def tick_points(self) -> int:
        """``tick_size`` in points (1 for every default symbol)."""
        return round(self.tick_size / self.point)


def _forex(
    name: str,
    group: str,
    description: str,
    *,
    price: float,
    volatility: float,
    spread: int,
    swaps: tuple[float, float],
    tick_rate: float,
) -> SymbolSpec:
    digits = 3 if name.endswith("JPY") else 5
    return SymbolSpec(
        name=name,
        description=description,
        path=f"Forex\\{group}\\{name}",
        digits=digits,
        tick_size=10.0**-digits,
        contract_size=100_000.0,
        volume_min=0.01,
        volume_max=100.0,
        volume_step=0.01,
        currency_base=name[:3],
        currency_profit=name[3:],
        currency_margin=name[:3],
        calc_mode=c.SYMBOL_CALC_MODE_FOREX,
        session=SessionKind.FOREX,
        start_price=price,
        annual_volatility=volatility,
        spread=spread,
        swap_long=swaps[0],
        swap_short=swaps[1],
        tick_rate=tick_rate,
    )


# calc mode and stops level (points) of each kind of CFD. Retail brokers margin metals, indices and
# crypto with the account's leverage (CFDLEVERAGE): 1 lot of XAUUSD at 1:100 needs ~2,400 USD, not the
# full notional that plain CFD mode would ask.
_CFD_RULES: dict[SessionKind, tuple[int, int]] = {
    SessionKind.METAL: (c.SYMBOL_CALC_MODE_CFDLEVERAGE, 0),
    SessionKind.INDEX: (c.SYMBOL_CALC_MODE_CFDLEVERAGE, 10),
    SessionKind.CRYPTO: (c.SYMBOL_CALC_MODE_CFDLEVERAGE, 0),
}


def _cfd(
    name: str,
    path: str,
    description: str,
    session: SessionKind,
    *,
    digits: int,
    contract_size: float,
    volumes: tuple[float, float, float],
    base: str,
    price: float,
    volatility: float,
    spread: int,
    swaps: tuple[float, float],
    tick_rate: float,
) -> SymbolSpec:
    calc_mode, stops_level = _CFD_RULES[session]
    return SymbolSpec(
        name=name,
        description=description,
        path=path,
        digits=digits,
        tick_size=10.0**-digits,
        contract_size=contract_size,
        volume_min=volumes[0],
        volume_max=volumes[1],
        volume_step=volumes[2],
        currency_base=base,
        currency_profit="USD",
        currency_margin="USD",
        calc_mode=calc_mode,
        session=session,
        start_price=price,
        annual_volatility=volatility,
        spread=spread,
        swap_long=swaps[0],
        swap_short=swaps[1],
        tick_rate=tick_rate,
        stops_level=stops_level,
    )


DEFAULT_SYMBOLS: dict[str, SymbolSpec] = {
    spec.name: spec
    for spec in (
        _forex(
            "AUDJPY",
            "Crosses",
            "Australian Dollar vs Japanese Yen",
            price=98.5,
            volatility=0.11,
            spread=19,
            swaps=(4.1, -13.6),
            tick_rate=30,
        ),
        _forex(
            "AUDUSD",
            "Majors",
            "Australian Dollar vs US Dollar",
            price=0.6550,
            volatility=0.095,
            spread=12,
            swaps=(-3.9, -0.6),
            tick_rate=35,
        ),
        _cfd(
            "BTCUSD",
            "Crypto\\BTCUSD",
            "Bitcoin vs US Dollar",
            SessionKind.CRYPTO,
            digits=2,
            contract_size=1.0,
            volumes=(0.01, 10.0, 0.01),
            base="BTC",
            price=65_000.0,
            volatility=0.60,
            spread=2_500,
            swaps=(-2_750.0, -1_200.0),
            tick_rate=45,
        ),
        _cfd(
            "ETHUSD",
            "Crypto\\ETHUSD",
            "Ethereum vs US Dollar",
            SessionKind.CRYPTO,
            digits=2,
            contract_size=1.0,
            volumes=(0.1, 100.0, 0.1),
            base="ETH",
            price=3_200.0,
            volatility=0.75,
            spread=220,
            swaps=(-150.0, -70.0),
            tick_rate=40,
        ),
        _forex(
            "EURUSD",
            "Majors",
            "Euro vs US Dollar",
            price=1.0850,
            volatility=0.07,
            spread=10,
            swaps=(-7.2, 2.1),
            tick_rate=50,
        ),
        _forex(
            "GBPJPY",
            "Crosses",
            "Great Britain Pound vs Japanese Yen",
            price=191.0,
            volatility=0.10,
            spread=28,
            swaps=(9.5, -23.0),
            tick_rate=35,
        ),
        _forex(
            "GBPUSD",
            "Majors",
            "Great Britain Pound vs US Dollar",
            price=1.2700,
            volatility=0.08,
            spread=13,
            swaps=(-2.8, -2.5),
            tick_rate=45,
        ),
        _cfd(
            "NDX100",
            "Indices\\NDX100",
            "Nasdaq 100 Index",
            SessionKind.INDEX,
            digits=2,
            contract_size=1.0,
            volumes=(0.1, 500.0, 0.1),
            base="USD",
            price=18_000.0,
            volatility=0.22,
            spread=150,
            swaps=(-1_450.0, -450.0),
            tick_rate=70,
        ),
        _forex(
            "NZDUSD",
            "Majors",
            "New Zealand Dollar vs US Dollar",
            price=0.6050,
            volatility=0.10,
            spread=16,
            swaps=(-2.4, -1.1),
            tick_rate=28,
        ),
        _cfd(
            "US30",
            "Indices\\US30",
            "Dow Jones Industrial Average",
            SessionKind.INDEX,
            digits=2,
            contract_size=1.0,
            volumes=(0.1, 500.0, 0.1),
            base="USD",
            price=39_000.0,
            volatility=0.16,
            spread=250,
            swaps=(-3_100.0, -950.0),
            tick_rate=65,
        ),
        _forex(
            "USDCAD",
            "Majors",
            "US Dollar vs Canadian Dollar",
            price=1.3600,
            volatility=0.065,
            spread=16,
            swaps=(1.3, -7.6),
            tick_rate=32,
        ),
        _forex(
            "USDCHF",
            "Majors",
            "US Dollar vs Swiss Franc",
            price=0.8850,
            volatility=0.075,
            spread=15,
            swaps=(4.8, -11.2),
            tick_rate=30,
        ),
        _forex(
            "USDJPY",
            "Majors",
            "US Dollar vs Japanese Yen",
            price=150.0,
            volatility=0.09,
            spread=12,
            swaps=(14.9, -28.3),
            tick_rate=45,
        ),
        _cfd(
            "XAGUSD",
            "Metals\\XAGUSD",
            "Silver vs US Dollar",
            SessionKind.METAL,
            digits=3,
            contract_size=5_000.0,
            volumes=(0.01, 50.0, 0.01),
            base="XAG",
            price=28.0,
            volatility=0.25,
            spread=30,
            swaps=(-4.9, 1.2),
            tick_rate=35,
        ),
        _cfd(
            "XAUUSD",
            "Metals\\XAUUSD",
            "Gold vs US Dollar",
            SessionKind.METAL,
            digits=2,
            contract_size=100.0,
            volumes=(0.01, 100.0, 0.01),
            base="XAU",
            price=2_350.0,
            volatility=0.15,
            spread=25,
            swaps=(-52.0, 31.0),
            tick_rate=80,
        ),
    )
}

_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(SymbolSpec) if f.init)


def _calc_mode_value(value: int | str) -> int:
    if isinstance(value, int):
        return value
    name = value.upper()
    name = name if name.startswith("SYMBOL_CALC_MODE_") else "SYMBOL_CALC_MODE_" + name
    try:
        return int(getattr(c, name))
    except AttributeError:
        raise ValueError(f"unknown calc mode {value!r}") from None


def spec_from_dict(
    data: Mapping[str, Any], *, known: Mapping[str, SymbolSpec] = DEFAULT_SYMBOLS
) -> SymbolSpec:
    """A ``SymbolSpec`` from configuration.

    Keys are the dataclass's field names; ``calc_mode`` may be a name (``"CFD"``,
    ``"SYMBOL_CALC_MODE_FOREX"``) and ``session`` a ``SessionKind`` value. With ``"like": "EURUSD"``
    the spec starts as a copy of that known symbol and only the given keys change (``name`` must
    still be given). Raises ValueError on an unknown key, a missing field or an inconsistent value.
    """
    values = dict(data)
    like = values.pop("like", None)
    unknown = set(values) - _FIELD_NAMES
    if unknown:
        raise ValueError(f"unknown symbol fields: {', '.join(sorted(unknown))}")
    if "calc_mode" in values:
        values["calc_mode"] = _calc_mode_value(values["calc_mode"])
    if "session" in values:
        values["session"] = SessionKind(values["session"])
    if like is not None:
        if like not in known:
            raise ValueError(f"'like' names an unknown symbol: {like!r}")
        if "name" not in values:
            raise ValueError("a symbol declared 'like' another needs its own 'name'")
        return dataclasses.replace(known[like], **values)
    missing = {f.name for f in dataclasses.fields(SymbolSpec) if f.init and f.default is dataclasses.MISSING}
    missing -= set(values)
    if missing:
        raise ValueError(f"symbol {values.get('name', '?')!r} lacks fields: {', '.join(sorted(missing))}")
    return SymbolSpec(**values)
