"""JSON responses rendered with orjson (numpy scalars and arrays included)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

__all__ = ["JSONBytes", "OrjsonResponse"]


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
