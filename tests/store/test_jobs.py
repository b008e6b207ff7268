"""Jobs: created pending, advanced with the data they wrote, listed for resumption, finished."""

from __future__ import annotations

from mt5gateway.store import JobState, Store, advance_job, create_job, finish_job, get_job, resumable_jobs


def test_job_advances_and_is_resumable_until_finished(store: Store) -> None:
    job = create_job(store.engine, kind="gap-fill", symbol="EURUSD", what="bars", from_time=0, to_time=1000)
    assert job.state is JobState.PENDING
    assert job.progress == 0.0
    with store.engine.begin() as connection:
        advance_job(connection, job.id, cursor=250, rows_written=10)
    with store.engine.begin() as connection:
        advance_job(connection, job.id, cursor=500, rows_written=5)
    running = get_job(store.engine, job.id)
    assert running is not None
    assert (running.state, running.cursor, running.rows_written, running.progress) == (
        JobState.RUNNING,
        500,
        15,
        0.5,
    )
    assert [j.id for j in resumable_jobs(store.engine)] == [job.id]
    finish_job(store.engine, job.id)
    done = get_job(store.engine, job.id)
    assert done is not None
    assert done.state is JobState.DONE
    assert resumable_jobs(store.engine) == []


def test_failed_job_keeps_its_error(store: Store) -> None:
    job = create_job(store.engine, kind="gap-fill", symbol="EURUSD", what="ticks", from_time=0, to_time=10)
    finish_job(store.engine, job.id, error="terminal MT5_05 is down")
    failed = get_job(store.engine, job.id)
    assert failed is not None
    assert (failed.state, failed.error) == (JobState.FAILED, "terminal MT5_05 is down")
    assert get_job(store.engine, "no-such-job") is None
