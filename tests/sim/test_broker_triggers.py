"""Pending orders, stop-limits and SL/TP fire as the price path crosses them; expiry; swap at rollover.

Every level is picked from the ticks ahead of the clock (``peek_ticks``), so the tests know which
tick must fire each trigger and at what price.
"""

from __future__ import annotations

import numpy as np
import pytest

from mt5gateway.sim.broker import Broker
from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.market import Market
from mt5gateway.terminal import constants as c

from .broker_fixtures import (
    HEDGING_USD,
    broker_fixture,
    clock_fixture,
    market_fixture,
    market_order,
    peek_ticks,
    pending_order,
)

__all__ = ["broker_fixture", "clock_fixture", "market_fixture"]

ALL_TIME = (0, 2**53)
HOUR = 3600


def _first(mask: np.ndarray) -> int:
    assert mask.any(), "the price path never reaches the level picked from it"
    return int(np.argmax(mask))


def test_buy_limit_fills_at_its_price_when_the_ask_falls_to_it(
    broker: Broker, market: Market, clock: ManualClock
) -> None:
    ask_now = market.last_tick("EURUSD").ask
    ticks = peek_ticks(clock, market, "EURUSD", HOUR)
    low = float(ticks["ask"].min())
    assert low < ask_now - 0.0002
    level = round(low + (ask_now - low) * 0.3, 5)
    crossing = ticks[_first(ticks["ask"] <= level)]
    placed = pending_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY_LIMIT, 0.2, level)
    assert placed.retcode == c.TRADE_RETCODE_PLACED

    clock.advance(HOUR)

    assert broker.orders(HEDGING_USD) == []
    (position,) = broker.positions(HEDGING_USD)
    assert (position.ticket, position.price_open, position.time_msc) == (
        placed.order,
        level,
        crossing["time_msc"],
    )
    (order,) = broker.history_orders(HEDGING_USD, *ALL_TIME)
    assert (order.state, order.time_done_msc, order.position_id) == (
        c.ORDER_STATE_FILLED,
        crossing["time_msc"],
        placed.order,
    )
    deal = broker.history_deals(HEDGING_USD, *ALL_TIME)[-1]
    assert (deal.order, deal.entry, deal.reason, deal.price) == (
        placed.order,
        c.DEAL_ENTRY_IN,
        c.DEAL_REASON_EXPERT,
        level,
    )


def test_sell_stop_fills_at_the_bid_of_the_tick_that_crossed(
    broker: Broker, market: Market, clock: ManualClock
) -> None:
    bid_now = market.last_tick("GBPUSD").bid
    ticks = peek_ticks(clock, market, "GBPUSD", HOUR)
    low = float(ticks["bid"].min())
    level = round(bid_now - (bid_now - low) * 0.5, 5)
    crossing = ticks[_first(ticks["bid"] <= level)]
    placed = pending_order(broker, HEDGING_USD, "GBPUSD", c.ORDER_TYPE_SELL_STOP, 0.1, level)

    clock.advance(HOUR / 2)
    broker.process(clock.now_msc())
    clock.advance(HOUR / 2)

    (position,) = broker.positions(HEDGING_USD)
    assert (position.ticket, position.type) == (placed.order, c.POSITION_TYPE_SELL)
    assert position.price_open == crossing["bid"]
    assert position.time_msc == crossing["time_msc"]


def test_stop_limit_places_a_limit_at_its_stoplimit_price_which_then_fills(
    broker: Broker, market: Market, clock: ManualClock
) -> None:
    ask_now = market.last_tick("EURUSD").ask
    ticks = peek_ticks(clock, market, "EURUSD", 4 * HOUR)
    first_hour = ticks[ticks["time_msc"] <= ticks["time_msc"][0] + HOUR * 1000]
    stop = round(ask_now + (float(first_hour["ask"].max()) - ask_now) * 0.5, 5)
    assert stop > ask_now
    stop_index = _first(ticks["ask"] >= stop)
    later = ticks[stop_index + 1 :]
    low_after = float(later["ask"].min())
    assert low_after < stop - 0.0002
    stoplimit = round(low_after + (stop - low_after) * 0.5, 5)
    fill = later[_first(later["ask"] <= stoplimit)]
    placed = pending_order(
        broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY_STOP_LIMIT, 0.1, stop, stoplimit=stoplimit
    )
    assert placed.retcode == c.TRADE_RETCODE_PLACED

    clock.advance(4 * HOUR)

    history = broker.history_orders(HEDGING_USD, *ALL_TIME)
    assert [(o.type, o.state) for o in history] == [
        (c.ORDER_TYPE_BUY_STOP_LIMIT, c.ORDER_STATE_FILLED),
        (c.ORDER_TYPE_BUY_LIMIT, c.ORDER_STATE_FILLED),
    ]
    assert history[0].time_done_msc == ticks["time_msc"][stop_index]
    assert history[1].price_open == stoplimit
    (position,) = broker.positions(HEDGING_USD)
    assert (position.ticket, position.price_open, position.time_msc) == (
        history[1].ticket,
        stoplimit,
        fill["time_msc"],
    )


