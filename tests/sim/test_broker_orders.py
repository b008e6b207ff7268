"""Broker requests: fills, the retcodes of bad requests, pending orders, closes, close-by, netting."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from mt5gateway.sim.broker import Broker
from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.market import Market
from mt5gateway.sim.symbols import DEFAULT_SYMBOLS
from mt5gateway.terminal import constants as c

from .broker_fixtures import (
    HEDGING_USD,
    NETTING_USD,
    SMALL_USD,
    broker_fixture,
    clock_fixture,
    market_fixture,
    market_order,
    pending_order,
)

__all__ = ["broker_fixture", "clock_fixture", "market_fixture"]

ALL_TIME = (0, 2**53)


def test_market_buy_fills_at_ask_and_sell_at_bid(broker: Broker, market: Market) -> None:
    tick = market.last_tick("EURUSD")
    buy = market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY, 0.5, comment="entry")
    sell = market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_SELL, 0.2)

    assert (buy.retcode, buy.comment, buy.price, buy.volume) == (
        c.TRADE_RETCODE_DONE,
        "Request executed",
        tick.ask,
        0.5,
    )
    assert (buy.bid, buy.ask) == (tick.bid, tick.ask)
    assert sell.price == tick.bid
    assert sell.request_id == buy.request_id + 1
    assert buy.request.comment == "entry" and buy.request.sl == 0.0 and buy.request.position == 0
    positions = {p.ticket: p for p in broker.positions(HEDGING_USD)}
    # A position's ticket and identifier are its opening order's ticket.
    assert set(positions) == {buy.order, sell.order}
    assert positions[buy.order].identifier == buy.order
    assert positions[buy.order].type == c.POSITION_TYPE_BUY
    assert positions[buy.order].price_current == tick.bid
    assert positions[buy.order].profit == pytest.approx(round((tick.bid - tick.ask) * 50_000, 2))
    deals = {d.ticket: d for d in broker.history_deals(HEDGING_USD, *ALL_TIME)}
    assert deals[buy.deal].entry == c.DEAL_ENTRY_IN
    assert deals[buy.deal].reason == c.DEAL_REASON_EXPERT
    assert deals[buy.deal].position_id == buy.order
    orders = {o.ticket: o for o in broker.history_orders(HEDGING_USD, *ALL_TIME)}
    assert orders[buy.order].state == c.ORDER_STATE_FILLED
    assert orders[buy.order].position_id == buy.order


def test_deal_history_starts_with_the_initial_deposit(broker: Broker) -> None:
    first = broker.history_deals(SMALL_USD, *ALL_TIME)[0]
    assert (first.type, first.profit, first.comment) == (c.DEAL_TYPE_BALANCE, 1000.0, "Initial deposit")
    info = broker.account_info(SMALL_USD)
    assert info is not None
    assert (info.balance, info.equity, info.margin, info.margin_level, info.leverage) == (
        1000.0,
        1000.0,
        0,
        0,
        500,
    )


BAD_MARKET_REQUESTS = [
    pytest.param({"volume": 0.001}, c.TRADE_RETCODE_INVALID_VOLUME, id="volume-below-min"),
    pytest.param({"volume": 101.0}, c.TRADE_RETCODE_INVALID_VOLUME, id="volume-above-max"),
    pytest.param({"volume": 0.015}, c.TRADE_RETCODE_INVALID_VOLUME, id="volume-off-step"),
    pytest.param({"type_filling": c.ORDER_FILLING_BOC}, c.TRADE_RETCODE_INVALID_FILL, id="boc-on-market"),
    pytest.param({"type_filling": 7}, c.TRADE_RETCODE_INVALID_FILL, id="unknown-filling"),
    pytest.param({"symbol": "NOPE"}, c.TRADE_RETCODE_INVALID, id="unknown-symbol"),
    pytest.param({"symbol": ""}, c.TRADE_RETCODE_INVALID, id="missing-symbol"),
    pytest.param({"action": 99}, c.TRADE_RETCODE_INVALID, id="unknown-action"),
    pytest.param(
        {"type": c.ORDER_TYPE_BUY_LIMIT}, c.TRADE_RETCODE_INVALID_ORDER, id="pending-type-at-market"
    ),
    pytest.param({"position": 424242}, c.TRADE_RETCODE_POSITION_CLOSED, id="unknown-position"),
]


@pytest.mark.parametrize(("fields", "retcode"), BAD_MARKET_REQUESTS)
def test_bad_market_request_gets_mt5_retcode(broker: Broker, fields: dict[str, object], retcode: int) -> None:
    request = {"action": c.TRADE_ACTION_DEAL, "symbol": "EURUSD", "type": c.ORDER_TYPE_BUY, "volume": 0.1}
    result = broker.send(HEDGING_USD, {**request, **fields})
    assert result.retcode == retcode
    assert (result.deal, result.order) == (0, 0)
    assert broker.positions(HEDGING_USD) == []


def test_filling_policy_must_be_one_the_symbol_allows(clock: ManualClock) -> None:
    fok_only = dataclasses.replace(
        DEFAULT_SYMBOLS["EURUSD"], name="EURUSD.fok", filling_mode=c.SYMBOL_FILLING_FOK
    )
    market = Market({**DEFAULT_SYMBOLS, fok_only.name: fok_only}, seed=3, clock=clock)
    broker = Broker(market)
    fills = {
        policy: market_order(
            broker, HEDGING_USD, "EURUSD.fok", c.ORDER_TYPE_BUY, 0.1, type_filling=policy
        ).retcode
        for policy in (c.ORDER_FILLING_FOK, c.ORDER_FILLING_IOC, c.ORDER_FILLING_RETURN)
    }
    assert fills == {
        c.ORDER_FILLING_FOK: c.TRADE_RETCODE_DONE,
        c.ORDER_FILLING_IOC: c.TRADE_RETCODE_INVALID_FILL,
        c.ORDER_FILLING_RETURN: c.TRADE_RETCODE_DONE,
    }
    broker.close()


def test_stops_on_the_wrong_side_or_inside_the_stops_level_are_invalid(
    broker: Broker, market: Market
) -> None:
    eurusd = market.last_tick("EURUSD")
    us30 = market.last_tick("US30")
    wrong_side_sl = market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY, 0.1, sl=eurusd.bid + 0.001)
    wrong_side_tp = market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_SELL, 0.1, tp=eurusd.ask + 0.001)
    # US30 has a stops level of 10 points (0.10): an SL 5 points under the bid is too close.
    too_close = market_order(broker, HEDGING_USD, "US30", c.ORDER_TYPE_BUY, 0.1, sl=round(us30.bid - 0.05, 2))
    far_enough = market_order(
        broker, HEDGING_USD, "US30", c.ORDER_TYPE_BUY, 0.1, sl=round(us30.bid - 0.10, 2)
    )
    assert wrong_side_sl.retcode == c.TRADE_RETCODE_INVALID_STOPS
    assert wrong_side_sl.comment == "Invalid stops"
    assert wrong_side_tp.retcode == c.TRADE_RETCODE_INVALID_STOPS
    assert too_close.retcode == c.TRADE_RETCODE_INVALID_STOPS
    assert far_enough.retcode == c.TRADE_RETCODE_DONE


def test_pending_price_on_the_wrong_side_or_zero_is_invalid(broker: Broker, market: Market) -> None:
    tick = market.last_tick("EURUSD")
    above_ask = pending_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY_LIMIT, 0.1, tick.ask + 0.001)
    zero = pending_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_SELL_LIMIT, 0.1, 0.0)
    sell_stop_above = pending_order(
        broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_SELL_STOP, 0.1, tick.bid + 0.001
    )
    stoplimit_above_stop = pending_order(
        broker,
        HEDGING_USD,
        "EURUSD",
        c.ORDER_TYPE_BUY_STOP_LIMIT,
        0.1,
        tick.ask + 0.002,
        stoplimit=tick.ask + 0.003,
    )
    results = (above_ask, zero, sell_stop_above, stoplimit_above_stop)
    assert [r.retcode for r in results] == [c.TRADE_RETCODE_INVALID_PRICE] * 4
    assert broker.orders(HEDGING_USD) == []


def test_not_enough_margin_is_no_money(broker: Broker) -> None:
    # 10 lots of EURUSD at 1:500 need 2000 EUR of margin; the account holds 1000 USD.
    result = market_order(broker, SMALL_USD, "EURUSD", c.ORDER_TYPE_BUY, 10.0)
    assert (result.retcode, result.comment) == (c.TRADE_RETCODE_NO_MONEY, "No money")
    assert market_order(broker, SMALL_USD, "EURUSD", c.ORDER_TYPE_BUY, 1.0).retcode == c.TRADE_RETCODE_DONE


def test_closed_market_answers_market_closed(broker: Broker, clock: ManualClock) -> None:
    # Indices pause an hour at the rollover (00:00-01:00 server time); forex trades through it.
    clock.set_msc(int(datetime(2024, 1, 9, 0, 30, tzinfo=UTC).timestamp() * 1000))
    assert (
        market_order(broker, HEDGING_USD, "US30", c.ORDER_TYPE_BUY, 0.1).retcode
        == c.TRADE_RETCODE_MARKET_CLOSED
    )
    assert market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY, 0.1).retcode == c.TRADE_RETCODE_DONE
    clock.set_msc(int(datetime(2024, 1, 13, 12, 0, tzinfo=UTC).timestamp() * 1000))  # a Saturday
    assert (
        market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY, 0.1).retcode
        == c.TRADE_RETCODE_MARKET_CLOSED
    )


def test_autotrading_off_refuses_every_request(broker: Broker) -> None:
    request = {"action": c.TRADE_ACTION_DEAL, "symbol": "EURUSD", "type": c.ORDER_TYPE_BUY, "volume": 0.1}
    result = broker.send(HEDGING_USD, request, autotrading=False)
    assert (result.retcode, result.comment) == (
        c.TRADE_RETCODE_CLIENT_DISABLES_AT,
        "AutoTrading disabled by client",
    )
    assert broker.positions(HEDGING_USD) == []


def test_price_beyond_deviation_is_requoted_with_current_prices(broker: Broker, market: Market) -> None:
    tick = market.last_tick("EURUSD")
    stale = tick.ask - 0.0005  # 50 points away
    requote = market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY, 0.1, price=stale, deviation=20)
    accepted = market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY, 0.1, price=stale, deviation=60)
    assert (requote.retcode, requote.bid, requote.ask) == (c.TRADE_RETCODE_REQUOTE, tick.bid, tick.ask)
    assert accepted.retcode == c.TRADE_RETCODE_DONE
    assert accepted.price == tick.ask


def test_requote_rate_requotes_that_share_of_market_orders(broker: Broker) -> None:
    broker.requote_rate = 0.5
    retcodes = [
        market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY, 0.01).retcode for _ in range(60)
    ]
    requotes = retcodes.count(c.TRADE_RETCODE_REQUOTE)
    assert set(retcodes) == {c.TRADE_RETCODE_REQUOTE, c.TRADE_RETCODE_DONE}
    assert 15 <= requotes <= 45
    broker.requote_rate = 1.0
    assert (
        market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY, 0.01).retcode == c.TRADE_RETCODE_REQUOTE
    )


def test_pending_order_is_placed_modified_and_removed(broker: Broker, market: Market) -> None:
    tick = market.last_tick("EURUSD")
    price = round(tick.ask - 0.0050, 5)
    placed = pending_order(
        broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY_LIMIT, 0.3, price, sl=price - 0.002, magic=7
    )
    assert (placed.retcode, placed.comment) == (c.TRADE_RETCODE_PLACED, "Request executed")
    (order,) = broker.orders(HEDGING_USD)
    assert (order.ticket, order.state, order.price_open, order.volume_current, order.magic) == (
        placed.order,
        c.ORDER_STATE_PLACED,
        price,
        0.3,
        7,
    )
    assert order.price_current == tick.ask

    new_price = round(price - 0.0010, 5)
    modify = {
        "action": c.TRADE_ACTION_MODIFY,
        "order": placed.order,
        "price": new_price,
        "tp": new_price + 0.003,
    }
    assert broker.send(HEDGING_USD, modify).retcode == c.TRADE_RETCODE_DONE
    assert broker.send(HEDGING_USD, modify).retcode == c.TRADE_RETCODE_NO_CHANGES
    (order,) = broker.orders(HEDGING_USD)
    assert (order.price_open, order.sl, order.tp) == (new_price, 0.0, round(new_price + 0.003, 5))
    bad_modify = {**modify, "price": tick.ask + 0.001}
    assert broker.send(HEDGING_USD, bad_modify).retcode == c.TRADE_RETCODE_INVALID_PRICE

    remove = {"action": c.TRADE_ACTION_REMOVE, "order": placed.order}
    assert broker.send(HEDGING_USD, remove).retcode == c.TRADE_RETCODE_DONE
    assert broker.send(HEDGING_USD, remove).retcode == c.TRADE_RETCODE_INVALID_ORDER
    assert broker.orders(HEDGING_USD) == []
    (history,) = broker.history_orders(HEDGING_USD, *ALL_TIME)
    assert (history.ticket, history.state) == (placed.order, c.ORDER_STATE_CANCELED)


def test_sltp_sets_and_checks_position_stops(broker: Broker, market: Market) -> None:
    tick = market.last_tick("GBPUSD")
    opened = market_order(broker, HEDGING_USD, "GBPUSD", c.ORDER_TYPE_SELL, 0.2)
    sl, tp = round(tick.ask + 0.0040, 5), round(tick.ask - 0.0060, 5)
    request = {
        "action": c.TRADE_ACTION_SLTP,
        "symbol": "GBPUSD",
        "position": opened.order,
        "sl": sl,
        "tp": tp,
    }
    assert broker.send(HEDGING_USD, request).retcode == c.TRADE_RETCODE_DONE
    (position,) = broker.positions(HEDGING_USD)
    assert (position.sl, position.tp) == (sl, tp)
    swapped = {**request, "sl": tp, "tp": sl}
    assert broker.send(HEDGING_USD, swapped).retcode == c.TRADE_RETCODE_INVALID_STOPS
    unknown = {**request, "position": 1}
    assert broker.send(HEDGING_USD, unknown).retcode == c.TRADE_RETCODE_POSITION_CLOSED


def test_partial_close_leaves_the_rest_and_books_the_profit(
    broker: Broker, market: Market, clock: ManualClock
) -> None:
    opened = market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY, 1.0)
    clock.advance(90)
    tick = market.last_tick("EURUSD")
    too_much = market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_SELL, 1.5, position=opened.order)
    assert too_much.retcode == c.TRADE_RETCODE_INVALID_CLOSE_VOLUME
    same_side = market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY, 0.4, position=opened.order)
    assert same_side.retcode == c.TRADE_RETCODE_INVALID

    closed = market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_SELL, 0.4, position=opened.order)

    assert (closed.retcode, closed.price) == (c.TRADE_RETCODE_DONE, tick.bid)
    (position,) = broker.positions(HEDGING_USD)
    assert (position.ticket, position.volume) == (opened.order, pytest.approx(0.6))
    deal = broker.history_deals(HEDGING_USD, *ALL_TIME)[-1]
    expected_profit = round((tick.bid - opened.price) * 0.4 * 100_000, 2)
    assert (deal.entry, deal.volume, deal.position_id) == (c.DEAL_ENTRY_OUT, 0.4, opened.order)
    assert deal.profit == pytest.approx(expected_profit)
    info = broker.account_info(HEDGING_USD)
    assert info is not None and info.balance == pytest.approx(100_000 + expected_profit)


def test_close_by_nets_two_opposite_positions(broker: Broker, market: Market, clock: ManualClock) -> None:
    buy = market_order(broker, HEDGING_USD, "XAUUSD", c.ORDER_TYPE_BUY, 0.3)
    clock.advance(300)
    sell = market_order(broker, HEDGING_USD, "XAUUSD", c.ORDER_TYPE_SELL, 0.1)
    assert buy.retcode == sell.retcode == c.TRADE_RETCODE_DONE
    request = {"action": c.TRADE_ACTION_CLOSE_BY, "position": buy.order, "position_by": sell.order}

    result = broker.send(HEDGING_USD, request)

    assert result.retcode == c.TRADE_RETCODE_DONE
    (left,) = broker.positions(HEDGING_USD)
    assert (left.ticket, left.volume, left.type) == (buy.order, pytest.approx(0.2), c.POSITION_TYPE_BUY)
    out_by = [d for d in broker.history_deals(HEDGING_USD, *ALL_TIME) if d.entry == c.DEAL_ENTRY_OUT_BY]
    assert {d.position_id for d in out_by} == {buy.order, sell.order}
    assert all(d.order == result.order and d.volume == 0.1 for d in out_by)
    expected = round((sell.price - buy.price) * 0.1 * 100, 2)
    assert sum(d.profit for d in out_by) == pytest.approx(expected)
    close_by_order = next(
        o for o in broker.history_orders(HEDGING_USD, *ALL_TIME) if o.ticket == result.order
    )
    assert (close_by_order.type, close_by_order.position_by_id) == (c.ORDER_TYPE_CLOSE_BY, sell.order)
    info = broker.account_info(HEDGING_USD)
    assert info is not None and info.balance == pytest.approx(100_000 + expected)
    assert broker.send(HEDGING_USD, request).retcode == c.TRADE_RETCODE_POSITION_CLOSED  # the sell is gone


def test_netting_adds_reduces_and_reverses_one_position(
    broker: Broker, market: Market, clock: ManualClock
) -> None:
    first = market_order(broker, NETTING_USD, "EURUSD", c.ORDER_TYPE_BUY, 0.5)
    clock.advance(60)
    added = market_order(broker, NETTING_USD, "EURUSD", c.ORDER_TYPE_BUY, 0.5)
    (position,) = broker.positions(NETTING_USD)
    assert (position.ticket, position.volume) == (first.order, pytest.approx(1.0))
    assert position.price_open == pytest.approx((first.price + added.price) / 2)
    average = position.price_open

    clock.advance(60)
    reduced = market_order(broker, NETTING_USD, "EURUSD", c.ORDER_TYPE_SELL, 0.3)
    clock.advance(60)
    reversed_ = market_order(broker, NETTING_USD, "EURUSD", c.ORDER_TYPE_SELL, 1.2)

    (position,) = broker.positions(NETTING_USD)
    assert (position.ticket, position.identifier, position.type) == (
        first.order,
        first.order,
        c.POSITION_TYPE_SELL,
    )
    assert (position.volume, position.price_open) == (pytest.approx(0.5), reversed_.price)
    deals = broker.history_deals(NETTING_USD, *ALL_TIME)
    entries = [d.entry for d in deals if d.type != c.DEAL_TYPE_BALANCE]
    assert entries == [c.DEAL_ENTRY_IN, c.DEAL_ENTRY_IN, c.DEAL_ENTRY_OUT, c.DEAL_ENTRY_INOUT]
    assert deals[-2].profit == pytest.approx(round((reduced.price - average) * 0.3 * 100_000, 2))
    assert deals[-1].profit == pytest.approx(round((reversed_.price - average) * 0.7 * 100_000, 2))
    assert broker.send(NETTING_USD, {"action": c.TRADE_ACTION_CLOSE_BY, "position": first.order}).retcode == (
        c.TRADE_RETCODE_INVALID
    )


def test_order_check_reports_the_account_after_the_trade(broker: Broker, market: Market) -> None:
    request = {"action": c.TRADE_ACTION_DEAL, "symbol": "USDJPY", "type": c.ORDER_TYPE_BUY, "volume": 2.0}
    result = broker.check(HEDGING_USD, request)
    # USDJPY margin is in USD: 2 lots x 100 000 / 100.
    assert (result.retcode, result.comment, result.margin) == (0, "Done", 2000.0)
    assert (result.balance, result.equity, result.margin_free) == (100_000.0, 100_000.0, 98_000.0)
    assert result.margin_level == pytest.approx(5000.0)
    assert broker.positions(HEDGING_USD) == []
    too_big = broker.check(SMALL_USD, {**request, "volume": 10.0})
    assert (too_big.retcode, too_big.comment) == (c.TRADE_RETCODE_NO_MONEY, "No money")
