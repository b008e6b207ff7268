"""Symbols: count, filter with a group mask, read a specification and a tick, select, market depth.

``mt5gateway sim-run examples/symbols.py`` runs it on the simulator.
"""

import sys

import MetaTrader5 as mt5

if not mt5.initialize():
    print("initialize() failed, error code =", mt5.last_error())
    sys.exit(1)

print("symbols total:", mt5.symbols_total())

# every symbol containing USD except those starting with EUR
usd_symbols = mt5.symbols_get(group="*USD*,!EUR*")
print("symbols with USD, not EUR...:", len(usd_symbols))
for info in usd_symbols:
    print(f"  {info.name:<8} {info.description}")

# the specification of one symbol
symbol = "EURUSD"
info = mt5.symbol_info(symbol)
if info is None:
    print(f"{symbol} not found, error code =", mt5.last_error())
    sys.exit(1)
print(f"{symbol}: digits={info.digits} point={info.point} spread={info.spread}")
print(
    f"  contract size={info.trade_contract_size} tick size={info.trade_tick_size} tick value={info.trade_tick_value}"
)
print(f"  volume min={info.volume_min} max={info.volume_max} step={info.volume_step}")
print(f"  stops level={info.trade_stops_level} swap long={info.swap_long} short={info.swap_short}")
print(f"  currencies: base={info.currency_base} profit={info.currency_profit} margin={info.currency_margin}")

# the last tick
tick = mt5.symbol_info_tick(symbol)
print(f"{symbol} last tick: bid={tick.bid} ask={tick.ask} time={tick.time}")

# an unknown symbol fails with "not found"
print("symbol_info('NOSUCH') =", mt5.symbol_info("NOSUCH"), mt5.last_error())

# hide a symbol from Market Watch and show it again
print("hide XAGUSD:", mt5.symbol_select("XAGUSD", False), "->", mt5.symbol_info("XAGUSD").visible)
print("show XAGUSD:", mt5.symbol_select("XAGUSD", True), "->", mt5.symbol_info("XAGUSD").visible)

# market depth: subscribe, read, unsubscribe
if mt5.market_book_add(symbol):
    book = mt5.market_book_get(symbol)
    print(f"{symbol} market depth, {len(book)} levels:")
    for level in book:
        side = "sell" if level.type == mt5.BOOK_TYPE_SELL else "buy "
        print(f"  {side} {level.price:.5f} x {level.volume_dbl:.2f}")
    mt5.market_book_release(symbol)
else:
    print("market_book_add() failed, error code =", mt5.last_error())
    sys.exit(1)

mt5.shutdown()
