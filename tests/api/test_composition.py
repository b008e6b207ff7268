"""The composition root: one place builds every service from the config, one lifespan starts them in
order and stops them in reverse, and no package below ``api/`` imports ``api/``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mt5gateway
from mt5gateway.api import GatewayConfig, build_gateway, load_gateway_config, load_settings, run_gateway
from mt5gateway.pool.config import parse_pool_config

PACKAGE = Path(mt5gateway.__file__).parent
# Modules above the HTTP layer: the root's callers (commands), not packages below it.
ABOVE_API = {"cli.py", "demo.py"}
ONE_TERMINAL = parse_pool_config({"terminals": [{"id": "T1", "symbols": ["BTCUSD"]}]}, source="tests")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_package_below_api_imports_api() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "api" or str(relative) in ABOVE_API:
            continue
        offenders += [
            f"{relative} imports {name}"
            for name in _imported_modules(path)
            if name == "mt5gateway.api" or name.startswith("mt5gateway.api.")
        ]
    assert offenders == []


def test_gateway_config_reads_every_table_of_one_file(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'[api]\njournal_path = "{tmp_path / "j.sqlite"}"\naccount_poll_seconds = 0.5\n'
        "[api.websocket]\nmax_queue = 50\nheartbeat_seconds = 5\n"
        '[pool]\n[[pool.terminals]]\nid = "T1"\nsymbols = ["EURUSD"]\n'
        f'[sync]\ndatabase_url = "sqlite:///{tmp_path / "mirror.sqlite"}"\nlocal_pool = true\n'
    )
    loaded = load_gateway_config(config)
    gateway = build_gateway(loaded)
    try:
        assert gateway.bridge.journal.path == str(tmp_path / "j.sqlite")
        assert gateway.bridge.feeds.account_poll_s == 0.5
        limits = gateway.bridge.hub.limits
        assert (limits.max_queue, limits.heartbeat_s, limits.max_lag_s) == (50, 5.0, 10.0)
        assert gateway.pool.terminal_ids == ["T1"]
        assert gateway.sync is not None and gateway.sync.settings.local_pool
        # Built, not started: the journal's file is made when the gateway starts.
        assert not (tmp_path / "j.sqlite").exists()
    finally:
        assert gateway.sync is not None
        gateway.sync.mirror.close()


async def test_services_start_in_order_and_stop_in_reverse(tmp_path: Path) -> None:
    settings = load_settings(None, journal_path=tmp_path / "journal.sqlite")
    gateway = build_gateway(GatewayConfig(api=settings, pool=ONE_TERMINAL))
    async with run_gateway(gateway):
        assert [s.status for s in gateway.pool.statuses()] in (["up"], ["starting"])
        assert gateway.bridge.journal.get("nobody", "no-key") is None  # open
        assert gateway.bridge.hub.limits.heartbeat_s == 30.0
    assert [s.status for s in gateway.pool.statuses()] == ["stopped"]
    with pytest.raises(RuntimeError, match="not open"):
        gateway.bridge.journal.get("nobody", "no-key")


async def test_a_service_that_fails_to_start_stops_those_started_before_it(tmp_path: Path) -> None:
    # The recorder's store is a PostgreSQL server that is not there: the recorded data cannot start.
    settings = load_settings(
        None,
        journal_path=tmp_path / "journal.sqlite",
        store_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
        recorder={"enabled": True},
    )
    gateway = build_gateway(GatewayConfig(api=settings, pool=ONE_TERMINAL))
    with pytest.raises(Exception, match=r"127\.0\.0\.1"):
        async with run_gateway(gateway):
            pytest.fail("the gateway started without its store")
    # The pool had started: it was stopped on the way out, its worker gone.
    assert [s.status for s in gateway.pool.statuses()] == ["stopped"]
    # The services after the failed one never started: the journal was never opened.
    assert not (tmp_path / "journal.sqlite").exists()
