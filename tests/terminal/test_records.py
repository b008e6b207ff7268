"""Record types rebuilt from a record (as the official struct sequences are) and built by fields."""

from __future__ import annotations

import copy
import pickle
from types import ModuleType
from typing import Any

import pytest

from mt5gateway.terminal import constants as c
from mt5gateway.terminal.records import RECORD_TYPES, BookInfo, Tick, TradePosition, record_to_dict

from ..sim.terminal_fixtures import clock_fixture, mt5_fixture  # noqa: F401


def _one_of_each(mt5: ModuleType) -> dict[str, Any]:
    """A real record of every type, from the simulator."""
    tick = mt5.symbol_info_tick("EURUSD")
    request = {
        "action": c.TRADE_ACTION_DEAL,
        "symbol": "EURUSD",
        "volume": 0.1,
        "type": c.ORDER_TYPE_BUY,
        "price": tick.ask,
    }
    sent = mt5.order_send(request)
    pending = mt5.order_send(
        request | {"action": c.TRADE_ACTION_PENDING, "type": c.ORDER_TYPE_BUY_LIMIT, "price": tick.bid * 0.99}
    )
    assert sent.retcode == c.TRADE_RETCODE_DONE and pending.retcode == c.TRADE_RETCODE_PLACED
    assert mt5.market_book_add("EURUSD")
    records = {
        "AccountInfo": mt5.account_info(),
        "BookInfo": mt5.market_book_get("EURUSD")[0],
        "OrderCheckResult": mt5.order_check(request),
        "OrderSendResult": sent,
        "SymbolInfo": mt5.symbol_info("EURUSD"),
        "TerminalInfo": mt5.terminal_info(),
        "Tick": tick,
        "TradeDeal": mt5.history_deals_get(ticket=sent.order)[0],
        "TradeOrder": mt5.orders_get()[0],
        "TradePosition": mt5.positions_get()[0],
        "TradeRequest": sent.request,
    }
    assert set(records) == set(RECORD_TYPES)
    return records


def test_every_record_type_copies_a_record(mt5: ModuleType) -> None:
    for name, record in _one_of_each(mt5).items():
        record_type = getattr(mt5, name)
        assert record_type is RECORD_TYPES[name] and type(record) is record_type
        copied = record_type(record)
        assert copied == record and copied is not record and type(copied) is record_type
        assert copied._asdict() == record._asdict() and copied._fields == record._fields
        assert record_type(list(record)) == record  # any sequence of the right length
        assert pickle.loads(pickle.dumps(copied)) == record
        assert copy.copy(record) == record and record._replace() == record


def test_a_copy_behaves_as_a_named_tuple(mt5: ModuleType) -> None:
    records = _one_of_each(mt5)
    position = mt5.TradePosition(records["TradePosition"])
    assert position.ticket == records["TradePosition"].ticket and position.symbol == "EURUSD"
    ticket, *_ = position
    assert ticket == position.ticket and len(position) == 19
    result = mt5.OrderSendResult(records["OrderSendResult"])
    assert record_to_dict(result)["request"]["symbol"] == "EURUSD"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Tick((1, 2)), "Tick() takes a 8-sequence (2-sequence given)"),
        (lambda: BookInfo(range(5)), "BookInfo() takes a 4-sequence (5-sequence given)"),
        (lambda: TradePosition(7), "constructor requires a sequence"),
        (lambda: Tick(1, 1.1), "Tick() missing 6 required argument(s)"),
        (lambda: Tick(time=1, bid=1.1, ask=1.2), "Tick() missing 5 required argument(s)"),
        (lambda: BookInfo(1, volume=3, volume_dbl=3.0), "BookInfo() missing 1 required argument(s): 'price'"),
    ],
)
def test_wrong_sequences_and_missing_fields_are_refused(make: Any, message: str) -> None:
    with pytest.raises(TypeError) as raised:
        make()
    assert str(raised.value).startswith(message)


def test_records_are_still_built_by_fields() -> None:
    by_position = Tick(1, 1.1, 1.2, 0.0, 0, 1000, 6, 0.0)
    by_name = Tick(time=1, bid=1.1, ask=1.2, last=0.0, volume=0, time_msc=1000, flags=6, volume_real=0.0)
    assert by_position == by_name == Tick._make([1, 1.1, 1.2, 0.0, 0, 1000, 6, 0.0])
    assert by_name.ask == 1.2 and by_name._asdict()["time_msc"] == 1000
