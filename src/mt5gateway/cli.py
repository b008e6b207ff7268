"""The ``mt5gateway`` command line: a thin dispatcher over the packages' own commands.

Each command lives in the module that owns its concern and exposes ``add_arguments(parser)`` and
``run(args) -> int``; this file only maps names to modules, so ``mt5gateway --help`` stays fast
(modules are imported when their command runs). Every command takes ``--log-level`` and
``--log-format plain|json`` (defaults from ``MT5GW_LOG_LEVEL`` and ``MT5GW_LOG_FORMAT``), and logging is
set up once here, before the command runs (``mt5gateway.logs``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from mt5gateway.logs import LOG_FORMATS, LOG_LEVELS, configure_logging

__all__ = ["COMMANDS", "main"]

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("mt5gateway.demo", "start the gateway on 15 simulated terminals and print URL and demo keys"),
    "serve": ("mt5gateway.api.serve", "run the HTTP + WebSocket gateway"),
    "sim-run": ("mt5gateway.sim.runner", "run a MetaTrader5 script unmodified against the simulator"),
    "quotes": ("mt5gateway.sim.quotes", "show a live quote table from the simulator"),
    "agent": ("mt5gateway.pool.agent", "serve one terminal's 32 API calls to a remote pool over TCP"),
    "config": ("mt5gateway.pool.config_cli", "check a configuration file"),
    "keys": ("mt5gateway.api.keys_cli", "make or hash API keys"),
    "record": ("mt5gateway.recorder.cli", "record ticks and bars from the terminals"),
    "gaps": ("mt5gateway.recorder.gaps_cli", "list gaps and completeness of the recorded data"),
    "gap-fill": ("mt5gateway.recorder.fill_cli", "fill a gap from the terminal's history, with progress"),
    "sync": ("mt5gateway.sync.cli", "mirror account balances from gateways on a schedule"),
    "ta": ("mt5gateway.ta.cli", "latest values of TA-Lib indicators for a symbol and timeframe"),
    "scan": (
        "mt5gateway.ta.scan_cli",
        "symbols showing candlestick patterns or meeting indicator conditions",
    ),
    "backtest": ("mt5gateway.research.cli", "backtest, optimise or walk forward a strategy over bars"),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mt5gateway`` script."""
    parser = argparse.ArgumentParser(
        prog="mt5gateway", description=__doc__.splitlines()[0] if __doc__ else None
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    args_list = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in args_list if not a.startswith("-")), None)
    logging_options = _logging_options()
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(
            name, help=help_text, description=help_text, parents=[logging_options]
        )
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(command_parser)
            command_parser.set_defaults(_run=module.run)
    args = parser.parse_args(args_list)
    configure_logging(args.log_level, args.log_format)
    return int(args._run(args))


def _logging_options() -> argparse.ArgumentParser:
    """``--log-level`` and ``--log-format``, shared by every command."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--log-level",
        default=os.environ.get("MT5GW_LOG_LEVEL", "info").lower(),
        choices=LOG_LEVELS,
        help="least severe level logged (default info; env MT5GW_LOG_LEVEL)",
    )
    options.add_argument(
        "--log-format",
        default=os.environ.get("MT5GW_LOG_FORMAT", "plain").lower(),
        choices=LOG_FORMATS,
        help="plain lines or JSON lines, each with the request id (default plain; env MT5GW_LOG_FORMAT)",
    )
    return options


if __name__ == "__main__":
    sys.exit(main())
