"""The data services behind ``/api/data`` (and the CLIs): statistics, gaps, completeness, gap-fill jobs,
stored bars and streamed exports. Keyword-only functions over a ``Store``; inputs are checked here,
so a router only parses and calls (bad input raises ``BadRequest`` / ``SymbolNotFound`` / ``NotFound``).

Times are epoch seconds and spans half-open ``[from_time, to_time)``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from mt5gateway.errors import BadRequest, NotFound, SymbolNotFound
from mt5gateway.store import DayCompleteness, Job, Store, get_job

from .bars import KEPT_TIMEFRAMES
from .fill import create_fill_job, validate_span
from .gaps import Gap, expected_minutes, find_gaps, measure_completeness, sessions_of

__all__ = [
    "EXPORT_FORMATS",
    "MAX_EXPORT_SPAN",
    "MAX_GAPS_SPAN",
    "completeness",
    "create_gap_fill",
    "export_rows",
    "gaps",
    "job_status",
    "statistics",
    "stored_bars",
]

DAY = 86_400
EXPORT_FORMATS = ("csv", "parquet")
MAX_GAPS_SPAN = 366 * DAY
MAX_EXPORT_SPAN = {"ticks": 7 * DAY, "bars": 366 * DAY}
# Rows are read and sent a chunk at a time: an hour of ticks, a day of bars.
_EXPORT_CHUNK = {"ticks": 3_600, "bars": DAY}


def statistics(*, store: Store, symbols: list[str] | None = None) -> list[dict[str, Any]]:
    """Per symbol: ticks and M1 bars held, first and last times, completeness % and gaps over the
    recorded span (``None`` for a symbol without known sessions)."""
    rows = []
    for counts in store.symbol_counts(symbols):
        row: dict[str, Any] = {
            "symbol": counts.symbol,
            "ticks": counts.ticks,
            "first_tick_msc": counts.first_tick_msc,
            "last_tick_msc": counts.last_tick_msc,
            "bars": counts.m1_bars,
            "first_bar_time": counts.first_bar_time,
            "last_bar_time": counts.last_bar_time,
            "completeness": None,
            "gaps": None,
        }
        if counts.first_bar_time is not None and counts.last_bar_time is not None:
            try:
                sessions = sessions_of(counts.symbol)
            except SymbolNotFound:
                sessions = None
            if sessions is not None:
                start, end = counts.first_bar_time, counts.last_bar_time + 60
                expected = expected_minutes(sessions, start, end).size
                found = find_gaps(store, counts.symbol, start, end)
                missing = sum(gap.minutes for gap in found)
                row["completeness"] = round(100.0 * (expected - missing) / expected, 3) if expected else 100.0
                row["gaps"] = len(found)
        rows.append(row)
    return rows


def gaps(*, store: Store, symbol: str, from_time: int, to_time: int) -> list[Gap]:
    """The gaps of ``symbol``'s M1 bars in the span (at most ``MAX_GAPS_SPAN``)."""
    validate_span(symbol=symbol, from_time=from_time, to_time=to_time, max_span=MAX_GAPS_SPAN)
    return find_gaps(store, symbol, from_time, to_time)


def completeness(*, store: Store, symbol: str, from_time: int, to_time: int) -> list[DayCompleteness]:
    """Completeness per UTC day of the span (measured now and saved)."""
    validate_span(symbol=symbol, from_time=from_time, to_time=to_time, max_span=MAX_GAPS_SPAN)
    return measure_completeness(store, symbol, from_time, to_time)


def create_gap_fill(*, store: Store, symbol: str, from_time: int, to_time: int, what: str) -> Job:
    """A pending gap-fill job (run it with ``fill.run_fill_job``)."""
    return create_fill_job(store, symbol=symbol, from_time=from_time, to_time=to_time, what=what)


def job_status(*, store: Store, job_id: str) -> Job:
    """The job with that id (``NotFound`` otherwise)."""
    job = get_job(store.engine, job_id)
    if job is None:
        raise NotFound(f"no job {job_id!r}", job_id=job_id)
    return job


def _timeframe(name: str) -> str:
    upper = name.upper()
    if upper not in KEPT_TIMEFRAMES:
        raise BadRequest(
            f"timeframe {name!r} is not kept; choose {', '.join(KEPT_TIMEFRAMES)} or ticks",
            field="timeframe",
        )
    return upper


def stored_bars(*, store: Store, symbol: str, timeframe: str, from_time: int, to_time: int) -> NDArray[Any]:
    """Stored bars (``RATES_DTYPE``) of the span, as ``source=store`` serves them."""
    name = _timeframe(timeframe)
    validate_span(symbol=symbol, from_time=from_time, to_time=to_time, max_span=MAX_EXPORT_SPAN["bars"])
    return store.read_bars(symbol, name, from_time, to_time)


def export_rows(
    *, store: Store, symbol: str, timeframe: str, from_time: int, to_time: int, fmt: str
) -> Iterator[bytes]:
    """Stored bars of ``timeframe`` (or ``"ticks"``) as CSV or Parquet bytes, produced chunk by chunk.

    The request is checked before the first chunk is produced, so errors surface before streaming.
    """
    if fmt not in EXPORT_FORMATS:
        raise BadRequest(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}", field="format")
    kind = "ticks" if timeframe.lower() == "ticks" else "bars"
    name = "ticks" if kind == "ticks" else _timeframe(timeframe)
    validate_span(symbol=symbol, from_time=from_time, to_time=to_time, max_span=MAX_EXPORT_SPAN[kind])
    chunks = _chunks(store, symbol, name, from_time, to_time)
    return _csv(chunks) if fmt == "csv" else _parquet(chunks)


def _chunks(store: Store, symbol: str, name: str, from_time: int, to_time: int) -> Iterator[NDArray[Any]]:
    step = _EXPORT_CHUNK["ticks" if name == "ticks" else "bars"]
    for start in range(from_time, to_time, step):
        end = min(start + step, to_time)
        if name == "ticks":
            yield store.read_ticks(symbol, start * 1000, end * 1000)
        else:
            yield store.read_bars(symbol, name, start, end)


def _csv(chunks: Iterator[NDArray[Any]]) -> Iterator[bytes]:
    header_sent = False
    for rows in chunks:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if not header_sent:
            writer.writerow(rows.dtype.names or ())
            header_sent = True
        writer.writerows(rows.tolist())
        yield buffer.getvalue().encode()


class _StreamSink(io.RawIOBase):
    """A write-only file that hands its bytes out as they come; it keeps counting positions, since
    the Parquet footer records the offset of every row group."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def drain(self) -> bytes:
        """The bytes written since the last drain."""
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _parquet(chunks: Iterator[NDArray[Any]]) -> Iterator[bytes]:
    sink = _StreamSink()
    writer: pq.ParquetWriter | None = None
    for rows in chunks:
        if len(rows) == 0 and writer is not None:
            continue
        table = pa.table({name: np.ascontiguousarray(rows[name]) for name in rows.dtype.names or ()})
        if writer is None:
            writer = pq.ParquetWriter(sink, table.schema)
        writer.write_table(table)
        yield sink.drain()
    if writer is not None:
        writer.close()
        yield sink.drain()
