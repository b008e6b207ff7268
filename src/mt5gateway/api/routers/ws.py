"""The WebSocket endpoint (``/ws`` and ``/websocket/ws``) and its status and health routes.

A client authenticates with its key on the handshake (``X-API-Key`` or ``Authorization: Bearer``)
or a first ``auth`` message (and may ask for ``batch`` frames under load with ``?batch=1``), then
subscribes to channels (``mt5gateway.streams.protocol``). Each subscription is checked before any
is made: market-data channels (ticks, quotes, bars, ta, patterns) need the ``market`` scope, the symbol must
exist and the caller's tier must grant it (and the timeframe, for bars, ta and patterns); account
channels need the ``accounts`` scope and a known login. A message the server cannot act on
gets an ``error`` frame and changes nothing; the connection stays open.

``/websocket/ws`` is also the MT5 Bridge Microservice's socket: a client there that subscribes to
nothing receives what that service sent its clients, ``account_info`` of its key's default account
(with the ``accounts`` scope) and ``tick_data`` of its tier's symbols (``quotes:`` channels, in that
service's shape); its first ``subscribe`` or ``unsubscribe`` replaces those with its own choice. On
either path a client's ``heartbeat`` is answered with one naming it, and a ``trading_signal`` from a
key with the ``trade`` scope places the order it describes (``trading.bridge_service``) and is answered
with a ``signal_result``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect

from mt5gateway.accounts.bridge import Bridge
from mt5gateway.api.auth import client_key, require_scope
from mt5gateway.api.deps import BridgeDep, Gateway, GatewayDep
from mt5gateway.api.settings import ApiKeyConfig
from mt5gateway.api.wsdirect import DirectFrameWriter
from mt5gateway.errors import Forbidden, GatewayError, Unauthorized
from mt5gateway.market.tiers import Tier
from mt5gateway.streams.hub import StreamClient, heartbeat_message
from mt5gateway.streams.protocol import (
    Channel,
    ClientMessage,
    ProtocolError,
    parse_channel,
    parse_client_message,
)
from mt5gateway.trading.bridge_service import place_signal

from ..system import process_usage

__all__ = ["AUTH_TIMEOUT_S", "BATCH_MAX", "MAX_SUBSCRIPTIONS", "router"]

router = APIRouter(tags=["streams"])

AUTH_TIMEOUT_S = 10.0
# ``/ws?batch=1``: up to this many waiting messages per ``batch`` frame.
BATCH_MAX = 200
MAX_SUBSCRIPTIONS = 500
# Channels of market data: the key needs the market scope, as for the REST market endpoints.
_MARKET_KINDS = frozenset({"ticks", "quotes", "bars", "ta", "patterns"})
_ANALYSIS_KINDS = frozenset({"ta", "patterns"})
# RFC 6455 1008: policy violation (no or bad key).
_POLICY_VIOLATION = 1008
_BRIDGE_SERVICE_PATH = "/websocket/ws"

AnyClient = Depends(require_scope(None))


@router.get(
    "/ws/status",
    summary="Counts the WebSocket connections, messages and subscriptions.",
    dependencies=[AnyClient],
)
async def ws_status(bridge: BridgeDep) -> dict[str, Any]:
    return {"success": True, **bridge.hub.status()}


@router.get(
    "/websocket/ws/status",
    summary="Reports the WebSocket service's figures in the MT5 Bridge Microservice's shape.",
    dependencies=[AnyClient],
)
async def bridge_service_ws_status(gateway: GatewayDep) -> dict[str, Any]:
    """``active_connections, messages_processed, success_rate`` (% of client messages handled without
    an error), ``average_response_time`` (ms per client message) and ``cache_hit_rate`` (% of
    indicator requests answered from the cache), then our own counters."""
    stats = gateway.bridge.hub.stats
    cache = gateway.market.cache.stats
    lookups = cache.hits + cache.misses
    processed = stats.messages_processed
    return {
        "success": True,
        **gateway.bridge.hub.status(),
        "success_rate": round(100.0 * (processed - stats.messages_failed) / processed, 2)
        if processed
        else 100.0,
        "average_response_time": round(1000.0 * stats.handling_seconds / processed, 3) if processed else 0.0,
        "cache_hit_rate": round(100.0 * cache.hits / lookups, 2) if lookups else 0.0,
    }


@router.get(
    "/websocket/ws/health",
    summary="Reports the service, terminals, journal, memory and CPU, connections and cache.",
    dependencies=[AnyClient],
)
async def bridge_service_ws_health(gateway: GatewayDep) -> dict[str, Any]:
    statuses = gateway.pool.statuses()
    up = sum(1 for status in statuses if status.status == "up")
    database = await gateway.bridge.accounts.store_probe()
    cache = gateway.market.cache
    healthy = up == len(statuses) and database["connected"]
    return {
        "success": True,
        "status": "healthy" if healthy else "degraded" if up else "unhealthy",
        "timestamp": datetime.now(UTC).isoformat(),
        "mt5": {"connected": up > 0, "terminals_up": up, "terminals_total": len(statuses)},
        "database": database,
        "system": process_usage(),
        "websocket": {"active_connections": len(gateway.bridge.hub.clients)},
        "cache": {
            "capacity": cache.capacity,
            "hits": cache.stats.hits,
            "misses": cache.stats.misses,
        },
    }


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
        # The MT5 Bridge Microservice's feed, until the client chooses its own channels.
        self.default_channels: list[str] = []

    def reply(self, message: dict[str, Any]) -> None:
        self.bridge.hub.send_to(self.client, message)

    async def authorize(self, channel: Channel) -> None:
        """Refuse a channel this caller may not read (raises a GatewayError)."""
        if channel.kind in _MARKET_KINDS and "market" not in self.key.scopes:
            raise Forbidden("This key does not have the market scope", scope="market")
        tiers = self.gateway.tiers
        if channel.symbol is not None:
            self.bridge.pool.terminal_for_symbol(channel.symbol)
            tiers.check_symbol(self.tier, channel.symbol)
            if channel.timeframe is not None:
                tiers.check_timeframe(self.tier, tiers.timeframe(channel.timeframe))
        if channel.login is not None:
            if "accounts" not in self.key.scopes:
                raise Forbidden("This key does not have the accounts scope", scope="accounts")
            await self.bridge.sessions.route(login=channel.login)

    def _subscribe(self, channels: list[Channel]) -> None:
        """Subscribe to channels already authorized (and admitted), then send each one's snapshot."""
        for channel in channels:
            self.bridge.hub.subscribe(self.client, channel.name)
        for channel in channels:
            snapshot = self.bridge.feeds.snapshot(channel.name) or self.gateway.ta_feed.snapshot(channel.name)
            if snapshot is not None:
                self.reply(snapshot)

    async def start_bridge_service_feed(self) -> None:
        """Subscribe to what the MT5 Bridge Microservice sent a client that asked for nothing."""
        wanted = [f"quotes:{symbol}" for symbol in self.tier.symbols] if "market" in self.key.scopes else []
        if "accounts" in self.key.scopes:
            try:
                login = await self.bridge.accounts.default_login(self.key.account)
                await self.authorize(parse_channel(f"account:{login}"))
            except GatewayError:
                pass  # no account known: ticks only
            else:
                wanted.insert(0, f"account:{login}")
        routed = [name for name in wanted if not name.startswith("quotes:") or self._routed(name)]
        self.default_channels = routed
        self._subscribe([parse_channel(name) for name in routed])

    def _routed(self, name: str) -> bool:
        try:
            self.bridge.pool.terminal_for_symbol(name.partition(":")[2])
        except GatewayError:
            return False
        return True

    def _drop_default_feed(self) -> None:
        for name in self.default_channels:
            self.bridge.hub.unsubscribe(self.client, name)
        self.default_channels = []

    async def handle(self, message: ClientMessage) -> None:
        if message.type == "ping":
            self.reply({"type": "pong"})
            return
        if message.type == "heartbeat":
            name = message.data.get("client")
            self.reply(heartbeat_message(name if isinstance(name, str) and name else self.client.name))
            return
        if message.type == "trading_signal":
            if "trade" not in self.key.scopes:
                raise Forbidden("This key does not have the trade scope", scope="trade")
            result = await place_signal(self.bridge.trading, owner=self.key.name, data=message.data)
            self.reply(result)
            return
        if message.type == "auth":
            raise ProtocolError("already_authenticated", "this connection is already authenticated")
        channels = [parse_channel(name) for name in message.channels]
        self._drop_default_feed()
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
        self.reply({"type": "subscribed", "channels": [ch.name for ch in channels]})
        self._subscribe(list(new.values()))


async def _authenticate(websocket: WebSocket, gateway: Gateway) -> ApiKeyConfig | None:
    """The client's key from the handshake (``X-API-Key`` or bearer), else from a first ``auth``
    message."""
    presented = client_key(websocket.headers)
    if presented is not None:
        return gateway.keys.client(presented)
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
@router.websocket(_BRIDGE_SERVICE_PATH)
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
        name=key.name,
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
        if websocket.scope["path"] == _BRIDGE_SERVICE_PATH:
            await connection.start_bridge_service_feed()
        while True:
            raw = await websocket.receive()
            if raw["type"] == "websocket.disconnect":
                break
            started = time.perf_counter()
            ok = False
            try:
                text = raw.get("text")
                await connection.handle(
                    parse_client_message(text if text is not None else raw.get("bytes") or b"")
                )
                ok = True
            except ProtocolError as exc:
                connection.reply(exc.frame())
            except GatewayError as exc:
                connection.reply({"type": "error", **exc.body()})
            bridge.hub.stats.handled(time.perf_counter() - started, ok=ok)
    except WebSocketDisconnect:
        pass
    finally:
        await bridge.hub.disconnect(client)
