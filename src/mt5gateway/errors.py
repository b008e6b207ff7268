"""The gateway's exceptions, each mapped to one HTTP status and machine code in one handler.

    GatewayError                      500 internal_error
    ├── BadRequest                    400 bad_request        (a field and the limit it broke)
    │   └── InvalidTimeframe          400 invalid_timeframe
    ├── Unauthorized                  401 unauthorized
    ├── Forbidden                     403 forbidden
    │   ├── AdminRequired             403 admin_required     (a missing or wrong admin key)
    │   └── TierDenied                403 tier_denied        (tier, accessible_*, upgrade_required)
    ├── NotFound                      404 not_found
    │   ├── SymbolNotFound            404 symbol_not_found
    │   ├── TerminalNotFound          404 terminal_not_found
    │   └── AccountNotFound           404 account_not_found
    ├── Conflict                      409 conflict           (idempotency key reused with another body)
    ├── PayloadTooLarge               413 payload_too_large  (limit: the largest body taken, in bytes)
    ├── RateLimited                   429 rate_limited       (retry_after)
    ├── TerminalError                 502 terminal_error     (the terminal answered None + last_error)
    │   └── OrderRejected             422 order_rejected     (retcode, retcode_name)
    ├── TerminalUnavailable           503 terminal_unavailable (terminal_id, retry_after)
    │   └── TerminalTimeout           503 terminal_timeout   (a call missed its deadline)
    └── StoreUnavailable              503 store_unavailable  (the database did not answer)

Each exception carries ``extra``: fields added to the JSON error body
``{"success": false, "error": <message>, "code": <code>, **extra}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AccountNotFound",
    "AdminRequired",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "GatewayError",
    "InvalidTimeframe",
    "NotFound",
    "OrderRejected",
    "PayloadTooLarge",
    "RateLimited",
    "StoreUnavailable",
    "SymbolNotFound",
    "TerminalError",
    "TerminalNotFound",
    "TerminalTimeout",
    "TerminalUnavailable",
    "TierDenied",
    "Unauthorized",
]


class GatewayError(Exception):
    """Base of every error the gateway reports to a client."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        return {"success": False, "error": self.message, "code": self.code, **self.extra}


class BadRequest(GatewayError):
    status = 400
    code = "bad_request"


class InvalidTimeframe(BadRequest):
    code = "invalid_timeframe"


class Unauthorized(GatewayError):
    status = 401
    code = "unauthorized"


class Forbidden(GatewayError):
    status = 403
    code = "forbidden"


class AdminRequired(Forbidden):
    """An admin endpoint called without the admin key (the original service's 403)."""

    code = "admin_required"


class TierDenied(Forbidden):
    code = "tier_denied"


class NotFound(GatewayError):
    status = 404
    code = "not_found"


class SymbolNotFound(NotFound):
    code = "symbol_not_found"


class TerminalNotFound(NotFound):
    code = "terminal_not_found"


class AccountNotFound(NotFound):
    code = "account_not_found"


class Conflict(GatewayError):
    status = 409
    code = "conflict"


class PayloadTooLarge(GatewayError):
    """A request body over the configured limit: nothing past the limit was read."""

    status = 413
    code = "payload_too_large"


class RateLimited(GatewayError):
    status = 429
    code = "rate_limited"


class TerminalError(GatewayError):
    """The terminal answered the call with a failure (``None`` and ``last_error()``)."""

    status = 502
    code = "terminal_error"


class OrderRejected(TerminalError):
    """The trade server refused a request: carries ``retcode`` and ``retcode_name``."""

    status = 422
    code = "order_rejected"


class TerminalUnavailable(GatewayError):
    """The terminal is down or restarting: carries ``terminal_id`` and ``retry_after`` (seconds)."""

    status = 503
    code = "terminal_unavailable"


class TerminalTimeout(TerminalUnavailable):
    code = "terminal_timeout"


class StoreUnavailable(GatewayError):
    """The database behind recorded data or the mirror is unreachable: carries ``retry_after``."""

    status = 503
    code = "store_unavailable"
