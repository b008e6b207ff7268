"""Tick and bar history: tables, engines (SQLite WAL / PostgreSQL), migrations, idempotent bulk writes,
reads as MT5 arrays, completeness per symbol per day, and jobs.

``Store.open(url)`` migrates and opens a database; ``migrate(url)`` only migrates.
"""

from __future__ import annotations

from .bulk import STORE_ERRORS
from .engine import create_store_engine, data_dir, default_url, migrate, normalize_url
from .jobs import Job, JobState, advance_job, create_job, finish_job, get_job, resumable_jobs
from .store import DayCompleteness, Store, SymbolCounts, tick_sequence

__all__ = [
    "STORE_ERRORS",
    "DayCompleteness",
    "Job",
    "JobState",
    "Store",
    "SymbolCounts",
    "advance_job",
    "create_job",
    "create_store_engine",
    "data_dir",
    "default_url",
    "finish_job",
    "get_job",
    "migrate",
    "normalize_url",
    "resumable_jobs",
    "tick_sequence",
]
