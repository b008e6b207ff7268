"""The recorder over a real pool: re-reads from the newest stored tick, builds bars equal to the
terminal's, and loses no tick when killed with ``kill -9`` mid-batch and restarted."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np

from mt5gateway.pool import TerminalPool
from mt5gateway.pool.config import parse_pool_config
from mt5gateway.recorder import Recorder
from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.market import Market
from mt5gateway.sim.markettime import ServerTime
from mt5gateway.sim.symbols import DEFAULT_SYMBOLS
from mt5gateway.store import Store
from mt5gateway.store.tables import TICKS
from mt5gateway.terminal import constants as c

SYMBOL = "BTCUSD"  # trades every day, so the test runs any day of the week
POOL_TOML = """
[pool]
[pool.deadlines]
connect = 120.0
[pool.sim]
seed = 42
[[pool.terminals]]
id = "MT5_03"
symbols = ["BTCUSD"]
"""


async def test_recorder_rereads_from_the_newest_stored_tick_and_builds_the_terminals_bars(
    store: Store,
) -> None:
    config = parse_pool_config(
        {"terminals": [{"id": "MT5_03", "symbols": [SYMBOL]}], "deadlines": {"connect": 120.0}}
    )
    async with TerminalPool(config) as pool:
        now_msc = (await pool.call_symbol(SYMBOL, "symbol_info_tick", SYMBOL)).time_msc
        # a record that ended about twelve minutes ago
        seeded_from = now_msc // 1000 - 12 * 60
        seed = await pool.call_symbol(
            SYMBOL, "copy_ticks_range", SYMBOL, seeded_from, seeded_from + 20, c.COPY_TICKS_ALL
        )
        assert len(seed) > 0
        store.write_ticks(SYMBOL, seed)
        recorder = Recorder(store=store, pool=pool, symbols=[SYMBOL])
        task = asyncio.create_task(recorder.run())
        await asyncio.wait_for(recorder.ready.wait(), 120)
        await asyncio.sleep(2.0)  # live ticks from the bus after the re-read
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        newest = store.newest_tick(SYMBOL)
        assert newest is not None
        first = int(seed["time_msc"][-1]) // 60_000 * 60_000  # the re-read starts at that minute
        terminal_ticks = await pool.call_symbol(
            SYMBOL, "copy_ticks_range", SYMBOL, first // 1000, newest[0] // 1000 + 1, c.COPY_TICKS_ALL
        )
        terminal_ticks = terminal_ticks[terminal_ticks["time_msc"] <= newest[0]]
        np.testing.assert_array_equal(store.read_ticks(SYMBOL, first, newest[0] + 1), terminal_ticks)

        closed_end = newest[0] // 60_000 * 60
        m1 = store.read_bars(SYMBOL, "M1", first // 1000, closed_end)
        terminal_m1 = await pool.call_symbol(
            SYMBOL, "copy_rates_range", SYMBOL, c.TIMEFRAME_M1, first // 1000, closed_end - 1
        )
        assert len(m1) >= 11
        np.testing.assert_array_equal(m1, terminal_m1)
        # longer bars of the periods recorded whole are the terminal's too
        whole_from = -(-first // 300_000) * 300
        whole_to = closed_end // 300 * 300
        m5 = store.read_bars(SYMBOL, "M5", whole_from, whole_to)
        terminal_m5 = await pool.call_symbol(
            SYMBOL, "copy_rates_range", SYMBOL, c.TIMEFRAME_M5, whole_from, whole_to - 1
        )
        assert len(m5) >= 1
        np.testing.assert_array_equal(m5, terminal_m5)
        assert recorder.stats.ticks_written == len(terminal_ticks) - np.count_nonzero(
            seed["time_msc"] >= first
        )


ONE_TERMINAL = {"terminals": [{"id": "MT5_03", "symbols": [SYMBOL]}], "deadlines": {"connect": 120.0}}


@contextlib.asynccontextmanager
async def recording(store: Store, pool: TerminalPool) -> AsyncIterator[tuple[Recorder, asyncio.Task[None]]]:
    """A recorder of SYMBOL on ``pool``, ready (caught up), stopped when the block ends."""
    recorder = Recorder(store=store, pool=pool, symbols=[SYMBOL])
    task = asyncio.create_task(recorder.run())
    try:
        await asyncio.wait_for(recorder.ready.wait(), 120)
        yield recorder, task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_ticks_made_while_a_terminal_restarts_are_re_read(store: Store) -> None:
    async with TerminalPool(parse_pool_config(ONE_TERMINAL)) as pool:
        async with recording(store, pool) as (recorder, _):
            catch_ups = recorder.stats.catch_ups
            await pool.restart("MT5_03")  # its stream starts again after the ticks made meanwhile
            restarted_msc = ServerTime().from_utc_msc(int(time.time() * 1000))  # tick times are server times
            await _until(lambda: recorder.stats.catch_ups > catch_ups)
            await _until(lambda: (store.newest_tick(SYMBOL) or (0, 0))[0] > restarted_msc + 1_000)
        counts = store.symbol_counts([SYMBOL])[0]
        assert counts.first_tick_msc is not None and counts.last_tick_msc is not None
        terminal_ticks = await pool.call_symbol(
            SYMBOL,
            "copy_ticks_range",
            SYMBOL,
            counts.first_tick_msc // 1000,
            counts.last_tick_msc // 1000 + 1,
            c.COPY_TICKS_ALL,
        )
        terminal_ticks = terminal_ticks[
            (terminal_ticks["time_msc"] >= counts.first_tick_msc)
            & (terminal_ticks["time_msc"] <= counts.last_tick_msc)
        ]
        np.testing.assert_array_equal(
            store.read_ticks(SYMBOL, counts.first_tick_msc, counts.last_tick_msc + 1), terminal_ticks
        )


async def test_a_failing_store_does_not_stop_the_recorder(store: Store) -> None:
    async with (
        TerminalPool(parse_pool_config(ONE_TERMINAL)) as pool,
        recording(store, pool) as (recorder, task),
    ):
        with store.engine.begin() as connection:
            TICKS.drop(connection)  # every write fails from now on
        await _until(lambda: recorder.stats.store_failures > 0)
        with store.engine.begin() as connection:
            TICKS.create(connection)
        catch_ups = recorder.stats.catch_ups
        await _until(lambda: recorder.stats.catch_ups > catch_ups and store.newest_tick(SYMBOL) is not None)
        assert not task.done()


async def _until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


def test_record_killed_with_sigkill_mid_batch_loses_no_tick(tmp_path: Path, store_url: str) -> None:
    config = tmp_path / "pool.toml"
    config.write_text(POOL_TOML)
    url = store_url
    command = [sys.executable, "-m", "mt5gateway.cli", "record", "--config", str(config), "--db", url]
    env = {**os.environ, "MT5GW_DATA_DIR": str(tmp_path)}
    # long batches, so that a batch is surely pending when the process dies
    logs = (tmp_path / "first.log").open("wb"), (tmp_path / "second.log").open("wb")
    first = subprocess.Popen([*command, "--batch-ms", "3000"], env=env, stderr=logs[0])
    second: subprocess.Popen[bytes] | None = None
    try:
        _wait_until(lambda: _newest(url) is not None, process=first)
        time.sleep(1.0)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        killed_at = _newest(url)
        assert killed_at is not None
        time.sleep(2.0)  # ticks the terminal makes while nobody records
        second = subprocess.Popen(command, env=env, stderr=logs[1])
        restarted_msc = ServerTime().from_utc_msc(int(time.time() * 1000))  # tick times are server times
        _wait_until(lambda: (_newest(url) or 0) > restarted_msc + 1_000, process=second)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0, (tmp_path / "second.log").read_text()
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
        for log in logs:
            log.close()
    store = Store.open(url, upgrade=False)
    try:
        counts = store.symbol_counts([SYMBOL])[0]
        assert counts.first_tick_msc is not None and counts.last_tick_msc is not None
        stored = store.read_ticks(SYMBOL, counts.first_tick_msc, counts.last_tick_msc + 1)
    finally:
        store.close()
    market = Market(DEFAULT_SYMBOLS, seed=42, clock=ManualClock(counts.last_tick_msc + 1))
    expected = market.ticks_range(SYMBOL, counts.first_tick_msc, counts.last_tick_msc, c.COPY_TICKS_ALL)
    np.testing.assert_array_equal(stored, expected)
    # the record runs from before the kill to after the restart, so the comparison covers the ticks
    # lost with the pending batch and those made while no recorder ran (the first recorder may have
    # stored a single tick before it died: then the first tick is the newest at the kill)
    assert counts.first_tick_msc <= killed_at < restarted_msc < counts.last_tick_msc


def _newest(url: str) -> int | None:
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    store = Store.open(url, upgrade=False)
    try:
        newest = store.newest_tick(SYMBOL)
    except Exception:  # the schema is still being created
        return None
    finally:
        store.close()
    return None if newest is None else newest[0]


def _wait_until(
    condition: Callable[[], bool], *, process: subprocess.Popen[bytes], timeout: float = 150.0
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the recorder exited with {process.returncode}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
