"""Simulated broker figures against a bare SQLite baseline measured in the same run.

Target (issue 2): a market ``order_send`` <= 300 us median, persistence included (SQLite file in
WAL mode, ``synchronous=NORMAL``, one transaction per request). The baseline is the floor any
write-through design pays: one ``INSERT`` and ``COMMIT`` of one row on the same kind of file.
Also shown: the per-call ``process`` step when nothing is pending (the terminal runs it before
every API call), a scan of 100 pending orders over an hour of ticks, and ``account_info`` with about
a thousand open positions.
"""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench._util import Timing, print_table, time_calls
from mt5gateway.sim.broker import Broker
from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.market import Market
from mt5gateway.sim.symbols import DEFAULT_SYMBOLS
from mt5gateway.terminal import constants as c

# A Tuesday morning, away from a tick-chunk boundary: every symbol is open.
START_MSC = int(datetime(2024, 1, 9, 10, 0, 7, tzinfo=UTC).timestamp() * 1000)
LOGIN = 5000001
REPEAT = 2000
SEND_TARGET_US = 300.0


def _baseline_insert(folder: Path) -> Timing:
    conn = sqlite3.connect(folder / "baseline.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE deals (ticket INTEGER PRIMARY KEY, login INTEGER, price REAL, comment TEXT)")
    counter = iter(range(1, 10**9))

    def insert() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO deals VALUES (?, ?, ?, ?)", (next(counter), LOGIN, 1.1, ""))
        conn.execute("COMMIT")

    timing = time_calls(insert, REPEAT, warmup=50)
    conn.close()
    return timing


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} us"


def main() -> None:
    clock = ManualClock(START_MSC)
    market = Market(DEFAULT_SYMBOLS, seed=1, clock=clock)
    buy = {"action": c.TRADE_ACTION_DEAL, "symbol": "EURUSD", "type": c.ORDER_TYPE_BUY, "volume": 0.01}
    with tempfile.TemporaryDirectory() as folder:
        baseline = _baseline_insert(Path(folder))
        broker = Broker(market, db_path=str(Path(folder) / "broker.sqlite"))
        send = time_calls(lambda: broker.send(LOGIN, buy), REPEAT, warmup=50)
        tickets = iter([p.ticket for p in broker.positions(LOGIN)][: REPEAT // 2])

        def close_one() -> None:
            broker.send(LOGIN, {**buy, "type": c.ORDER_TYPE_SELL, "position": next(tickets)})

        close = time_calls(close_one, REPEAT // 2 - 10, warmup=10)
        open_positions = len(broker.positions(LOGIN))
        info = time_calls(lambda: broker.account_info(LOGIN), 500)
        idle = time_calls(lambda: broker.process(clock.advance(0.001)), REPEAT)
        broker.close()

        memory = Broker(market, db_path=":memory:")
        send_memory = time_calls(lambda: memory.send(LOGIN, buy), REPEAT, warmup=50)
        ask = market.last_tick("EURUSD").ask
        for step in range(100):
            level = round(ask - 0.02 - step * 0.0001, 5)  # far below: scanned, never filled
            memory.send(
                LOGIN,
                {**buy, "action": c.TRADE_ACTION_PENDING, "type": c.ORDER_TYPE_BUY_LIMIT, "price": level},
            )
        scan = time_calls(lambda: memory.process(clock.advance(3600)), 5)
        memory.close()

    send_us = send.median * 1e6
    baseline_us = baseline.median * 1e6
    print_table(
        [
            ("baseline: bare SQLite insert + commit (median)", _us(baseline.median), "-", "-"),
            ("baseline: bare SQLite insert + commit (p99)", _us(baseline.percentile(99)), "-", "-"),
            (
                "market order_send, open, SQLite file (median)",
                _us(send.median),
                f"<= {SEND_TARGET_US:.0f} us",
                "yes" if send_us <= SEND_TARGET_US else "NO",
            ),
            ("market order_send, open, SQLite file (p99)", _us(send.percentile(99)), "-", "-"),
            (
                "market order_send, close position, file (median)",
                _us(close.median),
                f"<= {SEND_TARGET_US:.0f} us",
                "yes" if close.median * 1e6 <= SEND_TARGET_US else "NO",
            ),
            ("market order_send, open, :memory: (median)", _us(send_memory.median), "-", "-"),
            ("order_send over baseline (file)", f"{send_us / baseline_us:.1f}x", "-", "-"),
            (f"account_info with {open_positions} positions (median)", _us(info.median), "-", "-"),
            ("process() with nothing pending (median)", _us(idle.median), "cheap", "-"),
            ("process() 100 pending orders x 1 h of ticks (median)", f"{scan.median * 1e3:.1f} ms", "-", "-"),
        ]
    )


if __name__ == "__main__":
    main()
