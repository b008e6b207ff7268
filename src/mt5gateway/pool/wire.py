"""The remote agent's wire format: length-prefixed JSON frames that can carry only data.

A frame is a 4-byte big-endian length and a JSON document (orjson). Values the API passes that JSON
lacks are tagged objects with one key:

- ``{"__tuple__": [...]}``: a tuple (``version()``, ``last_error()``, tuples of records);
- ``{"__record__": "Tick", "fields": [...]}``: a named tuple of ``terminal/records.py``, by type name;
- ``{"__ndarray__": [[name, format], ...], "data": "<base64>"}``: a structured numpy array;
- ``{"__datetime__": "<ISO 8601>"}``: a ``datetime`` argument.

Decoding builds only those types: an unknown record name or an array dtype holding Python objects
is refused, so a peer can never make the other side run code (unlike pickle or RPyC).
"""

from __future__ import annotations

import base64
import socket
import struct
from datetime import datetime
from typing import Any

import numpy as np
import orjson

from ..terminal.records import RECORD_TYPES

__all__ = ["MAX_FRAME_BYTES", "WireError", "decode_value", "encode_value", "recv_frame", "send_frame"]

# A year of M1 bars is ~25 MB as JSON + base64; anything far larger is a broken or hostile peer.
MAX_FRAME_BYTES = 256 * 1024 * 1024
_LENGTH = struct.Struct(">I")


class WireError(ConnectionError):
    """The peer sent something that is not a valid frame, or closed the connection."""


def encode_value(value: Any) -> Any:
    """A JSON-ready form of an API argument or result."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError("arrays of Python objects cannot be sent")
        descr = [[name, fmt] for name, fmt in value.dtype.descr] if value.dtype.names else value.dtype.str
        return {"__ndarray__": descr, "data": base64.b64encode(value.tobytes()).decode("ascii")}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple) and type(value).__name__ in RECORD_TYPES and hasattr(value, "_fields"):
        return {"__record__": type(value).__name__, "fields": [encode_value(v) for v in value]}
    if isinstance(value, tuple):
        return {"__tuple__": [encode_value(v) for v in value]}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode_value(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    raise TypeError(f"cannot send a {type(value).__name__}")


def decode_value(value: Any) -> Any:
    """The value ``encode_value`` encoded; raises ``WireError`` on anything else."""
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(decode_value(v) for v in value["__tuple__"])
    if "__record__" in value:
        record_type = RECORD_TYPES.get(value["__record__"])
        if record_type is None:
            raise WireError(f"unknown record type {value['__record__']!r}")
        return record_type(*(decode_value(v) for v in value["fields"]))
    if "__ndarray__" in value:
        return _decode_array(value["__ndarray__"], value["data"])
    if "__datetime__" in value:
        return datetime.fromisoformat(value["__datetime__"])
    return {k: decode_value(v) for k, v in value.items()}


def _decode_array(descr: Any, data: str) -> np.ndarray:
    try:
        dtype = np.dtype(
            [(str(name), str(fmt)) for name, fmt in descr] if isinstance(descr, list) else str(descr)
        )
    except (TypeError, ValueError) as exc:
        raise WireError(f"bad array dtype: {exc}") from None
    if dtype.hasobject:
        raise WireError("arrays of Python objects are refused")
    return np.frombuffer(base64.b64decode(data), dtype=dtype).copy()


def send_frame(sock: socket.socket, message: dict[str, Any]) -> None:
    """Send one JSON document as a frame."""
    payload = orjson.dumps(message)
    sock.sendall(_LENGTH.pack(len(payload)) + payload)


def recv_frame(sock: socket.socket) -> dict[str, Any]:
    """Receive one frame; raises ``WireError`` when the peer closed or sent garbage."""
    (length,) = _LENGTH.unpack(_recv_exactly(sock, _LENGTH.size))
    if length > MAX_FRAME_BYTES:
        raise WireError(f"frame of {length} bytes is over the limit")
    try:
        message = orjson.loads(_recv_exactly(sock, length))
    except orjson.JSONDecodeError as exc:
        raise WireError(f"frame is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise WireError("frame is not a JSON object")
    return message


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            raise WireError("connection closed by peer")
        chunks += chunk
    return bytes(chunks)
