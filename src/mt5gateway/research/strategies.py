"""Built-in strategies, by name (``sma_cross``, ``rsi_reversion``), and strategies from files.

``strategy_class("sma_cross")`` gives a built-in; ``strategy_class("path/to/file.py:MyStrategy")``
loads ``MyStrategy`` from a file (the only ``Strategy`` subclass defined in it when no name is
given). Both built-ins are ``SignalStrategy`` subclasses, so they run and optimise compiled.
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import numpy as np
import numpy.typing as npt
import talib

from .errors import BacktestError
from .model import Strategy
from .signals import SignalStrategy

__all__ = ["BUILT_IN", "RsiReversion", "SmaCross", "strategy_class"]


def _crossed_above(first: npt.NDArray[np.float64], second: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """True where ``first`` went from at or below ``second`` to above it."""
    above = first > second
    before = np.r_[False, (first <= second)[:-1]]
    return np.asarray(above & before, dtype=np.bool_)


class SmaCross(SignalStrategy):
    """Long when the fast simple moving average crosses above the slow one, short when below.

    ``size``: the order size (a fraction of the available margin, units, or lots in MT5 mode).
    """

    fast = 10
    slow = 30
    size = 0.99

    def init(self) -> None:
        close = np.asarray(self.data.Close, dtype=float)
        fast = talib.SMA(close, timeperiod=self.fast)
        slow = talib.SMA(close, timeperiod=self.slow)
        self.I(lambda: fast, name=f"SMA({self.fast})", overlay=True)
        self.I(lambda: slow, name=f"SMA({self.slow})", overlay=True)
        up, down = _crossed_above(fast, slow), _crossed_above(slow, fast)
        self.set_signal(np.where(up, self.size, np.where(down, -self.size, 0.0)))


class RsiReversion(SignalStrategy):
    """Long when RSI falls below ``lower``, short above ``upper``; out when it crosses 50."""

    period = 14
    lower = 30
    upper = 70
    size = 0.99

    def init(self) -> None:
        rsi = talib.RSI(np.asarray(self.data.Close, dtype=float), timeperiod=self.period)
        self.I(lambda: rsi, name=f"RSI({self.period})", overlay=False)
        entry = np.where(rsi < self.lower, self.size, np.where(rsi > self.upper, -self.size, 0.0))
        middle = np.full_like(rsi, 50.0)
        exits = _crossed_above(rsi, middle) | _crossed_above(middle, rsi)
        self.set_signal(entry, exits)


BUILT_IN: dict[str, type[Strategy]] = {"sma_cross": SmaCross, "rsi_reversion": RsiReversion}


def strategy_class(spec: str) -> type[Strategy]:
    """A built-in by name, or ``FILE.py[:CLASS]`` loaded from a file; ``BacktestError`` otherwise."""
    if spec in BUILT_IN:
        return BUILT_IN[spec]
    path_text, _, name = (
        spec.partition(":") if spec.count(":") == 1 and spec[1:3] != ":\\" else (spec, "", "")
    )
    path = Path(path_text)
    if path.suffix != ".py":
        raise BacktestError(
            f"unknown strategy {spec!r}: a built-in ({', '.join(BUILT_IN)}) or FILE.py[:CLASS]",
            field="strategy",
        )
    if not path.is_file():
        raise BacktestError(f"no strategy file {path}", field="strategy")
    module_spec = importlib.util.spec_from_file_location(f"mt5gateway_strategy_{path.stem}", path)
    if module_spec is None or module_spec.loader is None:
        raise BacktestError(f"cannot load {path}", field="strategy")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise BacktestError(f"{path} failed to load: {exc}", field="strategy") from exc
    found = {
        key: value
        for key, value in vars(module).items()
        if inspect.isclass(value) and issubclass(value, Strategy) and value.__module__ == module.__name__
    }
    if name:
        if name not in found:
            raise BacktestError(f"{path} defines no Strategy {name!r} (it has: {', '.join(found) or 'none'})")
        return found[name]
    if len(found) != 1:
        raise BacktestError(
            f"{path} defines {len(found)} strategies ({', '.join(found)}): name one with :CLASS"
        )
    return next(iter(found.values()))
