"""The OpenAPI document (``/openapi.json``), made true to what the service does.

FastAPI writes each route's parameters, body and declared responses. This module completes that,
once, from what each route really depends on:

- security: the alternatives of every auth check the route runs (``auth.AuthRequirement``: client
  key or bearer, admin key or bearer, both for ``/api/data``), and the refusals the check sends (401,
  403, 429 with ``Retry-After``);
- 400 for a route with parameters or a body (the error handler's ``invalid_request``), 413 for a
  route with a body (``api.guards``);
- FastAPI's 422 ``HTTPValidationError`` is removed: the service never sends it (validation errors
  are 400; a 422 that remains is a route's own, such as a refused order);
- every error response is the ``ErrorBody`` schema, and 429 / 503 declare ``Retry-After``.

Routers declare the rest with ``errors(...)``: the refusals of their domain (404, 409, 502, 503, ...).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.routing import BaseRoute

from .auth import SECURITY_SCHEMES, AuthRequirement, auth_requirement
from .schemas import ErrorBody

__all__ = ["RETRY_AFTER_HEADER", "document_api", "errors"]

RETRY_AFTER_HEADER: dict[str, Any] = {
    "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}
}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def errors(*declared: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a router or route: each (status, when it is sent) with the error schema."""
    return {
        status: {
            "model": ErrorBody,
            "description": description,
            **({"headers": RETRY_AFTER_HEADER} if status in (429, 503) else {}),
        }
        for status, description in declared
    }


def _requirements(dependant: Dependant) -> Iterator[AuthRequirement]:
    """The auth checks among a route's dependencies, depth first."""
    for sub in dependant.dependencies:
        requirement = auth_requirement(sub.call)
        if requirement is not None:
            yield requirement
        yield from _requirements(sub)


def _takes_input(dependant: Dependant) -> bool:
    params = (
        dependant.query_params,
        dependant.path_params,
        dependant.header_params,
        dependant.cookie_params,
        dependant.body_params,
    )
    return any(params) or any(_takes_input(sub) for sub in dependant.dependencies)


def _has_body(dependant: Dependant) -> bool:
    return bool(dependant.body_params) or any(_has_body(sub) for sub in dependant.dependencies)


def _add_response(operation: dict[str, Any], status: int, description: str) -> None:
    responses = operation.setdefault("responses", {})
    if str(status) in responses:
        return
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ERROR_REF}},
    }
    if status in (429, 503):
        response["headers"] = RETRY_AFTER_HEADER
    responses[str(status)] = response


def _complete_operation(operation: dict[str, Any], dependant: Dependant) -> None:
    responses = operation.setdefault("responses", {})
    generated = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if generated.get("$ref", "").endswith("/HTTPValidationError"):
        del responses["422"]
    requirements = list(_requirements(dependant))
    if requirements:
        alternatives: list[dict[str, list[str]]] = []
        for requirement in requirements:
            for name in requirement.security:
                if {name: []} not in alternatives:
                    alternatives.append({name: []})
            if requirement.optional:
                alternatives.append({})
        operation["security"] = alternatives
        for requirement in requirements:
            for status, description in requirement.refusals:
                _add_response(operation, status, description)
    if _takes_input(dependant):
        _add_response(operation, 400, "a parameter or the body is invalid (the sentence names it)")
    if _has_body(dependant):
        _add_response(operation, 413, "the body is larger than the configured limit (max_body_bytes)")
    for status, response in responses.items():
        if status in ("429", "503"):
            response.setdefault("headers", RETRY_AFTER_HEADER)


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[RouteContext]:
    """Every API route as served: its path with the prefixes it was included under."""
    for route in iter_route_contexts(routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            yield route


def _complete(schema: dict[str, Any], app: FastAPI) -> None:
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    components.setdefault("schemas", {}).setdefault("ErrorBody", ErrorBody.model_json_schema())
    paths = schema.get("paths", {})
    for route in _api_routes(app.routes):
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _complete_operation(operation, route.dependant)
    for name in _VALIDATION_SCHEMAS:
        components["schemas"].pop(name, None)


def document_api(app: FastAPI) -> None:
    """Have ``app`` serve the completed document (built once, on the first request for it)."""
    build_schema = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build_schema()  # FastAPI keeps it as app.openapi_schema
            _complete(schema, app)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
