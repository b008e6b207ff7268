"""``mt5gateway record``: record ticks and bars of the configured symbols until stopped (Ctrl-C, SIGTERM).

Example: ``mt5gateway record --symbols EURUSD,BTCUSD --db sqlite:///data/ticks.db``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from mt5gateway.errors import GatewayError
from mt5gateway.pool import TerminalPool
from mt5gateway.store import Store

from ._cli_common import (
    add_pool_arguments,
    add_store_arguments,
    pool_config,
    run_until_signalled,
    split_symbols,
)
from .recorder import Recorder

__all__ = ["add_arguments", "run"]

log = logging.getLogger("mt5gateway.recorder")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``record`` options."""
    add_pool_arguments(parser)
    add_store_arguments(parser)
    parser.add_argument("--symbols", help="comma-separated symbols to record (default: every routed symbol)")
    parser.add_argument("--batch-ticks", type=int, default=1_000, help="write after this many ticks")
    parser.add_argument("--batch-ms", type=int, default=100, help="...or after this many milliseconds")
    parser.add_argument(
        "--duration", type=float, help="stop after this many seconds (default: run until stopped)"
    )


async def _record(args: argparse.Namespace) -> None:
    config = pool_config(args, split_symbols(args.symbols))
    symbols = split_symbols(args.symbols) or [s for terminal in config.terminals for s in terminal.symbols]
    store = await asyncio.to_thread(Store.open, args.db)
    pool = TerminalPool(config)
    await pool.start()
    recorder = Recorder(
        store=store, pool=pool, symbols=symbols, batch_ticks=args.batch_ticks, batch_ms=args.batch_ms
    )
    log.info("recording %s into %s", ", ".join(symbols), store.engine.url.render_as_string())
    try:
        await asyncio.wait_for(recorder.run(), args.duration)
    except TimeoutError:
        pass
    finally:
        await pool.stop()
        store.close()
        log.info(
            "recorded %d ticks and %d bars in %d batches",
            recorder.stats.ticks_written,
            recorder.stats.bars_written,
            recorder.stats.batches,
        )


def run(args: argparse.Namespace) -> int:
    """Record until stopped; 0 on a clean stop, 2 on bad options."""
    try:
        run_until_signalled(_record(args))
    except GatewayError as exc:
        print(f"mt5gateway record: {exc.message}", file=sys.stderr)
        return 2
    return 0
