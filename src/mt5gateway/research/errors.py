"""The backtester's errors: bad input (a 400 through the gateway's tree), bad orders, look-ahead.

BadRequest (mt5gateway.errors), ValueError
└── BacktestError       data, parameters, options or ranges a backtest cannot run with
    └── OrderError      an order the strategy placed breaks a rule (SL < price < TP, size, ...)
IndexError
└── LookAheadError      Strategy.next read a bar that has not closed yet
"""

from __future__ import annotations

from mt5gateway.errors import BadRequest

__all__ = ["BacktestError", "LookAheadError", "OrderError"]


class BacktestError(BadRequest, ValueError):
    """A backtest cannot run with this input; the message says what to change."""

    code = "backtest_invalid"


class OrderError(BacktestError):
    """An order breaks a rule of the broker (its SL, TP and price order, or its size)."""

    code = "backtest_order_invalid"


class LookAheadError(IndexError):
    """``Strategy.next`` read past the newest closed bar: data and indicators end at the current bar."""
