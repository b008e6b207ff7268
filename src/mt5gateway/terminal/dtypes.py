"""The numpy dtypes of ``copy_rates_*`` and ``copy_ticks_*`` results, exactly as the module returns."""

from __future__ import annotations

import numpy as np

__all__ = ["RATES_DTYPE", "TICKS_DTYPE", "empty_rates", "empty_ticks"]

RATES_DTYPE = np.dtype(
    [
        ("time", "<i8"),
        ("open", "<f8"),
        ("high", "<f8"),
        ("low", "<f8"),
        ("close", "<f8"),
        ("tick_volume", "<u8"),
        ("spread", "<i4"),
        ("real_volume", "<u8"),
    ]
)

TICKS_DTYPE = np.dtype(
    [
        ("time", "<i8"),
        ("bid", "<f8"),
        ("ask", "<f8"),
        ("last", "<f8"),
        ("volume", "<u8"),
        ("time_msc", "<i8"),
        ("flags", "<u4"),
        ("volume_real", "<f8"),
    ]
)


def empty_rates() -> np.ndarray:
    """A zero-length rates array (what the module returns for an empty but valid range)."""
    return np.empty(0, dtype=RATES_DTYPE)


def empty_ticks() -> np.ndarray:
    """A zero-length ticks array."""
    return np.empty(0, dtype=TICKS_DTYPE)
