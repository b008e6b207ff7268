"""Timeframes: MT5 constant values, their names (``"H1"``) and lengths.

Every timeframe from M1 to D1 is a whole number of minutes that divides a day, so its bars start at
``time - time % seconds``. W1 bars start on Sunday 00:00 (as in MT5) and MN1 bars on the 1st.
"""

from __future__ import annotations

from . import constants as c

__all__ = [
    "TIMEFRAMES",
    "TIMEFRAME_NAMES",
    "TIMEFRAME_SECONDS",
    "timeframe_from_name",
    "timeframe_name",
]

# name -> MT5 value, in ascending order of length
TIMEFRAMES: dict[str, int] = {
    name.removeprefix("TIMEFRAME_"): value
    for name, value in sorted(
        ((n, v) for n, v in vars(c).items() if n.startswith("TIMEFRAME_")),
        key=lambda item: (item[1] >> 14, item[1] & 0x3FFF),
    )
}
TIMEFRAME_NAMES: dict[int, str] = {value: name for name, value in TIMEFRAMES.items()}

# Fixed lengths in seconds; W1 and MN1 are calendar-aligned, their value here is nominal.
TIMEFRAME_SECONDS: dict[int, int] = {
    value: (
        (value & 0x3FFF) * 60
        if value < 0x4000
        else (value & 0x3FFF) * 3600
        if value < 0x8000
        else 7 * 86400
        if value == c.TIMEFRAME_W1
        else 30 * 86400
    )
    for value in TIMEFRAMES.values()
}


def timeframe_name(timeframe: int) -> str:
    """``16385`` -> ``"H1"``; raises KeyError for a value that is not an MT5 timeframe."""
    return TIMEFRAME_NAMES[timeframe]


def timeframe_from_name(name: str) -> int:
    """``"H1"`` (any case, with or without ``TIMEFRAME_``) -> ``16385``; KeyError when unknown."""
    return TIMEFRAMES[name.upper().removeprefix("TIMEFRAME_")]
