"""Gap-fill jobs: copy a span of ticks or bars from the terminal into the store, resumable.

A job walks its span in chunks (an hour of ticks, a UTC day of bars); each chunk's rows and the job's
new cursor are committed in one transaction, so a job cut off by a crash resumes at the first chunk
it had not finished and never leaves a hole behind its cursor. A bars job copies M1 and the other
timeframes the recorder keeps, then measures the completeness of the days it touched. A job copies
what the terminal has: a span reaching past its clock ends with the newest bar, which may still be
forming; the recorder or a later fill replaces it with its final values (bars are upserted).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from numpy.typing import NDArray

from mt5gateway.errors import BadRequest, GatewayError, NotFound
from mt5gateway.store import (
    Job,
    JobState,
    Store,
    advance_job,
    create_job,
    finish_job,
    get_job,
    resumable_jobs,
)
from mt5gateway.terminal.timeframes import TIMEFRAMES

from .bars import KEPT_TIMEFRAMES
from .gaps import measure_completeness, sessions_of
from .source import SymbolCaller, fetch_rates, fetch_ticks

__all__ = [
    "FILL_KINDS",
    "GAP_FILL",
    "MAX_FILL_SPAN",
    "create_fill_job",
    "resume_fill_jobs",
    "run_fill_job",
    "validate_span",
]

GAP_FILL = "gap-fill"
DAY = 86_400
# What a job may fill, with the longest span one job may cover and the chunk it commits at a time.
FILL_KINDS = ("ticks", "bars")
MAX_FILL_SPAN = {"ticks": 31 * DAY, "bars": 366 * DAY}
_CHUNK = {"ticks": 3_600, "bars": DAY}

ProgressCallback = Callable[[Job], None]


def validate_span(*, symbol: str, from_time: int, to_time: int, max_span: int) -> None:
    """Refuse an unknown symbol (``SymbolNotFound``), an empty or reversed span or one over ``max_span``
    seconds (``BadRequest``)."""
    sessions_of(symbol)
    if from_time >= to_time:
        raise BadRequest(
            f"'from' ({from_time}) must be before 'to' ({to_time})", field="from", limit="before to"
        )
    if to_time - from_time > max_span:
        raise BadRequest(
            f"the span of {to_time - from_time} s is over the limit of {max_span} s ({max_span // DAY} days)",
            field="to",
            limit=max_span,
        )


def create_fill_job(store: Store, *, symbol: str, from_time: int, to_time: int, what: str) -> Job:
    """Check the request and record a pending gap-fill job for ``[from_time, to_time)``."""
    if what not in FILL_KINDS:
        raise BadRequest(f"'what' must be one of {', '.join(FILL_KINDS)}, not {what!r}", field="what")
    validate_span(symbol=symbol, from_time=from_time, to_time=to_time, max_span=MAX_FILL_SPAN[what])
    return create_job(
        store.engine, kind=GAP_FILL, symbol=symbol, what=what, from_time=from_time, to_time=to_time
    )


async def run_fill_job(
    store: Store, source: SymbolCaller, job_id: str, *, on_progress: ProgressCallback | None = None
) -> Job:
    """Run (or resume) a gap-fill job to its end; returns it done, or failed with the terminal's error."""
    job = await asyncio.to_thread(get_job, store.engine, job_id)
    if job is None:
        raise NotFound(f"no job {job_id!r}", job_id=job_id)
    if job.state not in (JobState.PENDING, JobState.RUNNING):
        return job
    try:
        await _fill(store, source, job, on_progress)
    except GatewayError as exc:
        await asyncio.to_thread(finish_job, store.engine, job.id, error=exc.message)
    else:
        await asyncio.to_thread(finish_job, store.engine, job.id)
    finished = await asyncio.to_thread(get_job, store.engine, job.id)
    assert finished is not None  # jobs are never deleted
    if on_progress is not None:
        on_progress(finished)
    return finished


async def resume_fill_jobs(
    store: Store, source: SymbolCaller, *, on_progress: ProgressCallback | None = None
) -> list[Job]:
    """Run every pending or interrupted gap-fill job, oldest first."""
    jobs = await asyncio.to_thread(resumable_jobs, store.engine)
    return [
        await run_fill_job(store, source, job.id, on_progress=on_progress)
        for job in jobs
        if job.kind == GAP_FILL
    ]


async def _fill(store: Store, source: SymbolCaller, job: Job, on_progress: ProgressCallback | None) -> None:
    chunk = _CHUNK[job.what]
    cursor = job.cursor
    while cursor < job.to_time:
        chunk_end = min((cursor // chunk + 1) * chunk, job.to_time)
        if job.what == "ticks":
            ticks = await fetch_ticks(source, job.symbol, cursor * 1000, chunk_end * 1000)
            await asyncio.to_thread(_commit, store, job, chunk_end, ticks=ticks)
        else:
            bars = {
                name: await fetch_rates(source, job.symbol, TIMEFRAMES[name], cursor, chunk_end)
                for name in KEPT_TIMEFRAMES
            }
            await asyncio.to_thread(_commit, store, job, chunk_end, bars=bars)
        cursor = chunk_end
        if on_progress is not None:
            progressed = await asyncio.to_thread(get_job, store.engine, job.id)
            if progressed is not None:
                on_progress(progressed)
    if job.what == "bars":
        await asyncio.to_thread(measure_completeness, store, job.symbol, job.from_time, job.to_time)


def _commit(
    store: Store,
    job: Job,
    cursor: int,
    *,
    ticks: NDArray[Any] | None = None,
    bars: dict[str, NDArray[Any]] | None = None,
) -> None:
    """Write one chunk and move the job's cursor past it, atomically."""
    with store.engine.begin() as connection:
        written = 0
        if ticks is not None:
            written += store.write_ticks(job.symbol, ticks, connection=connection)
        for name, rates in (bars or {}).items():
            written += store.write_bars(job.symbol, name, rates, connection=connection)
        advance_job(connection, job.id, cursor=cursor, rows_written=written)
