"""One place that turns exceptions into the JSON error body ``{success: false, error, code, ...}``.

- ``GatewayError`` (mt5gateway.errors): its status, message, code and extra fields; 429 and 503 get a
  ``Retry-After`` header (from the error's ``retry_after``, else the configured default for 503).
- Request validation errors: 400 ``invalid_request`` with a sentence naming the parameter.
- A database that does not answer (SQLAlchemy's OperationalError: refused, gone, locked too long):
  503 ``store_unavailable`` with ``Retry-After``; the data stays as it was.
- Unknown paths and wrong methods: 404 ``not_found`` / 405 ``method_not_allowed``, the latter with
  ``Allow`` naming every method the path takes (Starlette names only those of the first route that
  matched the path).
- Anything else: 500 ``internal_error`` with a generic sentence (details go to the log, not the client).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from mt5gateway.errors import GatewayError, StoreUnavailable

__all__ = ["error_response", "install_error_handlers"]

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def error_response(
    status: int,
    body: dict[str, Any],
    *,
    retry_after: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON error response, with ``Retry-After`` when given."""
    sent = dict(headers or {})
    if retry_after is not None:
        sent["Retry-After"] = str(retry_after)
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=sent)


def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    body = exc.body()
    retry_after = body.get("retry_after")
    if exc.status == 503 and retry_after is None:
        retry_after = request.app.state.gateway.settings.terminal_retry_after_seconds
        body["retry_after"] = retry_after
    if exc.status not in (429, 503):
        retry_after = None
    return error_response(exc.status, body, retry_after=None if retry_after is None else int(retry_after))


def _store_error(request: Request, exc: Exception) -> Response:
    log.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    unavailable = StoreUnavailable("The database did not answer; try again shortly")
    return _gateway_error(request, unavailable)


def _describe_validation_error(error: dict[str, Any]) -> tuple[str, str]:
    location = [str(part) for part in error.get("loc", ()) if part not in ("query", "path", "header", "body")]
    field = ".".join(location) or "request"
    return field, f"Invalid {field}: {error.get('msg', 'invalid value')}"


def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    field, sentence = _describe_validation_error(errors[0]) if errors else ("request", "Invalid request")
    body = {"success": False, "error": sentence, "code": "invalid_request", "field": field}
    return error_response(400, body)


def _allowed_methods(request: Request) -> str:
    """Every method some route takes at the request's path."""
    path = request.url.path
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex = route.path_regex if route.methods else None
        if regex is not None and regex.match(path):
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    body = {
        "success": False,
        "error": str(exc.detail),
        "code": _HTTP_CODES.get(exc.status_code, "http_error"),
    }
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return error_response(exc.status_code, body, headers=headers)


def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    body = {"success": False, "error": "Internal error; the gateway logged it", "code": "internal_error"}
    return error_response(500, body)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperationalError, _store_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
