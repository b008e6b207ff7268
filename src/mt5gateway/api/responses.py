"""JSON responses rendered with orjson (numpy scalars and arrays included)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from mt5gateway.market.cache import PreparedBody

from .encoding import accepts_gzip

__all__ = ["JSONBytes", "OrjsonResponse", "prepared_response"]


class OrjsonResponse(JSONResponse):
    """A JSON response whose body orjson renders."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)


class JSONBytes(JSONResponse):
    """A JSON body serialised beforehand (cached or built from arrays), sent as it is.

    A ``JSONResponse`` so that the OpenAPI document describes the route's model as its JSON body.
    """

    def render(self, content: Any) -> bytes:
        assert isinstance(content, bytes)
        return content


def prepared_response(request: Request, body: PreparedBody) -> JSONBytes:
    """``body`` as sent: gzip-compressed when it is kept for others and the client accepts gzip."""
    if body.shared and accepts_gzip(request.headers.get("accept-encoding", "")):
        return JSONBytes(body.gzip(), headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    return JSONBytes(body.json, headers={"Vary": "Accept-Encoding"})
