"""Where the price path first crosses pending order prices and SL/TP levels, vectorised with numpy.

A trigger watches one side of the quote (ask for what buys, bid for what sells) and fires when it
reaches its level from below (``rising``) or from above. ``first_hits`` answers, for many triggers
and many ticks at once, the index of the first tick that fires each one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Trigger", "TriggerKind", "first_hits"]

# Bound the (triggers x ticks) boolean matrix so a long gap in processing never allocates much.
_MAX_CELLS = 4_000_000


class TriggerKind:
    """What happens when a trigger fires."""

    PENDING = 0  # a pending order reaches its price (a stop-limit's stop: its limit order is placed)
    STOP_LOSS = 1
    TAKE_PROFIT = 2


@dataclass(frozen=True, slots=True)
class Trigger:
    """One level watched on one side of the quote, for an order or a position (by ticket)."""

    kind: int
    ticket: int
    level: float
    on_ask: bool
    rising: bool
    deadline_msc: int


def first_hits(
    bid: npt.NDArray[np.float64],
    ask: npt.NDArray[np.float64],
    time_msc: npt.NDArray[np.int64],
    triggers: list[Trigger],
) -> npt.NDArray[np.int64]:
    """For each trigger, the index of the first tick that fires it before its deadline, or -1."""
    count = len(triggers)
    result = np.full(count, -1, dtype=np.int64)
    if count == 0 or len(bid) == 0:
        return result
    level = np.array([t.level for t in triggers])[:, None]
    on_ask = np.array([t.on_ask for t in triggers])[:, None]
    rising = np.array([t.rising for t in triggers])[:, None]
    deadline = np.array([t.deadline_msc for t in triggers], dtype=np.int64)
    chunk = max(1, _MAX_CELLS // count)
    waiting = np.ones(count, dtype=bool)
    for start in range(0, len(bid), chunk):
        stop = start + chunk
        quote = np.where(on_ask, ask[None, start:stop], bid[None, start:stop])
        hit = np.where(rising, quote >= level, quote <= level)
        first = hit.argmax(axis=1)
        found = waiting & hit[np.arange(count), first]
        result[found] = first[found] + start
        waiting &= ~found
        if not waiting.any():
            break
    fired = result >= 0
    late = np.zeros(count, dtype=bool)
    late[fired] = time_msc[result[fired]] > deadline[fired]
    result[late] = -1
    return result
