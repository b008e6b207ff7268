"""Recorder fixtures: the store fixtures (SQLite and PostgreSQL) and a simulated terminal in this process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from mt5gateway.recorder import DirectTerminal
from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.terminal import SimConfig, SimTerminal
from tests.store.conftest import store, store_url

__all__ = ["NOW", "SEED", "store", "store_url"]

SEED = 7
# The simulated clock: Monday 2024-02-05 00:00 UTC; the history before it is fixed by the seed.
NOW = int(datetime(2024, 2, 5, tzinfo=UTC).timestamp())


@pytest.fixture
def terminal() -> Iterator[SimTerminal]:
    """A simulated terminal on a manual clock standing at ``NOW``."""
    sim = SimTerminal(SimConfig(seed=SEED, clock=ManualClock(NOW * 1000), db_path=":memory:"))
    assert sim.initialize(), sim.last_error()
    yield sim
    sim.close()


@pytest.fixture
def source(terminal: SimTerminal) -> DirectTerminal:
    """The terminal as a recorder source."""
    return DirectTerminal(terminal)
