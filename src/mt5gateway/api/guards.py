"""What every HTTP request goes through first: its request id, and the key before any body is read.

``RequestGuard`` is ASGI middleware, the outermost of the HTTP app's:

- Each request gets an id: the client's ``X-Request-ID`` when it is a short token, else a new one.
  It is set in ``mt5gateway.logs.REQUEST_ID`` for the request's span (every log line written while
  serving it carries it) and sent back in ``X-Request-ID``. At ``--log-level debug`` each request
  is logged with its status (the access log).
- A request with a body is answered before a byte of the body is read unless it carries a valid
  key (a client key or the admin key, in its header or as a bearer token): 401 (403 on admin paths).
  The route then checks the key's scope as usual; this only keeps a stranger from making the service
  read and parse a body. Paths in ``open_body_paths`` (none by default) skip this check.
- A body is read chunk by chunk as it arrives, at most ``max_bytes``: a longer one (by its
  ``Content-Length``, or once the chunks read pass the limit) is refused with 413 and the rest is
  never read, so one large body neither holds the event loop nor stays in memory. The body read is
  then handed to the app as one message.
- ``/docs`` and ``/redoc`` are sent with a Content-Security-Policy allowing only the gateway's own
  files: their assets are served locally (``fastapi-offline``), and the browser is told not to reach
  out at all (ReDoc's sidebar would fetch its vendor's logo from a CDN).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mt5gateway.errors import AdminRequired, GatewayError, PayloadTooLarge, Unauthorized
from mt5gateway.logs import REQUEST_ID

from .auth import ADMIN_REFUSAL, admin_key, client_key
from .deps import Gateway
from .errors import error_response

__all__ = ["REQUEST_ID_HEADER", "RequestGuard"]

REQUEST_ID_HEADER = "X-Request-ID"
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_KEY_HEADERS = frozenset({b"x-api-key", b"x-admin-api-key", b"authorization"})
_ADMIN_PREFIX = "/api/admin/"
_DOC_PAGES = frozenset({"/docs", "/redoc"})
_DOC_PAGE_POLICY = (
    b"content-security-policy",
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; worker-src 'self' blob:; font-src 'self' data:",
)

log = logging.getLogger(__name__)


class RequestGuard:
    """Request ids, the key before the body, and the body's size limit (see the module doc)."""

    def __init__(
        self, app: ASGIApp, *, gateway: Gateway, max_bytes: int, open_body_paths: Iterable[str] = ()
    ) -> None:
        self.app = app
        self.gateway = gateway
        self.max_bytes = max_bytes
        self.open_body_paths = tuple(open_body_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id, length, chunked, keys = _read_headers(scope["headers"])
        token = REQUEST_ID.set(request_id)
        added = [(b"x-request-id", request_id.encode())]
        if scope["path"] in _DOC_PAGES:
            added.append(_DOC_PAGE_POLICY)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *added]
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("%s %s %d", scope["method"], scope["path"], message["status"])
            await send(message)

        try:
            if length or chunked:
                refusal = self._refusal(scope["path"], keys, length)
                if refusal is None:
                    body, refusal = await self._read_body(receive)
                if refusal is not None:
                    await _refuse(refusal, send_with_id)
                    return
                receive = _replay(body, receive)
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)

    def _refusal(self, path: str, keys: dict[str, str], length: int) -> GatewayError | None:
        """Why a request with a body is refused before any of it is read, if it is."""
        if not path.startswith(self.open_body_paths):
            keystore = self.gateway.keys
            if keystore.client(client_key(keys)) is None and not keystore.is_admin(admin_key(keys)):
                if path.startswith(_ADMIN_PREFIX):
                    return AdminRequired(ADMIN_REFUSAL)
                return Unauthorized("Unauthorized")
        if length > self.max_bytes:
            return self._too_large()
        return None

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"The request body is larger than {self.max_bytes} bytes; nothing was read",
            limit=self.max_bytes,
        )

    async def _read_body(self, receive: Receive) -> tuple[bytes, GatewayError | None]:
        """The body, read as it arrives; a refusal once it passes the limit (the rest stays unread)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the app sees an empty body and its disconnect
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return b"", self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), None


def _read_headers(raw: Iterable[tuple[bytes, bytes]]) -> tuple[str, int, bool, dict[str, str]]:
    """The request id, the declared body length, whether the body is chunked, and the key headers."""
    request_id = ""
    length = 0
    chunked = False
    keys: dict[str, str] = {}
    for name, value in raw:
        if name == b"content-length":
            # A malformed length never reaches here: the server refuses the request first.
            length = int(value) if value.isdigit() and len(value) <= 18 else 0
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _CLIENT_REQUEST_ID.fullmatch(candidate):
                request_id = candidate
        elif name in _KEY_HEADERS:
            keys[name.decode("latin-1")] = value.decode("latin-1")
    return request_id or uuid.uuid4().hex[:16], length, chunked, keys


async def _refuse(error: GatewayError, send: Send) -> None:
    response = error_response(error.status, error.body(), headers={"Connection": "close"})
    await send(
        {"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers}
    )
    await send({"type": "http.response.body", "body": response.body})


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` as the request's one message, then defers to ``receive``."""
    sent = False

    async def replayed() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return replayed
