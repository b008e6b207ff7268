"""Reading a worker's ``multiprocessing`` pipe from the event loop without ever blocking on it.

``Connection.recv`` reads one whole message and assumes a blocking descriptor. An event loop may
switch the descriptor it watches to non-blocking mode (uvloop does), and then a message larger than
what the pipe holds at that moment fails half-way through with ``EAGAIN``, its first part consumed.
``FrameReader`` instead takes whatever bytes one read returns, keeps them, and yields a message
only once its whole frame has arrived. It speaks ``Connection``'s framing (a 4-byte big-endian
signed length, or -1 and an 8-byte length past 2 GiB, then the pickle), so the worker keeps
sending with ``Connection.send``.
"""

from __future__ import annotations

import os
import struct
from multiprocessing.reduction import ForkingPickler
from typing import Any

__all__ = ["FrameReader"]

_LENGTH = struct.Struct("!i")
_LONG_LENGTH = struct.Struct("!Q")
# Bytes asked for per read when no frame is known to need more: an answer of a few thousand bars
# arrives in a few reads, a burst of small events in one.
_READ_SIZE = 256 * 1024


class FrameReader:
    """Reassembles the pickled messages sent down a ``multiprocessing`` pipe, read as bytes arrive."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()
        # Bytes the buffer must hold before the frame at its start is whole (a header at least).
        self._wanted = _LENGTH.size

    def read_available(self) -> list[Any]:
        """The messages completed by one read of what the pipe holds now (none while a frame is partial).

        Call it when the descriptor is readable: one read never waits, blocking mode or not.
        Raises ``EOFError`` when the other end closed, ``OSError`` when the pipe broke.
        """
        try:
            chunk = os.read(self._fd, max(_READ_SIZE, self._wanted - len(self._buffer)))
        except BlockingIOError:
            return []  # woken with nothing to read after all
        if not chunk:
            raise EOFError("the other end of the pipe closed")
        self._buffer += chunk
        if len(self._buffer) < self._wanted:
            return []
        return self._take_whole_frames()

    def _take_whole_frames(self) -> list[Any]:
        messages = []
        start = 0
        with memoryview(self._buffer) as view:
            while True:
                frame = _frame_bounds(view, start)
                if isinstance(frame, int):
                    self._wanted = frame - start
                    break
                body_start, body_end = frame
                with view[body_start:body_end] as body:
                    messages.append(ForkingPickler.loads(body))
                start = body_end
        # One shift of the unread rest per read, however many frames it completed.
        del self._buffer[:start]
        return messages


def _frame_bounds(view: memoryview, start: int) -> tuple[int, int] | int:
    """``(body_start, body_end)`` of the frame at ``start`` when whole, else the buffer size it needs."""
    available = len(view) - start
    if available < _LENGTH.size:
        return start + _LENGTH.size
    (size,) = _LENGTH.unpack_from(view, start)
    body_start = start + _LENGTH.size
    if size == -1:
        if available < _LENGTH.size + _LONG_LENGTH.size:
            return start + _LENGTH.size + _LONG_LENGTH.size
        (size,) = _LONG_LENGTH.unpack_from(view, body_start)
        body_start += _LONG_LENGTH.size
    body_end = body_start + size
    return (body_start, body_end) if body_end <= len(view) else body_end
