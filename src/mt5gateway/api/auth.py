"""Who is calling: a client key, the admin key, and the tier that applies.

A client key comes in ``X-API-Key`` or as ``Authorization: Bearer <key>`` (what the MT5 Bridge
Microservice's and the account-sync design's clients send); the admin key in ``X-Admin-API-Key`` or
as the bearer token. The admin key is not a client key and the other way round. A missing or wrong
client key is 401; a missing or wrong admin key is 403 (``AdminRequired``), as the original service
answered.

Only a key marked ``trusted`` (a front end's own backend) may state its user's tier with
``X-User-Tier`` (absent means the lowest tier); any other key gets its own tier whatever it sends.
Each client request also takes a token from its key's rate-limit bucket.

The checks read headers from the request itself rather than through FastAPI parameter
dependencies: they run on every request, and each dependency level costs more than the whole
check. Each check carries an ``AuthRequirement`` instead, from which ``api.openapi`` writes the
route's security schemes and the refusals it can send.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from mt5gateway.errors import AdminRequired, Forbidden, Unauthorized
from mt5gateway.market.tiers import Tier

from .deps import Gateway, gateway_of
from .settings import ApiKeyConfig, Scope

__all__ = [
    "ADMIN_REFUSAL",
    "CLIENT_AUTH_OPENAPI",
    "SECURITY_SCHEMES",
    "AdminAuth",
    "AuthRequirement",
    "Caller",
    "MarketCaller",
    "admin_key",
    "auth_requirement",
    "client_key",
    "identify",
    "is_admin_request",
    "require_admin",
    "require_admin_off_loopback",
    "require_scope",
    "require_scope_or_admin",
    "take_rate_token",
]

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "ClientKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "A client key (`mt5gateway keys new`).",
    },
    "AdminKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Admin-API-Key",
        "description": "The admin key (`mt5gateway keys new --admin`).",
    },
    "BearerKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "A client key, or the admin key on admin endpoints, as `Authorization: Bearer <key>`.",
    },
}
# The X-User-Tier header of tiered routes (their security is written by api.openapi).
CLIENT_AUTH_OPENAPI: dict[str, Any] = {
    "parameters": [
        {
            "name": "X-User-Tier",
            "in": "header",
            "required": False,
            "description": "The end user's tier; honoured for trusted keys only (absent: the lowest tier).",
            "schema": {"type": "string", "maxLength": 32},
        }
    ],
}
ADMIN_REFUSAL = "Admin access required: send the admin key in X-Admin-API-Key (or as a bearer token)"

_BEARER = "bearer "


@dataclass(frozen=True)
class AuthRequirement:
    """What a check accepts (OpenAPI security alternatives) and the refusals it sends, by status."""

    security: tuple[str, ...]
    refusals: tuple[tuple[int, str], ...]
    optional: bool = False  # the check may let a request without a key through (e.g. on loopback)


def _mark(check: Any, requirement: AuthRequirement) -> None:
    check.auth_requirement = requirement


def auth_requirement(dependency: Any) -> AuthRequirement | None:
    """The requirement a dependency was marked with, if it is an auth check."""
    requirement = getattr(dependency, "auth_requirement", None)
    return requirement if isinstance(requirement, AuthRequirement) else None


def _bearer(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization")
    if authorization is None or authorization[: len(_BEARER)].lower() != _BEARER:
        return None
    return authorization[len(_BEARER) :].strip() or None


def client_key(headers: Mapping[str, str]) -> str | None:
    """The client key presented in ``headers`` (lower-case names): ``X-API-Key``, else the bearer token."""
    return headers.get("x-api-key") or _bearer(headers)


def admin_key(headers: Mapping[str, str]) -> str | None:
    """The admin key presented in ``headers``: ``X-Admin-API-Key``, else the bearer token."""
    return headers.get("x-admin-api-key") or _bearer(headers)


def is_admin_request(gateway: Gateway, headers: Mapping[str, str]) -> bool:
    """Whether ``headers`` carry the admin key."""
    return gateway.keys.is_admin(admin_key(headers))


@dataclass(frozen=True)
class Caller:
    """An authenticated client: its key's name and scopes, and the tier that applies to this request."""

    key_name: str
    tier: Tier
    scopes: tuple[Scope, ...]
    trusted: bool
    account: int | None = None  # the key's default account, when configured


