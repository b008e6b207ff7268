"""The WebSocket endpoint (``/ws`` and ``/websocket/ws``) and ``GET /ws/status``.

A client authenticates with ``X-API-Key`` on the handshake or a first ``auth`` message (and may
ask for ``batch`` frames under load with ``?batch=1``), then
subscribes to channels (``mt5gateway.streams.protocol``). Each subscription is checked before any
is made: market-data channels (ticks, bars, ta, patterns) need the ``market`` scope, the symbol must
exist and the caller's tier must grant it (and the timeframe, for bars, ta and patterns); account
channels need the ``accounts`` scope and a known login. A message the server cannot act on
gets an ``error`` frame and changes nothing; the connection stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Security, WebSocket, WebSocketDisconnect
from fastapi.security import APIKeyHeader

from mt5gateway.accounts.bridge import Bridge
from mt5gateway.api.deps import BridgeDep, Gateway, GatewayDep
from mt5gateway.api.settings import ApiKeyConfig
from mt5gateway.api.wsdirect import DirectFrameWriter
from mt5gateway.errors import Forbidden, GatewayError, Unauthorized
from mt5gateway.market.tiers import Tier
from mt5gateway.streams.hub import StreamClient
from mt5gateway.streams.protocol import (
    Channel,
    ClientMessage,
    ProtocolError,
    parse_channel,
    parse_client_message,
)

__all__ = ["AUTH_TIMEOUT_S", "BATCH_MAX", "MAX_SUBSCRIPTIONS", "router"]

router = APIRouter(tags=["streams"])

AUTH_TIMEOUT_S = 10.0
# ``/ws?batch=1``: up to this many waiting messages per ``batch`` frame.
BATCH_MAX = 200
MAX_SUBSCRIPTIONS = 500
# Channels of market data: the key needs the market scope, as for the REST market endpoints.
_MARKET_KINDS = frozenset({"ticks", "bars", "ta", "patterns"})
_ANALYSIS_KINDS = frozenset({"ta", "patterns"})
# RFC 6455 1008: policy violation (no or bad key).
_POLICY_VIOLATION = 1008

_client_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="a client key")


async def _any_client(
    gateway: GatewayDep, api_key: Annotated[str | None, Security(_client_key)] = None
) -> None:
    if gateway.keys.client(api_key) is None:
        raise Unauthorized("Unauthorized")


@router.get("/ws/status", summary="WebSocket counters", dependencies=[Depends(_any_client)])
async def ws_status(bridge: BridgeDep) -> dict[str, Any]:
    return {"success": True, **bridge.hub.status()}


class _Connection:
    """One authenticated WebSocket connection's state and message handling."""

    def __init__(
        self, gateway: Gateway, bridge: Bridge, key: ApiKeyConfig, tier: Tier, client: StreamClient
    ) -> None:
        self.gateway = gateway
        self.bridge = bridge
        self.key = key
        self.tier = tier
        self.client = client

    def reply(self, message: dict[str, Any]) -> None:
        self.bridge.hub.send_to(self.client, message)

    async def authorize(self, channel: Channel) -> None:
        """Refuse a channel this caller may not read (raises a GatewayError)."""
        if channel.kind in _MARKET_KINDS and "market" not in self.key.scopes:
            raise Forbidden("This key does not have the market scope", scope="market")
        tiers = self.gateway.tiers
        if channel.symbol is not None:
            self.bridge.pool.terminal_for_symbol(channel.symbol)
            if channel.timeframe is not None:
                tiers.check_symbol(self.tier, channel.symbol)
                tiers.check_timeframe(self.tier, tiers.timeframe(channel.timeframe))
            else:
                tiers.check_symbol(self.tier, channel.symbol)
        if channel.login is not None:
            if "accounts" not in self.key.scopes:
                raise Forbidden("This key does not have the accounts scope", scope="accounts")
            await self.bridge.sessions.route(login=channel.login)

    async def handle(self, message: ClientMessage) -> None:
        if message.type == "ping":
            self.reply({"type": "pong"})
            return
        if message.type == "auth":
            raise ProtocolError("already_authenticated", "this connection is already authenticated")
        channels = [parse_channel(name) for name in message.channels]
        hub = self.bridge.hub
        if message.type == "unsubscribe":
            removed = [ch.name for ch in channels if hub.unsubscribe(self.client, ch.name)]
            self.reply({"type": "unsubscribed", "channels": removed})
            return
        new = {ch.name: ch for ch in channels if ch.name not in self.client.subscriptions}
        if len(self.client.subscriptions) + len(new) > MAX_SUBSCRIPTIONS:
            raise ProtocolError(
                "too_many_subscriptions", f"at most {MAX_SUBSCRIPTIONS} channels per connection"
            )
        for channel in new.values():
            await self.authorize(channel)
        self.gateway.ta_feed.admit([ch for ch in new.values() if ch.kind in _ANALYSIS_KINDS])
        for name in new:
            hub.subscribe(self.client, name)
        self.reply({"type": "subscribed", "channels": [ch.name for ch in channels]})
        for name in new:
            snapshot = self.bridge.feeds.snapshot(name) or self.gateway.ta_feed.snapshot(name)
            if snapshot is not None:
                self.reply(snapshot)


