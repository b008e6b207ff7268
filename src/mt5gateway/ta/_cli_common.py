"""What ``mt5gateway ta`` and ``mt5gateway scan`` share: where the bars come from (a simulated
terminal in this process by default, or a running gateway with ``--url``), and how values print."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from mt5gateway.errors import BadRequest
from mt5gateway.sim.terminal import SimConfig, SimTerminal
from mt5gateway.terminal.timeframes import timeframe_from_name

__all__ = [
    "KEY_ENV",
    "CommandError",
    "add_source_arguments",
    "bar_time",
    "from_gateway",
    "number",
    "reported",
    "simulated",
    "timeframe_value",
]

KEY_ENV = "MT5GW_API_KEY"


class CommandError(Exception):
    """A failure to report in one sentence (the gateway's own, when it answered)."""


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """``--url`` and ``--key`` for a running gateway; ``--seed`` for the simulator otherwise."""
    parser.add_argument(
        "--url", help="a running gateway (http://host:port); default: a simulated terminal here"
    )
    parser.add_argument(
        "--key", default=os.environ.get(KEY_ENV), help=f"the gateway's API key (default ${KEY_ENV})"
    )
    parser.add_argument("--seed", type=int, default=0, help="the simulator's market seed (default 0)")


def reported(console: Console, work: Callable[[], Table]) -> int:
    """Print the table ``work`` makes (0), or the sentence of what went wrong: a bad spec or
    option (2), a terminal or gateway that failed (1)."""
    try:
        table = work()
    except BadRequest as exc:
        console.print(f"[red]{exc.message}[/]")
        return 2
    except CommandError as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    console.print(table)
    return 0


def timeframe_value(name: str) -> int:
    """``"H1"`` -> MT5's value; ``BadRequest`` naming the timeframe otherwise."""
    try:
        return timeframe_from_name(name)
    except KeyError:
        raise BadRequest(f"Invalid timeframe {name}", field="timeframe") from None


@contextmanager
def simulated(seed: int) -> Iterator[SimTerminal]:
    """A simulated terminal on the wall clock, initialized; closed afterwards."""
    terminal = SimTerminal(SimConfig(seed=seed, db_path=":memory:"))
    if not terminal.initialize():
        raise CommandError(f"the simulated terminal did not start: {terminal.last_error()}")
    try:
        yield terminal
    finally:
        terminal.close()


def from_gateway(args: argparse.Namespace, path: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET path`` on ``--url`` with ``--key``; ``CommandError`` with the gateway's sentence on a refusal."""
    if not args.key:
        raise CommandError(f"--url needs an API key: --key or ${KEY_ENV}")
    try:
        response = httpx.get(
            args.url.rstrip("/") + path, params=params, headers={"X-API-Key": args.key}, timeout=60.0
        )
    except httpx.HTTPError as exc:
        raise CommandError(f"{args.url} did not answer: {exc}") from exc
    body: dict[str, Any] = response.json()
    if response.status_code != 200:
        raise CommandError(f"{response.status_code}: {body.get('error', response.text)}")
    return body


def number(value: float | None) -> str:
    """A value as a table shows it: 8 significant digits, ``-`` when there is none."""
    return "-" if value is None or math.isnan(value) else f"{value:.8g}"


def bar_time(seconds: int) -> str:
    """A bar's open time, UTC."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")
