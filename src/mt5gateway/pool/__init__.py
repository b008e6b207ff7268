"""The terminal pool: one worker process per terminal, RPC with deadlines, routing, supervision.

Owns the worker processes (spawned, one backend each: simulator, official module or remote agent),
the RPC between gateway and workers, the in-process event bus of ticks and bars, the supervisor
(health checks, restart with backoff), symbol and account routing, the pool configuration, and the
remote agent (``mt5gateway agent``) with its wire format.
"""

from __future__ import annotations

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
