"""Ticks: copy_ticks_from and copy_ticks_range.

``mt5gateway sim-run examples/ticks.py`` runs it on the simulator.
"""

import sys
from datetime import UTC, datetime, timedelta

import MetaTrader5 as mt5

if not mt5.initialize():
    print("initialize() failed, error code =", mt5.last_error())
    sys.exit(1)

utc = UTC

# 1000 EURUSD ticks from 10 January 2024, 10:00 UTC
utc_from = datetime(2024, 1, 10, 10, tzinfo=utc)
ticks = mt5.copy_ticks_from("EURUSD", utc_from, 1000, mt5.COPY_TICKS_ALL)
if ticks is None:
    print("copy_ticks_from() failed, error code =", mt5.last_error())
    sys.exit(1)
print("EURUSD ticks received:", len(ticks))
for tick in ticks[:5]:
    at = datetime.fromtimestamp(tick["time_msc"] / 1000, utc)
    print(f"  {at:%H:%M:%S.%f} bid={tick['bid']:.5f} ask={tick['ask']:.5f} flags={tick['flags']}")

# one minute of USDJPY ticks
utc_to = utc_from + timedelta(minutes=1)
ticks = mt5.copy_ticks_range("USDJPY", utc_from, utc_to, mt5.COPY_TICKS_ALL)
print(f"USDJPY ticks from {utc_from:%H:%M} to {utc_to:%H:%M}:", len(ticks))
if len(ticks):
    spread = ticks["ask"] - ticks["bid"]
    print(f"  bid from {ticks['bid'].min():.3f} to {ticks['bid'].max():.3f}, mean spread {spread.mean():.4f}")

# an unknown flag value is refused
print("copy_ticks_from with flags=99 =", mt5.copy_ticks_from("EURUSD", utc_from, 10, 99), mt5.last_error())

mt5.shutdown()
