"""SimTerminal call costs (medians) against a plain baseline measured in the same run.

Targets (issue 2): symbol_info_tick <= 20 us; copy_rates_from_pos of 100,000 M1 bars cold <= 20 ms
and warm <= 5 ms; copy_ticks_range of a full EURUSD day <= 50 ms; a market order_send <= 300 us.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from bench._util import Timing, print_table, time_calls
from mt5gateway.sim.terminal import ClockSpec, SimConfig, SimTerminal
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.dtypes import RATES_DTYPE, TICKS_DTYPE

BARS = 100_000
DAY_START = datetime(2024, 1, 9, tzinfo=UTC)  # a Tuesday: EURUSD trades all day
DAY_END = datetime(2024, 1, 9, 23, 59, 59, tzinfo=UTC)
# A running clock from a Wednesday noon, markets open as on a trading day; half a minute in, so
# the live minute already has ticks (just after a minute turns the market takes a slower path).
CLOCK = ClockSpec(origin_msc=int(datetime(2024, 1, 10, 12, 0, 30, tzinfo=UTC).timestamp() * 1000))
NETTING_LOGIN = 5000002  # buys and sells offset each other, so positions do not pile up
NETTING_PASSWORD = "demo2"


def _terminal(login: int | None = None, password: str | None = None) -> SimTerminal:
    terminal = SimTerminal(SimConfig(seed=1, clock=CLOCK, db_path=":memory:"))
    credentials = {} if login is None else {"login": login, "password": password}
    if not terminal.initialize(**credentials):
        raise RuntimeError(f"initialize failed: {terminal.last_error()}")
    return terminal


def _row(measure: str, timing: Timing, target_s: float, baseline: Timing) -> tuple[str, str, str, str]:
    value = timing.median
    ratio = value / baseline.median if baseline.median else float("inf")
    return (
        measure,
        f"{value * 1e6:,.1f} us ({ratio:,.1f}x baseline {baseline.median * 1e6:,.2f} us)",
        f"<= {target_s * 1e6:,.0f} us",
        "yes" if value <= target_s else "NO",
    )


def _cold_rates() -> Timing:
    """Each sample: a fresh terminal's first copy of 100,000 M1 bars (nothing cached yet)."""
    samples = []
    for _ in range(5):
        terminal = _terminal()
        timing = time_calls(
            lambda t=terminal: t.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, BARS), repeat=1, warmup=0
        )
        samples.extend(timing.samples)
        terminal.close()
    return Timing(samples)


def main() -> None:
    terminal = _terminal()
    quotes = {"EURUSD": (1.1, 1.1001)}
    dict_lookup = time_calls(lambda: quotes["EURUSD"], repeat=2000)
    tick = time_calls(lambda: terminal.symbol_info_tick("EURUSD"), repeat=2000, warmup=50)

    stored_rates = np.zeros(BARS * 2, dtype=RATES_DTYPE)
    rates_slice = time_calls(lambda: stored_rates[-BARS:].copy(), repeat=20)
    warm_rates = time_calls(
        lambda: terminal.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, BARS), repeat=20, warmup=2
    )
    cold_rates = _cold_rates()

    day_ticks = terminal.copy_ticks_range("EURUSD", DAY_START, DAY_END, c.COPY_TICKS_ALL)
    stored_ticks = np.zeros(len(day_ticks) * 2, dtype=TICKS_DTYPE)
    ticks_slice = time_calls(lambda: stored_ticks[: len(day_ticks)].copy(), repeat=20)
    ticks = time_calls(
        lambda: terminal.copy_ticks_range("EURUSD", DAY_START, DAY_END, c.COPY_TICKS_ALL), repeat=10
    )
    terminal.close()

    trader = _terminal(NETTING_LOGIN, NETTING_PASSWORD)
    sides = iter([c.ORDER_TYPE_BUY, c.ORDER_TYPE_SELL] * 1000)

    def market_order() -> object:
        request = {
            "action": c.TRADE_ACTION_DEAL,
            "symbol": "BTCUSD",
            "volume": 0.01,
            "type": next(sides),
            "type_filling": c.ORDER_FILLING_IOC,
        }
        result = trader.order_send(request)
        assert result is not None and result.retcode == c.TRADE_RETCODE_DONE, result
        return result

    def build_request() -> dict[str, object]:
        return {"action": c.TRADE_ACTION_DEAL, "symbol": "BTCUSD", "volume": 0.01, "type": c.ORDER_TYPE_BUY}

    request_baseline = time_calls(build_request, repeat=1000)
    send = time_calls(market_order, repeat=500, warmup=10)
    trader.close()

    print(f"EURUSD day: {len(day_ticks):,} ticks")
    print_table(
        [
            _row("symbol_info_tick", tick, 20e-6, dict_lookup),
            _row("copy_rates_from_pos 100k M1 cold", cold_rates, 20e-3, rates_slice),
            _row("copy_rates_from_pos 100k M1 warm", warm_rates, 5e-3, rates_slice),
            _row("copy_ticks_range EURUSD day", ticks, 50e-3, ticks_slice),
            _row("order_send market (BTCUSD)", send, 300e-6, request_baseline),
        ]
    )


if __name__ == "__main__":
    main()
