"""Schemathesis over ``/openapi.json`` of a live gateway, with every check: the document is true.

Every operation is called with data generated from the document, valid and invalid, with a trusted
key holding every scope (so generated ``X-User-Tier`` values are honoured or refused) and the admin
key. Each answer must have a declared status, content type, headers and body schema; invalid data
must be refused; a keyed operation must refuse the request without its key (401), except the admin
operations, which refuse it with 403 as the original service did: their check asserts that instead.
Examples per operation are few to keep the run short.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, reject, settings
from schemathesis import DataGenerationMethod
from schemathesis.checks import ALL_CHECKS, ignored_auth
from schemathesis.models import Case
from schemathesis.specs.openapi.schemas import BaseOpenAPISchema

from ._hypothesis_compat import install as install_hypothesis_compat
from .conftest import LiveGateway
from .http_fields import GENERATION, judged_checks, sendable_headers

install_hypothesis_compat()

ADMIN_ONLY = [{"AdminKey": []}, {"BearerKey": []}]


def _with_minimums(node: Any) -> Any:
    """The document with ``minimum`` beside each numeric ``exclusiveMinimum`` (the same bound): the
    negative generator of schemathesis 3 reads ``exclusiveMinimum`` as OpenAPI 3.0's flag on ``minimum``
    and fails without one."""
    if isinstance(node, dict):
        fixed = {key: _with_minimums(value) for key, value in node.items()}
        for exclusive, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if isinstance(fixed.get(exclusive), int | float) and not isinstance(fixed[exclusive], bool):
                fixed.setdefault(inclusive, fixed[exclusive])
        return fixed
    if isinstance(node, list):
        return [_with_minimums(item) for item in node]
    return node


@pytest.fixture(scope="module")
def api_schema(live: LiveGateway) -> BaseOpenAPISchema:
    document = httpx.get(f"{live.base_url}/openapi.json", timeout=60).json()
    return schemathesis.from_dict(
        _with_minimums(document),
        base_url=live.base_url,
        data_generation_methods=[DataGenerationMethod.positive, DataGenerationMethod.negative],
        generation_config=GENERATION,
    )


# FastAPI writes OpenAPI 3.1, which schemathesis 3 reads once asked to.
schemathesis.experimental.OPEN_API_3_1.enable()
schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)
def test_every_check_holds(case: Case, live: LiveGateway) -> None:
    if not sendable_headers(case.headers):
        reject()
    case.headers = case.headers or {}  # schemathesis' auth check writes into it
    keys = {"X-API-Key": live.keys["all"], "X-Admin-API-Key": live.keys["admin"]}
    security = case.operation.definition.raw.get("security", [])
    admin_only = security == ADMIN_ONLY
    # The generic check expects 401 without a key: not for the admin operations (403, see above), nor
    # for /metrics, whose key is optional (`{}`): it is public on loopback, where the test runs.
    key_optional = {} in security
    checks = tuple(
        check for check in ALL_CHECKS if not ((admin_only or key_optional) and check is ignored_auth)
    )
    # A negative case may negate its keys: those it generated win over ours, so it stays negative.
    negative = case.data_generation_method is not None and case.data_generation_method.is_negative
    headers = {**keys, **(case.headers or {})} if negative else {**(case.headers or {}), **keys}
    response = case.call_and_validate(headers=headers, checks=judged_checks(case, checks), timeout=60)
    if admin_only and response.status_code < 300:
        refused = case.call(headers={**(case.headers or {}), "X-API-Key": live.keys["all"]}, timeout=60)
        assert refused.status_code == 403, refused.text
