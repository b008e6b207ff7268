"""``mt5gateway sim-run script.py [args]``: run a MetaTrader5 script, unmodified, on the simulator.

The script's ``import MetaTrader5 as mt5`` (or ``from MetaTrader5 import *``) gets the drop-in module
``mt5gateway.sim``: it is placed in ``sys.modules["MetaTrader5"]`` before the script runs as
``__main__`` with its own arguments in ``sys.argv``. The simulator's seed, speed and database come from
the options below or the ``MT5GW_SIM_*`` / ``MT5GW_DATA_DIR`` environment variables.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from pathlib import Path

import mt5gateway.sim as sim_module

__all__ = ["add_arguments", "run", "run_script"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``mt5gateway sim-run``."""
    parser.add_argument("script", type=Path, help="the Python script to run (imports MetaTrader5)")
    parser.add_argument("script_args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    parser.add_argument("--seed", type=int, help="market seed (default: $MT5GW_SIM_SEED or 0)")
    parser.add_argument("--speed", type=float, help="clock speed factor (default: $MT5GW_SIM_SPEED or 1)")
    parser.add_argument(
        "--memory", action="store_true", help="keep broker state in memory only (as MT5GW_SIM_MEMORY=1)"
    )


def run_script(script: Path, script_args: list[str]) -> int:
    """Run ``script`` as ``__main__`` with MetaTrader5 bound to the simulator; its exit status."""
    saved_argv = sys.argv
    sys.modules["MetaTrader5"] = sim_module
    sys.argv = [str(script), *script_args]
    # A script run directly has its own folder first on sys.path; keep that for its local imports.
    sys.path.insert(0, str(script.resolve().parent))
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        print(stop.code, file=sys.stderr)
        return 1
    finally:
        sim_module.default_terminal().close()
        sys.argv = saved_argv
        sys.path.remove(str(script.resolve().parent))
    return 0


def run(args: argparse.Namespace) -> int:
    """Entry point of ``mt5gateway sim-run``."""
    script: Path = args.script
    if not script.is_file():
        print(f"sim-run: no such script: {script}", file=sys.stderr)
        return 2
    if args.seed is not None:
        os.environ["MT5GW_SIM_SEED"] = str(args.seed)
    if args.speed is not None:
        os.environ["MT5GW_SIM_SPEED"] = str(args.speed)
    if args.memory:
        os.environ["MT5GW_SIM_MEMORY"] = "1"
    return run_script(script, list(args.script_args))