async def _authenticate(websocket: WebSocket, gateway: Gateway) -> ApiKeyConfig | None:
    """The client's key from the handshake header, else from a first ``auth`` message."""
    header = websocket.headers.get("x-api-key")
    if header is not None:
        return gateway.keys.client(header)
    try:
        raw = await asyncio.wait_for(websocket.receive(), AUTH_TIMEOUT_S)
    except TimeoutError:
        return None
    text = raw.get("text") or raw.get("bytes")
    if text is None:
        return None
    try:
        message = parse_client_message(text)
    except ProtocolError:
        return None
    return gateway.keys.client(message.api_key) if message.type == "auth" else None


@router.websocket("/ws")
@router.websocket("/websocket/ws")
async def stream(websocket: WebSocket) -> None:
    gateway: Gateway = websocket.app.state.gateway
    bridge = gateway.bridge
    await websocket.accept()
    key = await _authenticate(websocket, gateway)
    if key is None:
        with contextlib.suppress(Exception):
            await websocket.send_json(Unauthorized("Unauthorized").body() | {"type": "error"})
            await websocket.close(_POLICY_VIOLATION, "Unauthorized")
        return
    try:
        tier = gateway.tiers.tier(websocket.headers.get("x-user-tier") if key.trusted else key.tier)
    except GatewayError as exc:
        await websocket.send_json(exc.body() | {"type": "error"})
        await websocket.close(_POLICY_VIOLATION, exc.message[:120])
        return
    batch = websocket.query_params.get("batch", "").lower() in ("1", "true", "yes")
    client = bridge.hub.connect(
        websocket.send_text,
        websocket.close,
        batch_max=BATCH_MAX if batch else 1,
        write_frame=DirectFrameWriter.for_scope(websocket.scope),
    )
    connection = _Connection(gateway, bridge, key, tier, client)
    connection.reply(
        {
            "type": "connected",
            "client_id": client.client_id,
            "tier": tier.name,
            "heartbeat_s": bridge.hub.limits.heartbeat_s,
        }
    )
    try:
        while True:
            raw = await websocket.receive()
            if raw["type"] == "websocket.disconnect":
                break
            try:
                text = raw.get("text")
                await connection.handle(
                    parse_client_message(text if text is not None else raw.get("bytes") or b"")
                )
            except ProtocolError as exc:
                connection.reply(exc.frame())
            except GatewayError as exc:
                connection.reply({"type": "error", **exc.body()})
    except WebSocketDisconnect:
        pass
    finally:
        await bridge.hub.disconnect(client)
