"""Orders, positions and history through the drop-in; triggers as the clock moves; persistence."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.terminal import ClockSpec, SimConfig, SimTerminal
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.records import OrderCheckResult, OrderSendResult, TradeRequest

from .terminal_fixtures import SEED, START, START_MSC, clock_fixture, mt5_fixture  # noqa: F401

AHEAD = timedelta(hours=2)


def _market_buy(mt5: ModuleType, symbol: str, volume: float = 0.1, **extra: object) -> OrderSendResult:
    tick = mt5.symbol_info_tick(symbol)
    request = {
        "action": mt5.TRADE_ACTION_DEAL,
        "symbol": symbol,
        "volume": volume,
        "type": mt5.ORDER_TYPE_BUY,
        "price": tick.ask,
        "deviation": 20,
        "type_filling": mt5.ORDER_FILLING_IOC,
        **extra,
    }
    result = mt5.order_send(request)
    assert result is not None, mt5.last_error()
    return result


def _future_ticks(symbol: str) -> np.ndarray:
    """The ticks of the next ``AHEAD``: the market is a pure function of seed and time."""
    seer = SimTerminal(
        SimConfig(
            seed=SEED,
            clock=ClockSpec(manual=True, origin_msc=START_MSC + int(AHEAD.total_seconds() * 1000)),
            db_path=":memory:",
        )
    )
    assert seer.initialize()
    ticks = seer.copy_ticks_range(symbol, START, START + AHEAD, c.COPY_TICKS_ALL)
    seer.close()
    assert ticks is not None and len(ticks) > 0
    return ticks


def test_market_buy_opens_a_position(mt5: ModuleType) -> None:
    result = _market_buy(mt5, "EURUSD", magic=7, comment="t1")
    assert result.retcode == c.TRADE_RETCODE_DONE
    assert result.deal > 0 and result.order > 0 and result.volume == pytest.approx(0.1)
    assert isinstance(result.request, TradeRequest) and result.request.magic == 7
    assert mt5.last_error() == (1, "Success")
    (position,) = mt5.positions_get(symbol="EURUSD")
    assert position.ticket == result.order and position.type == c.POSITION_TYPE_BUY
    assert position.comment == "t1" and position.magic == 7
    assert mt5.positions_total() == 1
    assert mt5.positions_get(ticket=position.ticket) == (position,)
    assert mt5.positions_get(group="*USD*,!EUR*") == ()
    assert mt5.positions_get(symbol="GBPUSD") == ()


def test_order_check_reports_margin(mt5: ModuleType) -> None:
    tick = mt5.symbol_info_tick("EURUSD")
    check = mt5.order_check(
        {
            "action": c.TRADE_ACTION_DEAL,
            "symbol": "EURUSD",
            "volume": 1.0,
            "type": c.ORDER_TYPE_BUY,
            "price": tick.ask,
        }
    )
    assert isinstance(check, OrderCheckResult)
    assert check.retcode == 0
    assert check.margin == pytest.approx(
        mt5.order_calc_margin(c.ORDER_TYPE_BUY, "EURUSD", 1.0, tick.ask), rel=1e-6
    )
    assert check.margin_free < mt5.account_info().margin_free


def test_broker_retcodes_come_back_in_the_result(mt5: ModuleType) -> None:
    assert _market_buy(mt5, "EURUSD", volume=0.001).retcode == c.TRADE_RETCODE_INVALID_VOLUME
    assert _market_buy(mt5, "EURUSD", volume=100_000.0).retcode in (
        c.TRADE_RETCODE_INVALID_VOLUME,
        c.TRADE_RETCODE_NO_MONEY,
    )


def test_modify_and_close_position_then_history(mt5: ModuleType, clock: ManualClock) -> None:
    opened = _market_buy(mt5, "EURUSD")
    tick = mt5.symbol_info_tick("EURUSD")
    sltp = mt5.order_send(
        {
            "action": c.TRADE_ACTION_SLTP,
            "symbol": "EURUSD",
            "position": opened.order,
            "sl": round(tick.bid - 0.01, 5),
            "tp": round(tick.bid + 0.01, 5),
        }
    )
    assert sltp.retcode == c.TRADE_RETCODE_DONE
    assert mt5.positions_get(ticket=opened.order)[0].sl == pytest.approx(round(tick.bid - 0.01, 5))
    clock.advance(60)
    tick = mt5.symbol_info_tick("EURUSD")
    closed = mt5.order_send(
        {
            "action": c.TRADE_ACTION_DEAL,
            "symbol": "EURUSD",
            "volume": 0.1,
            "type": c.ORDER_TYPE_SELL,
            "position": opened.order,
            "price": tick.bid,
            "type_filling": c.ORDER_FILLING_IOC,
        }
    )
    assert closed.retcode == c.TRADE_RETCODE_DONE
    assert mt5.positions_total() == 0

    date_from, date_to = START - timedelta(days=1), START + timedelta(days=1)
    deals = mt5.history_deals_get(date_from, date_to)
    assert mt5.history_deals_total(date_from, date_to) == len(deals)
    trades = mt5.history_deals_get(date_from, date_to, group="*USD*")
    assert [d.entry for d in trades] == [c.DEAL_ENTRY_IN, c.DEAL_ENTRY_OUT]
    assert mt5.history_deals_get(date_from, date_to, group="GBP*") == ()
    assert mt5.history_deals_get(position=opened.order) == trades
    assert mt5.history_deals_get(ticket=closed.order) == (trades[1],)
    orders = mt5.history_orders_get(date_from, date_to, group="EUR*")
    assert {o.ticket for o in orders} == {opened.order, closed.order}
    assert mt5.history_orders_total(date_from, date_to) == len(orders)
    assert mt5.history_orders_get(ticket=opened.order)[0].ticket == opened.order
    assert len(mt5.history_orders_get(position=opened.order)) == 2
    # without dates, only a ticket or a position will do
    assert mt5.history_deals_get() is None
    assert mt5.last_error() == (-2, "Invalid arguments")
    assert mt5.history_orders_get(date_from) is None
    assert mt5.history_orders_get(date_from, ticket=opened.order) is None
    assert mt5.last_error() == (-2, "Unnamed arguments not allowed")


def test_pending_order_lifecycle(mt5: ModuleType) -> None:
    tick = mt5.symbol_info_tick("EURUSD")
    placed = mt5.order_send(
        {
            "action": c.TRADE_ACTION_PENDING,
            "symbol": "EURUSD",
            "volume": 0.1,
            "type": c.ORDER_TYPE_BUY_LIMIT,
            "price": round(tick.ask - 0.01, 5),
            "type_filling": c.ORDER_FILLING_RETURN,
        }
    )
    assert placed.retcode == c.TRADE_RETCODE_PLACED
    assert mt5.orders_total() == 1
    assert mt5.orders_get(ticket=placed.order)[0].price_open == pytest.approx(round(tick.ask - 0.01, 5))
    assert mt5.orders_get(group="*JPY*") == ()
    modified = mt5.order_send(
        {"action": c.TRADE_ACTION_MODIFY, "order": placed.order, "price": round(tick.ask - 0.02, 5)}
    )
    assert modified.retcode == c.TRADE_RETCODE_DONE
    assert mt5.orders_get(symbol="EURUSD")[0].price_open == pytest.approx(round(tick.ask - 0.02, 5))
    removed = mt5.order_send({"action": c.TRADE_ACTION_REMOVE, "order": placed.order})
    assert removed.retcode == c.TRADE_RETCODE_DONE
    assert mt5.orders_get() == ()


def test_pending_order_fills_when_the_clock_passes_its_price(mt5: ModuleType, clock: ManualClock) -> None:
    ticks = _future_ticks("EURUSD")
    now_ask = mt5.symbol_info_tick("EURUSD").ask
    lowest_ask = float(ticks["ask"].min())
    assert lowest_ask < now_ask - 0.0003, "the seed's path must dip to test a buy limit"
    limit = round(lowest_ask + 0.0001, 5)
    placed = mt5.order_send(
        {
            "action": c.TRADE_ACTION_PENDING,
            "symbol": "EURUSD",
            "volume": 0.1,
            "type": c.ORDER_TYPE_BUY_LIMIT,
            "price": limit,
        }
    )
    assert placed.retcode == c.TRADE_RETCODE_PLACED
    clock.advance(AHEAD.total_seconds())
    assert mt5.orders_total() == 0
    (position,) = mt5.positions_get()
    assert position.price_open <= limit + 1e-9
    (order,) = mt5.history_orders_get(ticket=placed.order)
    assert order.state == c.ORDER_STATE_FILLED


def test_stop_loss_closes_when_the_clock_passes_it(mt5: ModuleType, clock: ManualClock) -> None:
    ticks = _future_ticks("EURUSD")
    now_bid = mt5.symbol_info_tick("EURUSD").bid
    lowest_bid = float(ticks["bid"].min())
    assert lowest_bid < now_bid - 0.0003, "the seed's path must dip to test a stop loss"
    stop = round(lowest_bid + 0.0001, 5)
    opened = _market_buy(mt5, "EURUSD", sl=stop)
    assert opened.retcode == c.TRADE_RETCODE_DONE
    clock.advance(AHEAD.total_seconds())
    assert mt5.positions_total() == 0
    deals = mt5.history_deals_get(position=opened.order)
    assert deals[-1].entry == c.DEAL_ENTRY_OUT and deals[-1].reason == c.DEAL_REASON_SL
    assert deals[-1].price <= stop + 1e-9


def test_positions_survive_a_terminal_restart(tmp_path: Path) -> None:
    config = SimConfig(
        seed=SEED, clock=ClockSpec(manual=True, origin_msc=START_MSC), db_path=str(tmp_path / "broker.db")
    )
    first = SimTerminal(config)
    assert first.initialize(login=5000001, password="demo1")
    tick = first.symbol_info_tick("EURUSD")
    opened = first.order_send(
        {
            "action": c.TRADE_ACTION_DEAL,
            "symbol": "EURUSD",
            "volume": 0.2,
            "type": c.ORDER_TYPE_BUY,
            "price": tick.ask,
        }
    )
    assert opened.retcode == c.TRADE_RETCODE_DONE
    first.close()

    second = SimTerminal(config)
    assert second.initialize(login=5000001, password="demo1")
    (position,) = second.positions_get()
    assert (position.ticket, position.volume) == (opened.order, pytest.approx(0.2))
    second.close()


def test_a_symbol_in_use_cannot_be_hidden(mt5: ModuleType) -> None:
    _market_buy(mt5, "EURUSD")
    assert mt5.symbol_select("EURUSD", False) is False
    assert mt5.last_error() == (-1, "Terminal: Call failed")
    assert mt5.symbol_info("EURUSD").visible


@pytest.mark.parametrize("symbol", ["EURJPY", "CADCHF", "GER40", "JP225", "SOLUSD"])
def test_any_catalogue_symbol_can_be_selected_charted_and_traded(mt5: ModuleType, symbol: str) -> None:
    assert mt5.symbol_select(symbol, True)
    info = mt5.symbol_info(symbol)
    assert info.select and info.visible
    assert len(mt5.copy_rates_from_pos(symbol, mt5.TIMEFRAME_M1, 0, 60)) == 60
    result = _market_buy(mt5, symbol, info.volume_min)
    assert result.retcode == mt5.TRADE_RETCODE_DONE, result
    [position] = mt5.positions_get(symbol=symbol)
    # margin and profit in the account's USD, converted through the catalogue's USD pairs
    margin = mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, symbol, info.volume_min, result.price)
    assert margin is not None and margin > 0
    assert mt5.account_info().margin == pytest.approx(margin, rel=0.01)
    assert position.profit == pytest.approx(
        mt5.order_calc_profit(mt5.ORDER_TYPE_BUY, symbol, info.volume_min, result.price, info.bid), abs=0.02
    )
