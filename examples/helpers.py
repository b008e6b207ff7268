"""The package's Buy, Sell and Close helpers, record copies, and the module's own argument checks.

BTCUSD trades 24/7, so this runs at any hour: ``mt5gateway sim-run examples/helpers.py``.
"""

import sys

import MetaTrader5 as mt5

if not mt5.initialize():
    print("initialize() failed, error code =", mt5.last_error())
    sys.exit(1)

account = mt5.account_info()
# login takes the password and the server by position too, and ignores keywords it does not know
if not mt5.login(account.login, "demo1", account.server, path="C:/MT5/terminal64.exe"):
    print("login() failed, error code =", mt5.last_error())
    sys.exit(1)

symbol = "BTCUSD"
bought = mt5.Buy(symbol, 0.01)  # at the current ask, sent again on a requote
print(f"Buy: retcode={bought.retcode} price={bought.price}")
sold = mt5.Sell(symbol, 0.02, comment="helpers example")
print(f"Sell: retcode={sold.retcode} price={sold.price}")

positions = mt5.positions_get(symbol=symbol)
copied = mt5.TradePosition(positions[0])  # a record type called with a record makes a copy
print(f"positions: {len(positions)}, copy of #{copied.ticket} equal: {copied == positions[0]}")

print("Close:", mt5.Close(symbol))  # True when every position of the symbol closed
print("positions left:", mt5.positions_total())

# The module checks types as the official one does: a volume must be a float, filters are keywords.
request = {"action": mt5.TRADE_ACTION_DEAL, "symbol": symbol, "volume": 1, "type": mt5.ORDER_TYPE_BUY}
print("int volume:", mt5.order_send(request), mt5.last_error())
print("positional symbol:", mt5.positions_get(symbol), mt5.last_error())

mt5.shutdown()
