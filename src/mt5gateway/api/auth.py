"""Who is calling: ``X-API-Key`` for clients, ``X-Admin-API-Key`` for admin, and the tier that applies.

Only a key marked ``trusted`` (a front end's own backend) may state its user's tier with
``X-User-Tier`` (absent means the lowest tier); any other key gets its own tier whatever it sends.
Each client request also takes a token from its key's rate-limit bucket.

The client check reads its headers from the request itself rather than through FastAPI parameter
dependencies: it runs on every market request, and each dependency level costs more than the whole
check. ``CLIENT_AUTH_OPENAPI`` documents the headers instead (security scheme ``ClientKey``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from mt5gateway.errors import Forbidden, Unauthorized
from mt5gateway.market.tiers import Tier

from .deps import Gateway, GatewayDep, gateway_of
from .settings import ApiKeyConfig, Scope

__all__ = [
    "CLIENT_AUTH_OPENAPI",
    "CLIENT_KEY_SCHEME",
    "AdminAuth",
    "Caller",
    "MarketCaller",
    "admin_key_header",
    "identify",
    "require_admin",
    "require_scope",
    "require_scope_or_admin",
    "take_rate_token",
]

CLIENT_KEY_SCHEME: dict[str, Any] = {
    "type": "apiKey",
    "in": "header",
    "name": "X-API-Key",
    "description": "a client key (mt5gateway keys new)",
}
CLIENT_AUTH_OPENAPI: dict[str, Any] = {
    "security": [{"ClientKey": []}],
    "parameters": [
        {
            "name": "X-User-Tier",
            "in": "header",
            "required": False,
            "description": "the end user's tier; honoured for trusted keys only (absent: the lowest tier)",
            "schema": {"type": "string"},
        }
    ],
}

admin_key_header = APIKeyHeader(
    name="X-Admin-API-Key", scheme_name="AdminKey", auto_error=False, description="the admin key"
)


@dataclass(frozen=True)
class Caller:
    """An authenticated client: its key's name and scopes, and the tier that applies to this request."""

    key_name: str
    tier: Tier
    scopes: tuple[Scope, ...]
    trusted: bool


def identify(gateway: Gateway, headers: Mapping[str, str], scope: Scope) -> tuple[ApiKeyConfig, Caller]:
    """The client key of ``headers`` (lower-case names), checked for ``scope``, and the caller it makes."""
    key = gateway.keys.client(headers.get("x-api-key"))
    if key is None:
        raise Unauthorized("Unauthorized")
    if scope not in key.scopes:
        raise Forbidden(f"This key does not have the {scope} scope", scope=scope)
    tier = gateway.tiers.tier(headers.get("x-user-tier") if key.trusted else key.tier)
    return key, Caller(key_name=key.name, tier=tier, scopes=key.scopes, trusted=key.trusted)


def take_rate_token(gateway: Gateway, key: ApiKeyConfig) -> None:
    """Count one request of ``key`` against its rate limit (``RateLimited`` when exhausted)."""
    gateway.limiter.hit(key.name, key.rate_limit_per_minute, key.rate_limit_burst)


def require_scope(scope: Scope) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency that authenticates the client key, checks ``scope`` and the rate limit."""

    async def authenticate(request: Request) -> Caller:
        gateway = gateway_of(request)
        key, caller = identify(gateway, request.headers, scope)
        take_rate_token(gateway, key)
        return caller

    return authenticate


def require_scope_or_admin(scope: Scope) -> Callable[[Request], Awaitable[Caller | None]]:
    """A dependency accepting the admin key (``None``: no client, no rate limit) or a client key with
    ``scope`` (checked like ``require_scope``)."""
    client_check = require_scope(scope)

    async def authenticate(request: Request) -> Caller | None:
        if gateway_of(request).keys.is_admin(request.headers.get("x-admin-api-key")):
            return None
        return await client_check(request)

    return authenticate


async def require_admin(
    gateway: GatewayDep, admin_key: Annotated[str | None, Security(admin_key_header)] = None
) -> None:
    """Refuse anything but the admin key."""
    if not gateway.keys.is_admin(admin_key):
        raise Unauthorized("Unauthorized")


MarketCaller = Annotated[Caller, Depends(require_scope("market"))]
AdminAuth = Depends(require_admin)
