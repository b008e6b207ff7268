"""``mt5gateway sync --config FILE [--once]``: keep the account mirror fresh from the configured gateways.

Without ``--once`` the worker runs a cycle at start, then on the schedule (``schedule_minute``,
minutes 1, 6, 11, ... by default) until interrupted. ``--once`` runs one cycle, prints it as JSON
and exits 0 when it synced every account, 1 when some failed, 3 when every gateway was down.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
from pathlib import Path

from pydantic import ValidationError

from .service import build_worker
from .settings import load_sync_settings
from .worker import SyncWorker

__all__ = ["add_arguments", "run"]

_EXIT_BY_STATUS = {"success": 0, "partial": 1, "skipped": 3}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``sync`` options."""
    parser.add_argument("--config", type=Path, required=True, help="TOML file with a [sync] table")
    parser.add_argument("--once", action="store_true", help="run one cycle, print it as JSON, exit")


async def _serve(worker: SyncWorker) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows: Ctrl+C still interrupts
            loop.add_signal_handler(signum, stop.set)
    await worker.run_cycle("start")
    worker.start()
    logging.getLogger(__name__).info("sync scheduled; next cycle at %s", worker.next_run_time())
    try:
        await stop.wait()
    finally:
        await worker.stop()


async def _once(worker: SyncWorker) -> int:
    try:
        run = await worker.run_cycle("manual")
    finally:
        await worker.stop()
    print(json.dumps(run.as_dict(), indent=2))
    return _EXIT_BY_STATUS.get(run.status, 1)


def run(args: argparse.Namespace) -> int:
    """Load the ``[sync]`` table, open the mirror, run once or on the schedule."""
    try:
        settings = load_sync_settings(args.config)
        if not settings.sources:
            raise ValueError("no [[sync.sources]]: nothing to copy from")
        worker = build_worker(settings)
    except (OSError, ValueError, ValidationError) as exc:
        print(f"sync: {args.config}: {exc}")
        return 2
    try:
        return asyncio.run(_once(worker)) if args.once else _run_forever(worker)
    finally:
        worker.mirror.close()


def _run_forever(worker: SyncWorker) -> int:
    asyncio.run(_serve(worker))
    return 0
