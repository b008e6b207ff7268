"""``mt5gateway ta SYMBOL TF SPEC...``: the latest values of indicators, as a table.

The bars come from a simulated terminal in this process, or with ``--url`` from a running gateway
(``GET /api/ta``, the caller's tier applies). The table shows each output at the last closed bar
and at the forming one (docs/ta.md for the spec syntax).
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from ._cli_common import (
    CommandError,
    add_source_arguments,
    bar_time,
    from_gateway,
    number,
    reported,
    simulated,
    timeframe_value,
)
from .compute import Bars, compute
from .specs import parse_specs
from .warmup import checked_warmup

__all__ = ["add_arguments", "indicator_rows", "run"]

Row = tuple[str, str, float | None, float | None, int]  # spec, output, closed, forming, warm-up


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``mt5gateway ta``."""
    parser.add_argument("symbol", help="e.g. EURUSD")
    parser.add_argument("timeframe", help="e.g. H1")
    parser.add_argument("indicators", nargs="+", metavar="SPEC", help='indicator specs: "RSI(14)" MACD ...')
    add_source_arguments(parser)


def indicator_rows(
    symbol: str, timeframe: str, indicators: list[str], seed: int
) -> tuple[list[int], list[Row]]:
    """The two newest bars' times and each output's values there, from a simulated terminal."""
    specs = parse_specs(indicators)
    warmups = [checked_warmup(spec) for spec in specs]
    with simulated(seed) as terminal:
        count = max(w.bars for w in warmups) + 2
        rates = terminal.copy_rates_from_pos(symbol.upper(), timeframe_value(timeframe), 0, count)
        if rates is None:
            raise CommandError(f"no bars for {symbol} {timeframe}: {terminal.last_error()[1]}")
    bars = Bars.from_rates(rates)
    rows: list[Row] = []
    for spec, warmup in zip(specs, warmups, strict=True):
        for output, values in compute(spec, bars).items():
            rows.append((spec.label, output, _at(values, -2), _at(values, -1), warmup.bars))
    return [int(t) for t in bars.time[-2:]], rows


def _at(values: Any, index: int) -> float | None:
    return float(values[index]) if len(values) >= -index else None


def _gateway_rows(args: argparse.Namespace) -> tuple[list[int], list[Row]]:
    body = from_gateway(
        args, f"/api/ta/{args.symbol}/{args.timeframe}", {"indicators": args.indicators, "bars": 2}
    )
    rows = [
        (item["spec"], output, _at(values, -2), _at(values, -1), item["warmup_bars"])
        for item in body["indicators"]
        for output, values in item["outputs"].items()
    ]
    return body["time"], rows


def _table(args: argparse.Namespace) -> Table:
    times, rows = (
        _gateway_rows(args)
        if args.url
        else indicator_rows(args.symbol, args.timeframe, args.indicators, args.seed)
    )
    title = f"{args.symbol.upper()} {args.timeframe.upper()}"
    if len(times) == 2:
        title += f": closed bar {bar_time(times[0])}, forming bar {bar_time(times[1])} (UTC)"
    table = Table(title=title)
    table.add_column("indicator", no_wrap=True)
    table.add_column("output")
    table.add_column("closed", justify="right")
    table.add_column("forming", justify="right")
    table.add_column("warm-up", justify="right")
    for spec, output, at_close, now, warmup in rows:
        table.add_row(spec, output, number(at_close), number(now), str(warmup))
    return table


def run(args: argparse.Namespace) -> int:
    """Entry point of ``mt5gateway ta``."""
    return reported(Console(), lambda: _table(args))
