"""The WebSocket protocol: client messages, channel names, and the error frames for bad input.

Client -> server (JSON text, at most ``MAX_MESSAGE_BYTES``)::

    {"type": "auth", "api_key": "..."}                       # when no key was sent on the handshake
    {"type": "subscribe", "channels": ["ticks:EURUSD", "positions:5001"]}
    {"type": "unsubscribe", "channels": ["ticks:EURUSD"]}
    {"type": "ping"}
    {"type": "heartbeat", "data": {"client": "my-bot"}}      # the MT5 Bridge Microservice's; answered
    {"type": "trading_signal", "data": {"signal_id": ..., "symbol": ..., "action": "BUY", ...}}

Channels: ``ticks:SYMBOL``, ``quotes:SYMBOL`` (a symbol's ticks in the MT5 Bridge Microservice's
``tick_data`` shape), ``bars:SYMBOL:TF``, ``ta:SYMBOL:TF:SPEC`` (an indicator spec, docs/ta.md:
named by its canonical form, ``ta:EURUSD:H1:rsi`` is ``ta:EURUSD:H1:RSI(14)``),
``patterns:SYMBOL:TF``, ``account:LOGIN``, ``positions:LOGIN``, ``orders:LOGIN``, ``terminals``.
A message that cannot be understood gets an ``error`` frame (``{"type": "error", "code": ...,
"error": ...}``) and changes nothing; the connection stays open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from mt5gateway.errors import BadRequest
from mt5gateway.ta.specs import IndicatorSpec, parse_spec

__all__ = [
    "MAX_CHANNELS_PER_MESSAGE",
    "MAX_MESSAGE_BYTES",
    "Channel",
    "ClientMessage",
    "ProtocolError",
    "parse_channel",
    "parse_client_message",
]

MAX_MESSAGE_BYTES = 8_192
MAX_CHANNELS_PER_MESSAGE = 100

MessageType = Literal["auth", "subscribe", "unsubscribe", "ping", "heartbeat", "trading_signal"]
ChannelKind = Literal[
    "ticks", "quotes", "bars", "ta", "patterns", "account", "positions", "orders", "terminals"
]
_MESSAGE_TYPES: frozenset[str] = frozenset(
    {"auth", "subscribe", "unsubscribe", "ping", "heartbeat", "trading_signal"}
)
_SYMBOL_KINDS: frozenset[str] = frozenset({"ticks", "quotes"})
_ACCOUNT_KINDS: frozenset[str] = frozenset({"account", "positions", "orders"})
# Logins fit a signed 64-bit integer (what the JSON encoder and the pool take).
_MAX_LOGIN = 2**63 - 1
_LOGIN_DIGITS = len(str(_MAX_LOGIN))


class ProtocolError(Exception):
    """A client message the server cannot act on: becomes an error frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def frame(self) -> dict[str, str]:
        """The error frame sent back."""
        return {"type": "error", "code": self.code, "error": self.message}


@dataclass(frozen=True)
class Channel:
    """A parsed channel name."""

    name: str
    kind: ChannelKind
    symbol: str | None = None
    timeframe: str | None = None
    login: int | None = None
    spec: IndicatorSpec | None = None


@dataclass(frozen=True)
class ClientMessage:
    """A well-formed client message."""

    type: MessageType
    channels: tuple[str, ...] = ()
    api_key: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # heartbeat and trading_signal


def _is_login(text: str) -> bool:
    """ASCII digits of a login, checked by length before ``int()`` converts them."""
    return text.isascii() and text.isdigit() and len(text) <= _LOGIN_DIGITS and int(text) <= _MAX_LOGIN


