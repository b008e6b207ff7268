"""mt5gateway: MetaTrader 5 terminals behind one fast, safe HTTP + WebSocket API.

Packages: ``terminal`` (the MT5 API contract), ``sim`` (the simulated terminal), ``pool`` (one worker
process per terminal), ``indicators``, ``market``, ``api`` (FastAPI app), ``store`` and ``recorder``
(tick and bar history), ``trading``, ``accounts``, ``sync`` (account mirror); ``cli`` is the command line.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
