"""Connect, read the terminal and the account, switch accounts, disconnect.

Runs on a real terminal or, unchanged, on the simulator: ``mt5gateway sim-run examples/connection.py``.
"""

import sys

import MetaTrader5 as mt5

print("MetaTrader5 package author: ", mt5.__author__)
print("MetaTrader5 package version: ", mt5.__version__)

# establish connection to the MetaTrader 5 terminal
if not mt5.initialize():
    print("initialize() failed, error code =", mt5.last_error())
    sys.exit(1)

print("version:", mt5.version())

terminal_info = mt5.terminal_info()
if terminal_info is None:
    print("terminal_info() failed, error code =", mt5.last_error())
    sys.exit(1)
print(f"terminal: {terminal_info.name} build {terminal_info.build}, connected={terminal_info.connected}")
print("AutoTrading allowed:", terminal_info.trade_allowed)
for prop, value in terminal_info._asdict().items():
    print(f"  {prop}={value}")

account_info = mt5.account_info()
if account_info is None:
    print("account_info() failed, error code =", mt5.last_error())
    sys.exit(1)
print(f"account #{account_info.login} on {account_info.server}: {account_info.name}")
print(f"  balance={account_info.balance} {account_info.currency}, equity={account_info.equity}")
print(f"  leverage=1:{account_info.leverage}, margin_free={account_info.margin_free}")

# switch to another account of the same server (the simulator's demo accounts: 5000001..5000004)
other_login = 5000003
if mt5.login(other_login, password="demo3"):
    switched = mt5.account_info()
    print(f"switched to #{switched.login}: {switched.name}, {switched.balance} {switched.currency}")
else:
    print(f"failed to connect to account #{other_login}, error code =", mt5.last_error())
    sys.exit(1)

# a wrong password is refused with an authorization error
if not mt5.login(other_login, password="wrong"):
    print("login with a wrong password refused:", mt5.last_error())

# shut down connection to the MetaTrader 5 terminal
mt5.shutdown()
print("after shutdown, account_info() =", mt5.account_info(), mt5.last_error())
