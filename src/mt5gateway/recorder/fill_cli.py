"""``mt5gateway gap-fill``: copy a span of bars or ticks from the terminal into the store, with a
progress bar; ``--resume`` continues jobs cut off by a crash or a stop.

Examples::

    mt5gateway gap-fill --symbol EURUSD --from 2024-01-01 --to 2024-02-01
    mt5gateway gap-fill --resume

``--source sim`` reads from a simulated terminal in this process (the config's seed) instead of
starting the pool's worker: the same history, without a worker process.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn

from mt5gateway.errors import BadRequest, GatewayError
from mt5gateway.pool import PoolConfig, TerminalPool
from mt5gateway.sim.terminal import ClockSpec, SimConfig, SimTerminal
from mt5gateway.store import Job, JobState, Store, resumable_jobs

from ._cli_common import add_pool_arguments, add_store_arguments, parse_time, pool_config, run_until_signalled
from .fill import FILL_KINDS, create_fill_job, run_fill_job
from .source import DirectTerminal, SymbolCaller

__all__ = ["add_arguments", "run"]

_STEPS = 1_000  # resolution of the progress bar


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``gap-fill`` options."""
    add_pool_arguments(parser)
    add_store_arguments(parser)
    parser.add_argument("--symbol", help="the symbol to fill")
    parser.add_argument("--from", dest="from_time", help="start (epoch s or ISO date / date-time, UTC)")
    parser.add_argument("--to", dest="to_time", help="end, exclusive")
    parser.add_argument("--what", choices=FILL_KINDS, default="bars", help="bars (M1 and tiers) or ticks")
    parser.add_argument("--resume", action="store_true", help="resume the unfinished jobs instead")
    parser.add_argument(
        "--source",
        choices=("pool", "sim"),
        default="pool",
        help="the pool's terminal, or an in-process simulator",
    )


@asynccontextmanager
async def _source(kind: str, config: PoolConfig) -> AsyncIterator[SymbolCaller]:
    if kind == "sim":
        terminal = SimTerminal(
            SimConfig(server=config.sim.server, seed=config.sim.seed, clock=ClockSpec(speed=config.sim.speed))
        )
        if not terminal.initialize():
            raise GatewayError(f"the simulator did not start: {terminal.last_error()}")
        try:
            yield DirectTerminal(terminal)
        finally:
            terminal.close()
        return
    pool = TerminalPool(config)
    await pool.start()
    try:
        yield pool
    finally:
        await pool.stop()


def _jobs_to_run(store: Store, args: argparse.Namespace) -> list[Job]:
    if args.resume:
        return resumable_jobs(store.engine)
    if not (args.symbol and args.from_time and args.to_time):
        raise BadRequest("give --symbol, --from and --to (or --resume)")
    job = create_fill_job(
        store,
        symbol=args.symbol,
        from_time=parse_time(args.from_time),
        to_time=parse_time(args.to_time),
        what=args.what,
    )
    return [job]


async def _fill(store: Store, args: argparse.Namespace, jobs: list[Job]) -> list[Job]:
    symbols = sorted({job.symbol for job in jobs})
    config = pool_config(args, symbols if args.source == "pool" else None)
    finished = []
    async with _source(args.source, config) as source:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn()
        ) as progress:
            for job in jobs:
                label = f"{job.symbol} {job.what} job {job.id[:8]}"
                bar = progress.add_task(label, total=_STEPS, completed=round(job.progress * _STEPS))

                def advance(seen: Job, bar: TaskID = bar) -> None:
                    progress.update(bar, completed=round(seen.progress * _STEPS))

                finished.append(await run_fill_job(store, source, job.id, on_progress=advance))
    return finished


def run(args: argparse.Namespace) -> int:
    """Run the jobs; 0 when all are done, 1 when one failed, 2 on bad options."""
    try:
        store = Store.open(args.db)
        try:
            jobs = _jobs_to_run(store, args)
            if not jobs:
                print("no unfinished jobs")
                return 0
            finished = run_until_signalled(_fill(store, args, jobs))
        finally:
            store.close()
    except GatewayError as exc:
        print(f"mt5gateway gap-fill: {exc.message}", file=sys.stderr)
        return 2
    if finished is None:
        print("stopped; resume with: mt5gateway gap-fill --resume")
        return 1
    for job in finished:
        outcome = "done" if job.state is JobState.DONE else f"failed: {job.error}"
        print(f"job {job.id} {job.symbol} {job.what}: {job.rows_written} rows, {outcome}")
    return 0 if all(job.state is JobState.DONE for job in finished) else 1
