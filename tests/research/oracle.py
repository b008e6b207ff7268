"""backtesting.py 0.6.6 beside our backtester: one strategy body, two engines, results compared.

backtesting.py is AGPL: a dev dependency, imported by tests only, its GOOG bars read from its
installed package at test time.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from backtesting import Backtest as OracleBacktest
from backtesting import Strategy as OracleStrategy
from backtesting.test import GOOG

from mt5gateway.research import Backtest, Strategy

__all__ = ["GOOG", "SHORT", "assert_same_run", "both", "twins"]

SHORT = GOOG.iloc[:20]


def twins(init: Callable[[Any], None], next_: Callable[[Any], None], **params: Any) -> tuple[type, type]:
    """The same strategy body as a backtesting.py strategy and as ours."""
    body = {"init": init, "next": next_, **params}
    return type("Oracle", (OracleStrategy,), dict(body)), type("Ours", (Strategy,), dict(body))


def both(
    data: pd.DataFrame,
    init: Callable[[Any], None],
    next_: Callable[[Any], None],
    *,
    params: dict[str, Any] | None = None,
    **options: Any,
) -> tuple[pd.Series, pd.Series]:
    """Run the body on both engines with the same options; (oracle stats, our stats)."""
    oracle_class, our_class = twins(init, next_, **(params or {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = OracleBacktest(data, oracle_class, **options).run(**(params or {}))
        got = Backtest(data, our_class, **options).run(**(params or {}))
    return expected, got


def assert_same_run(expected: pd.Series, got: pd.Series, *, rtol: float = 1e-8) -> None:
    """Every statistic within ``rtol``, the trades and the equity curve equal."""
    assert list(got.index) == list(expected.index)
    for key, value in expected.items():
        if str(key).startswith("_"):
            continue
        mine = got[key]
        if isinstance(value, float | np.floating) and isinstance(mine, float | np.floating):
            assert np.isclose(mine, value, rtol=rtol, equal_nan=True), (key, mine, value)
        else:
            assert mine == value or (pd.isna(mine) and pd.isna(value)), (key, mine, value)
    pd.testing.assert_frame_equal(got["_trades"], expected["_trades"], check_dtype=False)
    pd.testing.assert_frame_equal(got["_equity_curve"], expected["_equity_curve"])
