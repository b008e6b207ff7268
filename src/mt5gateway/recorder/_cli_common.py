"""Options and helpers shared by the recorder's commands: the database URL, the pool config, time parsing."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from mt5gateway.errors import BadRequest, SymbolNotFound
from mt5gateway.pool import PoolConfig, default_pool_config, load_pool_config

T = TypeVar("T")

DB_URL_ENV = "MT5GW_DB_URL"


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """``--db``: the store's URL."""
    parser.add_argument(
        "--db",
        default=os.environ.get(DB_URL_ENV),
        help=f"database URL (sqlite:///file.db or postgresql://...); default ${DB_URL_ENV}, "
        "else data/mt5gateway.db in $MT5GW_DATA_DIR",
    )


def add_pool_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config``: the pool configuration file."""
    parser.add_argument(
        "--config", help="pool configuration (TOML or mt5_terminals.json); default: 15 simulated terminals"
    )


def pool_config(args: argparse.Namespace, symbols: Sequence[str] | None = None) -> PoolConfig:
    """The pool configuration the options name, keeping only the terminals serving ``symbols`` (all
    when ``None``), so a command starts no worker it does not need."""
    config = load_pool_config(args.config) if args.config else default_pool_config()
    if symbols is None:
        return config
    wanted = set(symbols)
    unknown = wanted - {symbol for terminal in config.terminals for symbol in terminal.symbols}
    if unknown:
        raise SymbolNotFound(f"no configured terminal serves {', '.join(sorted(unknown))}")
    terminals = tuple(terminal for terminal in config.terminals if wanted & set(terminal.symbols))
    return config.model_copy(update={"terminals": terminals})


def split_symbols(text: str | None) -> list[str] | None:
    """``"EURUSD, BTCUSD"`` -> ``["EURUSD", "BTCUSD"]``; ``None`` stays ``None``."""
    if text is None:
        return None
    return [symbol.strip() for symbol in text.split(",") if symbol.strip()]


def parse_time(text: str) -> int:
    """Epoch seconds from an integer or an ISO date / date-time (UTC when no zone is given)."""
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{text!r} is neither epoch seconds nor an ISO date or date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def run_until_signalled(main: Coroutine[Any, Any, T]) -> T | None:
    """Run ``main``; SIGINT or SIGTERM cancel it (it cleans up) and ``None`` is returned."""

    async def guarded() -> T | None:
        task = asyncio.ensure_future(main)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            return await task
        except asyncio.CancelledError:
            return None

    return asyncio.run(guarded())
