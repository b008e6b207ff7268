"""The simulator's clocks."""

from __future__ import annotations

import time

import pytest

from mt5gateway.sim.clock import Clock, ManualClock, SystemClock
from mt5gateway.sim.markettime import ServerTime

HOUR_MSC = 3_600_000


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(1_000)
    assert clock.now_msc() == 1_000
    assert clock.advance(1.5) == 2_500
    clock.set_msc(10)
    assert clock.now_msc() == 10


def test_manual_clock_refuses_to_advance_backwards() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        ManualClock(0).advance(-1)


def test_system_clock_defaults_to_the_wall_clock_in_server_time() -> None:
    wall = time.time_ns() // 1_000_000
    ahead = SystemClock().now_msc() - wall  # UTC+2, or UTC+3 in US summer time
    assert min(abs(ahead - 2 * HOUR_MSC), abs(ahead - 3 * HOUR_MSC)) < 1_000
    assert abs(SystemClock(server_time=ServerTime("UTC")).now_msc() - wall) < 1_000


def test_system_clock_runs_at_its_speed_from_its_origin() -> None:
    clock = SystemClock(speed=1_000.0, origin_msc=0, server_time=ServerTime("UTC"))
    time.sleep(0.05)
    elapsed = clock.now_msc()
    assert 40_000 <= elapsed < 5_000_000
    assert 0 <= clock.utc_msc() - elapsed < 5_000_000


def test_system_clock_rejects_a_non_positive_speed() -> None:
    with pytest.raises(ValueError, match="positive"):
        SystemClock(speed=0)


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(ManualClock(0), Clock)
    assert isinstance(SystemClock(), Clock)
