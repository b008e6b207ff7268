"""Builders shared by the broker tests: a manual clock, the real market, an in-memory broker.

A test module imports ``clock_fixture``, ``market_fixture`` and ``broker_fixture``; its tests then
ask for ``clock``, ``market`` and ``broker`` by name. ``peek_ticks`` reads the price path ahead of
the clock, so a test picks trigger levels the path really crosses instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from mt5gateway.sim.broker import Broker
from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.market import Market
from mt5gateway.sim.symbols import DEFAULT_SYMBOLS
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.records import OrderSendResult

# A Tuesday, 10:00:07 UTC: every symbol's market is open, and Wednesday's triple swap is a day away.
START_MSC = int(datetime(2024, 1, 9, 10, 0, 7, tzinfo=UTC).timestamp() * 1000)
SEED = 11
HEDGING_USD = 5000001
NETTING_USD = 5000002
HEDGING_EUR = 5000003
SMALL_USD = 5000004


@pytest.fixture(name="clock")
def clock_fixture() -> ManualClock:
    return ManualClock(START_MSC)


@pytest.fixture(name="market")
def market_fixture(clock: ManualClock) -> Market:
    return Market(DEFAULT_SYMBOLS, seed=SEED, clock=clock)


@pytest.fixture(name="broker")
def broker_fixture(market: Market) -> Iterator[Broker]:
    broker = Broker(market, db_path=":memory:")
    yield broker
    broker.close()


def peek_ticks(clock: ManualClock, market: Market, symbol: str, seconds: float) -> np.ndarray:
    """The ticks of the next ``seconds`` after now, read without moving the clock for good."""
    now = clock.now_msc()
    clock.set_msc(now + round(seconds * 1000))
    try:
        return market.ticks_range(symbol, now + 1, clock.now_msc(), c.COPY_TICKS_ALL)
    finally:
        clock.set_msc(now)


def market_order(
    broker: Broker, login: int, symbol: str, order_type: int, volume: float, **fields: Any
) -> OrderSendResult:
    """Send a TRADE_ACTION_DEAL request."""
    return broker.send(
        login,
        {"action": c.TRADE_ACTION_DEAL, "symbol": symbol, "type": order_type, "volume": volume, **fields},
    )


def pending_order(
    broker: Broker, login: int, symbol: str, order_type: int, volume: float, price: float, **fields: Any
) -> OrderSendResult:
    """Send a TRADE_ACTION_PENDING request."""
    return broker.send(
        login,
        {
            "action": c.TRADE_ACTION_PENDING,
            "symbol": symbol,
            "type": order_type,
            "volume": volume,
            "price": price,
            **fields,
        },
    )
