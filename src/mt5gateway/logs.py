"""One logging setup for every command: plain lines by default, JSON lines when asked.

``configure_logging(level, fmt)`` is called by the command line before any command runs
(``mt5gateway --log-format json demo``, or ``MT5GW_LOG_FORMAT=json``). Each record carries the id of
the HTTP request it was logged under (``request_id``; ``-`` outside a request): the API sets
``REQUEST_ID`` for the span of each request, and the same id goes back in ``X-Request-ID``.

Plain: ``2025-01-10 12:00:00,123 INFO mt5gateway.trading.service [3f9c0a1b2d4e5f60] message``.
JSON: one object per line with ``time``, ``level``, ``logger``, ``request_id``, ``message`` (and
``exc_info`` when there is one), written by python-json-logger.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

__all__ = ["LOG_FORMATS", "LOG_LEVELS", "REQUEST_ID", "LogFormat", "RequestIdFilter", "configure_logging"]

LogFormat = Literal["plain", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("plain", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")

_PLAIN = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"
_JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request it was logged under."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def configure_logging(level: str = "info", fmt: LogFormat = "plain") -> None:
    """Send every logger's records (uvicorn's included) to stderr, at ``level``, as ``fmt`` lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter(_JSON_FIELDS, rename_fields=_JSON_RENAMES))
    else:
        handler.setFormatter(logging.Formatter(_PLAIN))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's loggers write to the root's handler rather than their own.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
