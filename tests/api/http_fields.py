"""Which generated requests are HTTP at all: header values with control characters never reach the
app (the server's HTTP parser answers them with its own plain-text 400), so schema checks skip them."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["sendable_headers"]

# RFC 9110 field values: visible characters, space and tab, and obs-text (0x80-0xFF).
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


def sendable_headers(headers: dict[str, Any] | None) -> bool:
    """Whether every header value is a valid HTTP field value in Latin-1."""
    return all(isinstance(value, str) and _FIELD_VALUE.fullmatch(value) for value in (headers or {}).values())
