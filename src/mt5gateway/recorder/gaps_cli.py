"""``mt5gateway gaps``: completeness per symbol per day and the gaps of the recorded M1 bars, as tables.

By default every recorded symbol is shown over the last 7 days of its record (never before its first
bar); ``--from`` / ``--to`` take epoch seconds or ISO dates.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from mt5gateway.errors import GatewayError
from mt5gateway.store import Store

from . import service
from ._cli_common import add_store_arguments, parse_time, split_symbols

__all__ = ["add_arguments", "run"]

_DEFAULT_DAYS = 7


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``gaps`` options."""
    add_store_arguments(parser)
    parser.add_argument("--symbols", help="comma-separated symbols (default: every recorded symbol)")
    parser.add_argument("--from", dest="from_time", help="start (epoch s or ISO date; default 7 days back)")
    parser.add_argument("--to", dest="to_time", help="end, exclusive (default: the current minute)")
    parser.add_argument("--max-gaps", type=int, default=50, help="gaps listed per symbol (default 50)")


def _stamp(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M")


def _report(store: Store, args: argparse.Namespace, console: Console) -> None:
    to_time = parse_time(args.to_time) if args.to_time else int(time.time()) // 60 * 60
    counts = store.symbol_counts(split_symbols(args.symbols))
    days = Table(title="completeness per day (M1 bars vs trading minutes)")
    for column in ("symbol", "day", "expected", "present", "complete %"):
        days.add_column(column, justify="left" if column in ("symbol", "day") else "right")
    found = Table(title="gaps")
    for column in ("symbol", "from (UTC)", "to (UTC)", "missing minutes"):
        found.add_column(column, justify="right" if column == "missing minutes" else "left")
    for symbol in counts:
        if args.from_time:
            from_time = parse_time(args.from_time)
        else:
            from_time = max(to_time - _DEFAULT_DAYS * 86_400, symbol.first_bar_time or to_time - 86_400)
        for day in service.completeness(
            store=store, symbol=symbol.symbol, from_time=from_time, to_time=to_time
        ):
            days.add_row(
                day.symbol, day.day, str(day.expected_minutes), str(day.present_minutes), f"{day.percent:.2f}"
            )
        symbol_gaps = service.gaps(store=store, symbol=symbol.symbol, from_time=from_time, to_time=to_time)
        for gap in symbol_gaps[: args.max_gaps]:
            found.add_row(gap.symbol, _stamp(gap.start), _stamp(gap.end), str(gap.minutes))
        if len(symbol_gaps) > args.max_gaps:
            found.add_row(symbol.symbol, f"... {len(symbol_gaps) - args.max_gaps} more", "", "")
    console.print(days)
    console.print(found)


def run(args: argparse.Namespace) -> int:
    """Print the tables; 0 on success, 2 on bad options."""
    console = Console()
    try:
        store = Store.open(args.db)
        try:
            _report(store, args, console)
        finally:
            store.close()
    except GatewayError as exc:
        print(f"mt5gateway gaps: {exc.message}", file=sys.stderr)
        return 2
    return 0
