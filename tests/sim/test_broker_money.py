"""Margin and profit by calculation mode and currency, against numbers worked out by hand.

Where a figure needs another symbol's price (a JPY profit in a USD account, anything in the EUR
account), the test reads that price from the market and writes the conversion out itself.
"""

from __future__ import annotations

import pytest

from mt5gateway.sim.broker import Broker
from mt5gateway.sim.market import Market
from mt5gateway.terminal import constants as c

from .broker_fixtures import (
    HEDGING_EUR,
    HEDGING_USD,
    broker_fixture,
    clock_fixture,
    market_fixture,
    market_order,
)

__all__ = ["broker_fixture", "clock_fixture", "market_fixture"]

BUY, SELL = c.ORDER_TYPE_BUY, c.ORDER_TYPE_SELL


def test_margin_of_forex_is_contract_over_leverage_in_the_base_currency(
    broker: Broker, market: Market
) -> None:
    # USD account, 1:100. USDJPY: 100 000 USD / 100. EURUSD: 100 000 EUR / 100, in USD at EURUSD's
    # bid. GBPJPY: the margin currency is GBP, converted through GBPUSD.
    assert broker.calc_margin(HEDGING_USD, BUY, "USDJPY", 1.0, 150.0) == 1000.0
    assert broker.calc_margin(HEDGING_USD, SELL, "USDJPY", 0.25, 150.0) == 250.0
    eurusd_bid = market.last_tick("EURUSD").bid
    assert broker.calc_margin(HEDGING_USD, BUY, "EURUSD", 1.0, 1.1) == pytest.approx(
        round(1000 * eurusd_bid, 2)
    )
    gbpusd_bid = market.last_tick("GBPUSD").bid
    assert broker.calc_margin(HEDGING_USD, BUY, "GBPJPY", 2.0, 190.0) == pytest.approx(
        round(2000 * gbpusd_bid, 2)
    )


def test_margin_of_cfds_is_the_notional_value_over_leverage(broker: Broker) -> None:
    # CFDLEVERAGE at the account's 1:100. XAUUSD (contract 100): 1 lot at 2000 = 200 000 / 100.
    # US30 (contract 1): 0.1 lot at 40 000 = 4 000 / 100. BTCUSD (contract 1): 0.01 lot at 60 000 = 600 / 100.
    assert broker.calc_margin(HEDGING_USD, BUY, "XAUUSD", 1.0, 2000.0) == 2000.0
    assert broker.calc_margin(HEDGING_USD, BUY, "US30", 0.1, 40_000.0) == 40.0
    assert broker.calc_margin(HEDGING_USD, SELL, "BTCUSD", 0.01, 60_000.0) == 6.0


def test_profit_in_usd_of_usd_quoted_symbols(broker: Broker) -> None:
    assert broker.calc_profit(HEDGING_USD, BUY, "EURUSD", 1.0, 1.1000, 1.1050) == pytest.approx(500.0)
    assert broker.calc_profit(HEDGING_USD, SELL, "EURUSD", 0.5, 1.1000, 1.1050) == pytest.approx(-250.0)
    assert broker.calc_profit(HEDGING_USD, BUY, "XAUUSD", 1.0, 2300.0, 2310.0) == pytest.approx(1000.0)
    assert broker.calc_profit(HEDGING_USD, SELL, "US30", 2.0, 39_100.0, 39_000.0) == pytest.approx(200.0)
    assert broker.calc_profit(HEDGING_USD, BUY, "BTCUSD", 0.5, 60_000.0, 61_000.0) == pytest.approx(500.0)


def test_profit_in_jpy_is_converted_by_usdjpy(broker: Broker, market: Market) -> None:
    # One lot moving one yen is 100 000 JPY, divided by USDJPY's ask into USD.
    usdjpy_ask = market.last_tick("USDJPY").ask
    expected = round(100_000 / usdjpy_ask, 2)
    assert broker.calc_profit(HEDGING_USD, BUY, "USDJPY", 1.0, 150.0, 151.0) == pytest.approx(expected)
    assert broker.calc_profit(HEDGING_USD, BUY, "GBPJPY", 1.0, 190.0, 191.0) == pytest.approx(expected)


def test_eur_account_converts_through_eurusd(broker: Broker, market: Market) -> None:
    eurusd_ask = market.last_tick("EURUSD").ask
    usdjpy_ask = market.last_tick("USDJPY").ask
    # 500 USD of EURUSD profit is 500 / EURUSD in EUR.
    assert broker.calc_profit(HEDGING_EUR, BUY, "EURUSD", 1.0, 1.1000, 1.1050) == pytest.approx(
        round(500 / eurusd_ask, 2)
    )
    # EURUSD margin is in EUR already: 100 000 / 30.
    assert broker.calc_margin(HEDGING_EUR, BUY, "EURUSD", 1.0, 1.1) == pytest.approx(3333.33)
    # USDJPY margin: 100 000 USD / 30, then USD -> EUR.
    assert broker.calc_margin(HEDGING_EUR, BUY, "USDJPY", 1.0, 150.0) == pytest.approx(
        round(100_000 / 30 / eurusd_ask, 2)
    )
    # GBPJPY profit: JPY -> USD -> EUR.
    assert broker.calc_profit(HEDGING_EUR, BUY, "GBPJPY", 1.0, 190.0, 191.0) == pytest.approx(
        round(100_000 / usdjpy_ask / eurusd_ask, 2)
    )


def test_account_figures_follow_open_positions(broker: Broker, market: Market) -> None:
    tick = market.last_tick("USDJPY")
    gold = market.last_tick("XAUUSD")
    market_order(broker, HEDGING_USD, "USDJPY", BUY, 1.0)
    market_order(broker, HEDGING_USD, "XAUUSD", SELL, 0.1)

    info = broker.account_info(HEDGING_USD)

    assert info is not None
    # Margin: 1000 USD for USDJPY, 0.1 x 100 x bid / 100 for gold (a sell's margin is at the bid).
    expected_margin = round(1000 + 0.1 * gold.bid, 2)
    assert info.margin == pytest.approx(expected_margin)
    spread_cost_jpy = (tick.bid - tick.ask) * 100_000
    expected_profit = round(spread_cost_jpy / tick.ask + (gold.bid - gold.ask) * 10, 2)
    assert info.profit == pytest.approx(expected_profit, abs=0.02)
    assert info.equity == pytest.approx(100_000 + info.profit)
    assert info.margin_free == pytest.approx(info.equity - info.margin)
    assert info.margin_level == pytest.approx(info.equity / info.margin * 100, abs=0.01)
    assert (info.currency, info.server, info.margin_mode) == (
        "USD",
        "SimBroker-Demo",
        c.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING,
    )
