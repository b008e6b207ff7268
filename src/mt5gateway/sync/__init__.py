"""The account mirror: a back office's copy of every account's balances, refreshed from gateways.

Owns the sync worker (``worker``: cycles, schedule, alerts), its sources (``source``: gateways over
HTTP; ``local``: the pool of the gateway it runs in), the mirror database (``mirror``, ``tables``: SQLite or PostgreSQL), freshness levels
(``freshness``), settings (``settings``: the ``[sync]`` table), the worker inside a gateway (``service``) and
the ``mt5gateway sync`` command (``cli``). The mirror stores what a gateway sent and never
computes a figure.
"""

from __future__ import annotations

from .freshness import Clock, Freshness, ManualClock, freshness_level, system_clock
from .local import LocalSource
from .mirror import AccountFailure, AccountSnapshot, Mirror, RunRecord
from .service import build_worker, mirror_probe, stored_lookup
from .settings import AccountMeta, FreshnessConfig, SourceConfig, SyncSettings, load_sync_settings
from .source import GatewaySource
from .worker import SyncWorker

__all__ = [
    "AccountFailure",
    "AccountMeta",
    "AccountSnapshot",
    "Clock",
    "Freshness",
    "FreshnessConfig",
    "GatewaySource",
    "LocalSource",
    "ManualClock",
    "Mirror",
    "RunRecord",
    "SourceConfig",
    "SyncSettings",
    "SyncWorker",
    "build_worker",
    "freshness_level",
    "load_sync_settings",
    "mirror_probe",
    "stored_lookup",
    "system_clock",
]
