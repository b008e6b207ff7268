"""The MT5 Bridge Microservice's trading requests, placed through ``TradingService`` (no second path).

- ``POST /order`` bodies (``BridgeOrder``): a market buy or sell, ``volume`` within that service's
  limits (0.01 .. 10.0 lots), an optional ``price`` the client expects (the order is refused when the
  market is more than ``deviation`` points away, as a trade server requotes), ``sl``, ``tp`` and
  ``comment``.
- WebSocket ``trading_signal`` messages (``TradingSignal``): ``BUY`` and ``SELL`` place a market order
  of ``volume`` lots with ``stop_loss`` / ``take_profit``; ``CLOSE`` closes every open position of
  the symbol on the account. Each is journaled under ``signal:<signal_id>``, so a repeated signal
  returns the first answer and sends nothing. ``urgency`` is accepted and not used.

Both are parsed strictly (JSON types as declared), like every trading body.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from mt5gateway.errors import BadRequest, GatewayError

from .schemas import MAX_ID, STRICT_BODY, OrderComment, OrderRequest
from .service import TradeOutcome, TradingService

__all__ = [
    "MAX_VOLUME",
    "MIN_VOLUME",
    "BridgeOrder",
    "TradingSignal",
    "place_signal",
    "signal_key",
    "validation_error",
]

# The MT5 Bridge Microservice's input limits.
MIN_VOLUME = 0.01
MAX_VOLUME = 10.0


class BridgeOrder(BaseModel):
    """``POST /order``: a market order as that service's clients send it."""

    model_config = STRICT_BODY

    symbol: str = Field(min_length=1, max_length=32)
    order_type: Literal["buy", "sell"]
    volume: float = Field(ge=MIN_VOLUME, le=MAX_VOLUME)
    price: float | None = Field(
        default=None,
        gt=0,
        description="The price the client expects; refused when the market moved past deviation.",
    )
    sl: float | None = Field(default=None, ge=0)
    tp: float | None = Field(default=None, ge=0)
    comment: OrderComment = ""
    deviation: int = Field(default=20, ge=0, le=100_000, description="Points the market may be from price.")
    login: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Trade on this account (default: the symbol's terminal)."
    )

    def order(self) -> OrderRequest:
        """The same order as ``POST /api/orders`` takes it."""
        return OrderRequest(
            symbol=self.symbol,
            side=self.order_type,
            volume=self.volume,
            sl=self.sl,
            tp=self.tp,
            comment=self.comment,
            deviation=self.deviation,
            login=self.login,
        )


class TradingSignal(BaseModel):
    """A ``trading_signal`` message's ``data``."""

    model_config = STRICT_BODY

    signal_id: str = Field(min_length=1, max_length=100)
    symbol: str = Field(min_length=1, max_length=32)
    action: Literal["BUY", "SELL", "CLOSE"]
    volume: float | None = Field(default=None, ge=MIN_VOLUME, le=MAX_VOLUME)
    stop_loss: float | None = Field(default=None, ge=0)
    take_profit: float | None = Field(default=None, ge=0)
    comment: OrderComment = ""
    urgency: str | None = Field(default=None, max_length=32)


def signal_key(signal_id: str) -> str:
    """The idempotency key a signal is journaled under."""
    return f"signal:{signal_id}"


def validation_error(error: ValidationError) -> BadRequest:
    """The first problem of a body as the API's 400, naming the field."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "data"
    return BadRequest(f"Invalid {field}: {first['msg']}", field=field)


async def _outcome(trading: TradingService, owner: str, signal: TradingSignal) -> TradeOutcome:
    key = signal_key(signal.signal_id)
    if signal.action == "CLOSE":
        return await trading.close_symbol(owner=owner, key=key, symbol=signal.symbol)
    if signal.volume is None:
        raise BadRequest(f"a {signal.action} signal needs a volume", field="volume")
    order = OrderRequest(
        symbol=signal.symbol,
        side="buy" if signal.action == "BUY" else "sell",
        volume=signal.volume,
        sl=signal.stop_loss,
        tp=signal.take_profit,
        comment=signal.comment,
    )
    return await trading.place(owner=owner, key=key, order=order)


async def place_signal(trading: TradingService, *, owner: str, data: dict[str, Any]) -> dict[str, Any]:
    """Place (or replay) the order a signal describes; the ``signal_result`` message answering it.

    A signal that cannot be parsed raises ``BadRequest`` (an error frame; nothing is sent).
    """
    try:
        signal = TradingSignal.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None
    try:
        outcome = await _outcome(trading, owner, signal)
        status, body = outcome.status, outcome.body
    except GatewayError as exc:
        if exc.status == 400:
            raise
        status, body = exc.status, exc.body()
    return {
        "type": "signal_result",
        "timestamp": datetime.now(UTC).isoformat(),
        "data": {"signal_id": signal.signal_id, "action": signal.action, "status": status, **body},
    }
