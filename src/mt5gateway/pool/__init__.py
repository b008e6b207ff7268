"""The terminal pool: one worker process per terminal, RPC with deadlines, routing, supervision.

Owns the worker processes (spawned, one backend each: simulator, official module or remote agent),
the RPC between gateway and workers, the in-process event bus of ticks and bars, the supervisor
(health checks, restart with backoff), symbol and account routing, the pool configuration, and the
remote agent (``mt5gateway agent``) with its wire format.

The public names below are imported on first use: a spawned worker process imports only
``pool.worker`` and starts without loading asyncio, pydantic and the gateway side.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .bus import BarEvent, EventBus, Subscription, TerminalEvent, TickEvent
    from .config import ConfigError, PoolConfig, TerminalConfig, default_pool_config, load_pool_config
    from .pool import TerminalPool
    from .stats import LogLine, TerminalStatus

__all__ = [
    "BarEvent",
    "ConfigError",
    "EventBus",
    "LogLine",
    "PoolConfig",
    "Subscription",
    "TerminalConfig",
    "TerminalEvent",
    "TerminalPool",
    "TerminalStatus",
    "TickEvent",
    "default_pool_config",
    "load_pool_config",
]

_HOME = {
    "BarEvent": "bus",
    "EventBus": "bus",
    "Subscription": "bus",
    "TerminalEvent": "bus",
    "TickEvent": "bus",
    "ConfigError": "config",
    "PoolConfig": "config",
    "TerminalConfig": "config",
    "default_pool_config": "config",
    "load_pool_config": "config",
    "TerminalPool": "pool",
    "LogLine": "stats",
    "TerminalStatus": "stats",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
