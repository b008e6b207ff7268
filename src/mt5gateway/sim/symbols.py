"""Symbol specifications, trading sessions, and the catalogue of the simulated server.

Sessions are in market time (``sim.markettime``: New York time + 7 h, the broker convention, so with
the default server clock they read the same in server time). Per ``SessionKind``:

- ``forex``: Monday 00:00 to Friday 24:00, that is Sunday 17:00 to Friday 17:00 in New York.
- ``metal``: the same week with a daily pause of an hour at the rollover (open 01:00 to 24:00).
- ``index``: the exchange's futures hours at a typical broker, Monday to Friday: 01:00 to 24:00 for
  the US and Japanese indices (Sunday 18:00 to Friday 17:00 in New York, an hour's pause daily),
  shorter for the European and Australian ones (``SymbolSpec.hours``); the cash session is the
  busiest part (``sim.model``).
- ``crypto``: every minute of every day.

A session is one interval of the day repeated on some weekdays, so "is this minute open" is a
vectorised comparison and every open day of a symbol has the same number of minutes.

``DEFAULT_SYMBOLS`` holds the 15 symbols of the default deployment (one per default terminal);
``CATALOGUE`` every symbol the simulated server offers: those 15, the other FX majors and crosses
(28 pairs in all), the main indices and more crypto. ``spec_from_dict`` builds more from
configuration (optionally ``"like"`` an existing symbol, overriding some fields).
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
    "CATALOGUE",
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
    """Open from ``open_minute`` to ``close_minute`` (minutes after 00:00 market time, close
    exclusive) on each of ``weekdays`` (Monday = 0 ... Sunday = 6)."""

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
    SessionKind.METAL: Sessions(frozenset(range(5)), 60, MINUTES_PER_DAY),
    SessionKind.INDEX: Sessions(frozenset(range(5)), 60, MINUTES_PER_DAY),
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
    ``hours``: the session's (open, close) minutes of the market day, when not its kind's.
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
    hours: tuple[int, int] | None = None
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
        sessions = SESSIONS[self.session]
        if self.hours is not None:
            object.__setattr__(self, "hours", tuple(self.hours))
            sessions = Sessions(sessions.weekdays, *self.hours)
        object.__setattr__(self, "sessions", sessions)

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
    profit: str = "USD",
    hours: tuple[int, int] | None = None,
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
        currency_profit=profit,
        currency_margin=profit,
        calc_mode=calc_mode,
        session=session,
        start_price=price,
        annual_volatility=volatility,
        spread=spread,
        swap_long=swaps[0],
        swap_short=swaps[1],
        tick_rate=tick_rate,
        stops_level=stops_level,
        hours=hours,
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

# The rest of the catalogue. FX crosses: (name, price, annual volatility, spread and swaps in points,
# ticks a minute); the full names come from the currencies.
_CURRENCY_NAMES = {
    "AUD": "Australian Dollar",
    "CAD": "Canadian Dollar",
    "CHF": "Swiss Franc",
    "EUR": "Euro",
    "GBP": "Great Britain Pound",
    "JPY": "Japanese Yen",
    "NZD": "New Zealand Dollar",
    "USD": "US Dollar",
}
_CROSSES = (
    ("AUDCAD", 0.9050, 0.080, 20, (-1.2, -4.6), 25),
    ("AUDCHF", 0.5350, 0.090, 18, (2.9, -8.4), 22),
    ("AUDNZD", 1.0950, 0.060, 25, (0.4, -6.8), 22),
    ("CADCHF", 0.5900, 0.080, 22, (3.1, -9.0), 20),
    ("CADJPY", 108.50, 0.100, 20, (2.2, -10.5), 25),
    ("CHFJPY", 183.00, 0.090, 25, (-8.9, -2.5), 25),
    ("EURAUD", 1.6600, 0.080, 22, (-10.4, 1.7), 30),
    ("EURCAD", 1.5000, 0.070, 22, (-8.8, 0.9), 28),
    ("EURCHF", 0.9350, 0.055, 15, (2.2, -7.8), 25),
    ("EURGBP", 0.8550, 0.055, 12, (-5.9, 0.6), 30),
    ("EURJPY", 162.50, 0.090, 18, (6.1, -16.4), 40),
    ("EURNZD", 1.8200, 0.085, 35, (-12.9, 2.4), 25),
    ("GBPAUD", 1.9500, 0.085, 30, (-4.5, -5.2), 28),
    ("GBPCAD", 1.7600, 0.075, 30, (-3.9, -6.3), 25),
    ("GBPCHF", 1.0950, 0.070, 25, (5.4, -12.8), 25),
    ("GBPNZD", 2.1400, 0.090, 45, (-6.6, -5.7), 22),
    ("NZDCAD", 0.8250, 0.080, 25, (-2.1, -4.2), 20),
    ("NZDCHF", 0.4900, 0.090, 25, (1.8, -7.2), 20),
    ("NZDJPY", 89.50, 0.110, 22, (2.6, -11.2), 25),
)
# CFDs: indices (their currency, and their futures hours where not 01:00 to 24:00) and crypto
_EU_HOURS = (130, 1380)  # Eurex 01:10 to 22:00 Frankfurt time, an hour ahead in market time


def _index(
    name: str, description: str, currency: str, price: float, volatility: float, spread: int, **kwargs: Any
) -> SymbolSpec:
    return _cfd(
        name,
        f"Indices\\{name}",
        description,
        SessionKind.INDEX,
        digits=2,
        contract_size=1.0,
        volumes=(0.1, 500.0, 0.1),
        base=currency,
        price=price,
        volatility=volatility,
        spread=spread,
        swaps=(-price * 0.08, -price * 0.025),
        tick_rate=60,
        profit=currency,
        **kwargs,
    )


def _coin(
    name: str, description: str, price: float, digits: int, spread: int, contract_size: float = 1.0
) -> SymbolSpec:
    return _cfd(
        name,
        f"Crypto\\{name}",
        description,
        SessionKind.CRYPTO,
        digits=digits,
        contract_size=contract_size,
        volumes=(0.01, 100.0, 0.01),
        base=name[:-3],
        price=price,
        volatility=0.85,
        spread=spread,
        swaps=(-spread * 1.2, -spread * 0.5),
        tick_rate=30,
    )


CATALOGUE: dict[str, SymbolSpec] = dict(
    sorted(
        {
            **DEFAULT_SYMBOLS,
            **{
                name: _forex(
                    name,
                    "Crosses",
                    f"{_CURRENCY_NAMES[name[:3]]} vs {_CURRENCY_NAMES[name[3:]]}",
                    price=price,
                    volatility=volatility,
                    spread=spread,
                    swaps=swaps,
                    tick_rate=tick_rate,
                )
                for name, price, volatility, spread, swaps, tick_rate in _CROSSES
            },
            **{
                spec.name: spec
                for spec in (
                    _index("US500", "S&P 500 Index", "USD", 5_600.0, 0.16, 50),
                    _index("GER40", "Germany 40 Index (DAX)", "EUR", 23_000.0, 0.18, 120, hours=_EU_HOURS),
                    _index("FRA40", "France 40 Index (CAC 40)", "EUR", 7_800.0, 0.17, 100, hours=_EU_HOURS),
                    _index("EU50", "Euro Stoxx 50 Index", "EUR", 5_300.0, 0.18, 150, hours=_EU_HOURS),
                    _index("UK100", "UK 100 Index (FTSE 100)", "GBP", 8_700.0, 0.14, 100, hours=(180, 1380)),
                    _index("JP225", "Japan 225 Index (Nikkei 225)", "JPY", 38_000.0, 0.22, 700),
                    _index(
                        "AUS200", "Australia 200 Index (ASX 200)", "AUD", 8_200.0, 0.14, 150, hours=(60, 1380)
                    ),
                    _coin("LTCUSD", "Litecoin vs US Dollar", 85.0, 2, 12),
                    _coin("XRPUSD", "Ripple vs US Dollar", 2.20, 5, 250, contract_size=100.0),
                    _coin("SOLUSD", "Solana vs US Dollar", 150.0, 2, 30),
                    _coin("BCHUSD", "Bitcoin Cash vs US Dollar", 420.0, 2, 120),
                )
            },
        }.items()
    )
)

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
