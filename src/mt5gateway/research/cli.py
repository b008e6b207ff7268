"""``mt5gateway backtest``: run, optimise or walk forward a strategy over bars, with a progress bar.

Examples::

    mt5gateway backtest --strategy sma_cross --symbol EURUSD --timeframe H1 \\
        --from 2024-01-01 --to 2024-12-31 --param fast=10 --param slow=30 --report out.html
    mt5gateway backtest --strategy sma_cross --symbol EURUSD --timeframe H1 \\
        --from 2024-01-01 --to 2024-12-31 --optimize fast=5..50:5 --optimize slow=20..100:10
    mt5gateway backtest --strategy my_strategies.py:Breakout --data EURUSD_H1.csv --mt5

``--strategy`` is a built-in (``sma_cross``, ``rsi_reversion``) or ``FILE.py[:CLASS]``. Bars come from
the simulator (default), ``--source store`` or a file (``--data``: a terminal's CSV export, a
``copy_rates`` CSV or Parquet). ``--mt5`` backtests in lots on the symbol's MT5 specification.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from mt5gateway.errors import GatewayError

from .data import bars
from .errors import BacktestError
from .optimize import walk_forward
from .report import write_report
from .service import BacktestOptions
from .strategies import BUILT_IN, strategy_class

__all__ = ["add_arguments", "parse_range", "parse_value", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``backtest`` options."""
    parser.add_argument("--strategy", required=True, help=f"{', '.join(BUILT_IN)} or FILE.py[:CLASS]")
    parser.add_argument("--symbol", default="EURUSD", help="symbol (default EURUSD)")
    parser.add_argument("--timeframe", default="H1", help="M1 .. MN1 (default H1)")
    parser.add_argument("--from", dest="start", help="first day or time (UTC), e.g. 2024-01-01")
    parser.add_argument("--to", dest="end", help="last day (included) or end time, e.g. 2024-12-31")
    parser.add_argument("--source", default="sim", help="sim (default), store, csv:PATH or parquet:PATH")
    parser.add_argument("--data", help="bars from a file (MT5 CSV export, copy_rates CSV, Parquet)")
    parser.add_argument("--seed", type=int, default=0, help="the simulator's seed (default 0)")
    parser.add_argument("--store-url", help="the store's database URL (default: the embedded SQLite)")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="a strategy parameter"
    )
    parser.add_argument(
        "--optimize",
        action="append",
        default=[],
        metavar="NAME=RANGE",
        help="search NAME over 5..50:5 or 5,10,20",
    )
    parser.add_argument("--maximize", default="SQN", help="the statistic to maximise (default SQN)")
    parser.add_argument(
        "--method", choices=("grid", "optuna"), default="grid", help="search method (default grid)"
    )
    parser.add_argument("--max-tries", type=float, help="at most this many sets (or this share of the grid)")
    parser.add_argument("--workers", type=int, help="local processes (default: every core)")
    parser.add_argument("--scheduler", help="a Dask scheduler address to run the search on")
    parser.add_argument(
        "--walk-forward",
        metavar="TRAIN,TEST",
        help="walk forward: in-sample and out-of-sample spans (bars or 180D)",
    )
    parser.add_argument(
        "--anchored", action="store_true", help="walk forward with in-sample windows from the start"
    )
    parser.add_argument("--cash", type=float, default=10_000, help="starting cash (default 10000)")
    parser.add_argument(
        "--commission", type=float, default=0.0, help="rate (or money per lot and side with --mt5)"
    )
    parser.add_argument(
        "--spread", type=float, default=0.0, help="relative spread (points with --mt5, when bars have none)"
    )
    parser.add_argument("--margin", type=float, default=1.0, help="margin ratio, 1/leverage (default 1)")
    parser.add_argument("--mt5", action="store_true", help="MT5 account: lots, contract size, ask/bid, swaps")
    parser.add_argument("--leverage", type=float, default=100, help="MT5 account leverage (default 100)")
    parser.add_argument("--intrabar", choices=("sl_first", "ohlc", "ticks"), default="sl_first")
    parser.add_argument("--trade-on-close", action="store_true", help="market orders fill at the bar's close")
    parser.add_argument("--hedging", action="store_true", help="keep opposite trades open")
    parser.add_argument(
        "--exclusive-orders", action="store_true", help="each order closes the position first"
    )
    parser.add_argument("--keep-open", action="store_true", help="do not close open trades at the end")
    parser.add_argument("--report", help="write the HTML report here")
    parser.add_argument("--trades", help="write the trades as CSV here")
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def parse_value(text: str) -> Any:
    """``10`` -> 10, ``0.5`` -> 0.5, ``true`` -> True, anything else stays text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_range(text: str) -> list[Any]:
    """``5..50:5`` (ends included), ``0.1..0.5:0.1``, or a list ``5,10,20``."""
    if ".." in text:
        bounds, _, step_text = text.partition(":")
        low_text, _, high_text = bounds.partition("..")
        low, high = parse_value(low_text), parse_value(high_text)
        step = parse_value(step_text) if step_text else 1
        if not all(isinstance(v, int | float) for v in (low, high, step)) or step <= 0 or high < low:
            raise BacktestError(f"bad range {text!r}: use LOW..HIGH[:STEP] with LOW <= HIGH and STEP > 0")
        if all(isinstance(v, int) for v in (low, high, step)):
            return list(range(low, high + 1, step))
        count = round((high - low) / step) + 1
        return [round(float(v), 10) for v in np.linspace(low, low + (count - 1) * step, count)]
    values = [parse_value(part) for part in text.split(",") if part.strip()]
    if not values:
        raise BacktestError(f"bad range {text!r}")
    return values


def _pairs(items: list[str], parse: Callable[[str], Any], what: str) -> dict[str, Any]:
    parsed = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise BacktestError(f"{what} must be NAME=VALUE, got {item!r}")
        parsed[name.strip()] = parse(value)
    return parsed


@contextmanager
def _bar(enabled: bool, label: str) -> Iterator[Callable[[int, int], None]]:
    if not enabled:
        yield lambda done, total: None
        return
    with Progress(
        TextColumn(label), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(), transient=True
    ) as progress:
        task = progress.add_task(label, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


def _load(args: argparse.Namespace) -> Any:
    if args.data:
        source = (
            args.data
            if args.data.startswith(("csv:", "parquet:"))
            else (
                f"parquet:{args.data}"
                if args.data.lower().endswith((".parquet", ".pq"))
                else f"csv:{args.data}"
            )
        )
        return bars(
            args.symbol, args.timeframe, args.start or "1970-01-01", args.end or "2100-01-01", source=source
        )
    if not args.start or not args.end:
        raise BacktestError("give --from and --to (or --data FILE)")
    return bars(
        args.symbol,
        args.timeframe,
        args.start,
        args.end,
        source=args.source,
        seed=args.seed,
        store_url=args.store_url,
    )


def run(args: argparse.Namespace) -> int:
    """Run the command; exit code 0, or 2 with one line on stderr for bad input."""
    try:
        return _run(args)
    except GatewayError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        first = exc.errors()[0]
        print(
            f"error: --{'-'.join(map(str, first['loc'])).replace('_', '-')}: {first['msg']}", file=sys.stderr
        )
        return 2


def _run(args: argparse.Namespace) -> int:
    strategy = strategy_class(args.strategy)
    params = _pairs(args.param, parse_value, "--param")
    ranges = _pairs(args.optimize, parse_range, "--optimize")
    progress = not args.no_progress and sys.stderr.isatty()
    with _bar(progress, "loading bars") as _:
        data = _load(args)
    options = BacktestOptions(
        cash=args.cash,
        commission=args.commission,
        spread=args.spread,
        margin=args.margin,
        trade_on_close=args.trade_on_close,
        hedging=args.hedging,
        exclusive_orders=args.exclusive_orders,
        finalize_trades=not args.keep_open,
        mt5=args.mt5,
        leverage=args.leverage,
        intrabar=args.intrabar,
    )
    ticks = args.source if args.source in ("sim", "store") else None
    backtest = options.backtest(data, strategy, symbol=args.symbol, ticks=ticks)
    search = {
        "maximize": args.maximize,
        "method": args.method,
        "max_tries": args.max_tries,
        "workers": args.workers,
        "scheduler": args.scheduler,
        "progress": progress,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.walk_forward:
            train, _, test = args.walk_forward.partition(",")
            result = walk_forward(
                backtest, train=parse_value(train), test=parse_value(test), anchored=args.anchored, **search,
                **{**{k: [v] for k, v in params.items()}, **ranges},
            )  # fmt: skip
            print(result.windows.to_string())
            print()
            print(result.summary().to_string())
            stats, data = result.stats, result.bars
        elif ranges:
            stats = backtest.optimize(**search, **{**{k: [v] for k, v in params.items()}, **ranges})
        else:
            with _bar(progress, "backtest") as advance:
                backtest.progress = advance
                stats = backtest.run(**params)
    if args.json:
        print(json.dumps({k: _jsonable(v) for k, v in stats.items() if not str(k).startswith("_")}, indent=2))
    elif not args.walk_forward:
        print(stats)
    if args.report:
        write_report(stats, data if args.walk_forward else backtest.data, args.report)
        print(f"report: {args.report}", file=sys.stderr)
    if args.trades:
        write_report(
            stats, data, args.trades if args.trades.lower().endswith(".csv") else args.trades + ".csv"
        )
        print(f"trades: {args.trades}", file=sys.stderr)
    return 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, int | np.integer):
        return int(value)
    return str(value)
