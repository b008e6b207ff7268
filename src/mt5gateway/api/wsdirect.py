"""Shared WebSocket frames written straight to each connection's socket, under uvicorn.

The hub builds one tick frame per subscription set and hands it to every batching client. Sent
through Starlette and uvicorn, each copy cost a wake of the client's sender task, two ASGI send
layers and a frame serialization: about 20 µs of Python per client, most of the event loop at 200
clients. Under uvicorn's sans-I/O ``websockets`` protocol (its default when ``websockets`` is
installed) an outgoing data frame is only bytes on the transport, so the hub serializes the frame
once and ``DirectFrameWriter`` writes those bytes to each connection that can take them now.

Only then: the connection is open, no close was sent, no extension (permessage-deflate) was
negotiated, and the transport is not paused by a full buffer. Otherwise, and under any other server,
the write is refused and the frame takes the normal path through the client's sender task, which is
also what a slow client's frames do: its buffer pauses the transport, so the hub's bounds apply.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

__all__ = ["CaptureWebSocketSend", "DirectFrameWriter"]

# The scope key under which ``CaptureWebSocketSend`` keeps the server's own ``send``.
_SERVER_SEND = "mt5gateway.server_send"


class CaptureWebSocketSend:
    """ASGI middleware: keeps a WebSocket connection's server ``send`` in its scope.

    Starlette wraps ``send`` before the endpoint sees it; the server's own (a bound method of its
    protocol object) is only visible out here. Add it last, so that it is the outermost.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[_SERVER_SEND] = send
        await self.app(scope, receive, send)


class DirectFrameWriter:
    """Writes serialized server frames straight to one accepted connection's transport."""

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    @classmethod
    def for_scope(cls, scope: Scope) -> DirectFrameWriter | None:
        """A writer for this accepted connection, or None where frames must take the ASGI path."""
        protocol = getattr(scope.get(_SERVER_SEND), "__self__", None)
        if not isinstance(protocol, WebSocketsSansIOProtocol) or protocol.conn.extensions:
            return None
        return cls(protocol)

    def __call__(self, frame: bytes) -> bool:
        """Write ``frame`` now; False (nothing written) when the connection cannot take it now."""
        protocol = self._protocol
        if (
            protocol.close_sent
            or protocol.disconnected
            or not protocol.writable.is_set()
            or protocol.conn.state is not State.OPEN
            or protocol.transport.is_closing()
        ):
            return False
        protocol.transport.write(frame)
        return True