def test_stop_loss_closes_at_the_crossing_tick_with_reason_sl(
    broker: Broker, market: Market, clock: ManualClock
) -> None:
    bid_now = market.last_tick("EURUSD").bid
    ticks = peek_ticks(clock, market, "EURUSD", HOUR)
    sl = round(bid_now - (bid_now - float(ticks["bid"].min())) * 0.6, 5)
    crossing = ticks[_first(ticks["bid"] <= sl)]
    opened = market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY, 1.0, sl=sl)
    assert opened.retcode == c.TRADE_RETCODE_DONE

    clock.advance(HOUR)

    assert broker.positions(HEDGING_USD) == []
    deal = broker.history_deals(HEDGING_USD, *ALL_TIME)[-1]
    expected_profit = round((crossing["bid"] - opened.price) * 100_000, 2)
    assert (deal.type, deal.entry, deal.reason, deal.position_id) == (
        c.DEAL_TYPE_SELL,
        c.DEAL_ENTRY_OUT,
        c.DEAL_REASON_SL,
        opened.order,
    )
    assert (deal.price, deal.time_msc) == (crossing["bid"], crossing["time_msc"])
    assert deal.profit == pytest.approx(expected_profit)
    closing_order = broker.history_orders(HEDGING_USD, *ALL_TIME)[-1]
    assert (closing_order.ticket, closing_order.reason, closing_order.state) == (
        deal.order,
        c.ORDER_REASON_SL,
        c.ORDER_STATE_FILLED,
    )
    info = broker.account_info(HEDGING_USD)
    assert info is not None and info.balance == pytest.approx(100_000 + expected_profit)


def test_take_profit_closes_a_sell_at_its_price_with_reason_tp(
    broker: Broker, market: Market, clock: ManualClock
) -> None:
    ask_now = market.last_tick("USDJPY").ask
    ticks = peek_ticks(clock, market, "USDJPY", HOUR)
    tp = round(ask_now - (ask_now - float(ticks["ask"].min())) * 0.5, 3)
    crossing = ticks[_first(ticks["ask"] <= tp)]
    opened = market_order(broker, HEDGING_USD, "USDJPY", c.ORDER_TYPE_SELL, 0.5, tp=tp)

    clock.advance(HOUR)

    assert broker.positions(HEDGING_USD) == []
    deal = broker.history_deals(HEDGING_USD, *ALL_TIME)[-1]
    assert (deal.type, deal.entry, deal.reason, deal.price, deal.time_msc) == (
        c.DEAL_TYPE_BUY,
        c.DEAL_ENTRY_OUT,
        c.DEAL_REASON_TP,
        tp,
        crossing["time_msc"],
    )
    # Profit in JPY, converted to USD at the USDJPY ask of when the broker books it (now).
    expected = (opened.price - tp) * 0.5 * 100_000 / market.last_tick("USDJPY").ask
    assert deal.profit == pytest.approx(expected, abs=0.01)
    assert broker.history_orders(HEDGING_USD, *ALL_TIME)[-1].reason == c.ORDER_REASON_TP


def test_order_with_an_expiry_expires_unfilled(broker: Broker, market: Market, clock: ManualClock) -> None:
    ask_now = market.last_tick("EURUSD").ask
    expiration = clock.now_msc() // 1000 + 600
    far_below = round(ask_now - 0.05, 5)
    placed = pending_order(
        broker,
        HEDGING_USD,
        "EURUSD",
        c.ORDER_TYPE_BUY_LIMIT,
        0.1,
        far_below,
        type_time=c.ORDER_TIME_SPECIFIED,
        expiration=expiration,
    )
    past = pending_order(
        broker,
        HEDGING_USD,
        "EURUSD",
        c.ORDER_TYPE_BUY_LIMIT,
        0.1,
        far_below,
        type_time=c.ORDER_TIME_SPECIFIED,
        expiration=expiration - 1200,
    )
    assert past.retcode == c.TRADE_RETCODE_INVALID_EXPIRATION

    clock.advance(HOUR)

    assert broker.orders(HEDGING_USD) == []
    (order,) = broker.history_orders(HEDGING_USD, *ALL_TIME)
    assert (order.ticket, order.state, order.time_done) == (placed.order, c.ORDER_STATE_EXPIRED, expiration)


