"""``mt5gateway scan --timeframe TF``: the symbols showing candlestick patterns or meeting indicator
conditions on their last closed bar.

The bars come from a simulated terminal in this process (its 15 symbols, or ``--symbols``), or with
``--url`` from a running gateway (``GET /api/scan``: every symbol of the caller's tier). Without
``--patterns`` or ``--indicators`` every pattern is looked for (docs/ta.md for the syntax).
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table

from mt5gateway.sim.symbols import DEFAULT_SYMBOLS

from . import _cli_common as common
from .compute import Bars
from .conditions import parse_conditions
from .patterns import parse_patterns
from .scan import ScanQuery, scan_bars
from .warmup import checked_warmup

__all__ = ["add_arguments", "run", "scan_simulated"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``mt5gateway scan``."""
    parser.add_argument("--timeframe", required=True, help="e.g. H1")
    parser.add_argument(
        "--patterns", action="append", default=[], help="all, or patterns such as CDLENGULFING,HAMMER"
    )
    parser.add_argument(
        "--indicators", action="append", default=[], help='conditions, all to hold: "RSI(14) < 30"'
    )
    parser.add_argument("--symbols", help="comma-separated symbols (simulator only; default: its 15)")
    common.add_source_arguments(parser)


def _patterns(args: argparse.Namespace) -> list[str]:
    return args.patterns or ([] if args.indicators else ["all"])


def scan_simulated(
    timeframe: str,
    patterns: list[str],
    conditions: list[str],
    symbols: list[str],
    seed: int,
    console: Console,
) -> list[dict[str, Any]]:
    """The matches among ``symbols`` of a simulated terminal, with a progress bar."""
    query = ScanQuery(tuple(parse_patterns(patterns)), tuple(parse_conditions(conditions)))
    for spec in query.indicators:
        checked_warmup(spec, field="indicators")
    value = common.timeframe_value(timeframe)
    matches: list[dict[str, Any]] = []
    with (
        common.simulated(seed) as terminal,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            console=console,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("scanning", total=len(symbols))
        for symbol in symbols:
            progress.update(task, description=f"scanning {symbol}")
            rates = terminal.copy_rates_from_pos(symbol, value, 0, query.history_bars)
            if rates is None:
                raise common.CommandError(f"no bars for {symbol} {timeframe}: {terminal.last_error()[1]}")
            hit = scan_bars(query, Bars.from_rates(rates))
            if hit is not None:
                matches.append({"symbol": symbol, **hit})
            progress.advance(task)
    return matches


def _table(args: argparse.Namespace, console: Console) -> Table:
    if args.url:
        params = {"timeframe": args.timeframe, "patterns": _patterns(args), "indicators": args.indicators}
        body = common.from_gateway(args, "/api/scan", params)
        matches, scanned = body["matches"], body["scanned"]
    else:
        symbols = (
            [s.strip().upper() for s in args.symbols.split(",")] if args.symbols else list(DEFAULT_SYMBOLS)
        )
        matches = scan_simulated(
            args.timeframe, _patterns(args), args.indicators, symbols, args.seed, console
        )
        scanned = len(symbols)
    table = Table(title=f"{len(matches)} of {scanned} symbols, {args.timeframe.upper()}, last closed bar")
    shown = {
        "patterns": any(match["patterns"] for match in matches),
        "values": any(match["values"] for match in matches),
    }
    for column in ("symbol", "bar (UTC)", "close", "patterns", "values"):
        if shown.get(column, True):
            table.add_column(column, justify="right" if column == "close" else "left")
    for match in matches:
        cells = [match["symbol"], common.bar_time(match["time"]), common.number(match["close"])]
        if shown["patterns"]:
            cells.append(", ".join(f"{p['name']} ({p['direction']})" for p in match["patterns"]))
        if shown["values"]:
            cells.append(
                ", ".join(f"{name} {common.number(value)}" for name, value in match["values"].items())
            )
        table.add_row(*cells)
    return table


def run(args: argparse.Namespace) -> int:
    """Entry point of ``mt5gateway scan``."""
    console = Console()
    return common.reported(console, lambda: _table(args, console))
