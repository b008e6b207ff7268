"""This process's memory and CPU, for the health routes (Linux's /proc, else what ``resource`` gives)."""

from __future__ import annotations

import os
import resource
import time
from typing import Any

__all__ = ["process_usage"]

_STARTED = time.monotonic()
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def _rss_bytes() -> int:
    """Resident memory now (/proc), else the peak (``ru_maxrss`` is in KiB on Linux)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_BYTES
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def process_usage() -> dict[str, Any]:
    """``memory_rss_mb``, ``cpu_seconds`` and the average ``cpu_percent`` of one core since start,
    and the machine's one-minute ``load_average``."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    elapsed = max(time.monotonic() - _STARTED, 1e-9)
    return {
        "pid": os.getpid(),
        "memory_rss_mb": round(_rss_bytes() / 1_048_576, 1),
        "cpu_seconds": round(cpu, 3),
        "cpu_percent": round(100.0 * cpu / elapsed, 1),
        "load_average": round(os.getloadavg()[0], 2),
    }
