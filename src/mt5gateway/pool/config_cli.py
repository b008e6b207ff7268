"""``mt5gateway config check FILE``: validate a pool configuration without starting anything."""

from __future__ import annotations

import argparse
import sys

from .config import ConfigError, load_pool_config

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``config check FILE``."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="validate a TOML or mt5_terminals.json file")
    check.add_argument("file", metavar="FILE")


def run(args: argparse.Namespace) -> int:
    """Print one line: what the file configures, or the first mistake in it (exit status 1)."""
    try:
        config = load_pool_config(args.file)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    backends = sorted({t.backend for t in config.terminals})
    symbols = sum(len(t.symbols) for t in config.terminals)
    print(
        f"{args.file}: ok: {len(config.terminals)} terminals ({', '.join(backends)}), "
        f"{symbols} symbols routed, poll every {config.poll_interval:g} s, health check every "
        f"{config.health_interval:g} s"
    )
    return 0