def parse_channel(name: str) -> Channel:
    """``"bars:EURUSD:H1"`` -> a ``Channel``; ``ProtocolError`` for anything else."""
    parts = name.split(":", 3)
    kind = parts[0].lower()
    if kind == "terminals" and len(parts) == 1:
        return Channel(name="terminals", kind="terminals")
    if kind in _SYMBOL_KINDS and len(parts) == 2 and parts[1]:
        symbol = parts[1].upper()
        symbol_kind: ChannelKind = "ticks" if kind == "ticks" else "quotes"
        return Channel(name=f"{symbol_kind}:{symbol}", kind=symbol_kind, symbol=symbol)
    if kind == "bars" and len(parts) == 3 and parts[1] and parts[2]:
        symbol, timeframe = parts[1].upper(), parts[2].upper()
        return Channel(name=f"bars:{symbol}:{timeframe}", kind="bars", symbol=symbol, timeframe=timeframe)
    if kind == "patterns" and len(parts) == 3 and parts[1] and parts[2]:
        symbol, timeframe = parts[1].upper(), parts[2].upper()
        return Channel(
            name=f"patterns:{symbol}:{timeframe}", kind="patterns", symbol=symbol, timeframe=timeframe
        )
    if kind == "ta" and len(parts) == 4 and parts[1] and parts[2]:
        symbol, timeframe = parts[1].upper(), parts[2].upper()
        try:
            spec = parse_spec(parts[3], field="channel")
        except BadRequest as exc:
            raise ProtocolError("invalid_channel", exc.message) from None
        return Channel(
            name=f"ta:{symbol}:{timeframe}:{spec.canonical}",
            kind="ta",
            symbol=symbol,
            timeframe=timeframe,
            spec=spec,
        )
    if kind in _ACCOUNT_KINDS and len(parts) == 2 and _is_login(parts[1]):
        login = int(parts[1])
        account_kind: ChannelKind = (
            "account" if kind == "account" else "positions" if kind == "positions" else "orders"
        )
        return Channel(name=f"{account_kind}:{login}", kind=account_kind, login=login)
    raise ProtocolError(
        "invalid_channel",
        f"unknown channel {name[:64]!r}: use ticks:SYMBOL, quotes:SYMBOL, bars:SYMBOL:TF, "
        "ta:SYMBOL:TF:SPEC, patterns:SYMBOL:TF, account:LOGIN, positions:LOGIN, orders:LOGIN or terminals",
    )


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """Decode and check a client message; ``ProtocolError`` says what is wrong."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError("message_too_large", f"message of {size} bytes exceeds {MAX_MESSAGE_BYTES} bytes")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ProtocolError("invalid_json", "message is not valid JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("invalid_message", "message must be a JSON object with a type")
    kind = data.get("type", data.get("action"))
    if kind not in _MESSAGE_TYPES:
        raise ProtocolError("unknown_type", f"type must be one of {', '.join(sorted(_MESSAGE_TYPES))}")
    if kind == "auth":
        api_key = data.get("api_key")
        if not isinstance(api_key, str) or not api_key:
            raise ProtocolError("invalid_message", "auth needs an api_key string")
        return ClientMessage(type="auth", api_key=api_key)
    if kind == "ping":
        return ClientMessage(type="ping")
    if kind in ("heartbeat", "trading_signal"):
        payload = data.get("data", {})
        if not isinstance(payload, dict):
            raise ProtocolError("invalid_message", f"{kind} data must be a JSON object")
        return ClientMessage(type="heartbeat" if kind == "heartbeat" else "trading_signal", data=payload)
    channels = data.get("channels", [data["channel"]] if "channel" in data else None)
    if not isinstance(channels, list) or not channels or not all(isinstance(ch, str) for ch in channels):
        raise ProtocolError("invalid_message", f"{kind} needs channels: a non-empty list of strings")
    if len(channels) > MAX_CHANNELS_PER_MESSAGE:
        raise ProtocolError("invalid_message", f"at most {MAX_CHANNELS_PER_MESSAGE} channels per message")
    return ClientMessage(type="subscribe" if kind == "subscribe" else "unsubscribe", channels=tuple(channels))
