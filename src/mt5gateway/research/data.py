"""Bars for a backtest: DataFrames checked and normalised, and ``bars(...)`` from a named source.

A backtest's bars are a DataFrame with ``Open, High, Low, Close[, Volume]`` on an ascending
``DatetimeIndex`` (backtesting.py's shape). ``frame_of`` also takes MT5's shapes and turns them into
that: a ``copy_rates`` array or frame (``time, open, high, low, close, tick_volume, spread,
real_volume``; ``spread`` is kept, in points) and a terminal's CSV export (``<DATE> <TIME> <OPEN> ...``).

``bars(symbol, timeframe, start, end, source=...)`` loads bars opened in ``[start, end)`` (a date
without a time as ``end`` includes that day) from:

- ``"sim"``: the simulated terminal's history (``copy_rates_range``), seeded by ``seed``;
- ``"store"``: bars the recorder stored (``store_url``, default the embedded database);
- ``"csv:PATH"`` / ``"parquet:PATH"``: a file in any of the shapes above; bars finer than
  ``timeframe`` are aggregated to it.

Bad input is refused with a ``BacktestError`` that says what is wrong: missing columns, NaN prices,
unsorted or repeated times, an empty range, an unknown timeframe or source.
"""

from __future__ import annotations

import io
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from mt5gateway.sim.terminal import SimConfig, SimTerminal
from mt5gateway.store import Store
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.timeframes import TIMEFRAME_SECONDS, TIMEFRAMES

from .errors import BacktestError

__all__ = [
    "bars",
    "frame_of",
    "parse_time",
    "read_bars_file",
    "spread_points",
    "tick_source",
    "timeframe_seconds",
]

_PRICES = ("Open", "High", "Low", "Close")
_MT5_COLUMNS = {"open": "Open", "high": "High", "low": "Low", "close": "Close"}
_EXPORT_COLUMNS = {
    "<OPEN>": "Open",
    "<HIGH>": "High",
    "<LOW>": "Low",
    "<CLOSE>": "Close",
    "<TICKVOL>": "Volume",
    "<VOL>": "real_volume",
    "<SPREAD>": "spread",
}
_AGGREGATION = {
    "Open": "first",
    "High": "max",
    "Low": "min",
    "Close": "last",
    "Volume": "sum",
    "spread": "min",
    "real_volume": "sum",
}


def timeframe_seconds(timeframe: str) -> int:
    """``"H1"`` -> 3600; ``BacktestError`` for a name that is not an MT5 timeframe."""
    try:
        return TIMEFRAME_SECONDS[TIMEFRAMES[timeframe.upper().removeprefix("TIMEFRAME_")]]
    except KeyError:
        raise BacktestError(
            f"unknown timeframe {timeframe!r}: one of {', '.join(TIMEFRAMES)}", field="timeframe"
        ) from None


def parse_time(value: Any, *, end: bool = False) -> pd.Timestamp:
    """A UTC timestamp from a datetime, ``"2024-01-31"``, ``"2024-01-31 12:00"`` or epoch seconds.

    As the end of a range, a bare date means the end of that day (the range includes it).
    """
    try:
        if isinstance(value, int | float | np.integer | np.floating):
            stamp = pd.Timestamp(float(value), unit="s", tz="UTC")
        else:
            stamp = pd.Timestamp(value)
            stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    except (ValueError, TypeError) as exc:
        raise BacktestError(f"not a time: {value!r} (use 2024-01-31 or 2024-01-31T12:00)") from exc
    if end and isinstance(value, str) and len(value.strip()) <= 10:
        stamp += timedelta(days=1)
    return stamp


