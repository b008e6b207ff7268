"""Who is calling: ``X-API-Key`` for clients, ``X-Admin-API-Key`` for admin, and the tier that applies.

Only a key marked ``trusted`` (a front end's own backend) may state its user's tier with
``X-User-Tier`` (absent means the lowest tier); any other key gets its own tier whatever it sends.
Each client request also takes a token from its key's rate-limit bucket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Security
from fastapi.security import APIKeyHeader

from mt5gateway.errors import Forbidden, Unauthorized
from mt5gateway.market.tiers import Tier

from .deps import GatewayDep
from .settings import Scope

__all__ = ["AdminAuth", "Caller", "MarketCaller", "require_admin", "require_scope"]

_client_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="a client key")
_admin_key = APIKeyHeader(name="X-Admin-API-Key", auto_error=False, description="the admin key")


@dataclass(frozen=True)
class Caller:
    """An authenticated client: its key's name and scopes, and the tier that applies to this request."""

    key_name: str
    tier: Tier
    scopes: tuple[Scope, ...]
    trusted: bool


def require_scope(scope: Scope) -> Callable[..., Awaitable[Caller]]:
    """A dependency that authenticates the client key, checks ``scope`` and the rate limit."""

    async def authenticate(
        gateway: GatewayDep,
        api_key: Annotated[str | None, Security(_client_key)] = None,
        user_tier: Annotated[
            str | None,
            Header(
                alias="X-User-Tier",
                description="the end user's tier; honoured for trusted keys only (absent: FREE)",
            ),
        ] = None,
    ) -> Caller:
        key = gateway.keys.client(api_key)
        if key is None:
            raise Unauthorized("Unauthorized")
        if scope not in key.scopes:
            raise Forbidden(f"This key does not have the {scope} scope", scope=scope)
        gateway.limiter.hit(key.name, key.rate_limit_per_minute, key.rate_limit_burst)
        tier = gateway.tiers.tier(user_tier if key.trusted else key.tier)
        return Caller(key_name=key.name, tier=tier, scopes=key.scopes, trusted=key.trusted)

    return authenticate


async def require_admin(
    gateway: GatewayDep, admin_key: Annotated[str | None, Security(_admin_key)] = None
) -> None:
    """Refuse anything but the admin key."""
    if not gateway.keys.is_admin(admin_key):
        raise Unauthorized("Unauthorized")


MarketCaller = Annotated[Caller, Depends(require_scope("market"))]
AdminAuth = Depends(require_admin)
