"""Numeric and date request parameters, bounded in length and range before they are converted.

A number's text is refused past ``MAX_NUMBER_CHARS`` characters before any conversion (a 4,301-digit
``bars`` once reached ``int()``'s digit limit), then converted and checked against its range; floats
also refuse ``inf`` and ``nan``; a date (ISO-8601 or epoch seconds) is refused past
``MAX_DATE_CHARS``. Every numeric and date query and path parameter of the API is declared with these.
"""

from __future__ import annotations

from typing import Any

from fastapi import Path, Query
from fastapi.params import Param
from pydantic import BeforeValidator

__all__ = [
    "MAX_DATE_CHARS",
    "MAX_EPOCH_SECONDS",
    "MAX_NUMBER_CHARS",
    "date_query",
    "epoch_query",
    "path_int",
    "query_float",
    "query_int",
]

# Longer than any number a parameter takes (a signed 64-bit integer has 19 digits).
MAX_NUMBER_CHARS = 24
# Longer than any ISO-8601 date-time ("2026-01-02T03:04:05.123456+05:30" is 32).
MAX_DATE_CHARS = 40
# Times past 2100-01-01 are refused, well inside every database's integer range.
MAX_EPOCH_SECONDS = 4_102_444_800


def _at_most(chars: int, what: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        if isinstance(value, str) and len(value) > chars:
            raise ValueError(f"{what} of at most {chars} characters is expected")
        return value

    return BeforeValidator(check)


_SHORT_NUMBER = _at_most(MAX_NUMBER_CHARS, "a number")
_SHORT_DATE = _at_most(MAX_DATE_CHARS, "a date")


def _bounded(param: Param, check: BeforeValidator = _SHORT_NUMBER) -> Any:
    param.metadata.insert(0, check)
    return param


def query_int(*, ge: int, le: int, description: str, alias: str | None = None) -> Any:
    """An integer query parameter in ``ge .. le``."""
    return _bounded(Query(ge=ge, le=le, alias=alias, description=description))


def query_float(*, gt: float, le: float, description: str) -> Any:
    """A finite float query parameter in ``(gt, le]``."""
    return _bounded(Query(gt=gt, le=le, allow_inf_nan=False, description=description))


def epoch_query(*, alias: str, description: str) -> Any:
    """Epoch seconds in a query, 0 .. 2100-01-01."""
    return query_int(ge=0, le=MAX_EPOCH_SECONDS, alias=alias, description=description)


def path_int(*, ge: int, le: int, description: str) -> Any:
    """An integer path parameter in ``ge .. le``."""
    return _bounded(Path(ge=ge, le=le, description=description))


def date_query(*, alias: str, description: str) -> Any:
    """A date in a query: ISO-8601 or epoch seconds."""
    return _bounded(Query(alias=alias, description=description), _SHORT_DATE)
