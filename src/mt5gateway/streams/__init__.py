"""The WebSocket hub: channels, per-client bounded outboxes, coalescing, and the feeds behind them.

Owns the client protocol (``protocol``), the ``Hub`` (``hub``: fan-out that never waits for a slow
client) and the feeds (``feeds``: pool ticks, bars and terminal events, and account channels
polled and pushed on change).
"""

from __future__ import annotations

from .hub import SLOW_CLIENT_CLOSE_CODE, Hub, HubLimits, HubStats, StreamClient
from .protocol import (
    MAX_MESSAGE_BYTES,
    Channel,
    ClientMessage,
    ProtocolError,
    parse_channel,
    parse_client_message,
)

__all__ = [
    "MAX_MESSAGE_BYTES",
    "SLOW_CLIENT_CLOSE_CODE",
    "Channel",
    "ClientMessage",
    "Hub",
    "HubLimits",
    "HubStats",
    "ProtocolError",
    "StreamClient",
    "parse_channel",
    "parse_client_message",
]