def frame_of(data: Any, *, what: str = "data") -> pd.DataFrame:
    """A checked DataFrame of bars from any accepted shape (see the module docstring)."""
    if isinstance(data, np.ndarray) and data.dtype.names:
        data = pd.DataFrame(data)
    if not isinstance(data, pd.DataFrame):
        raise BacktestError(
            f"{what}: bars must be a pandas DataFrame or a copy_rates array, not {type(data).__name__}"
        )
    frame = data.copy(deep=False)
    lower = {str(col).lower(): col for col in frame.columns}
    if not set(_PRICES) <= set(map(str, frame.columns)) and set(_MT5_COLUMNS) <= set(lower):
        frame = frame.rename(columns={lower[k]: v for k, v in _MT5_COLUMNS.items()})
        if "tick_volume" in lower:
            frame = frame.rename(columns={lower["tick_volume"]: "Volume"})
        if "time" in lower:
            times = frame.pop(lower["time"])
            frame.index = _datetime_index(times)
    missing = [col for col in _PRICES if col not in frame.columns]
    if missing:
        raise BacktestError(
            f"{what}: bars need columns Open, High, Low, Close (and optionally Volume); missing {', '.join(missing)}"
        )
    if len(frame) == 0:
        raise BacktestError(f"{what}: no bars")
    prices = frame[list(_PRICES)]
    if not all(np.issubdtype(dtype, np.number) for dtype in prices.dtypes):
        raise BacktestError(f"{what}: Open, High, Low and Close must be numbers")
    bad = prices.isna().any(axis=1)
    if bad.any():
        raise BacktestError(
            f"{what}: {int(bad.sum())} bars have NaN prices (first at {frame.index[int(np.argmax(bad.to_numpy()))]}); "
            "drop them (df.dropna()) or fill them in"
        )
    if "Volume" not in frame.columns:
        frame["Volume"] = np.nan
    index = frame.index
    epoch_seconds = (
        not isinstance(index, pd.DatetimeIndex | pd.RangeIndex)
        and pd.api.types.is_numeric_dtype(index)
        and len(index) > 0
        and (np.asarray(index, dtype=float) > pd.Timestamp("1975").timestamp()).mean() > 0.8
    )
    if epoch_seconds:
        frame.index = index = _datetime_index(pd.Series(index))
    if index.has_duplicates:
        raise BacktestError(
            f"{what}: the bars' times repeat (first {index[index.duplicated()][0]}): one bar per time"
        )
    if not index.is_monotonic_increasing:
        position = _first_descent(index)
        raise BacktestError(
            f"{what}: the bars are not in time order (at row {position}, {index[position]}); sort them"
        )
    if not isinstance(index, pd.DatetimeIndex):
        warnings.warn(
            "Data index is not datetime. Assuming simple periods, but `pd.DateTimeIndex` is advised.",
            stacklevel=3,
        )
    return frame


def _first_descent(index: pd.Index) -> int:
    values = np.asarray(index)
    return int(np.argmax(values[1:] < values[:-1])) + 1


def _datetime_index(times: pd.Series) -> pd.DatetimeIndex:
    values = pd.Series(times).reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(values):
        return pd.DatetimeIndex(pd.to_datetime(values.astype("int64"), unit="s"), name="time")
    return pd.DatetimeIndex(pd.to_datetime(values), name="time")


def spread_points(frame: pd.DataFrame, *, default: float) -> npt.NDArray[np.float64]:
    """Each bar's spread in points: the bars' ``spread`` column, else ``default`` throughout."""
    if "spread" in frame.columns:
        return frame["spread"].to_numpy(dtype=float)
    return np.full(len(frame), float(default))


def read_bars_file(path: str | Path) -> pd.DataFrame:
    """Bars from a CSV (a terminal's export, a ``copy_rates`` frame, or Date + OHLC) or Parquet file."""
    file = Path(path)
    if not file.is_file():
        raise BacktestError(f"no such file: {file}")
    if file.suffix.lower() in (".parquet", ".pq"):
        return frame_of(pd.read_parquet(file), what=file.name)
    text = file.read_text(encoding="utf-8-sig", errors="replace")
    head = text.lstrip()[:200]
    if head.startswith("<DATE>"):
        return frame_of(_terminal_export(text), what=file.name)
    raw = pd.read_csv(io.StringIO(text), sep=None, engine="python")
    lower = {str(col).lower(): col for col in raw.columns}
    if "time" in lower or (set(_MT5_COLUMNS) <= set(lower) and "Open" not in raw.columns):
        return frame_of(raw, what=file.name)
    first = raw.columns[0]
    raw.index = pd.DatetimeIndex(pd.to_datetime(raw.pop(first)), name=str(first))
    return frame_of(raw, what=file.name)


def _terminal_export(text: str) -> pd.DataFrame:
    """MT5's "Export bars": tab-separated ``<DATE> <TIME> <OPEN> <HIGH> <LOW> <CLOSE> <TICKVOL> <VOL> <SPREAD>``
    (``<TIME>`` absent for daily bars), dates as ``2024.01.02``."""
    raw = pd.read_csv(io.StringIO(text), sep="\t")
    if "<DATE>" not in raw.columns:
        raise BacktestError("a terminal export needs a <DATE> column")
    stamp = raw.pop("<DATE>").astype(str)
    if "<TIME>" in raw.columns:
        stamp = stamp + " " + raw.pop("<TIME>").astype(str)
    raw.index = pd.DatetimeIndex(pd.to_datetime(stamp, format="mixed"), name="time")
    return raw.rename(columns=_EXPORT_COLUMNS)


