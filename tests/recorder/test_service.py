"""Data services: clear errors for bad input, statistics, jobs, and streamed CSV / Parquet exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import numpy as np
import pyarrow.parquet as pq
import pytest

from mt5gateway.errors import BadRequest, NotFound, SymbolNotFound
from mt5gateway.recorder import DirectTerminal, run_fill_job, service
from mt5gateway.store import JobState, Store

from .conftest import NOW

DAY = 86_400
FRIDAY = NOW - 3 * DAY


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (
            lambda s: service.gaps(store=s, symbol="EURUSD", from_time=NOW, to_time=NOW - 60),
            BadRequest,
            "before",
        ),
        (lambda s: service.gaps(store=s, symbol="NOPE", from_time=0, to_time=60), SymbolNotFound, "NOPE"),
        (
            lambda s: service.gaps(store=s, symbol="EURUSD", from_time=0, to_time=400 * DAY),
            BadRequest,
            "limit",
        ),
        (
            lambda s: service.create_gap_fill(
                store=s, symbol="EURUSD", from_time=0, to_time=60, what="quotes"
            ),
            BadRequest,
            "ticks, bars",
        ),
        (
            lambda s: service.create_gap_fill(
                store=s, symbol="EURUSD", from_time=0, to_time=40 * DAY, what="ticks"
            ),
            BadRequest,
            "limit",
        ),
        (
            lambda s: service.export_rows(
                store=s, symbol="EURUSD", timeframe="M1", from_time=0, to_time=60, fmt="xlsx"
            ),
            BadRequest,
            "csv, parquet",
        ),
        (
            lambda s: service.export_rows(
                store=s, symbol="EURUSD", timeframe="M2", from_time=0, to_time=60, fmt="csv"
            ),
            BadRequest,
            "M2",
        ),
        (
            lambda s: service.export_rows(
                store=s, symbol="EURUSD", timeframe="ticks", from_time=0, to_time=8 * DAY, fmt="csv"
            ),
            BadRequest,
            "limit",
        ),
        (lambda s: service.job_status(store=s, job_id="missing"), NotFound, "missing"),
    ],
)
def test_bad_input_gets_a_clear_error(
    store: Store, call: Callable[[Store], object], error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as raised:
        call(store)
    assert words in str(raised.value)


async def test_statistics_and_exports_of_filled_bars(store: Store, source: DirectTerminal) -> None:
    job = service.create_gap_fill(store=store, symbol="EURUSD", from_time=FRIDAY, to_time=NOW, what="bars")
    assert service.job_status(store=store, job_id=job.id).state is JobState.PENDING
    await run_fill_job(store, source, job.id)
    assert service.job_status(store=store, job_id=job.id).state is JobState.DONE

    [stats] = service.statistics(store=store)
    assert (stats["symbol"], stats["bars"], stats["ticks"]) == ("EURUSD", 1_440, 0)
    assert (stats["first_bar_time"], stats["last_bar_time"]) == (FRIDAY, FRIDAY + DAY - 60)
    assert (stats["completeness"], stats["gaps"]) == (100.0, 0)

    stored = service.stored_bars(store=store, symbol="EURUSD", timeframe="m15", from_time=FRIDAY, to_time=NOW)
    assert len(stored) == 96

    csv_bytes = b"".join(
        service.export_rows(
            store=store, symbol="EURUSD", timeframe="M1", from_time=FRIDAY, to_time=NOW, fmt="csv"
        )
    )
    rows = list(csv.DictReader(io.StringIO(csv_bytes.decode())))
    m1 = store.read_bars("EURUSD", "M1", FRIDAY, NOW)
    assert len(rows) == len(m1) == 1_440
    assert (int(rows[7]["time"]), float(rows[7]["close"])) == (int(m1["time"][7]), float(m1["close"][7]))

    parquet = b"".join(
        service.export_rows(
            store=store, symbol="EURUSD", timeframe="M1", from_time=FRIDAY, to_time=NOW, fmt="parquet"
        )
    )
    table = pq.read_table(io.BytesIO(parquet))
    assert table.num_rows == 1_440
    np.testing.assert_array_equal(table.column("high").to_numpy(), m1["high"])


async def test_ticks_export_streams_hour_chunks_into_one_parquet_file(
    store: Store, source: DirectTerminal
) -> None:
    start = FRIDAY + 10 * 3_600
    job = service.create_gap_fill(
        store=store, symbol="EURUSD", from_time=start, to_time=start + 3 * 3_600, what="ticks"
    )
    await run_fill_job(store, source, job.id)
    chunks = list(
        service.export_rows(
            store=store,
            symbol="EURUSD",
            timeframe="ticks",
            from_time=start,
            to_time=start + 3 * 3_600,
            fmt="parquet",
        )
    )
    assert len(chunks) == 4  # three row groups and the footer, each sent when ready
    table = pq.read_table(io.BytesIO(b"".join(chunks)))
    ticks = store.read_ticks("EURUSD", start * 1000, (start + 3 * 3_600) * 1000)
    assert table.num_rows == len(ticks) > 1_000
    np.testing.assert_array_equal(table.column("time_msc").to_numpy(), ticks["time_msc"])
