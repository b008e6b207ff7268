"""What the original clients expect: the S0 OpenAPI file (read from the shared folder, never copied
here) and the S2 and S4 shapes of their design documents (``shared/contracts/s2.md``, ``s4.md``)
written as JSON Schemas, and a validator for both."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import jsonschema
import yaml

from tests.shared_docs import shared_path

__all__ = ["S2", "S4", "check", "s0_document", "s0_schema"]


@cache
def s0_document() -> dict[str, Any]:
    """The tiered indicator service's OpenAPI 3.0 contract, as published by its front end."""
    document: dict[str, Any] = yaml.safe_load(
        shared_path("contracts", "s0-flask_mt5_openapi.yaml").read_text()
    )
    return document


def _inline(node: Any, document: dict[str, Any]) -> Any:
    """``node`` with every ``$ref`` into the document replaced by what it names (S0 has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return _inline(copy.deepcopy(target), document)
        return {key: _inline(value, document) for key, value in node.items() if key != "example"}
    if isinstance(node, list):
        return [_inline(item, document) for item in node]
    return node


def s0_schema(name: str) -> dict[str, Any]:
    """An S0 component schema (``components.schemas.<name>``) as a self-contained JSON Schema."""
    document = s0_document()
    schema: dict[str, Any] = _inline(document["components"]["schemas"][name], document)
    return schema


def check(instance: Any, schema: dict[str, Any]) -> None:
    """Validate ``instance`` (date-times checked as such)."""
    jsonschema.validate(instance, schema, format_checker=jsonschema.FormatChecker())


_NUMBER = {"type": "number"}
_ISO = {"type": "string", "format": "date-time"}


def _object(required: dict[str, Any], **optional: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": {**required, **optional}}


# S2: the account bridge's paths and its sync service's health, as the design's sync reads them.
S2: dict[str, dict[str, Any]] = {
    "bridge_health": _object(
        {
            "status": {"enum": ["healthy", "unhealthy"]},
            "timestamp": _ISO,
            "mt5": _object(
                {
                    "available": {"type": "boolean"},
                    "terminal_info": _object(
                        {
                            "connected": {"type": "boolean"},
                            "trade_allowed": {"type": "boolean"},
                            "name": {"type": "string"},
                            "company": {"type": "string"},
                            "build": {"type": "integer"},
                        }
                    ),
                }
            ),
            "mongodb": _object({"connected": {"type": "boolean"}}),
        }
    ),
    "accounts_summary": _object(
        {"accounts": {"type": "array", "minItems": 1, "items": _object({"account": {"type": "integer"}})}}
    ),
    "account_info": _object(
        {
            "account_id": {"type": "integer"},
            "live_data": _object(
                {
                    "balance": _NUMBER,
                    "equity": _NUMBER,
                    "profit": _NUMBER,
                    "margin": _NUMBER,
                    "margin_free": _NUMBER,
                    "currency": {"type": "string"},
                }
            ),
            # Both are objects: a client falls back to stored_data when live_data is empty.
            "stored_data": _object({"balance": {"type": ["number", "null"]}}),
        }
    ),
    "account_balance": _object({"balance": _NUMBER, "equity": _NUMBER, "profit": _NUMBER}),
    "mt5_health": _object(
        {
            "status": {"type": "string"},
            "vps_api": _object(
                {
                    "reachable": {"type": "boolean"},
                    "response_time": {"type": ["number", "null"]},
                    "status": {},
                }
            ),
            "data_freshness": _object(
                {
                    "oldest_update": {"type": "string", "pattern": r"^(never|.* ago|now)$"},
                    "staleness": {"enum": ["fresh", "acceptable", "degraded", "critical"]},
                }
            ),
            "last_sync": _object(
                {
                    "time": _ISO,
                    "success": {"type": "boolean"},
                    "accounts_synced": {"type": "string", "pattern": r"^\d+/\d+$"},
                    "duration": _NUMBER,
                }
            ),
            "issues": {"type": "array"},
        }
    ),
    "manual_sync": _object(
        {
            "status": {"const": "success"},
            "accounts_synced": {"type": "integer"},
            "total_accounts": {"type": "integer"},
        }
    ),
}

# S4: the MT5 Bridge Microservice's REST answers and WebSocket messages.
_MESSAGE = {"type": {"type": "string"}, "timestamp": _ISO}
S4: dict[str, dict[str, Any]] = {
    "health": _object(
        {
            "status": {"const": "healthy"},
            "service": {"const": "mt5-bridge"},
            "timestamp": _ISO,
            "mt5_status": _object(
                {
                    "status": {"const": "connected"},
                    "server": {"type": "string", "minLength": 1},
                    "last_update": _ISO,
                }
            ),
        }
    ),
    "account": _object(
        {
            "success": {"const": True},
            "account": _object(
                {
                    "login": {"type": "integer"},
                    "balance": _NUMBER,
                    "equity": _NUMBER,
                    "margin": _NUMBER,
                    "free_margin": _NUMBER,
                    "server": {"type": "string"},
                    "currency": {"type": "string"},
                }
            ),
        }
    ),
    "ws_status": _object(
        {
            "active_connections": {"type": "integer"},
            "messages_processed": {"type": "integer"},
            "success_rate": _NUMBER,
            "average_response_time": _NUMBER,
            "cache_hit_rate": _NUMBER,
        }
    ),
    "ws_health": _object(
        {
            "status": {"type": "string"},
            "mt5": _object({"connected": {"type": "boolean"}}),
            "database": _object({"connected": {"type": "boolean"}}),
            "system": _object({"memory_rss_mb": _NUMBER, "cpu_percent": _NUMBER}),
            "websocket": _object({"active_connections": {"type": "integer"}}),
            "cache": {"type": "object"},
        }
    ),
    "account_info": _object(
        {
            **_MESSAGE,
            "data": _object(
                {
                    "balance": _NUMBER,
                    "equity": _NUMBER,
                    "margin": _NUMBER,
                    "free_margin": _NUMBER,
                    "currency": {"type": "string"},
                    "leverage": {"type": "integer"},
                }
            ),
        }
    ),
    "tick_data": _object(
        {
            **_MESSAGE,
            "data": _object(
                {
                    "symbol": {"type": "string"},
                    "bid": _NUMBER,
                    "ask": _NUMBER,
                    "spread": {"type": "integer", "minimum": 0},
                    "time": _ISO,
                    "volume": _NUMBER,
                }
            ),
        }
    ),
    "heartbeat": _object({**_MESSAGE, "data": _object({"client": {"type": "string", "minLength": 1}})}),
}