def test_swap_is_charged_at_rollover_triple_on_wednesday_for_forex(
    broker: Broker, market: Market, clock: ManualClock
) -> None:
    # The clock starts on a Tuesday morning. EURUSD swap long is -7.2 points: 1 lot pays 7.20 USD
    # a night, three nights' worth on Wednesday night; BTCUSD trades at weekends and has no
    # triple night: 0.1 lot pays 2750 points x 0.01 x 0.1 = 2.75 USD every night.
    eurusd = market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY, 1.0)
    bitcoin = market_order(broker, HEDGING_USD, "BTCUSD", c.ORDER_TYPE_BUY, 0.1)

    clock.advance(24 * HOUR)  # past Tuesday midnight
    swaps = {p.ticket: p.swap for p in broker.positions(HEDGING_USD)}
    assert swaps == {eurusd.order: -7.2, bitcoin.order: -2.75}

    clock.advance(24 * HOUR)  # past Wednesday midnight
    swaps = {p.ticket: p.swap for p in broker.positions(HEDGING_USD)}
    assert swaps == {eurusd.order: pytest.approx(-28.8), bitcoin.order: pytest.approx(-5.5)}
    info = broker.account_info(HEDGING_USD)
    assert info is not None
    floating = sum(p.profit for p in broker.positions(HEDGING_USD))
    assert info.profit == pytest.approx(floating - 28.8 - 5.5, abs=0.02)

    closed = market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_SELL, 1.0, position=eurusd.order)
    deal = broker.history_deals(HEDGING_USD, *ALL_TIME)[-1]
    assert (deal.ticket, deal.swap) == (closed.deal, pytest.approx(-28.8))
    info = broker.account_info(HEDGING_USD)
    assert info is not None and info.balance == pytest.approx(100_000 + deal.profit - 28.8)


def test_swap_in_a_foreign_profit_currency_is_converted(
    broker: Broker, market: Market, clock: ManualClock
) -> None:
    # USDJPY swap short is -28.3 points: 0.001 x 100 000 x 28.3 = 2830 JPY a night per lot.
    market_order(broker, HEDGING_USD, "USDJPY", c.ORDER_TYPE_SELL, 1.0)
    clock.advance(24 * HOUR)
    (position,) = broker.positions(HEDGING_USD)
    assert position.swap == pytest.approx(round(-2830 / market.last_tick("USDJPY").ask, 2))


def test_filled_pending_order_brings_its_stop_loss_which_fires_later_in_the_same_step(
    broker: Broker, market: Market, clock: ManualClock
) -> None:
    ask_now = market.last_tick("EURUSD").ask
    ticks = peek_ticks(clock, market, "EURUSD", 4 * HOUR)
    first_hour = ticks[ticks["time_msc"] <= ticks["time_msc"][0] + HOUR * 1000]
    level = round(ask_now - (ask_now - float(first_hour["ask"].min())) * 0.5, 5)
    fill_index = _first(ticks["ask"] <= level)
    later = ticks[fill_index + 1 :]
    low_after = float(later["bid"].min())
    assert low_after < level - 0.0001
    sl = round(low_after + (level - low_after) * 0.3, 5)
    stop = later[_first(later["bid"] <= sl)]
    placed = pending_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY_LIMIT, 0.1, level, sl=sl)

    clock.advance(4 * HOUR)  # one process step walks through both events

    assert broker.positions(HEDGING_USD) == []
    entry, exit_ = broker.history_deals(HEDGING_USD, *ALL_TIME)[-2:]
    assert (entry.position_id, entry.entry, entry.price) == (placed.order, c.DEAL_ENTRY_IN, level)
    assert (exit_.position_id, exit_.entry, exit_.reason) == (
        placed.order,
        c.DEAL_ENTRY_OUT,
        c.DEAL_REASON_SL,
    )
    assert (exit_.price, exit_.time_msc) == (stop["bid"], stop["time_msc"])


def test_forex_pays_no_swap_for_the_weekend_nights(broker: Broker, clock: ManualClock) -> None:
    friday = clock.now_msc() + 3 * 24 * HOUR * 1000
    clock.set_msc(friday)
    opened = market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY, 1.0)
    assert opened.retcode == c.TRADE_RETCODE_DONE
    clock.advance(3 * 24 * HOUR)  # to Monday: Friday night is paid, Saturday and Sunday are not
    (position,) = broker.positions(HEDGING_USD)
    assert position.swap == -7.2
