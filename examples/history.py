"""Account history: orders and deals by dates, group, order ticket and position.

``mt5gateway sim-run examples/history.py`` runs it on the simulator. It makes a little history
first (a buy and its close on BTCUSD, which trades 24/7).
"""

import sys
from datetime import UTC, datetime, timedelta

import MetaTrader5 as mt5

if not mt5.initialize():
    print("initialize() failed, error code =", mt5.last_error())
    sys.exit(1)

symbol = "BTCUSD"
for order_type in (mt5.ORDER_TYPE_BUY, mt5.ORDER_TYPE_SELL):
    tick = mt5.symbol_info_tick(symbol)
    open_ticket = mt5.positions_get(symbol=symbol)[0].ticket if order_type == mt5.ORDER_TYPE_SELL else 0
    result = mt5.order_send(
        {
            "action": mt5.TRADE_ACTION_DEAL,
            "symbol": symbol,
            "volume": 0.01,
            "type": order_type,
            "price": tick.ask if order_type == mt5.ORDER_TYPE_BUY else tick.bid,
            "position": open_ticket,
            "type_filling": mt5.ORDER_FILLING_IOC,
        }
    )
    print(
        f"{'buy' if order_type == mt5.ORDER_TYPE_BUY else 'close'}: retcode={result.retcode} order={result.order}"
    )
position_id = result.request.position

utc = UTC
date_from = datetime(2020, 1, 1, tzinfo=utc)
date_to = datetime.now(utc) + timedelta(days=1)

print("history orders:", mt5.history_orders_total(date_from, date_to))
print("history deals:", mt5.history_deals_total(date_from, date_to))

deals = mt5.history_deals_get(date_from, date_to)
if deals is None:
    print("history_deals_get() failed, error code =", mt5.last_error())
    sys.exit(1)
for deal in deals:
    at = datetime.fromtimestamp(deal.time, utc)
    print(
        f"  deal #{deal.ticket} {at:%Y-%m-%d %H:%M:%S} type={deal.type} entry={deal.entry} {deal.symbol or '-'} profit={deal.profit}"
    )

# a group mask keeps the deals on matching symbols (the deposit, which has none, drops out)
print("deals on *BTC*:", len(mt5.history_deals_get(date_from, date_to, group="*BTC*")))
print("deals on *USD*,!BTC*:", len(mt5.history_deals_get(date_from, date_to, group="*USD*,!BTC*")))

print("deals of position", position_id, ":")
for deal in mt5.history_deals_get(position=position_id):
    print(f"  deal #{deal.ticket} order={deal.order} volume={deal.volume} price={deal.price}")

orders = mt5.history_orders_get(date_from, date_to, group="*BTC*")
print("history orders on *BTC*:", len(orders))
for order in orders:
    print(f"  order #{order.ticket} type={order.type} state={order.state} volume={order.volume_initial}")

first = orders[0].ticket
print(f"history_orders_get(ticket={first}):", mt5.history_orders_get(ticket=first)[0].ticket)
print(f"deals of order {first}:", [deal.ticket for deal in mt5.history_deals_get(ticket=first)])

# dates are required unless a ticket or a position is given
print("history_deals_get() without dates =", mt5.history_deals_get(), mt5.last_error())

mt5.shutdown()
