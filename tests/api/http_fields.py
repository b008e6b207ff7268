"""What schemathesis should generate and judge for a live gateway, for both of its runs (ours, S0's).

- Headers are HTTP fields: with control characters in a value, or a name that is not a token, a
  request never reaches the app (the server's HTTP parser answers it with its own plain-text 400), so
  generated values are printable, and a case with such a header anyway (negative cases) is skipped.
- Keys are not generated: the tests send real ones (and the checks remove them to test auth).
- A negative case is not held to ``negative_data_rejection`` when it is valid as sent: its only
  negation is names the operation does not declare (extra headers or query parameters, which HTTP
  services ignore: schemathesis means to exempt those, and misses operations that declare none), or
  a query or header value that is another JSON type but, written as text on the wire, is a valid
  string for its parameter (``symbols=53884991``).
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st
from schemathesis.checks import negative_data_rejection
from schemathesis.generation import GenerationConfig, HeaderConfig
from schemathesis.models import Case
from schemathesis.types import NotSet

__all__ = ["GENERATION", "judged_checks", "sendable_headers"]

# RFC 9110: a field name is a token, a field value visible characters, space, tab and obs-text.
_FIELD_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")

GENERATION = GenerationConfig(
    with_security_parameters=False,
    headers=HeaderConfig(strategy=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E))),
)


def _string_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The string alternative of a parameter's schema, if it has one."""
    if schema.get("type") == "string":
        return schema
    return next((option for option in schema.get("anyOf", ()) if option.get("type") == "string"), None)


def _valid_as_text(case: Case, location: str) -> bool:
    """Every declared parameter of ``location`` that the case sends is a valid string as written."""
    values = {name.lower(): value for name, value in (getattr(case, location) or {}).items()}
    for parameter in getattr(case.operation, location):
        if parameter.name.lower() not in values:
            continue
        text_schema = _string_schema(parameter.definition.get("schema", {}))
        if text_schema is None:
            return False
        # As requests writes a query: a list (or a dict's keys) as repeated values, each str().
        value = values[parameter.name.lower()]
        items = value if isinstance(value, list | dict) else [value]
        texts = [str(item) for item in items if item is not None]
        limit = text_schema.get("maxLength")
        if any(limit is not None and len(text) > limit for text in texts):
            return False
    return True


def _valid_as_sent(case: Case) -> bool:
    if case.body is not None and not isinstance(case.body, NotSet):
        return False
    return not case.path_parameters and _valid_as_text(case, "query") and _valid_as_text(case, "headers")


def judged_checks(case: Case, checks: tuple[Any, ...]) -> tuple[Any, ...]:
    """``checks`` less ``negative_data_rejection`` for a negative case that is valid as sent."""
    negative = case.data_generation_method is not None and case.data_generation_method.is_negative
    if negative and _valid_as_sent(case):
        return tuple(check for check in checks if check is not negative_data_rejection)
    return checks


def sendable_headers(headers: dict[str, Any] | None) -> bool:
    """Whether every header is a valid HTTP field (a token name, a Latin-1 field value)."""
    return all(
        isinstance(value, str) and _FIELD_NAME.fullmatch(name) and _FIELD_VALUE.fullmatch(value)
        for name, value in (headers or {}).items()
    )
