"""The simulated trade server: accounts, orders, positions, deals, margin, swap, persistence.

Owns ``Broker`` (one per simulated server) and what it is made of: the in-memory model
(``_model``), the MT5 margin / profit / swap formulas with currency conversion (``_pricing``), the
request checks that give MT5's retcodes (``_rules``), the vectorised scan of the price path for
pending orders and SL/TP (``_triggers``) and the SQLite file that makes the state outlive a restart
(``_store``).

Default server ``SimBroker-Demo`` and its demo accounts (config may add or replace them):

======== ========= ======== ========= ========== ========
login    password  currency leverage  balance    mode
======== ========= ======== ========= ========== ========
5000001  demo1     USD      1:100     100 000    hedging
5000002  demo2     USD      1:100     10 000     netting
5000003  demo3     EUR      1:30      10 000     hedging
5000004  demo4     USD      1:500     1 000      hedging
======== ========= ======== ========= ========== ========

Conventions:

- Tickets: orders and deals share one increasing counter per server (from 100000), so a ticket
  names one thing; a position's ticket and identifier are its opening order's ticket.
- Requests from the API are ORDER_REASON_EXPERT / DEAL_REASON_EXPERT (as for the Python module);
  SL and TP closes are ORDER_REASON_SL/TP and DEAL_REASON_SL/TP.
- A stop-limit whose stop price is reached goes to the history as FILLED and a limit order (a new
  ticket) at its stoplimit price takes its place.
- A pending order that reaches its price without enough free margin is REJECTED.
- Account margin is the sum of the positions' margins at current prices (no hedged-margin
  discount); account profit includes swaps; stop out is reported (``margin_so_so``), not enforced.
- History times are epoch milliseconds: ``history_orders(login, from_msc, to_msc)`` selects by setup
  time, ``history_deals`` by deal time, both ends included. Read methods return everything of the
  login; the terminal applies the module's symbol / group / ticket / position filters.
- Swap is charged at 00:00 server time for each day a symbol traded (forex: triple on Wednesday night for
  the weekend; crypto: every night), converted at the prices current when the broker processes
  that midnight.
- Faults: ``broker.requote_rate`` (0..1, seeded) requotes that share of market orders;
  ``send(..., autotrading=False)`` answers TRADE_RETCODE_CLIENT_DISABLES_AT.
- Every call first processes the time since the last one (``process(now_msc)`` does only that).
  Several processes may open one file: each write takes SQLite's write lock and reloads the model
  when another process committed since (``PRAGMA data_version``).
"""

from __future__ import annotations

from ._broker import Broker, MarketView
from ._model import DEFAULT_ACCOUNTS, DEFAULT_SERVER, AccountConfig
from ._pricing import ConversionError

__all__ = ["DEFAULT_ACCOUNTS", "DEFAULT_SERVER", "AccountConfig", "Broker", "ConversionError", "MarketView"]
