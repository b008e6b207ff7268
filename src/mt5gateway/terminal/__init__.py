"""The terminal contract: the MetaTrader5 module's API, written down once (SPEC 4.1).

Owns the constants (same names and values as the official module), the record named tuples, the
numpy dtypes, ``last_error`` codes and retcode names, timeframes, the ``TerminalAPI`` Protocol every
backend implements, the module's call forms and argument checks (``callforms``), its ``Buy``,
``Sell`` and ``Close`` helpers (``helpers``), and the backend for the official module.
"""

from __future__ import annotations

from . import constants
from .api import API_FUNCTIONS, TerminalAPI, TimeArg
from .dtypes import RATES_DTYPE, TICKS_DTYPE
from .errors import describe_retcode, retcode_name
from .records import (
    RECORD_TYPES,
    AccountInfo,
    BookInfo,
    OrderCheckResult,
    OrderSendResult,
    SymbolInfo,
    TerminalInfo,
    Tick,
    TradeDeal,
    TradeOrder,
    TradePosition,
    TradeRequest,
    record_to_dict,
)
from .timeframes import TIMEFRAME_NAMES, TIMEFRAME_SECONDS, TIMEFRAMES, timeframe_from_name, timeframe_name

__all__ = [
    "API_FUNCTIONS",
    "RATES_DTYPE",
    "RECORD_TYPES",
    "TICKS_DTYPE",
    "TIMEFRAMES",
    "TIMEFRAME_NAMES",
    "TIMEFRAME_SECONDS",
    "AccountInfo",
    "BookInfo",
    "OrderCheckResult",
    "OrderSendResult",
    "SymbolInfo",
    "TerminalAPI",
    "TerminalInfo",
    "Tick",
    "TimeArg",
    "TradeDeal",
    "TradeOrder",
    "TradePosition",
    "TradeRequest",
    "constants",
    "describe_retcode",
    "record_to_dict",
    "retcode_name",
    "timeframe_from_name",
    "timeframe_name",
]
