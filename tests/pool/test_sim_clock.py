"""The pool's simulated clock: a chosen start, one timeline across worker restarts, a manual clock."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime

from mt5gateway.sim.markettime import ServerTime
from tests.pool.fixtures import running_pool, small_config, wait_until

WEDNESDAY_NOON = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)
# the start is a UTC instant; tick times are in server time (UTC+2 in January)
START_MSC = ServerTime().from_utc_msc(int(WEDNESDAY_NOON.timestamp() * 1000))


async def test_a_respawned_worker_continues_the_pools_timeline() -> None:
    config = small_config(
        ["EURUSD"], sim={"broker_db": ":memory:", "start": "2024-01-10T12:00:00Z", "speed": 60}
    )
    async with running_pool(config) as pool:
        first = await pool.call("T1", "symbol_info_tick", "EURUSD")
        # FX trades on a Wednesday: the tick is from the chosen start, not from today's clock.
        assert START_MSC <= first.time_msc < START_MSC + 3_600_000
        old_pid = pool.status("T1").pid
        os.kill(old_pid or 0, signal.SIGKILL)
        await wait_until(lambda: pool.status("T1").status == "up" and pool.status("T1").pid != old_pid, 10)
        after = await pool.call("T1", "symbol_info_tick", "EURUSD")
    # At 60x, the seconds the restart took are minutes of sim time: on, never back to the start,
    # and still on the chosen day's timeline (not today's clock).
    assert first.time_msc < after.time_msc < START_MSC + 3_600_000


async def test_a_manual_clock_stands_still_until_moved() -> None:
    config = small_config(
        ["EURUSD"], sim={"broker_db": ":memory:", "start": "2024-01-10T12:00:00", "manual": True}
    )
    async with running_pool(config) as pool:
        standing = await pool.call("T1", "symbol_info_tick", "EURUSD")
        again = await pool.call("T1", "symbol_info_tick", "EURUSD")
        await pool.sim_control("T1", "clock_advance", seconds=600)
        moved = await pool.call("T1", "symbol_info_tick", "EURUSD")
    assert standing == again and standing.time_msc <= START_MSC
    assert START_MSC < moved.time_msc <= START_MSC + 600_000
