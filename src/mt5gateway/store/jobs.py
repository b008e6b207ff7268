"""Jobs kept in the store: a gap fill's span, how far it got (``cursor``) and its state.

A job advances its cursor in the same transaction that writes the chunk's rows, so after a crash the
cursor never claims data that was not written; ``resumable`` lists the jobs a restart picks up.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa

from .tables import JOBS

__all__ = ["Job", "JobState", "advance_job", "create_job", "finish_job", "get_job", "resumable_jobs"]


class JobState(StrEnum):
    """Life of a job: pending -> running -> done | failed."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Job:
    """One job row; times in epoch seconds, ``*_msc`` in epoch milliseconds."""

    id: str
    kind: str
    symbol: str
    what: str
    from_time: int
    to_time: int
    cursor: int
    state: JobState
    rows_written: int
    error: str | None
    created_msc: int
    updated_msc: int

    @property
    def progress(self) -> float:
        """Fraction of the span done, 0.0 .. 1.0."""
        span = self.to_time - self.from_time
        return 1.0 if span <= 0 else min(1.0, (self.cursor - self.from_time) / span)


def _now_msc() -> int:
    return int(time.time() * 1000)


def create_job(engine: sa.Engine, *, kind: str, symbol: str, what: str, from_time: int, to_time: int) -> Job:
    """Insert a pending job over ``[from_time, to_time)`` and return it."""
    now = _now_msc()
    values = {
        "id": uuid.uuid4().hex,
        "kind": kind,
        "symbol": symbol,
        "what": what,
        "from_time": from_time,
        "to_time": to_time,
        "cursor": from_time,
        "state": JobState.PENDING.value,
        "rows_written": 0,
        "error": None,
        "created_msc": now,
        "updated_msc": now,
    }
    with engine.begin() as connection:
        connection.execute(sa.insert(JOBS).values(values))
    return _job(values)


def get_job(engine: sa.Engine | sa.Connection, job_id: str) -> Job | None:
    """The job with that id, or ``None``."""
    query = sa.select(JOBS).where(JOBS.c.id == job_id)
    if isinstance(engine, sa.Connection):
        row = engine.execute(query).mappings().first()
    else:
        with engine.connect() as connection:
            row = connection.execute(query).mappings().first()
    return None if row is None else _job(dict(row))


def resumable_jobs(engine: sa.Engine) -> list[Job]:
    """Pending and running jobs (a running one was cut off by a restart), oldest first."""
    query = (
        sa.select(JOBS)
        .where(JOBS.c.state.in_([JobState.PENDING.value, JobState.RUNNING.value]))
        .order_by(JOBS.c.created_msc)
    )
    with engine.connect() as connection:
        return [_job(dict(row)) for row in connection.execute(query).mappings()]


def advance_job(connection: sa.Connection, job_id: str, *, cursor: int, rows_written: int) -> None:
    """Mark the job running up to ``cursor`` with ``rows_written`` more rows, in the caller's transaction."""
    connection.execute(
        sa.update(JOBS)
        .where(JOBS.c.id == job_id)
        .values(
            cursor=cursor,
            rows_written=JOBS.c.rows_written + rows_written,
            state=JobState.RUNNING.value,
            updated_msc=_now_msc(),
        )
    )


def finish_job(engine: sa.Engine, job_id: str, *, error: str | None = None) -> None:
    """Mark the job done, or failed with ``error``."""
    state = JobState.DONE if error is None else JobState.FAILED
    with engine.begin() as connection:
        connection.execute(
            sa.update(JOBS)
            .where(JOBS.c.id == job_id)
            .values(state=state.value, error=error, updated_msc=_now_msc())
        )


def _job(values: dict[str, object]) -> Job:
    fields = {name: values[name] for name in Job.__dataclass_fields__}
    fields["state"] = JobState(str(fields["state"]))
    return Job(**fields)  # type: ignore[arg-type]
