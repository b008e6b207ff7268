"""``mt5gateway demo`` (what ``make run`` runs): the gateway on 15 simulated terminals, ready to try.

Makes four keys for this run only (FREE, PRO, a trusted front-end key, admin), prints them with the
URL, the docs, example ``curl`` lines and a WebSocket client line, and serves until interrupted. The FREE key reads market
data; the PRO key also has the accounts, trade and data scopes. EURUSD and BTCUSD are recorded into
a SQLite file in a temporary folder, removed on exit; a folder left by a demo that was killed (its
owner file names a process that is gone) is removed by the next demo's start.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import orjson

from mt5gateway.api.app import create_app
from mt5gateway.api.keys import generate_key, hash_key
from mt5gateway.api.serve import run_server
from mt5gateway.api.settings import ApiKeyConfig, GatewayConfig, load_settings
from mt5gateway.pool.config import default_pool_config

__all__ = ["FOLDER_PREFIX", "add_arguments", "remove_leftover_folders", "run"]

# What the demo records while it runs (the data endpoints show them filling up).
RECORDED_SYMBOLS = ("EURUSD", "BTCUSD")
FOLDER_PREFIX = "mt5gateway-demo-"
# Names the process that owns a demo folder: "<pid> <process start time>" (a pid alone may be reused).
_OWNER_FILE = "owner"
# A folder without its owner file is left alone this long (its demo may be starting right now).
_UNCLAIMED_GRACE_S = 60.0

log = logging.getLogger(__name__)


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[19].decode()
    except (OSError, IndexError):
        return None


def _claim(folder: Path) -> None:
    """Write this process into ``folder``'s owner file."""
    pid = os.getpid()
    (folder / _OWNER_FILE).write_text(f"{pid} {_process_start(pid)}")


def _orphaned(folder: Path) -> bool:
    """Whether ``folder`` was left by a demo that is no longer running."""
    try:
        pid, started = (folder / _OWNER_FILE).read_text().split()
    except FileNotFoundError:
        return time.time() - folder.stat().st_mtime > _UNCLAIMED_GRACE_S
    except (OSError, ValueError):
        return True
    return _process_start(int(pid)) != started


def remove_leftover_folders(parent: Path) -> list[Path]:
    """Remove the demo folders in ``parent`` whose demo was killed; returns them."""
    removed = []
    for folder in parent.glob(f"{FOLDER_PREFIX}*"):
        with contextlib.suppress(OSError):
            if folder.is_dir() and _orphaned(folder):
                shutil.rmtree(folder)
                removed.append(folder)
    return removed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``demo`` options."""
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="bind port (default 8000)")
    parser.add_argument(
        "--start",
        type=datetime.fromisoformat,
        help="sim time to start at, UTC (e.g. 2024-01-10T12:00 to see FX tick on a weekend); default now",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="sim seconds per real second (default 1)")


def _banner(base: str, keys: dict[str, str]) -> str:
    lines = [
        f"mt5gateway demo: 15 simulated terminals at {base}",
        f"  API docs:  {base}/docs  (and {base}/redoc; both work offline)",
        f"  health:    {base}/api/health",
        "",
        "demo keys (valid for this run only):",
        *(f"  {label:<8} {key}" for label, key in keys.items()),
        "",
        "try:",
        f"  curl {base}/api/health",
        f"  curl -H 'X-API-Key: {keys['FREE']}' {base}/api/symbols",
        f"  curl -H 'X-API-Key: {keys['FREE']}' '{base}/api/indicators/EURUSD/H1?bars=200'",
        f"  curl -H 'X-API-Key: {keys['FREE']}' {base}/api/indicators/AUDJPY/H1   # 403: PRO only",
        f"  curl -H 'X-API-Key: {keys['PRO']}' '{base}/api/bars/AUDJPY/M5?count=10'",
        f"  curl -H 'X-API-Key: {keys['FREE']}' '{base}/api/ta/EURUSD/H1?indicators=RSI(14),MACD&bars=100'",
        f"  curl -H 'X-API-Key: {keys['FREE']}' '{base}/api/scan?timeframe=H1&patterns=all'",
        f"  curl -H 'X-API-Key: {keys['trusted']}' -H 'X-User-Tier: PRO' {base}/api/timeframes",
        f"  curl -H 'X-API-Key: {keys['PRO']}' {base}/api/quotes",
        f"  curl -H 'X-API-Key: {keys['PRO']}' {base}/api/accounts",
        f"  curl -H 'X-API-Key: {keys['PRO']}' '{base}/api/data/statistics?symbols=EURUSD,BTCUSD'",
        f"  curl -H 'X-Admin-API-Key: {keys['admin']}' {base}/api/admin/terminals/stats",
        f"  curl {base}/metrics",
        "",
        "the MT5 Bridge Microservice's paths, key as a bearer token:",
        f"  curl {base}/health",
        f"  curl -H 'Authorization: Bearer {keys['PRO']}' {base}/account",
        f"  curl -H 'Authorization: Bearer {keys['PRO']}' -H 'Content-Type: application/json' "
        f"""-d '{{"symbol": "BTCUSD", "order_type": "buy", "volume": 0.01}}' {base}/order""",
        "",
        "stream ticks: connect, then type the two lines (or send X-API-Key on the handshake):",
        f"  {sys.executable} -m websockets {base.replace('http://', 'ws://')}/ws",
        "  " + orjson.dumps({"type": "auth", "api_key": keys["PRO"]}).decode(),
        "  "
        + orjson.dumps({"type": "subscribe", "channels": ["ticks:BTCUSD", "ta:BTCUSD:H1:RSI(14)"]}).decode(),
        "",
        "Ctrl-C stops the gateway and its terminals.",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Build demo keys, print how to call the gateway, serve."""
    keys = {label: generate_key() for label in ("FREE", "PRO", "trusted", "admin")}
    for leftover in remove_leftover_folders(Path(tempfile.gettempdir())):
        log.info("removed %s, left by a demo that was killed", leftover)
    with tempfile.TemporaryDirectory(prefix=FOLDER_PREFIX) as folder:
        _claim(Path(folder))
        settings = load_settings(
            None,
            host=args.host,
            port=args.port,
            admin_key_hash=hash_key(keys["admin"]),
            keys=(
                ApiKeyConfig(name="demo-free", hash=hash_key(keys["FREE"]), tier="FREE"),
                ApiKeyConfig(
                    name="demo-pro",
                    hash=hash_key(keys["PRO"]),
                    tier="PRO",
                    scopes=("market", "accounts", "trade", "data"),
                ),
                ApiKeyConfig(name="demo-web", hash=hash_key(keys["trusted"]), tier="FREE", trusted=True),
            ),
            store_url=f"sqlite:///{folder}/demo.db",
            recorder={"enabled": True, "symbols": RECORDED_SYMBOLS},
        )
        sim = {"speed": args.speed} | ({"start": args.start} if args.start is not None else {})
        app = create_app(GatewayConfig(api=settings, pool=default_pool_config(sim=sim)))
        print(_banner(f"http://{args.host}:{args.port}", keys), flush=True)
        run_server(app, settings, log_level=args.log_level)
    return 0
