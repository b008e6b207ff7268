"""The OpenAPI document as written: sentences for summaries, keys declared, errors with our schema."""

from __future__ import annotations

from typing import Any

import pytest

from mt5gateway.api import GatewayConfig, create_app

PUBLIC = {("get", "/api/health"), ("get", "/health")}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    schema: dict[str, Any] = create_app(GatewayConfig()).openapi()
    return schema


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def test_every_summary_is_a_sentence(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        summary = operation.get("summary", "")
        assert summary[:1].isupper() and summary.endswith(".") and len(summary.split()) >= 4, (method, path)


def test_every_keyed_operation_declares_its_security(document: dict[str, Any]) -> None:
    schemes = set(document["components"]["securitySchemes"])
    assert schemes == {"ClientKey", "AdminKey", "BearerKey"}
    for method, path, operation in _operations(document):
        if (method, path) in PUBLIC:
            assert "security" not in operation, path
            continue
        security = operation.get("security")
        assert security, (method, path)
        assert all(set(option) <= schemes for option in security), (method, path)


def test_errors_use_our_schema_and_fastapis_422_is_gone(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")) or (method, path, status) == ("get", "/api/health", "503"):
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
            if status in ("429", "503"):
                assert "Retry-After" in response["headers"], (method, path, status)


def test_the_indicator_body_is_declared_as_json_not_a_string(document: dict[str, Any]) -> None:
    operation = document["paths"]["/api/indicators/{symbol}/{timeframe}"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/IndicatorResponse"}
