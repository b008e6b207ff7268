"""``Store``: ticks, bars and completeness kept in SQLite or PostgreSQL, read back as MT5 arrays.

Writes are idempotent (see ``bulk``): ticks and bars keyed by symbol and time, so a replayed batch,
a re-fetched window after a crash or a gap fill over data already held changes nothing. Reads return
the MetaTrader5 module's own dtypes (``TICKS_DTYPE``, ``RATES_DTYPE``), so stored history and a
terminal's history are interchangeable. Time ranges are half-open: ``[from, to)``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray

from mt5gateway.terminal.dtypes import RATES_DTYPE, TICKS_DTYPE

from .bulk import driver_connection, upsert_batch
from .engine import create_store_engine, migrate
from .tables import BARS, COMPLETENESS, TICKS

__all__ = ["DayCompleteness", "Store", "SymbolCounts", "tick_sequence"]

_RATE_FIELDS = ("time", "open", "high", "low", "close", "tick_volume", "spread", "real_volume")
_BAR_VALUE_FIELDS = _RATE_FIELDS[1:]


def tick_sequence(
    time_msc: NDArray[np.int64], *, continues: tuple[int, int] | None = None
) -> NDArray[np.int64]:
    """Number the ticks of each millisecond 0, 1, 2 ... in order.

    ``continues=(time_msc, count)`` says that ``count`` ticks of that millisecond were numbered in an
    earlier batch, so a first group at the same millisecond goes on from ``count``. Raises
    ``ValueError`` when the times go backwards (MT5 gives ticks in time order).
    """
    times = np.asarray(time_msc, dtype=np.int64)
    if times.size == 0:
        return np.empty(0, dtype=np.int64)
    steps = np.diff(times)
    if (steps < 0).any():
        raise ValueError("ticks must be in time order")
    group_starts = np.flatnonzero(np.concatenate(([True], steps != 0)))
    group_sizes = np.diff(np.append(group_starts, times.size))
    seq = np.arange(times.size, dtype=np.int64) - np.repeat(group_starts, group_sizes)
    if continues is not None and times[0] == continues[0]:
        seq[: group_sizes[0]] += continues[1]
    return seq


@dataclass(frozen=True)
class SymbolCounts:
    """What the store holds for one symbol: ticks and M1 bars, with their first and last times."""

    symbol: str
    ticks: int
    first_tick_msc: int | None
    last_tick_msc: int | None
    m1_bars: int
    first_bar_time: int | None
    last_bar_time: int | None


@dataclass(frozen=True)
class DayCompleteness:
    """Expected trading minutes of one UTC day and how many of them have a stored M1 bar."""

    symbol: str
    day: str
    expected_minutes: int
    present_minutes: int

    @property
    def percent(self) -> float:
        """Share of the expected minutes present, 100.0 for a day with nothing expected."""
        if self.expected_minutes == 0:
            return 100.0
        return 100.0 * self.present_minutes / self.expected_minutes


class Store:
    """Tick and bar history over one SQLAlchemy engine (thread-safe; one per process is enough)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None, *, upgrade: bool = True) -> Store:
        """Open the database at ``url`` (default: the SQLite file in the data folder), migrating it first."""
        engine = create_store_engine(url)
        if upgrade:
            migrate(engine)
        return cls(engine)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    # -- writes --

    def write_ticks(
        self,
        symbol: str,
        ticks: NDArray[Any],
        *,
        seq: NDArray[np.int64] | None = None,
        connection: sa.Connection | None = None,
    ) -> int:
        """Store ticks (``TICKS_DTYPE``, time order); returns how many were new.

        ``seq`` numbers ticks within a millisecond (``tick_sequence`` of the batch when omitted).
        With ``connection`` the write joins the caller's transaction.
        """
        if seq is None:
            seq = tick_sequence(ticks["time_msc"])
        batch: dict[str, NDArray[Any] | str] = {
            "symbol": symbol,
            "time_msc": ticks["time_msc"],
            "seq": seq,
            "bid": ticks["bid"],
            "ask": ticks["ask"],
            "last": ticks["last"],
            "volume": ticks["volume"],
            "flags": ticks["flags"],
            "volume_real": ticks["volume_real"],
        }
        return self._write(TICKS, batch, update=False, connection=connection)

    def write_bars(
        self,
        symbol: str,
        timeframe: str,
        rates: NDArray[Any],
        *,
        connection: sa.Connection | None = None,
    ) -> int:
        """Store bars (``RATES_DTYPE``) of a timeframe named like ``"M1"``; a bar already held is
        replaced only when it differs (a forming bar gets its final values). Returns rows changed."""
        batch: dict[str, NDArray[Any] | str] = {"symbol": symbol, "timeframe": timeframe}
        batch.update({field: rates[field] for field in _RATE_FIELDS})
        return self._write(BARS, batch, update=True, connection=connection)

    def _write(
        self,
        table: sa.Table,
        batch: dict[str, NDArray[Any] | str],
        *,
        update: bool,
        connection: sa.Connection | None,
    ) -> int:
        if connection is not None:
            return upsert_batch(connection, table, batch, update=update)
        with self.engine.begin() as own:
            return upsert_batch(own, table, batch, update=update)

    # -- reads --

    def read_ticks(self, symbol: str, from_msc: int, to_msc: int) -> NDArray[Any]:
        """Ticks with ``from_msc <= time_msc < to_msc`` as a ``TICKS_DTYPE`` array, in order."""
        rows = self._raw_rows(
            'SELECT time_msc / 1000, bid, ask, "last", volume, time_msc, flags, volume_real FROM ticks '
            "WHERE symbol = {p} AND time_msc >= {p} AND time_msc < {p} ORDER BY time_msc, seq",
            (symbol, from_msc, to_msc),
        )
        return np.array(rows, dtype=TICKS_DTYPE)

    def read_bars(
        self,
        symbol: str,
        timeframe: str,
        from_time: int,
        to_time: int,
        *,
        connection: sa.Connection | None = None,
    ) -> NDArray[Any]:
        """Bars with ``from_time <= time < to_time`` as a ``RATES_DTYPE`` array, oldest first (within the
        caller's transaction when given ``connection``)."""
        rows = self._raw_rows(
            'SELECT "time", "open", high, low, "close", tick_volume, spread, real_volume FROM bars '
            'WHERE symbol = {p} AND timeframe = {p} AND "time" >= {p} AND "time" < {p} ORDER BY "time"',
            (symbol, timeframe, from_time, to_time),
            connection=connection,
        )
        return np.array(rows, dtype=RATES_DTYPE)

    def bar_times(self, symbol: str, timeframe: str, from_time: int, to_time: int) -> NDArray[np.int64]:
        """Open times of the stored bars in ``[from_time, to_time)``, ascending."""
        rows = self._raw_rows(
            'SELECT "time" FROM bars WHERE symbol = {p} AND timeframe = {p} AND "time" >= {p} '
            'AND "time" < {p} ORDER BY "time"',
            (symbol, timeframe, from_time, to_time),
        )
        return np.array([row[0] for row in rows], dtype=np.int64)

    def _raw_rows(
        self, sql: str, params: Sequence[Any], *, connection: sa.Connection | None = None
    ) -> list[tuple[Any, ...]]:
        # The DB-API cursor directly: a day of M1 bars must come back in a few milliseconds.
        if connection is None:
            # one SELECT needs no transaction: autocommit spares the BEGIN and ROLLBACK round trips
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as own:
                return self._raw_rows(sql, params, connection=own)
        marker = "?" if self.dialect == "sqlite" else "%s"
        cursor = driver_connection(connection).cursor()
        try:
            cursor.execute(sql.format(p=marker), tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def newest_tick(self, symbol: str) -> tuple[int, int] | None:
        """``(time_msc, ticks at that millisecond)`` of the newest stored tick, or ``None``."""
        with self.engine.connect() as connection:
            newest = connection.execute(
                sa.select(sa.func.max(TICKS.c.time_msc)).where(TICKS.c.symbol == symbol)
            ).scalar()
            if newest is None:
                return None
            count = connection.execute(
                sa.select(sa.func.count())
                .select_from(TICKS)
                .where(TICKS.c.symbol == symbol, TICKS.c.time_msc == newest)
            ).scalar_one()
        return int(newest), int(count)

    def symbol_counts(self, symbols: Sequence[str] | None = None) -> list[SymbolCounts]:
        """Per symbol: ticks and M1 bars held, first and last times (symbols with neither are left out
        unless named in ``symbols``)."""
        tick_query = sa.select(
            TICKS.c.symbol, sa.func.count(), sa.func.min(TICKS.c.time_msc), sa.func.max(TICKS.c.time_msc)
        ).group_by(TICKS.c.symbol)
        bar_query = (
            sa.select(BARS.c.symbol, sa.func.count(), sa.func.min(BARS.c.time), sa.func.max(BARS.c.time))
            .where(BARS.c.timeframe == "M1")
            .group_by(BARS.c.symbol)
        )
        if symbols is not None:
            tick_query = tick_query.where(TICKS.c.symbol.in_(symbols))
            bar_query = bar_query.where(BARS.c.symbol.in_(symbols))
        with self.engine.connect() as connection:
            ticks = {row[0]: row[1:] for row in connection.execute(tick_query)}
            bars = {row[0]: row[1:] for row in connection.execute(bar_query)}
        names = sorted(set(ticks) | set(bars) | set(symbols or ()))
        empty = (0, None, None)
        return [SymbolCounts(name, *ticks.get(name, empty), *bars.get(name, empty)) for name in names]

    # -- completeness --

    def save_completeness(self, days: Sequence[DayCompleteness]) -> None:
        """Record (replace) the completeness of the given symbol-days."""
        if not days:
            return
        now = int(time.time() * 1000)
        with self.engine.begin() as connection:
            for day in days:
                connection.execute(
                    sa.delete(COMPLETENESS).where(
                        COMPLETENESS.c.symbol == day.symbol, COMPLETENESS.c.day == day.day
                    )
                )
            connection.execute(
                sa.insert(COMPLETENESS),
                [
                    {
                        "symbol": day.symbol,
                        "day": day.day,
                        "expected_minutes": day.expected_minutes,
                        "present_minutes": day.present_minutes,
                        "updated_msc": now,
                    }
                    for day in days
                ],
            )

    def read_completeness(
        self, *, symbol: str | None = None, from_day: str | None = None, to_day: str | None = None
    ) -> list[DayCompleteness]:
        """Recorded completeness, by symbol then day; days are ISO dates, both bounds inclusive."""
        query = sa.select(
            COMPLETENESS.c.symbol,
            COMPLETENESS.c.day,
            COMPLETENESS.c.expected_minutes,
            COMPLETENESS.c.present_minutes,
        ).order_by(COMPLETENESS.c.symbol, COMPLETENESS.c.day)
        if symbol is not None:
            query = query.where(COMPLETENESS.c.symbol == symbol)
        if from_day is not None:
            query = query.where(COMPLETENESS.c.day >= from_day)
        if to_day is not None:
            query = query.where(COMPLETENESS.c.day <= to_day)
        with self.engine.connect() as connection:
            return [DayCompleteness(*row) for row in connection.execute(query)]
