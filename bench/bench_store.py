"""Store and recorder figures against a plain SQLAlchemy baseline measured in the same run.

Targets (issue 6): tick ingest >= 200,000 ticks/s into SQLite and >= 100,000 into PostgreSQL; one day
of M1 bars read back <= 5 ms; a month of M1 bars gap-filled for one symbol from the simulator <= 10 s.
The baseline writes the same ticks with SQLAlchemy Core ``executemany`` (``INSERT .. ON CONFLICT DO
NOTHING`` from a list of dicts) and reads bars with a Core ``select`` into NumPy.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bench._util import print_table, time_calls
from mt5gateway.recorder import DirectTerminal, create_fill_job, run_fill_job
from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.terminal import SimConfig, SimTerminal
from mt5gateway.store import JobState, Store
from mt5gateway.store.tables import BARS, TICKS
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.dtypes import RATES_DTYPE, TICKS_DTYPE

TICKS_TOTAL = 200_000
BATCH = 1_000  # the recorder's batch size
DAY_START = 1_704_844_800  # 2024-01-10 00:00 UTC, a Wednesday
MONTH_START, MONTH_END = 1_704_067_200, 1_706_745_600  # January 2024
POSTGRES_URL = os.environ.get("MT5GW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _ticks(count: int) -> np.ndarray:
    ticks = np.zeros(count, dtype=TICKS_DTYPE)
    ticks["time_msc"] = DAY_START * 1000 + np.arange(count) * 173
    ticks["time"] = ticks["time_msc"] // 1000
    ticks["bid"] = 1.1 + np.cumsum(np.random.default_rng(1).normal(0, 1e-5, count))
    ticks["ask"] = ticks["bid"] + 1.2e-4
    ticks["flags"] = 6
    return ticks


def _day_of_bars() -> np.ndarray:
    bars = np.zeros(1_440, dtype=RATES_DTYPE)
    bars["time"] = DAY_START + 60 * np.arange(1_440)
    bars["open"] = bars["high"] = bars["low"] = bars["close"] = 1.1
    bars["tick_volume"] = 60
    return bars


@contextmanager
def _postgres_schema() -> Iterator[str | None]:
    """A throw-away schema on the local server, or ``None`` when the server is not running."""
    admin = sa.create_engine(POSTGRES_URL)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError:
        admin.dispose()
        yield None
        return
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _rate(write: Callable[[np.ndarray], object], ticks: np.ndarray) -> float:
    start = time.perf_counter()
    for offset in range(0, len(ticks), BATCH):
        write(ticks[offset : offset + BATCH])
    return len(ticks) / (time.perf_counter() - start)


def _baseline_write(store: Store, symbol: str) -> Callable[[np.ndarray], object]:
    dialect = postgresql if store.dialect == "postgresql" else sqlite
    statement = dialect.insert(TICKS).on_conflict_do_nothing()

    def write(batch: np.ndarray) -> None:
        rows = [
            {
                "symbol": symbol,
                "time_msc": int(tick["time_msc"]),
                "seq": 0,
                "bid": float(tick["bid"]),
                "ask": float(tick["ask"]),
                "last": float(tick["last"]),
                "volume": int(tick["volume"]),
                "flags": int(tick["flags"]),
                "volume_real": float(tick["volume_real"]),
            }
            for tick in batch
        ]
        with store.engine.begin() as connection:
            connection.execute(statement, rows)

    return write


def _baseline_read(store: Store) -> np.ndarray:
    query = (
        sa.select(BARS.c.time, BARS.c.open, BARS.c.high, BARS.c.low, BARS.c.close)
        .add_columns(BARS.c.tick_volume, BARS.c.spread, BARS.c.real_volume)
        .where(BARS.c.symbol == "EURUSD", BARS.c.timeframe == "M1")
        .where(BARS.c.time >= DAY_START, BARS.c.time < DAY_START + 86_400)
        .order_by(BARS.c.time)
    )
    with store.engine.connect() as connection:
        return np.array([tuple(row) for row in connection.execute(query)], dtype=RATES_DTYPE)


def _store_rows(name: str, url: str, target_ticks_per_s: float) -> list[tuple[str, str, str, str]]:
    store = Store.open(url)
    try:
        ticks = _ticks(TICKS_TOTAL)
        baseline = _rate(_baseline_write(store, "BASELINE"), ticks)
        ours = _rate(lambda batch: store.write_ticks("EURUSD", batch), ticks)
        replay = _rate(lambda batch: store.write_ticks("EURUSD", batch), ticks)
        store.write_bars("EURUSD", "M1", _day_of_bars())
        read = time_calls(lambda: store.read_bars("EURUSD", "M1", DAY_START, DAY_START + 86_400), repeat=50)
        read_baseline = time_calls(lambda: _baseline_read(store), repeat=50)
    finally:
        store.close()
    return [
        (
            f"{name}: tick ingest, batches of {BATCH:,}",
            f"{ours:,.0f} ticks/s (baseline executemany {baseline:,.0f}/s)",
            f">= {target_ticks_per_s:,.0f}/s",
            "yes" if ours >= target_ticks_per_s else "NO",
        ),
        (f"{name}: the same ticks replayed", f"{replay:,.0f} ticks/s, nothing written", "-", "-"),
        (
            f"{name}: one day of M1 bars read",
            f"{read.median * 1e3:.2f} ms (baseline Core select {read_baseline.median * 1e3:.2f} ms)",
            "<= 5 ms",
            "yes" if read.median <= 0.005 else "NO",
        ),
    ]


def _gap_fill_row(name: str, url: str) -> tuple[str, str, str, str]:
    """A month of EURUSD bars (M1 and the tier timeframes) copied from an in-process simulator."""
    terminal = SimTerminal(SimConfig(seed=1, clock=ManualClock(MONTH_END * 1000), db_path=":memory:"))
    terminal.initialize()
    store = Store.open(url)
    try:
        fetch_only = time_calls(
            lambda: terminal.copy_rates_range("EURUSD", c.TIMEFRAME_M1, MONTH_START, MONTH_END - 1), repeat=1
        )
        job = create_fill_job(store, symbol="EURUSD", from_time=MONTH_START, to_time=MONTH_END, what="bars")
        start = time.perf_counter()
        done = asyncio.run(run_fill_job(store, DirectTerminal(terminal), job.id))
        elapsed = time.perf_counter() - start
    finally:
        store.close()
        terminal.close()
    return (
        f"{name}: a month of M1 bars gap-filled",
        f"{elapsed:.2f} s, {done.rows_written:,} rows (baseline: fetching the M1 alone {fetch_only.median * 1e3:.0f} ms)",
        "<= 10 s",
        "yes" if elapsed <= 10 and done.state is JobState.DONE else "NO",
    )


def main() -> None:
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        rows += _store_rows("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}", 200_000)
        rows.append(_gap_fill_row("SQLite", f"sqlite:///{Path(folder) / 'fill.db'}"))
    with _postgres_schema() as url:
        if url is None:
            rows.append(("PostgreSQL", "server not running: skipped", "-", "-"))
        else:
            rows += _store_rows("PostgreSQL", url, 100_000)
            rows.append(_gap_fill_row("PostgreSQL", url))
    print_table(rows)


if __name__ == "__main__":
    main()
