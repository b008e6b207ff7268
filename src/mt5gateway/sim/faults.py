"""Faults a simulated terminal can be told to show, for tests and drills (SPEC 4.3).

Each fault shows through the API the way a real terminal shows it:

- ``disconnect``: every call fails with ``RES_E_INTERNAL_FAIL_CONNECT`` (-10004, "No IPC
  connection") until ``reconnect``; ``terminal_info()`` returns ``None`` like the rest.
- ``latency``: each call sleeps that long first (a slow terminal or a remote link).
- ``hang``: the next call blocks until ``release`` (from another thread) or for ``seconds``, or
  forever: the pool's deadline has to catch it.
- ``crash``: the next call ends the process at once (``os._exit``), as a terminal crash kills the
  worker that holds it.
- ``requote_rate``: the share (0..1) of market orders the broker answers with TRADE_RETCODE_REQUOTE.
- ``autotrading``: when off, ``terminal_info().trade_allowed`` is False and ``order_send`` answers
  TRADE_RETCODE_CLIENT_DISABLES_AT.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CRASH_EXIT_CODE", "Faults"]

# The exit status of a process ended by the ``crash`` fault, so a supervisor's log can name it.
CRASH_EXIT_CODE = 70


@dataclass
class Faults:
    """The fault switches of one simulated terminal; ``before_call`` applies them to each call."""

    disconnected: bool = False
    latency_s: float = 0.0
    requote_rate: float = 0.0
    autotrading: bool = True
    crash_pending: bool = False
    hang_pending: bool = False
    hang_seconds: float | None = None
    _released: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def disconnect(self) -> None:
        """Lose the connection: every call fails with -10004 until ``reconnect``."""
        self.disconnected = True

    def reconnect(self) -> None:
        """Restore the connection."""
        self.disconnected = False

    def set_latency(self, seconds: float) -> None:
        """Add ``seconds`` of delay to every call (0 removes it)."""
        if seconds < 0:
            raise ValueError(f"latency must be >= 0 seconds, got {seconds}")
        self.latency_s = float(seconds)

    def hang(self, seconds: float | None = None) -> None:
        """Make the next call block: for ``seconds``, or until ``release`` when None."""
        if seconds is not None and seconds < 0:
            raise ValueError(f"hang must be >= 0 seconds, got {seconds}")
        self._released.clear()
        self.hang_seconds = seconds
        self.hang_pending = True

    def release(self) -> None:
        """Unblock a hung call (and cancel a hang not yet reached)."""
        self.hang_pending = False
        self._released.set()

    def crash(self) -> None:
        """End the process on the next call."""
        self.crash_pending = True

    def set_requote_rate(self, rate: float) -> None:
        """Answer this share (0..1) of market orders with a requote."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"requote rate must be between 0 and 1, got {rate}")
        self.requote_rate = float(rate)

    def set_autotrading(self, enabled: bool) -> None:
        """Switch the terminal's AutoTrading button."""
        self.autotrading = bool(enabled)

    def clear(self) -> None:
        """Back to a healthy terminal."""
        self.reconnect()
        self.set_latency(0.0)
        self.set_requote_rate(0.0)
        self.set_autotrading(True)
        self.crash_pending = False
        self.release()

    def before_call(self) -> None:
        """Apply crash, hang and latency to the call about to run (connection is checked by the caller)."""
        if self.crash_pending:
            os._exit(CRASH_EXIT_CODE)
        if self.hang_pending:
            self.hang_pending = False
            self._released.wait(self.hang_seconds)
        if self.latency_s:
            time.sleep(self.latency_s)

    def state(self) -> dict[str, Any]:
        """The switches as plain data (what ``SimTerminal.control("faults")`` returns)."""
        return {
            "disconnected": self.disconnected,
            "latency_s": self.latency_s,
            "requote_rate": self.requote_rate,
            "autotrading": self.autotrading,
            "crash_pending": self.crash_pending,
            "hang_pending": self.hang_pending,
        }