def _resampled(frame: pd.DataFrame, seconds: int, what: str) -> pd.DataFrame:
    if not isinstance(frame.index, pd.DatetimeIndex) or len(frame) < 2:
        return frame
    step = int(pd.Series(frame.index).diff().dropna().dt.total_seconds().median())
    if step == seconds:
        return frame
    if step > seconds:
        raise BacktestError(
            f"{what}: its bars are {step} s apart, coarser than the {seconds} s timeframe asked for"
        )
    if seconds > 86_400:
        raise BacktestError(
            f"{what}: aggregating to weekly or monthly bars is not supported; give them directly"
        )
    rules = {col: rule for col, rule in _AGGREGATION.items() if col in frame.columns}
    grouped = frame.resample(f"{seconds}s", label="left", closed="left").agg(rules)
    return grouped.dropna(subset=list(_PRICES))


def bars(
    symbol: str,
    timeframe: str,
    start: Any,
    end: Any,
    *,
    source: str = "sim",
    seed: int = 0,
    store_url: str | None = None,
) -> pd.DataFrame:
    """Bars of ``symbol`` on ``timeframe`` opened in ``[start, end)`` from ``source`` (see the module).

    The frame's ``attrs["symbol"]`` names the symbol, so ``Backtest`` knows it.
    """
    seconds = timeframe_seconds(timeframe)
    begin, finish = parse_time(start), parse_time(end, end=True)
    if finish <= begin:
        raise BacktestError(f"empty range: {begin:%Y-%m-%d %H:%M} to {finish:%Y-%m-%d %H:%M}", field="end")
    name = timeframe.upper().removeprefix("TIMEFRAME_")
    kind, _, location = source.partition(":")
    empty = BacktestError(
        f"no {symbol} {name} bars from {begin:%Y-%m-%d %H:%M} to {finish:%Y-%m-%d %H:%M} in {source}",
        field="start",
    )
    if kind in ("sim", "store"):
        loaded = (
            _sim_rates(symbol, name, begin, finish, seed)
            if kind == "sim"
            else _store_rates(symbol, name, begin, finish, store_url)
        )
        if len(loaded) == 0:
            raise empty
        frame = frame_of(loaded, what=f"{symbol} {name} ({kind})")
    elif kind in ("csv", "parquet") and location:
        frame = _resampled(read_bars_file(location), seconds, location)
        index = frame.index
        if isinstance(index, pd.DatetimeIndex):
            naive_begin, naive_finish = begin.tz_localize(None), finish.tz_localize(None)
            frame = (
                frame[(index >= naive_begin) & (index < naive_finish)]
                if index.tz is None
                else frame[(index >= begin) & (index < finish)]
            )
    else:
        raise BacktestError(
            f"unknown source {source!r}: sim, store, csv:PATH or parquet:PATH", field="source"
        )
    if len(frame) == 0:
        raise empty
    frame.attrs["symbol"] = symbol
    return frame


def _sim_terminal(seed: int) -> Any:
    terminal = SimTerminal(SimConfig(seed=seed, db_path=":memory:"))
    if not terminal.initialize():
        raise BacktestError(f"the simulator did not start: {terminal.last_error()}")
    return terminal


def _sim_rates(
    symbol: str, timeframe: str, begin: pd.Timestamp, finish: pd.Timestamp, seed: int
) -> pd.DataFrame:
    terminal = _sim_terminal(seed)
    try:
        rates = terminal.copy_rates_range(
            symbol, TIMEFRAMES[timeframe], int(begin.timestamp()), int(finish.timestamp()) - 1
        )
        if rates is None:
            code, message = terminal.last_error()
            raise BacktestError(
                f"the simulator has no {symbol} {timeframe} bars: {message} ({code})", field="symbol"
            )
    finally:
        terminal.shutdown()
    return pd.DataFrame(rates)


def _store_rates(
    symbol: str, timeframe: str, begin: pd.Timestamp, finish: pd.Timestamp, url: str | None
) -> pd.DataFrame:
    store = Store.open(url)
    try:
        rates = store.read_bars(symbol, timeframe, int(begin.timestamp()), int(finish.timestamp()))
    finally:
        store.close()
    return pd.DataFrame(rates)


def tick_source(source: str, *, seed: int = 0, store_url: str | None = None) -> Any:
    """A function ``(symbol, from_msc, to_msc) -> TICKS_DTYPE array`` over ``"sim"`` or ``"store"`` ticks."""
    if source == "sim":
        terminal = _sim_terminal(seed)

        def sim_ticks(symbol: str, from_msc: int, to_msc: int) -> Any:
            ticks = terminal.copy_ticks_range(
                symbol,
                datetime.fromtimestamp(from_msc / 1000, UTC),
                datetime.fromtimestamp((to_msc - 1) / 1000, UTC),
                c.COPY_TICKS_ALL,
            )
            return ticks[ticks["time_msc"] < to_msc] if ticks is not None else None

        return sim_ticks
    if source == "store":
        store = Store.open(store_url)
        return store.read_ticks
    raise BacktestError(f"unknown tick source {source!r}: sim or store", field="ticks")
