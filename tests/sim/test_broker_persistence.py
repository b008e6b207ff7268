"""Broker state in its SQLite file: it outlives a restart and is shared by brokers on the same file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mt5gateway.sim.broker import DEFAULT_ACCOUNTS, AccountConfig, Broker
from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.market import Market
from mt5gateway.terminal import constants as c

from .broker_fixtures import (
    HEDGING_USD,
    NETTING_USD,
    broker_fixture,
    clock_fixture,
    market_fixture,
    market_order,
    pending_order,
)

__all__ = ["broker_fixture", "clock_fixture", "market_fixture"]

ALL_TIME = (0, 2**53)


def test_state_outlives_a_restart_on_the_same_file(
    market: Market, clock: ManualClock, tmp_path: Path
) -> None:
    db_path = str(tmp_path / "server.sqlite")
    broker = Broker(market, db_path=db_path)
    far_below = round(market.last_tick("EURUSD").ask - 0.05, 5)
    # Placed first, canceled last: the history stays in ticket order across the restart.
    canceled = pending_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY_LIMIT, 0.1, far_below)
    kept = market_order(broker, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY, 0.5, sl=1.0, magic=3)
    closed = market_order(broker, HEDGING_USD, "USDJPY", c.ORDER_TYPE_SELL, 0.2)
    clock.advance(60)
    market_order(broker, HEDGING_USD, "USDJPY", c.ORDER_TYPE_BUY, 0.2, position=closed.order)
    broker.send(HEDGING_USD, {"action": c.TRADE_ACTION_REMOVE, "order": canceled.order})
    pending = pending_order(broker, NETTING_USD, "EURUSD", c.ORDER_TYPE_BUY_LIMIT, 0.1, far_below)
    before = (
        broker.account_info(HEDGING_USD),
        broker.positions(HEDGING_USD),
        broker.orders(NETTING_USD),
        broker.history_orders(HEDGING_USD, *ALL_TIME),
        broker.history_deals(HEDGING_USD, *ALL_TIME),
    )
    broker.close()

    restarted = Broker(market, db_path=db_path)

    after = (
        restarted.account_info(HEDGING_USD),
        restarted.positions(HEDGING_USD),
        restarted.orders(NETTING_USD),
        restarted.history_orders(HEDGING_USD, *ALL_TIME),
        restarted.history_deals(HEDGING_USD, *ALL_TIME),
    )
    assert after == before
    (position,) = after[1]
    assert (position.ticket, position.sl, position.magic) == (kept.order, 1.0, 3)
    assert after[2][0].ticket == pending.order
    assert after[3][0].ticket == canceled.order
    assert [o.ticket for o in after[3]] == sorted(o.ticket for o in after[3])
    # Tickets keep counting from where they were.
    again = market_order(restarted, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY, 0.1)
    assert again.order > pending.order
    restarted.close()


def test_config_accounts_are_created_once_and_keep_their_balance(market: Market, tmp_path: Path) -> None:
    db_path = str(tmp_path / "server.sqlite")
    extra = AccountConfig(login=7000001, password="secret", balance=2500.0, currency="EUR")
    broker = Broker(market, db_path=db_path, accounts=[*DEFAULT_ACCOUNTS, extra])
    market_order(broker, 7000001, "EURUSD", c.ORDER_TYPE_BUY, 0.1)
    broker.close()

    restarted = Broker(market, db_path=db_path, accounts=[*DEFAULT_ACCOUNTS, extra])

    info = restarted.account_info(7000001)
    assert info is not None
    assert (info.balance, info.currency) == (2500.0, "EUR")
    assert len(restarted.positions(7000001)) == 1
    deposits = [d for d in restarted.history_deals(7000001, *ALL_TIME) if d.type == c.DEAL_TYPE_BALANCE]
    assert len(deposits) == 1
    restarted.close()


def test_two_brokers_on_one_file_see_each_others_trades(market: Market, tmp_path: Path) -> None:
    db_path = str(tmp_path / "server.sqlite")
    first = Broker(market, db_path=db_path)
    second = Broker(market, db_path=db_path)

    opened = market_order(first, HEDGING_USD, "EURUSD", c.ORDER_TYPE_BUY, 0.1)
    seen = second.positions(HEDGING_USD)
    closed = market_order(second, HEDGING_USD, "EURUSD", c.ORDER_TYPE_SELL, 0.1, position=opened.order)

    assert [p.ticket for p in seen] == [opened.order]
    assert closed.retcode == c.TRADE_RETCODE_DONE
    assert first.positions(HEDGING_USD) == []
    # One ticket counter for the server, whichever broker issues the ticket.
    assert closed.order > opened.deal
    first.close()
    second.close()


def test_accounts_log_in_with_their_password(broker: Broker) -> None:
    assert broker.authenticate(HEDGING_USD, "demo1")
    assert not broker.authenticate(HEDGING_USD, "wrong")
    assert not broker.authenticate(123, "demo1")
    assert broker.default_login() == HEDGING_USD
    assert broker.account_info(123) is None
    with pytest.raises(KeyError):
        broker.positions(123)


def test_deposit_is_a_balance_deal(broker: Broker) -> None:
    broker.deposit(NETTING_USD, 500.0)
    info = broker.account_info(NETTING_USD)
    assert info is not None and info.balance == 10_500.0
    last = broker.history_deals(NETTING_USD, *ALL_TIME)[-1]
    assert (last.type, last.profit, last.comment) == (c.DEAL_TYPE_BALANCE, 500.0, "Deposit")
