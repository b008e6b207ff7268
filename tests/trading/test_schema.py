"""Schemathesis over the bridge's routes (accounts, trading, bridge paths, /ws/status): no 5xx.

Every operation, the trading POST/PATCH/DELETE included, is called with a key holding all scopes on
a live gateway with simulated terminals. Examples per operation are few to keep the run short.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.models import Case
from schemathesis.specs.openapi.schemas import BaseOpenAPISchema

from tests.api._hypothesis_compat import install as install_hypothesis_compat

from .gateway import KEYS, Live

install_hypothesis_compat()


@pytest.fixture(scope="module")
def bridge_schema(live: Live) -> BaseOpenAPISchema:
    loaded = schemathesis.from_uri(f"{live.base_url}/openapi.json", base_url=live.base_url)
    return loaded.include(path_regex="^/api/(accounts|orders|positions|mt5)|^/ws/status")


# FastAPI writes OpenAPI 3.1, which schemathesis 3 reads once asked to.
schemathesis.experimental.OPEN_API_3_1.enable()
schema = schemathesis.from_pytest_fixture("bridge_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: Case, live: Live) -> None:
    response = case.call(headers={**(case.headers or {}), "X-API-Key": KEYS["trader"]}, timeout=30)
    case.validate_response(response, checks=(not_a_server_error,))
