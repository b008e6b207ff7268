"""The remote backend: ``mt5gateway agent`` on 127.0.0.1 serving a simulated terminal to the pool."""

from __future__ import annotations

import asyncio
import os
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from mt5gateway.errors import TerminalUnavailable
from mt5gateway.pool import TerminalPool
from mt5gateway.pool.config import PoolConfig, parse_pool_config
from mt5gateway.pool.wire import WireError, recv_frame, send_frame
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.dtypes import RATES_DTYPE
from mt5gateway.terminal.records import SymbolInfo, Tick
from tests.net import free_port

from .fixtures import running_pool, serves, wait_until

TOKEN = "correct horse battery staple"


@contextmanager
def agent(port: int) -> Iterator[subprocess.Popen[str]]:
    """``mt5gateway agent`` serving a simulated terminal on ``port``, until the block ends."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mt5gateway.cli",
            "agent",
            "--listen",
            f"127.0.0.1:{port}",
            "--backend",
            "sim",
            "--sim-db",
            ":memory:",
        ],
        env={**os.environ, "MT5GW_AGENT_TOKEN": TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 20)
        assert ready, "the agent did not start"
        assert "serving the sim terminal on 127.0.0.1" in process.stdout.readline()
        yield process
    finally:
        process.kill()
        process.wait()


def remote_config(port: int, token: str = TOKEN) -> PoolConfig:
    return parse_pool_config(
        {
            "terminals": [
                {"id": "R1", "backend": "remote", "address": f"127.0.0.1:{port}", "symbols": ["BTCUSD"]},
                {"id": "L1", "symbols": ["ETHUSD"]},
            ],
            "sim": {"broker_db": ":memory:"},
            "health_interval": 0.3,
            "backoff_initial": 0.3,
            "backoff_max": 1.0,
        },
        environ={"MT5GW_AGENT_TOKEN": token},
    )


async def test_agent_serves_a_terminal_end_to_end() -> None:
    port = free_port()
    with agent(port):
        async with running_pool(remote_config(port)) as pool:
            ticks = pool.bus.subscribe("ticks")
            tick = await pool.call_symbol("BTCUSD", "symbol_info_tick", "BTCUSD")
            assert isinstance(tick, Tick) and tick.ask > tick.bid > 0
            rates = await pool.call("R1", "copy_rates_from_pos", "BTCUSD", c.TIMEFRAME_H1, 0, 100)
            assert rates.dtype == RATES_DTYPE and len(rates) == 100
            symbols = await pool.call("R1", "symbols_get", group="*USD*,!EUR*")
            assert symbols and all(isinstance(s, SymbolInfo) and "USD" in s.name for s in symbols)
            assert await pool.call("R1", "symbol_info", "NOSUCH") is None
            assert pool.last_error("R1") == (c.RES_E_NOT_FOUND, (await pool.call("R1", "last_error"))[1])
            # the agent's terminal checks arguments as the module does, and its message comes back
            assert await pool.call("R1", "positions_get", "BTCUSD") is None
            assert pool.last_error("R1") == (c.RES_E_INVALID_PARAMS, "Unnamed arguments not allowed")
            request = {
                "action": c.TRADE_ACTION_DEAL,
                "symbol": "BTCUSD",
                "volume": 1,
                "type": c.ORDER_TYPE_BUY,
            }
            assert await pool.call("R1", "order_check", request) is None
            assert pool.last_error("R1") == (c.RES_E_INVALID_PARAMS, 'Invalid "volume" argument')
            assert (await pool.call("R1", "order_check", request | {"volume": 1.0})).retcode == 0
            event = await asyncio.wait_for(anext(ticks), 10.0)
            while event.terminal_id != "R1":
                event = await asyncio.wait_for(anext(ticks), 10.0)
            assert event.symbol == "BTCUSD" and len(event.ticks) >= 1
            assert pool.status("R1").backend == "remote"


def test_agent_refuses_a_wrong_token_and_anything_but_the_api() -> None:
    port = free_port()
    with agent(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            send_frame(sock, {"token": "guess"})
            assert recv_frame(sock) == {"ok": False, "error": "unauthorized"}
            with pytest.raises(WireError):
                recv_frame(sock)  # and the connection is closed
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            send_frame(sock, {"token": TOKEN})
            assert recv_frame(sock) == {"ok": True}
            for name in ("control", "__init__", "broker"):
                send_frame(sock, {"id": 1, "call": name, "args": ["crash"], "kwargs": {}})
                assert "is not one of the 32 API functions" in recv_frame(sock)["error"]
            send_frame(sock, {"id": 2, "call": "version", "args": [], "kwargs": {}})
            assert recv_frame(sock)["id"] == 2


async def test_pool_with_a_wrong_token_keeps_the_terminal_down_and_the_rest_up() -> None:
    port = free_port()
    with agent(port):
        pool = TerminalPool(remote_config(port, token="wrong"))
        await pool.start()
        try:
            status = pool.status("R1")
            assert status.status != "up" and "unauthorized" in (status.last_error or "")
            with pytest.raises(TerminalUnavailable) as caught:
                await pool.call_symbol("BTCUSD", "symbol_info_tick", "BTCUSD")
            assert caught.value.extra["terminal_id"] == "R1"
            assert await serves(pool, "ETHUSD")
        finally:
            await pool.stop()


async def test_pool_survives_the_agent_dying_and_coming_back() -> None:
    port = free_port()
    with agent(port) as first:
        async with running_pool(remote_config(port)) as pool:
            assert await serves(pool, "BTCUSD")
            first.kill()
            first.wait()
            await wait_until(lambda: pool.status("R1").status != "up", timeout=5.0)
            assert await serves(pool, "ETHUSD")
            with agent(port):
                await wait_until(lambda: serves(pool, "BTCUSD"), timeout=10.0)
            assert pool.status("R1").restarts >= 1
