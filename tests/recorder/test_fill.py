"""Gap-fill jobs: bars and ticks copied from the terminal, replays idempotent, gaps found and filled,
a job cut off mid-way resumes (in process and after ``kill -9`` of the CLI)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from mt5gateway.recorder import DirectTerminal, create_fill_job, find_gaps, measure_completeness, run_fill_job
from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.market import Market
from mt5gateway.sim.symbols import DEFAULT_SYMBOLS
from mt5gateway.sim.terminal import SimTerminal
from mt5gateway.store import Job, JobState, Store, get_job
from mt5gateway.store.tables import BARS
from mt5gateway.terminal import constants as c

from .conftest import NOW

WEEK_START = NOW - 7 * 86_400  # Monday 2024-01-29


class Crash(Exception):
    """Stands for the process dying between two chunks."""


async def test_bars_job_copies_every_kept_timeframe_and_replays_change_nothing(
    store: Store, source: DirectTerminal, terminal: SimTerminal
) -> None:
    job = create_fill_job(store, symbol="EURUSD", from_time=WEEK_START, to_time=NOW, what="bars")
    done = await run_fill_job(store, source, job.id)
    assert (done.state, done.progress) == (JobState.DONE, 1.0)
    m1 = store.read_bars("EURUSD", "M1", WEEK_START, NOW)
    np.testing.assert_array_equal(
        m1, terminal.copy_rates_range("EURUSD", c.TIMEFRAME_M1, WEEK_START, NOW - 1)
    )
    h4 = store.read_bars("EURUSD", "H4", WEEK_START, NOW)
    np.testing.assert_array_equal(
        h4, terminal.copy_rates_range("EURUSD", c.TIMEFRAME_H4, WEEK_START, NOW - 1)
    )
    assert len(store.read_bars("EURUSD", "D1", WEEK_START, NOW)) == 5  # the weekend has no bars
    again = await run_fill_job(
        store,
        source,
        create_fill_job(store, symbol="EURUSD", from_time=WEEK_START, to_time=NOW, what="bars").id,
    )
    assert again.rows_written == 0
    assert [day.percent for day in store.read_completeness(symbol="EURUSD")] == [100.0] * 7


async def test_gaps_made_on_purpose_are_found_and_filled(store: Store, source: DirectTerminal) -> None:
    await run_fill_job(
        store,
        source,
        create_fill_job(store, symbol="XAUUSD", from_time=WEEK_START, to_time=NOW, what="bars").id,
    )
    holes = [
        (WEEK_START + 3_600, WEEK_START + 3_600 + 17 * 60),
        (WEEK_START + 2 * 86_400 + 3_600, WEEK_START + 2 * 86_400 + 3_600 + 60),  # after the daily pause
    ]
    with store.engine.begin() as connection:
        for start, end in holes:
            connection.execute(
                sa.delete(BARS).where(
                    BARS.c.symbol == "XAUUSD",
                    BARS.c.timeframe == "M1",
                    BARS.c.time >= start,
                    BARS.c.time < end,
                )
            )
    gaps = find_gaps(store, "XAUUSD", WEEK_START, NOW)
    assert [(gap.start, gap.end, gap.minutes) for gap in gaps] == [
        (holes[0][0], holes[0][1], 17),
        (holes[1][0], holes[1][1], 1),
    ]
    days = measure_completeness(store, "XAUUSD", WEEK_START, NOW)
    assert [day.present_minutes for day in days[:3]] == [1380 - 17, 1380, 1380 - 1]  # 23 hours a day
    assert days[0].percent < 100.0
    for gap in gaps:
        await run_fill_job(
            store,
            source,
            create_fill_job(store, symbol="XAUUSD", from_time=gap.start, to_time=gap.end, what="bars").id,
        )
    assert find_gaps(store, "XAUUSD", WEEK_START, NOW) == []
    assert all(day.percent == 100.0 for day in measure_completeness(store, "XAUUSD", WEEK_START, NOW))


async def test_index_gaps_follow_its_session_hours(store: Store, source: DirectTerminal) -> None:
    day = WEEK_START + 86_400  # Tuesday: US30 trades 01:00 to 24:00 (server time)
    await run_fill_job(
        store,
        source,
        create_fill_job(store, symbol="US30", from_time=day, to_time=day + 86_400, what="bars").id,
    )
    assert find_gaps(store, "US30", day, day + 86_400) == []
    [completeness] = measure_completeness(store, "US30", day, day + 86_400)
    assert (completeness.expected_minutes, completeness.present_minutes) == (23 * 60, 23 * 60)


async def test_ticks_job_cut_off_mid_way_resumes_from_its_cursor(
    store: Store, source: DirectTerminal, terminal: SimTerminal
) -> None:
    start, end = NOW - 2 * 86_400 - 6 * 3_600, NOW - 2 * 86_400  # Saturday: BTCUSD trades every day
    job = create_fill_job(store, symbol="BTCUSD", from_time=start, to_time=end, what="ticks")
    seen: list[Job] = []

    def crash_after_two_chunks(progress: Job) -> None:
        seen.append(progress)
        if len(seen) == 2:
            raise Crash

    with pytest.raises(Crash):
        await run_fill_job(store, source, job.id, on_progress=crash_after_two_chunks)
    cut = get_job(store.engine, job.id)
    assert cut is not None
    assert (cut.state, cut.cursor) == (JobState.RUNNING, start + 2 * 3_600)
    resumed = await run_fill_job(store, source, job.id)
    assert (resumed.state, resumed.cursor) == (JobState.DONE, end)
    expected = terminal.copy_ticks_range("BTCUSD", start, end, c.COPY_TICKS_ALL)
    expected = expected[expected["time_msc"] < end * 1000]
    np.testing.assert_array_equal(store.read_ticks("BTCUSD", start * 1000, end * 1000), expected)
    assert resumed.rows_written == len(expected)


async def test_a_job_reaching_past_the_terminals_clock_stops_at_its_now(
    store: Store, source: DirectTerminal
) -> None:
    job = create_fill_job(store, symbol="BTCUSD", from_time=NOW - 3_600, to_time=NOW + 3_600, what="bars")
    done = await run_fill_job(store, source, job.id)
    assert (done.state, done.progress) == (JobState.DONE, 1.0)
    times = store.bar_times("BTCUSD", "M1", 0, 2**40)
    assert (times[0], times[-1]) == (NOW - 3_600, NOW - 60)


async def test_a_terminal_failure_fails_the_job_with_its_reason(store: Store, terminal: SimTerminal) -> None:
    job = create_fill_job(store, symbol="EURUSD", from_time=WEEK_START, to_time=NOW, what="bars")
    terminal.shutdown()  # every call now fails as the module's do: None and last_error()
    failed = await run_fill_job(store, DirectTerminal(terminal), job.id)
    assert failed.state is JobState.FAILED
    assert failed.error is not None and "copy_rates_range" in failed.error


def test_gap_fill_cli_killed_with_sigkill_resumes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fill.db'}"
    start, end = 1_704_067_200, 1_704_067_200 + 3 * 86_400  # 2024-01-01 .. 04, BTCUSD ticks
    command = [sys.executable, "-m", "mt5gateway.cli", "gap-fill", "--db", url, "--source", "sim"]
    env = {**os.environ, "MT5GW_DATA_DIR": str(tmp_path)}
    first = subprocess.Popen(
        [*command, "--symbol", "BTCUSD", "--from", str(start), "--to", str(end), "--what", "ticks"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    store = Store.open(url, upgrade=False) if _wait_for_file(tmp_path / "fill.db") else None
    assert store is not None
    try:
        job = _wait_for_progress(store, first)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        cut = get_job(store.engine, job.id)
        assert cut is not None
        assert cut.state is JobState.RUNNING and start < cut.cursor < end
        resumed = subprocess.run(
            [*command, "--resume"], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert resumed.returncode == 0, resumed.stderr
        assert f"job {job.id} BTCUSD ticks" in resumed.stdout
        done = get_job(store.engine, job.id)
        assert done is not None
        assert (done.state, done.cursor) == (JobState.DONE, end)
        expected = Market(DEFAULT_SYMBOLS, seed=42, clock=ManualClock(end * 1000)).ticks_range(
            "BTCUSD", start * 1000, end * 1000 - 1, c.COPY_TICKS_ALL
        )
        np.testing.assert_array_equal(store.read_ticks("BTCUSD", start * 1000, end * 1000), expected)
    finally:
        store.close()
        if first.poll() is None:
            first.kill()


def _wait_for_file(path: Path, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _wait_for_progress(store: Store, process: subprocess.Popen[bytes], timeout: float = 60.0) -> Job:
    """The job once it has committed a chunk (the process still running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            with store.engine.connect() as connection:
                job_id = connection.execute(sa.text("SELECT id FROM jobs")).scalar()
        except sa.exc.OperationalError:  # the schema is still being created
            job_id = None
        job = get_job(store.engine, job_id) if job_id else None
        if job is not None and job.cursor > job.from_time:
            return job
        time.sleep(0.02)
    raise AssertionError("the job made no progress")