def identify(
    gateway: Gateway, headers: Mapping[str, str], scope: Scope | None
) -> tuple[ApiKeyConfig, Caller]:
    """The client key of ``headers`` (lower-case names), checked for ``scope`` (None: any key), and the
    caller it makes."""
    key = gateway.keys.client(client_key(headers))
    if key is None:
        raise Unauthorized("Unauthorized")
    if scope is not None and scope not in key.scopes:
        raise Forbidden(f"This key does not have the {scope} scope", scope=scope)
    tier = gateway.tiers.tier(headers.get("x-user-tier") if key.trusted else key.tier)
    caller = Caller(key_name=key.name, tier=tier, scopes=key.scopes, trusted=key.trusted, account=key.account)
    return key, caller


def take_rate_token(gateway: Gateway, key: ApiKeyConfig) -> None:
    """Count one request of ``key`` against its rate limit (``RateLimited`` when exhausted)."""
    gateway.limiter.hit(key.name, key.rate_limit_per_minute, key.rate_limit_burst)


def _client_refusals(scope: Scope | None) -> tuple[tuple[int, str], ...]:
    refused = (403, f"the key lacks the {scope} scope") if scope else None
    return (
        (400, "an unknown X-User-Tier sent with a trusted key"),
        (401, "missing or unknown client key"),
        *((refused,) if refused else ()),
        (429, "the key's rate limit; see Retry-After"),
    )


def require_scope(scope: Scope | None) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency that authenticates the client key, checks ``scope`` (None: any key) and the rate
    limit."""

    async def authenticate(request: Request) -> Caller:
        gateway = gateway_of(request)
        key, caller = identify(gateway, request.headers, scope)
        take_rate_token(gateway, key)
        return caller

    _mark(authenticate, AuthRequirement(("ClientKey", "BearerKey"), _client_refusals(scope)))
    return authenticate


def require_scope_or_admin(scope: Scope) -> Callable[[Request], Awaitable[Caller | None]]:
    """A dependency accepting the admin key (``None``: no client, no rate limit) or a client key with
    ``scope`` (checked like ``require_scope``)."""
    client_check = require_scope(scope)

    async def authenticate(request: Request) -> Caller | None:
        if is_admin_request(gateway_of(request), request.headers):
            return None
        return await client_check(request)

    _mark(authenticate, AuthRequirement(("ClientKey", "AdminKey", "BearerKey"), _client_refusals(scope)))
    return authenticate


async def require_admin(request: Request) -> None:
    """Refuse anything but the admin key (403, as the original service did)."""
    if not is_admin_request(gateway_of(request), request.headers):
        raise AdminRequired(ADMIN_REFUSAL)


_mark(require_admin, AuthRequirement(("AdminKey", "BearerKey"), ((403, "missing or wrong admin key"),)))

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


async def require_admin_off_loopback(request: Request) -> None:
    """The admin key, unless the service is bound to loopback and ``metrics_public_on_loopback`` is on."""
    gateway = gateway_of(request)
    settings = gateway.settings
    if settings.metrics_public_on_loopback and settings.host in _LOOPBACK_HOSTS:
        return
    await require_admin(request)


_mark(
    require_admin_off_loopback,
    AuthRequirement(
        ("AdminKey", "BearerKey"), ((403, "missing or wrong admin key (off loopback)"),), optional=True
    ),
)

MarketCaller = Annotated[Caller, Depends(require_scope("market"))]
AdminAuth = Depends(require_admin)
