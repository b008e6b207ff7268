"""The trading requests a client sends, as Pydantic models (the JSON bodies of the trading routes).

Prices, SL and TP are in the symbol's quote currency; ``None`` (or absent) means "not set". The
models only check shapes and signs; the rules that need the symbol's specification and the current
price live in ``validation``.

Bodies are parsed strictly: each field takes the JSON type it declares and nothing else (a boolean
is not a number, ``"0.01"`` is not a volume, ``1.0`` is not an integer; a number may be written
without a fraction), and ``expiration`` takes an ISO-8601 string only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict

__all__ = [
    "COMMENT_MAX_LENGTH",
    "MAX_ID",
    "STRICT_BODY",
    "Expiration",
    "FillingName",
    "OrderComment",
    "OrderKind",
    "OrderModify",
    "OrderRequest",
    "PositionModify",
    "Side",
]

Side = Literal["buy", "sell"]
OrderKind = Literal["market", "limit", "stop", "stop_limit"]
FillingName = Literal["fok", "ioc", "return"]

# The room left for a client's comment once the idempotency tag ("#" + 12 + " ") takes its place:
# the MetaTrader5 module refuses a comment over 29 UTF-16 units (`Invalid "comment" argument`).
COMMENT_MAX_LENGTH = 15
# Logins, tickets and magic numbers fit a signed 64-bit integer (what JSON encoders and SQLite take).
MAX_ID = 2**63 - 1

# Every trading body: frozen, no unknown field, JSON types as declared, no inf or nan.
STRICT_BODY = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


def _iso_text(value: object) -> object:
    """Let only a string (or a datetime, or None) through to the date-time parser."""
    if value is None or isinstance(value, str | datetime):
        return value
    raise ValueError("an ISO-8601 date-time string is expected")


# A date-time from its ISO-8601 text: strict mode refuses strings for datetimes, so the field is lax,
# and the validator above keeps numbers and booleans out.
def _fits_mt5(comment: str) -> str:
    # MT5 counts UTF-16 units: a character beyond the BMP (an emoji) takes two.
    if len(comment.encode("utf-16-le")) // 2 > COMMENT_MAX_LENGTH:
        raise ValueError(f"the comment takes more than {COMMENT_MAX_LENGTH} UTF-16 units (an emoji takes 2)")
    return comment


# An order's own comment: what MT5 keeps of it beside the idempotency tag.
OrderComment = Annotated[str, Field(max_length=COMMENT_MAX_LENGTH), AfterValidator(_fits_mt5)]
Expiration = Annotated[Annotated[datetime, Strict(False)] | None, BeforeValidator(_iso_text)]


class OrderRequest(BaseModel):
    """A new order: market, limit, stop or stop-limit."""

    model_config = STRICT_BODY

    symbol: str = Field(min_length=1, max_length=32)
    side: Side
    type: OrderKind = "market"
    volume: float = Field(gt=0)
    price: float | None = Field(default=None, gt=0, description="Pending orders: the order price.")
    stoplimit: float | None = Field(
        default=None, gt=0, description="Stop-limit orders: the limit price placed when `price` is hit."
    )
    sl: float | None = Field(default=None, ge=0)
    tp: float | None = Field(default=None, ge=0)
    deviation: int = Field(default=20, ge=0, le=100_000, description="Market orders: slippage in points.")
    magic: int = Field(default=0, ge=0, le=MAX_ID)
    comment: OrderComment = ""
    filling: FillingName | None = Field(default=None, description="Absent: the first mode the symbol allows.")
    expiration: Expiration = Field(default=None, description="Pending orders: good till this time.")
    login: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Trade on this account (default: the symbol's terminal)."
    )


class OrderModify(BaseModel):
    """New price, stop-limit price, SL, TP or expiration of a pending order; absent fields keep theirs."""

    model_config = STRICT_BODY

    price: float | None = Field(default=None, gt=0)
    stoplimit: float | None = Field(default=None, gt=0)
    sl: float | None = Field(default=None, ge=0)
    tp: float | None = Field(default=None, ge=0)
    expiration: Expiration = None
    login: int | None = Field(default=None, ge=1, le=MAX_ID)


class PositionModify(BaseModel):
    """New SL and TP of an open position; absent keeps the current level, 0 removes it."""

    model_config = STRICT_BODY

    sl: float | None = Field(default=None, ge=0)
    tp: float | None = Field(default=None, ge=0)
    login: int | None = Field(default=None, ge=1, le=MAX_ID)
