"""What schemathesis should generate and judge for a live gateway, for both of its runs (ours, S0's).

- Headers are HTTP fields: with control characters in a value, or a name that is not a token, a
  request never reaches the app (the server's HTTP parser answers it with its own plain-text 400), so
  generated values are printable, and a case with such a header anyway (negative cases) is skipped.
- Keys are not generated: the tests send real ones (and the checks remove them to test auth).
- A negative case whose only negation is names the operation does not declare (an extra header or
  query parameter, which HTTP services ignore) is not held to ``negative_data_rejection``: schemathesis
  means to exempt those, and misses the operations that declare no such parameter at all.
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


def _declared(case: Case, location: str) -> set[str]:
    return {parameter.name.lower() for parameter in getattr(case.operation, location)}


def _only_undeclared_names(case: Case) -> bool:
    if case.body is not None and not isinstance(case.body, NotSet):
        return False
    if case.path_parameters:
        return False
    query = {name.lower() for name in (case.query or {})}
    headers = {name.lower() for name in (case.headers or {})}
    return not (query & _declared(case, "query")) and not (headers & _declared(case, "headers"))


def judged_checks(case: Case, checks: tuple[Any, ...]) -> tuple[Any, ...]:
    """``checks`` less ``negative_data_rejection`` for a case negated only by undeclared names."""
    negative = case.data_generation_method is not None and case.data_generation_method.is_negative
    if negative and _only_undeclared_names(case):
        return tuple(check for check in checks if check is not negative_data_rejection)
    return checks


def sendable_headers(headers: dict[str, Any] | None) -> bool:
    """Whether every header is a valid HTTP field (a token name, a Latin-1 field value)."""
    return all(
        isinstance(value, str) and _FIELD_NAME.fullmatch(name) and _FIELD_VALUE.fullmatch(value)
        for name, value in (headers or {}).items()
    )
