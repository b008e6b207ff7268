"""``mt5gateway quotes``: a live quote table from a simulated terminal, refreshed in place.

A quick look at the simulator's prices (``make run`` shows it until the HTTP service exists). It
reads quotes through the same ``symbol_info_tick`` a client would call.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from rich.console import Console
from rich.live import Live
from rich.table import Table

from .symbols import DEFAULT_SYMBOLS
from .terminal import ClockSpec, SimConfig, SimTerminal

__all__ = ["add_arguments", "quote_table", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``mt5gateway quotes``."""
    parser.add_argument(
        "--symbols",
        default=",".join(DEFAULT_SYMBOLS),
        help="comma-separated symbols of the catalogue (default: the 15 of the default deployment)",
    )
    parser.add_argument("--seed", type=int, default=0, help="market seed (default 0)")
    parser.add_argument("--speed", type=float, default=1.0, help="clock speed factor (default 1)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between refreshes")
    parser.add_argument("--count", type=int, default=0, help="refreshes before exiting (0: until Ctrl-C)")


def quote_table(terminal: SimTerminal, symbols: list[str], opening_bids: dict[str, float]) -> Table:
    """One refresh: bid, ask, spread in points and change since the table opened, per symbol."""
    table = Table(title="mt5gateway simulator quotes")
    for column in ("symbol", "bid", "ask", "spread", "change %", "server time"):
        table.add_column(column, justify="left" if column == "symbol" else "right")
    for symbol in symbols:
        tick = terminal.symbol_info_tick(symbol)
        info = terminal.symbol_info(symbol)
        if tick is None or info is None:
            table.add_row(symbol, "-", "-", "-", "-", str(terminal.last_error()))
            continue
        opening = opening_bids.setdefault(symbol, tick.bid)
        change = (tick.bid - opening) / opening * 100
        style = "green" if change > 0 else "red" if change < 0 else ""
        table.add_row(
            symbol,
            f"{tick.bid:.{info.digits}f}",
            f"{tick.ask:.{info.digits}f}",
            str(info.spread),
            f"[{style}]{change:+.3f}[/]" if style else f"{change:+.3f}",
            datetime.fromtimestamp(tick.time_msc / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        )
    return table


def run(args: argparse.Namespace) -> int:
    """Entry point of ``mt5gateway quotes``."""
    symbols = [name.strip() for name in args.symbols.split(",") if name.strip()]
    terminal = SimTerminal(SimConfig(seed=args.seed, clock=ClockSpec(speed=args.speed), db_path=":memory:"))
    console = Console()
    if not terminal.initialize():
        console.print(f"initialize() failed: {terminal.last_error()}")
        return 1
    opening_bids: dict[str, float] = {}
    refreshes = 0
    try:
        with Live(quote_table(terminal, symbols, opening_bids), console=console, auto_refresh=False) as live:
            while args.count == 0 or refreshes < args.count:
                time.sleep(args.interval)
                live.update(quote_table(terminal, symbols, opening_bids), refresh=True)
                refreshes += 1
    except KeyboardInterrupt:
        pass
    finally:
        terminal.close()
    return 0
