"""Orders and positions: margin and profit, check, buy, move SL/TP, close; a pending order's life.

BTCUSD trades 24/7, so this runs at any hour: ``mt5gateway sim-run examples/trading.py``.
"""

import sys

import MetaTrader5 as mt5

if not mt5.initialize():
    print("initialize() failed, error code =", mt5.last_error())
    sys.exit(1)

symbol = "BTCUSD"
lot = 0.1
info = mt5.symbol_info(symbol)
tick = mt5.symbol_info_tick(symbol)
print(f"{symbol} bid={tick.bid} ask={tick.ask}")

# margin and profit in the account currency
margin = mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, symbol, lot, tick.ask)
profit = mt5.order_calc_profit(mt5.ORDER_TYPE_BUY, symbol, lot, tick.ask, tick.ask * 1.01)
print(f"buy {lot} lot: margin={margin}, profit on a 1% rise={profit}")


def send(request):
    """Send a request; print and return its result (stop when the terminal does not answer)."""
    result = mt5.order_send(request)
    if result is None:
        print("order_send() failed, error code =", mt5.last_error())
        sys.exit(1)
    print(
        f"  retcode={result.retcode} ({result.comment}) order={result.order} deal={result.deal} price={result.price}"
    )
    return result


buy_request = {
    "action": mt5.TRADE_ACTION_DEAL,
    "symbol": symbol,
    "volume": lot,
    "type": mt5.ORDER_TYPE_BUY,
    "price": tick.ask,
    "sl": round(tick.ask * 0.98, info.digits),
    "tp": round(tick.ask * 1.02, info.digits),
    "deviation": 20,
    "magic": 234000,
    "comment": "python script open",
    "type_time": mt5.ORDER_TIME_GTC,
    "type_filling": mt5.ORDER_FILLING_IOC,
}

check = mt5.order_check(buy_request)
print(f"order_check: retcode={check.retcode} margin={check.margin} margin_free={check.margin_free}")

print("buy:")
result = send(buy_request)
if result.retcode != mt5.TRADE_RETCODE_DONE:
    sys.exit(1)
position_ticket = result.order

positions = mt5.positions_get(symbol=symbol)
print("open positions on", symbol, ":", len(positions))
for position in positions:
    print(
        f"  #{position.ticket} volume={position.volume} open={position.price_open} sl={position.sl} tp={position.tp}"
    )

print("move SL/TP:")
send(
    {
        "action": mt5.TRADE_ACTION_SLTP,
        "symbol": symbol,
        "position": position_ticket,
        "sl": round(tick.bid * 0.97, info.digits),
        "tp": round(tick.bid * 1.03, info.digits),
    }
)
print(
    "  now:", mt5.positions_get(ticket=position_ticket)[0].sl, mt5.positions_get(ticket=position_ticket)[0].tp
)

print("close:")
tick = mt5.symbol_info_tick(symbol)
send(
    {
        "action": mt5.TRADE_ACTION_DEAL,
        "symbol": symbol,
        "volume": lot,
        "type": mt5.ORDER_TYPE_SELL,
        "position": position_ticket,
        "price": tick.bid,
        "deviation": 20,
        "magic": 234000,
        "comment": "python script close",
        "type_filling": mt5.ORDER_FILLING_IOC,
    }
)
print("positions left:", mt5.positions_total())

print("place a buy limit 5% below the market:")
limit_price = round(tick.ask * 0.95, info.digits)
result = send(
    {
        "action": mt5.TRADE_ACTION_PENDING,
        "symbol": symbol,
        "volume": lot,
        "type": mt5.ORDER_TYPE_BUY_LIMIT,
        "price": limit_price,
        "type_time": mt5.ORDER_TIME_GTC,
        "type_filling": mt5.ORDER_FILLING_RETURN,
    }
)
order_ticket = result.order
for order in mt5.orders_get(symbol=symbol):
    print(f"  pending #{order.ticket} type={order.type} price={order.price_open}")

print("move it to 6% below:")
send(
    {
        "action": mt5.TRADE_ACTION_MODIFY,
        "order": order_ticket,
        "price": round(tick.ask * 0.94, info.digits),
        "type_time": mt5.ORDER_TIME_GTC,
    }
)
print("  now:", mt5.orders_get(ticket=order_ticket)[0].price_open)

print("remove it:")
send({"action": mt5.TRADE_ACTION_REMOVE, "order": order_ticket})
print("pending orders left:", mt5.orders_total())

# a request with a volume below the minimum gets the trade server's retcode
print("a volume below the minimum:")
send({**buy_request, "volume": info.volume_min / 10, "sl": 0.0, "tp": 0.0})

mt5.shutdown()
