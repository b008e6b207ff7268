"""Bars: copy_rates_from, copy_rates_from_pos and copy_rates_range.

``mt5gateway sim-run examples/rates.py`` runs it on the simulator.
"""

import sys
from datetime import UTC, datetime, timedelta

import MetaTrader5 as mt5

if not mt5.initialize():
    print("initialize() failed, error code =", mt5.last_error())
    sys.exit(1)

utc = UTC

# 10 H4 bars of EURUSD up to 10 January 2024 (UTC)
utc_from = datetime(2024, 1, 10, tzinfo=utc)
rates = mt5.copy_rates_from("EURUSD", mt5.TIMEFRAME_H4, utc_from, 10)
if rates is None:
    print("copy_rates_from() failed, error code =", mt5.last_error())
    sys.exit(1)
print("EURUSD H4 bars up to", utc_from, ":", len(rates))
for bar in rates:
    opened = datetime.fromtimestamp(int(bar["time"]), utc)
    print(
        f"  {opened:%Y-%m-%d %H:%M} O={bar['open']:.5f} H={bar['high']:.5f} L={bar['low']:.5f} C={bar['close']:.5f}"
    )

# the 5 newest M1 bars of GBPUSD, the current (forming) one last
rates = mt5.copy_rates_from_pos("GBPUSD", mt5.TIMEFRAME_M1, 0, 5)
print("GBPUSD newest M1 bars:")
for bar in rates:
    opened = datetime.fromtimestamp(int(bar["time"]), utc)
    print(f"  {opened:%Y-%m-%d %H:%M} close={bar['close']:.5f} ticks={bar['tick_volume']}")

# the D1 bars of XAUUSD over two weeks of 2024: no bars at weekends
date_from = datetime(2024, 3, 1, tzinfo=utc)
rates = mt5.copy_rates_range("XAUUSD", mt5.TIMEFRAME_D1, date_from, date_from + timedelta(days=14))
print("XAUUSD D1 bars from", date_from.date(), ":", len(rates))
for bar in rates:
    opened = datetime.fromtimestamp(int(bar["time"]), utc)
    print(f"  {opened:%a %Y-%m-%d} close={bar['close']:.2f}")

# a timeframe that does not exist is refused
print("copy_rates_from_pos with timeframe 7 =", mt5.copy_rates_from_pos("EURUSD", 7, 0, 10), mt5.last_error())

mt5.shutdown()
