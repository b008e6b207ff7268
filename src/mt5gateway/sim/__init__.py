"""The simulated MetaTrader 5 terminal, importable as a drop-in for the ``MetaTrader5`` module.

The folder owns the simulator (SPEC 4.3): ``symbols`` (the symbol specifications), ``clock`` (system
and manual clocks), ``market`` (deterministic prices, history and ticks), ``broker`` (accounts,
orders, positions, deals, persisted in SQLite), ``faults`` (disconnect, latency, hang, crash,
requotes, AutoTrading off), ``groups`` (``group=`` masks), ``terminal`` (``SimTerminal``, the 32
API functions, and its ``SimConfig``), ``runner`` (``mt5gateway sim-run``) and ``quotes``
(``mt5gateway quotes``).

Used as a module it reads like the official one::

    import mt5gateway.sim as mt5

    mt5.initialize()
    rates = mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, 100)

Besides the 32 functions it has the package's ``Buy``, ``Sell`` and ``Close`` helpers and its record
types (``mt5.TradePosition(p)`` copies a record). The module-level functions are bound to one
default ``SimTerminal``. Its seed, clock and database
come from ``configure(...)`` or, by default, from the environment: ``MT5GW_SIM_SEED``,
``MT5GW_SIM_SPEED``, ``MT5GW_SIM_MEMORY=1`` (broker state in memory) and ``MT5GW_DATA_DIR``.

The functions and the simulator classes are resolved on first use (module ``__getattr__``), so
importing a part such as ``mt5gateway.sim.symbols`` does not build, or import, the whole simulator.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from mt5gateway.terminal import constants as _constants
from mt5gateway.terminal.api import API_FUNCTIONS
from mt5gateway.terminal.constants import *  # noqa: F403  (the module exposes every constant)
from mt5gateway.terminal.helpers import HELPERS, bound
from mt5gateway.terminal.records import (
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
)

if TYPE_CHECKING:
    from .terminal import SimConfig, SimTerminal

__author__ = "mt5gateway (simulated MetaTrader 5)"

_SIMULATOR_CLASSES = ("ClockSpec", "SimConfig", "SimTerminal")
_default_terminal: SimTerminal | None = None
_helpers: dict[str, Any] = {}


def _terminal_module() -> ModuleType:
    # Imported on first use, see the module docstring.
    return importlib.import_module(".terminal", __name__)


def default_terminal() -> SimTerminal:
    """The ``SimTerminal`` behind the module-level functions (for ``faults`` and ``control``)."""
    global _default_terminal
    if _default_terminal is None:
        _default_terminal = _terminal_module().SimTerminal()
    return _default_terminal


def configure(config: SimConfig | None = None, **fields: Any) -> None:
    """Choose the default terminal's config (``SimConfig`` fields, over the environment's).

    Takes effect at the next ``initialize()``; a connected default terminal is shut down first.
    """
    chosen = config if config is not None else _terminal_module().SimConfig.from_env(**fields)
    default_terminal().configure(chosen)


def __getattr__(name: str) -> Any:
    if name in API_FUNCTIONS:
        return getattr(default_terminal(), name)
    if name in HELPERS:
        if not _helpers:
            _helpers.update(bound(default_terminal()))
        return _helpers[name]
    if name in _SIMULATOR_CLASSES:
        return getattr(_terminal_module(), name)
    if name == "__version__":
        return f"5.0.{_terminal_module().SIM_BUILD}"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_CONSTANT_NAMES = [name for name in vars(_constants) if name.isupper()]

__all__ = [  # noqa: PLE0604  (the 32 functions, the helpers and every constant, as the official module has them)
    "AccountInfo",
    "BookInfo",
    "OrderCheckResult",
    "OrderSendResult",
    "SymbolInfo",
    "TerminalInfo",
    "Tick",
    "TradeDeal",
    "TradeOrder",
    "TradePosition",
    "TradeRequest",
    "configure",
    "default_terminal",
    *_SIMULATOR_CLASSES,
    *API_FUNCTIONS,
    *HELPERS,
    *_CONSTANT_NAMES,
]
