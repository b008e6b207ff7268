"""Content negotiation helpers."""

from __future__ import annotations

__all__ = ["accepts_gzip"]

_REFUSED = frozenset({"q=0", "q=0.0", "q=0.00", "q=0.000"})


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` value accepts gzip (named, or ``*``, without ``q=0``)."""
    for item in accept_encoding.lower().split(","):
        coding, _, parameters = item.partition(";")
        if coding.strip() in ("gzip", "*"):
            return parameters.replace(" ", "") not in _REFUSED
    return False
