"""bench_ta's gateway: ``python -m bench._ta_gateway serve PORT FOLDER OPTIONS``.

The gateway as ``mt5gateway serve`` builds it by default (15 simulated terminals), with a bench key
and the tick generator of ``bench._ws``; the simulator's clock stands still on a Wednesday (a
manual clock), so the bars are the same on every run and the generator's ticks are the only ones
(a terminal's own ticks, stamped by its clock and polled every 50 ms, would interleave with them). Nothing heavy is imported at module level: each of the
pool's 15 spawned workers imports the main module again, as ``mt5gateway serve``'s light CLI module
is, and importing the API and TA-Lib 15 times over would slow their start on a loaded machine.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

KEY = "mt5gw_bench_ta_key"


def serve(port: int, folder: Path, options: dict[str, Any]) -> None:
    import uvicorn

    from bench._ws import add_tick_generator
    from mt5gateway.api import ApiKeyConfig, GatewayConfig, create_app, load_settings
    from mt5gateway.api.keys import hash_key
    from mt5gateway.pool import default_pool_config
    from mt5gateway.pool.config import DEFAULT_SYMBOLS_BY_TERMINAL

    settings = load_settings(
        None,
        rate_limit={"per_minute": 100_000_000, "burst": 10_000_000},
        journal_path=folder / "journal.sqlite",
        keys=(ApiKeyConfig(name="bench", hash=hash_key(KEY), tier="PRO", scopes=("market",)),),
    )
    pool = default_pool_config(sim={"broker_db": ":memory:", "start": "2026-01-07T12:00:00Z", "manual": True})
    app = create_app(GatewayConfig(api=settings, pool=pool))
    add_tick_generator(app, app.state.gateway.pool, sorted(DEFAULT_SYMBOLS_BY_TERMINAL.values()))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, **options)


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    import orjson

    serve(int(sys.argv[2]), Path(sys.argv[3]), orjson.loads(sys.argv[4]))
