"""The ``metatrader5`` backend: the official MetaTrader5 module, loaded inside a pool worker.

The module talks to one terminal per process over Windows IPC, so it is only imported in the worker
process that owns that terminal, never in the gateway.
"""

from __future__ import annotations

import importlib
from typing import cast

from .api import API_FUNCTIONS, TerminalAPI

__all__ = ["OfficialModuleUnavailable", "load_official_module"]


class OfficialModuleUnavailable(RuntimeError):
    """The official MetaTrader5 module cannot be imported on this host."""


def load_official_module() -> TerminalAPI:
    """The imported ``MetaTrader5`` module, which offers the 32 API functions at module level."""
    try:
        module = importlib.import_module("MetaTrader5")
    except ImportError as exc:
        raise OfficialModuleUnavailable(
            "the metatrader5 backend needs the official MetaTrader5 module, which runs on Windows "
            f"next to an installed terminal: run `pip install MetaTrader5` there ({exc}); on other "
            "hosts use the remote backend with `mt5gateway agent` on the Windows host"
        ) from None
    missing = [name for name in API_FUNCTIONS if not callable(getattr(module, name, None))]
    if missing:
        raise OfficialModuleUnavailable(
            f"the installed MetaTrader5 module lacks {', '.join(missing)}: upgrade it with "
            "`pip install -U MetaTrader5`"
        )
    return cast(TerminalAPI, module)
