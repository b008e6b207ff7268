"""TerminalPool over real simulated terminals in spawned worker processes."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import numpy as np
import pytest

from mt5gateway.errors import (
    AccountNotFound,
    BadRequest,
    SymbolNotFound,
    TerminalNotFound,
    TerminalTimeout,
    TerminalUnavailable,
)
from mt5gateway.pool import Subscription, TerminalEvent, TerminalPool
from mt5gateway.pool.config import default_pool_config
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.dtypes import RATES_DTYPE, TICKS_DTYPE
from mt5gateway.terminal.records import Tick

from .fixtures import STREAMING_SYMBOLS, Hammer, running_pool, serves, small_config, wait_until

FOUR = ("BTCUSD", "ETHUSD", "EURUSD", "XAUUSD")


def _drain(subscription: Subscription) -> list[Any]:
    events = []
    while True:
        try:
            events.append(subscription.get_nowait())
        except asyncio.QueueEmpty:
            return events


async def test_calls_are_routed_and_answered_like_the_module() -> None:
    config = small_config(
        FOUR[:3],
        terminals=[
            {"id": "T1", "symbols": ["BTCUSD"], "accounts": [777]},
            {"id": "T2", "symbols": ["ETHUSD"]},
            {"id": "T3", "symbols": ["EURUSD"]},
        ],
    )
    async with running_pool(config) as pool:
        assert pool.terminal_for_symbol("ETHUSD") == "T2"
        assert pool.terminal_for_login(777) == "T1"
        tick = await pool.call_symbol("ETHUSD", "symbol_info_tick", "ETHUSD")
        assert isinstance(tick, Tick) and tick.bid > 0
        rates = await pool.call("T1", "copy_rates_from_pos", "BTCUSD", c.TIMEFRAME_M1, 0, 1000)
        assert rates.dtype == RATES_DTYPE and len(rates) == 1000
        assert await pool.call("T3", "symbol_info", "NOSUCH") is None
        code, message = await pool.call("T3", "last_error")
        assert code == c.RES_E_NOT_FOUND and message
        assert pool.last_error("T3") == (code, message)
        with pytest.raises(SymbolNotFound):
            pool.terminal_for_symbol("NOSUCH")
        with pytest.raises(AccountNotFound):
            pool.terminal_for_login(1)
        with pytest.raises(TerminalNotFound):
            await pool.call("T9", "version")
        with pytest.raises(BadRequest, match="unknown simulator control"):
            await pool.sim_control("T1", "no-such-control")
        with pytest.raises(BadRequest, match="TypeError"):
            await pool.call("T1", "symbol_info", symbol="BTCUSD")  # the module takes no keywords here
        assert await pool.call("T1", "symbol_info") is None  # missing argument: refused, as the module does
        assert pool.last_error("T1") == (c.RES_E_INVALID_PARAMS, "Invalid arguments")
        status = pool.status("T1")
        assert (status.status, status.symbols, status.accounts, status.restarts) == (
            "up",
            ("BTCUSD",),
            (777,),
            0,
        )
        assert status.pid is not None and status.pid != os.getpid() and status.calls >= 1
        assert status.latency_p50_ms is not None and status.latency_p99_ms is not None
        assert any("serving BTCUSD" in line.message for line in pool.logs("T1", 1000))
        assert pool.health()["status"] == "ok"


async def test_last_error_belongs_to_the_calling_task() -> None:
    async with running_pool(small_config(FOUR[:1])) as pool:

        async def failing() -> tuple[int, str]:
            assert await pool.call("T1", "symbol_info", "NOSUCH") is None
            await asyncio.sleep(0.05)  # meanwhile another task's call succeeds
            return await pool.call("T1", "last_error")  # type: ignore[no-any-return]

        async def succeeding() -> tuple[int, str]:
            await asyncio.sleep(0.01)
            assert await pool.call("T1", "symbol_info", "BTCUSD") is not None
            return await pool.call("T1", "last_error")  # type: ignore[no-any-return]

        failed, succeeded = await asyncio.gather(failing(), succeeding())
        assert failed[0] == c.RES_E_NOT_FOUND and succeeded[0] == c.RES_S_OK


async def test_kill_9_fails_only_its_symbols_fast_and_it_serves_again_within_5_s() -> None:
    async with running_pool(small_config(FOUR)) as pool:
        events = pool.bus.subscribe("terminal")
        ticks = pool.bus.subscribe("ticks")
        async with Hammer(pool, ["ETHUSD", "EURUSD", "XAUUSD"]) as hammer:
            await asyncio.sleep(0.3)
            killed_at = time.monotonic()
            os.kill(pool.status("T1").pid or 0, signal.SIGKILL)
            with pytest.raises(TerminalUnavailable) as caught:
                for _ in range(100):
                    await pool.call_symbol("BTCUSD", "symbol_info_tick", "BTCUSD")
                    await asyncio.sleep(0.005)
            assert time.monotonic() - killed_at < 0.5
            assert caught.value.extra["terminal_id"] == "T1" and "T1" in caught.value.message
            await wait_until(lambda: serves(pool, "BTCUSD"), timeout=5.0 - (time.monotonic() - killed_at))
            await asyncio.sleep(0.3)
        assert hammer.failures == [] and hammer.ok > 50
        status = pool.status("T1")
        assert status.restarts == 1 and status.status == "up"
        assert any(f"exit code -{signal.SIGKILL}" in line.message for line in pool.logs("T1", 1000))
        seen = _drain(events)
        assert [e.status for e in seen if isinstance(e, TerminalEvent) and e.terminal_id == "T1"] == [
            "down",
            "starting",
            "up",
        ]
        # The restarted worker resumes the stream where the killed one stopped: no gap, no repeat.
        await asyncio.sleep(1.0)
        streamed = [e.ticks for e in _drain(ticks) if e.symbol == "BTCUSD"]
        if streamed:
            got = np.concatenate(streamed)
            first, last = int(got["time_msc"][0]), int(got["time_msc"][-1])
            truth = await pool.call(
                "T1", "copy_ticks_range", "BTCUSD", first // 1000, last // 1000 + 1, c.COPY_TICKS_ALL
            )
            assert got.tolist() == truth[(truth["time_msc"] >= first) & (truth["time_msc"] <= last)].tolist()


async def test_hung_worker_is_detected_within_its_deadline_and_restarted() -> None:
    async with running_pool(small_config(FOUR)) as pool:
        async with Hammer(pool, ["BTCUSD", "EURUSD", "XAUUSD"]) as hammer:
            await pool.sim_control("T2", "hang")
            started = time.monotonic()
            hung = asyncio.ensure_future(pool.call("T2", "symbol_info_tick", "ETHUSD", deadline=0.5))
            # When it failed, not when this test next looks: failing the burst's 2000 calls after it
            # takes a loaded CI machine a few hundred milliseconds more.
            failed_at: list[float] = []
            hung.add_done_callback(lambda _: failed_at.append(time.monotonic()))
            await asyncio.sleep(0.01)
            # A burst at the hung worker must not fill its pipe and block the event loop (the
            # hammer on the other terminals is served throughout); every call of it fails in time.
            burst = await asyncio.gather(
                *(pool.call("T2", "symbol_info", "ETHUSD" * 10, deadline=0.5) for _ in range(2000)),
                return_exceptions=True,
            )
            with pytest.raises(TerminalTimeout) as caught:
                await hung
            assert 0.5 <= failed_at[0] - started < 0.8
            assert caught.value.extra["terminal_id"] == "T2"
            assert all(isinstance(outcome, TerminalUnavailable) for outcome in burst)
            with pytest.raises(TerminalUnavailable):
                await pool.call("T2", "version")  # down now: fails fast
            await wait_until(lambda: serves(pool, "ETHUSD"), timeout=5.0)
        assert hammer.failures == [] and hammer.ok > 50
        assert pool.status("T2").restarts == 1
        assert any(
            "hung: symbol_info_tick missed its 0.5 s deadline" in line.message for line in pool.logs("T2")
        )


async def test_disconnect_fault_is_recovered() -> None:
    async with running_pool(small_config(FOUR)) as pool:
        async with Hammer(pool, ["BTCUSD", "ETHUSD", "XAUUSD"]) as hammer:
            await pool.sim_control("T3", "disconnect")
            assert await pool.call("T3", "symbol_info_tick", "EURUSD") is None
            assert pool.last_error("T3") == (c.RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection")
            await wait_until(lambda: serves(pool, "EURUSD"), timeout=5.0)
            info = await pool.call("T3", "terminal_info")
            assert info is not None and info.connected
        assert hammer.failures == [] and hammer.ok > 50
        assert pool.status("T3").errors >= 1


async def test_a_terminal_that_lost_its_login_is_reconnected_in_place() -> None:
    async with running_pool(small_config(FOUR[:1])) as pool:
        pid = pool.status("T1").pid
        await pool.call("T1", "shutdown")
        assert await pool.call("T1", "account_info") is None  # -10004: a health check runs now
        await wait_until(lambda: pool.status("T1").reconnects == 1, timeout=5.0)
        assert await serves(pool, "BTCUSD")
        status = pool.status("T1")
        assert (status.pid, status.restarts, status.status) == (pid, 0, "up")


async def test_ticks_and_closed_bars_stream_in_order_without_gaps_or_repeats() -> None:
    # A sim clock 60x real time makes 10-60 ticks a second (crypto is quieter at weekends) and
    # closes an M1 bar every second.
    config = small_config(STREAMING_SYMBOLS, sim={"broker_db": ":memory:", "speed": 60.0})
    async with running_pool(config) as pool:
        ticks = pool.bus.subscribe("ticks")
        bars = pool.bus.subscribe("bars")
        received: dict[str, list[np.ndarray]] = {s: [] for s in STREAMING_SYMBOLS}
        closed: dict[str, list[int]] = {s: [] for s in STREAMING_SYMBOLS}
        deadline = time.monotonic() + 4.5
        while time.monotonic() < deadline:
            event = await asyncio.wait_for(anext(ticks), 2.0)
            assert event.ticks.dtype == TICKS_DTYPE
            received[event.symbol].append(event.ticks)
        for bar in _drain(bars):
            assert bar.rates.dtype == RATES_DTYPE and bar.timeframe == c.TIMEFRAME_M1
            closed[bar.symbol].append(int(bar.rates["time"][0]))
        for symbol in STREAMING_SYMBOLS:
            got = np.concatenate(received[symbol])
            assert len(got) > 30
            assert np.all(np.diff(got["time_msc"]) >= 0)
            first, last = int(got["time_msc"][0]), int(got["time_msc"][-1])
            truth = await pool.call_symbol(
                symbol, "copy_ticks_range", symbol, first // 1000, last // 1000 + 1, c.COPY_TICKS_ALL
            )
            truth = truth[(truth["time_msc"] >= first) & (truth["time_msc"] <= last)]
            assert got.tolist() == truth.tolist()  # every tick once, none missing, same order
            minutes = closed[symbol]
            assert minutes and np.all(np.diff(minutes) == 60)
            assert minutes[-1] < last // 60_000 * 60  # only closed bars


async def test_fifteen_default_terminals_survive_a_kill_while_others_are_hammered() -> None:
    config = default_pool_config(sim={"broker_db": ":memory:"}, health_interval=0.5, backoff_initial=0.5)
    async with running_pool(config) as pool:  # all 15 up (the bench times the start-up)
        symbols = [t.symbols[0] for t in config.terminals]
        victim = pool.terminal_for_symbol("XAUUSD")
        async with Hammer(pool, [s for s in symbols if s != "XAUUSD"]) as hammer:
            await asyncio.sleep(0.2)
            killed_at = time.monotonic()
            os.kill(pool.status(victim).pid or 0, signal.SIGKILL)
            await wait_until(lambda: pool.status(victim).status != "up", timeout=1.0)
            await wait_until(lambda: serves(pool, "XAUUSD"), timeout=5.0 - (time.monotonic() - killed_at))
        assert hammer.failures == [] and hammer.ok > 14 * 5
        assert [s.terminal_id for s in pool.statuses() if s.restarts] == [victim]


async def test_metatrader5_backend_where_the_module_is_missing_says_what_it_needs() -> None:
    config = small_config(
        ("BTCUSD",),
        terminals=[
            {"id": "T1", "symbols": ["BTCUSD"]},
            {"id": "W1", "backend": "metatrader5", "path": "C:/MT5/W1/terminal64.exe", "symbols": ["EURUSD"]},
        ],
        backoff_initial=30.0,
    )
    pool = TerminalPool(config)
    await pool.start()
    try:
        status = pool.status("W1")
        assert status.status == "down"
        assert "needs the official MetaTrader5 module" in (status.last_error or "")
        assert "pip install MetaTrader5" in (status.last_error or "") and "Windows" in (
            status.last_error or ""
        )
        assert await serves(pool, "BTCUSD")
        assert pool.health()["status"] == "degraded"
    finally:
        await pool.stop()
