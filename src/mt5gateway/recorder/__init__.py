"""The recorder and its data services: ticks from the pool's bus into the store, bars built from them,
gaps and completeness, resumable gap-fill jobs, and the service functions behind ``/api/data``.

CLI: ``mt5gateway record`` (``cli.py``), ``mt5gateway gaps`` (``gaps_cli.py``),
``mt5gateway gap-fill`` (``fill_cli.py``).
"""

from __future__ import annotations

from .bars import KEPT_TIMEFRAMES, aggregate_bars, bars_from_ticks
from .fill import create_fill_job, resume_fill_jobs, run_fill_job
from .gaps import Gap, expected_minutes, find_gaps, measure_completeness
from .recorder import Recorder, RecorderStats
from .source import DirectTerminal, SymbolCaller

__all__ = [
    "KEPT_TIMEFRAMES",
    "DirectTerminal",
    "Gap",
    "Recorder",
    "RecorderStats",
    "SymbolCaller",
    "aggregate_bars",
    "bars_from_ticks",
    "create_fill_job",
    "expected_minutes",
    "find_gaps",
    "measure_completeness",
    "resume_fill_jobs",
    "run_fill_job",
]
