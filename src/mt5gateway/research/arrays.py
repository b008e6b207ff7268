"""What a strategy sees: price columns and indicators revealed one bar at a time.

``Data`` serves the bars' columns (``Open``, ``High``, ``Low``, ``Close``, ``Volume`` and any other)
as NumPy arrays cut at the current bar, so inside ``Strategy.next`` ``data.Close[-1]`` is the newest
close and an index past it raises ``IndexError``: a strategy cannot read the future by accident.
``Series`` is the array type of both columns and indicators: a plain ``ndarray`` view with a name and
the bars' index, and pandas accessors (``.s``, ``.df``) for when a strategy wants them.

The views are cheap on purpose (a slice per bar, no per-view metadata copy): the name and index live
on the full-length array that every view points back to through ``ndarray.base``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Data", "Series"]

_OHLCV = ("Open", "High", "Low", "Close", "Volume")


class Series(np.ndarray):
    """A column or indicator as a NumPy array (the newest value last), with ``name`` and accessors."""

    @classmethod
    def full(cls, values: Any, *, name: str | list[str], index: pd.Index, **options: Any) -> Series:
        """The full-length array that views are cut from; ``options`` are plot hints (``overlay``, ...)."""
        array = np.asarray(values).view(cls)
        array.__dict__["_info"] = (name, index, options)
        return array

    def _meta(self) -> tuple[Any, pd.Index, dict[str, Any]]:
        array: Any = self
        while "_info" not in array.__dict__:
            array = array.base
            if not isinstance(array, Series):
                return ("", pd.RangeIndex(len(self)), {})
        meta: tuple[Any, pd.Index, dict[str, Any]] = array.__dict__["_info"]
        return meta

    @property
    def name(self) -> Any:
        """The column's or indicator's name (a list of names for a multi-line indicator)."""
        return self._meta()[0]

    @property
    def options(self) -> dict[str, Any]:
        """Plot hints given to ``Strategy.I`` (``overlay``, ``color``, ``scatter``, ``plot``)."""
        return self._meta()[2]

    @property
    def s(self) -> pd.Series:
        """The values so far as a ``pandas.Series`` on the bars' index (first line of a 2-D indicator)."""
        values = np.atleast_2d(np.asarray(self))
        name = self.name
        return pd.Series(
            values[0],
            index=self._meta()[1][: values.shape[1]],
            name=name[0] if isinstance(name, list) else name,
        )

    @property
    def df(self) -> pd.DataFrame:
        """The values so far as a ``pandas.DataFrame`` (one column per line)."""
        values = np.atleast_2d(np.asarray(self))
        name = self.name
        columns = name if isinstance(name, list) else [name] * len(values)
        return pd.DataFrame(values.T, index=self._meta()[1][: values.shape[1]], columns=columns)

    def __bool__(self) -> bool:
        # ``if self.signal:`` asks about the newest value, as backtesting.py's arrays do.
        try:
            return bool(self[-1])
        except IndexError:
            return super().__bool__()

    def __float__(self) -> float:
        return float(self[-1])


class Data:
    """The bars of one symbol, cut at the current bar while ``Strategy.next`` runs.

    Columns are attributes (``data.Close``) or items (``data["Close"]``); ``data.index`` is the bars'
    ``DatetimeIndex`` so far, ``data.df`` the frame so far, ``data.pip`` the price's smallest
    decimal, ``data.symbol`` the symbol's name (``None`` for an unnamed DataFrame).
    """

    def __init__(self, frame: pd.DataFrame, symbol: str | None = None) -> None:
        self._frame = frame
        self._symbol = symbol
        self._length = len(frame)
        self._views: dict[str, Any] = {}
        self._pip: float | None = None
        self._columns: dict[str, Series] = {}
        self._refresh()

    def _refresh(self) -> None:
        """Rebuild the column arrays (``Strategy.init`` may have added columns to ``data.df``)."""
        index = self._frame.index
        self._columns = {
            str(name): Series.full(np.asarray(column), name=str(name), index=index)
            for name, column in self._frame.items()
        }
        self._views.clear()

    def _set_length(self, length: int) -> None:
        self._length = length
        self._views.clear()

    def _view(self, key: str) -> Any:
        view = self._views.get(key)
        if view is None:
            source = self._frame.index if key == "__index" else self._columns[key]
            view = source[: self._length]
            self._views[key] = view
        return view

    def __getitem__(self, key: str) -> Series:
        try:
            view: Series = self._view(key)
        except KeyError:
            raise KeyError(f"Column {key!r} not in data (columns: {', '.join(self._columns)})") from None
        return view

    def __getattr__(self, key: str) -> Series:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            view: Series = self._view(key)
        except KeyError:
            raise AttributeError(
                f"Column {key!r} not in data (columns: {', '.join(self._columns)})"
            ) from None
        return view

    def __len__(self) -> int:
        return self._length

    def __repr__(self) -> str:
        i = self._length - 1
        values = ", ".join(f"{k}={v}" for k, v in self._frame.iloc[i].items())
        return f"<Data i={i} ({self._frame.index[i]}) {values}>"

    @property
    def Open(self) -> Series:
        """Opening prices so far."""
        return self._view("Open")  # type: ignore[no-any-return]

    @property
    def High(self) -> Series:
        """High prices so far."""
        return self._view("High")  # type: ignore[no-any-return]

    @property
    def Low(self) -> Series:
        """Low prices so far."""
        return self._view("Low")  # type: ignore[no-any-return]

    @property
    def Close(self) -> Series:
        """Closing prices so far (``Close[-1]`` is the newest)."""
        return self._view("Close")  # type: ignore[no-any-return]

    @property
    def Volume(self) -> Series:
        """Volume so far (NaN when the bars had none)."""
        return self._view("Volume")  # type: ignore[no-any-return]

    @property
    def index(self) -> pd.Index:
        """The bars' times so far."""
        return self._view("__index")  # type: ignore[no-any-return]

    @property
    def df(self) -> pd.DataFrame:
        """The bars so far as a DataFrame."""
        return self._frame.iloc[: self._length] if self._length < len(self._frame) else self._frame

    @property
    def symbol(self) -> str | None:
        """The symbol these bars are of (``None`` for a plain DataFrame backtest)."""
        return self._symbol

    @property
    def pip(self) -> float:
        """The price's smallest decimal step, from the number of decimals the closes are written with."""
        if self._pip is None:
            decimals = [len(str(value).partition(".")[-1]) for value in self._columns["Close"].tolist()]
            self._pip = float(10.0 ** -np.median(decimals))
        return self._pip

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
