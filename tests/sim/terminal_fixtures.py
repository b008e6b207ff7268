"""Fixtures shared by the terminal tests: the drop-in module on a fresh broker and a manual clock.

A test module imports ``clock_fixture`` and ``mt5_fixture``; its tests then ask for ``clock`` and
``mt5`` by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType

import pytest

import mt5gateway.sim as sim_module
from mt5gateway.sim.clock import ManualClock

# A Wednesday at noon: every symbol's market is open.
START = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)
START_MSC = int(START.timestamp() * 1000)
SEED = 7


@pytest.fixture(name="clock")
def clock_fixture() -> ManualClock:
    return ManualClock(START_MSC)


@pytest.fixture(name="mt5")
def mt5_fixture(clock: ManualClock) -> Iterator[ModuleType]:
    """The drop-in module, initialized on a fresh in-memory broker and a manual clock."""
    sim_module.configure(seed=SEED, clock=clock, db_path=":memory:")
    assert sim_module.initialize(), sim_module.last_error()
    yield sim_module
    sim_module.default_terminal().close()
