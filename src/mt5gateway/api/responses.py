"""JSON responses rendered with orjson (numpy scalars and arrays included)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse, Response

__all__ = ["JSONBytes", "OrjsonResponse"]


class OrjsonResponse(JSONResponse):
    """A JSON response whose body orjson renders."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)


class JSONBytes(Response):
    """A JSON body serialised beforehand (the indicator cache's bytes), sent as they are."""

    media_type = "application/json"
