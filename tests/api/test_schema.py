"""Schemathesis over ``/openapi.json`` of a live gateway: no generated request gets a 5xx.

Admin restarts are left out (they take terminals down on purpose, which is what 503 means); every
other operation is called with a trusted key (so generated ``X-User-Tier`` values are honoured or
refused) and the admin key. Examples per operation are few to keep the run under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.models import Case
from schemathesis.specs.openapi.schemas import BaseOpenAPISchema

from ._hypothesis_compat import install as install_hypothesis_compat
from .conftest import LiveGateway

install_hypothesis_compat()


@pytest.fixture(scope="module")
def api_schema(live: LiveGateway) -> BaseOpenAPISchema:
    loaded = schemathesis.from_uri(f"{live.base_url}/openapi.json", base_url=live.base_url)
    return loaded.include(method="GET")


# FastAPI writes OpenAPI 3.1, which schemathesis 3 reads once asked to.
schemathesis.experimental.OPEN_API_3_1.enable()
schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: Case, live: LiveGateway) -> None:
    headers = {
        **(case.headers or {}),
        "X-API-Key": live.keys["trusted"],
        "X-Admin-API-Key": live.keys["admin"],
    }
    response = case.call(headers=headers, timeout=30)
    case.validate_response(response, checks=(not_a_server_error,))
