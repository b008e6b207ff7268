"""The simulated market's speed: history requests cold and warm, a day of ticks, the live quote.

Targets (issue 2): 100,000 M1 bars by position in <= 20 ms from a fresh Market and <= 5 ms warm; a
whole EURUSD weekday of ticks in <= 50 ms; ``last_tick`` in <= 20 us. The baseline is a plain numpy
copy of the same 100,000 bars, the floor any answer that hands out a new array pays.

Generation throughput (issue 18: the market model may cost at most twice the old one): M1 bars and
ticks generated per CPU second from a fresh Market, over four weeks of each symbol class, beside the
speed of drawing as many standard normals (one per bar), which tracks how busy the machine is.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable

import numpy as np

from bench._util import Timing, print_table, time_calls
from mt5gateway.sim.clock import ManualClock, SystemClock
from mt5gateway.sim.market import Market
from mt5gateway.sim.symbols import DEFAULT_SYMBOLS
from mt5gateway.terminal import constants as c

WEDNESDAY = 1_763_510_400  # 2025-11-19 00:00 UTC
NOW_MSC = (WEDNESDAY + 14 * 3600 + 30 * 60) * 1000 + 10_250
BARS = 100_000


def _ms(timing: Timing) -> str:
    return f"{timing.median * 1e3:.2f} ms"


def _verdict(value: float, target: float) -> str:
    return "yes" if value <= target else "NO"


def _fresh() -> Market:
    return Market(DEFAULT_SYMBOLS, seed=1, clock=ManualClock(NOW_MSC))


def _cold(request: Callable[[Market], object], repeat: int) -> tuple[Timing, Timing]:
    """Wall and CPU time of ``request`` on a fresh Market each time (CPU time is the fairer figure
    on a machine shared with other work)."""
    wall, cpu = [], []
    for _ in range(repeat):
        market = _fresh()
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        request(market)
        cpu.append(time.process_time() - cpu_start)
        wall.append(time.perf_counter() - wall_start)
    return Timing(wall), Timing(cpu)


def _per_second(count: int, seconds: float) -> str:
    return f"{count / seconds / 1e6:.2f} M/s"


GENERATED = ("EURUSD", "XAUUSD", "US30", "BTCUSD")
WEEKS_FROM = WEDNESDAY - 30 * 86_400


def _generation_rows() -> list[tuple[str, str, str, str]]:
    """M1 bars and ticks generated per CPU second, cold, beside a numpy floor."""
    counts = {
        name: len(_fresh().rates_range(name, c.TIMEFRAME_M1, WEEKS_FROM, WEDNESDAY)) for name in GENERATED
    }
    total = sum(counts.values())
    rng = np.random.default_rng(0)
    floor = time_calls(lambda: rng.standard_normal(total), repeat=7)
    rows = [(f"baseline: {total} numpy standard normals", _per_second(total, floor.median), "-", "-")]
    _, bars_cpu = _cold(
        lambda market: [
            market.rates_range(name, c.TIMEFRAME_M1, WEEKS_FROM, WEDNESDAY) for name in GENERATED
        ],
        5,
    )
    rows.append(
        (f"M1 bars generated, {'+'.join(GENERATED)}, 30 days", _per_second(total, bars_cpu.median), "-", "-")
    )
    tick_from, tick_to = (WEDNESDAY - 86_400) * 1000, WEDNESDAY * 1000 - 1
    tick_count = sum(
        len(_fresh().ticks_range(name, tick_from, tick_to, c.COPY_TICKS_ALL)) for name in GENERATED
    )
    _, ticks_cpu = _cold(
        lambda market: [market.ticks_range(name, tick_from, tick_to, c.COPY_TICKS_ALL) for name in GENERATED],
        5,
    )
    rows.append(
        (
            f"ticks generated, same symbols, one day ({tick_count})",
            _per_second(tick_count, ticks_cpu.median),
            "-",
            "-",
        )
    )
    return rows


def main() -> None:
    rows: list[tuple[str, str, str, str]] = []
    warm = _fresh()
    reference = warm.rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, BARS)
    assert len(reference) == BARS

    copy = time_calls(reference.copy, repeat=30)
    rows.append(("baseline: numpy copy of 100k M1 bars", _ms(copy), "-", "-"))

    cold, cold_cpu = _cold(lambda market: market.rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, BARS), 7)
    rows.append(("rates_from_pos M1 x 100k, cold", _ms(cold), "<= 20 ms", _verdict(cold.median, 0.020)))
    rows.append(("  same, CPU time", _ms(cold_cpu), "<= 20 ms", _verdict(cold_cpu.median, 0.020)))

    warm_timing = time_calls(lambda: warm.rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, BARS), repeat=30)
    rows.append(
        ("rates_from_pos M1 x 100k, warm", _ms(warm_timing), "<= 5 ms", _verdict(warm_timing.median, 0.005))
    )

    d1_cold, _ = _cold(lambda market: market.rates_from_pos("EURUSD", c.TIMEFRAME_D1, 0, 1_000), 3)
    rows.append(("rates_from_pos D1 x 1000, cold", _ms(d1_cold), "-", "-"))
    d1_warm = time_calls(lambda: warm.rates_from_pos("EURUSD", c.TIMEFRAME_D1, 0, 1_000), repeat=20)
    rows.append(("rates_from_pos D1 x 1000, warm", _ms(d1_warm), "-", "-"))

    day_from, day_to = (WEDNESDAY - 86_400) * 1000, WEDNESDAY * 1000 - 1  # Tuesday, whole
    count = len(_fresh().ticks_range("EURUSD", day_from, day_to, c.COPY_TICKS_ALL))
    ticks, ticks_cpu = _cold(
        lambda market: market.ticks_range("EURUSD", day_from, day_to, c.COPY_TICKS_ALL), 7
    )
    rows.append(
        (
            f"ticks_range EURUSD weekday ({count} ticks), cold",
            _ms(ticks),
            "<= 50 ms",
            _verdict(ticks.median, 0.050),
        )
    )
    rows.append(("  same, CPU time", _ms(ticks_cpu), "<= 50 ms", _verdict(ticks_cpu.median, 0.050)))

    live = Market(DEFAULT_SYMBOLS, seed=1, clock=SystemClock(origin_msc=NOW_MSC))
    live.last_tick("EURUSD")
    batch = 1_000
    per_call = time_calls(lambda: [live.last_tick("EURUSD") for _ in range(batch)], repeat=20)
    last_tick_us = per_call.median / batch * 1e6
    rows.append(("last_tick (live clock)", f"{last_tick_us:.1f} us", "<= 20 us", _verdict(last_tick_us, 20)))

    rows.extend(_generation_rows())

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("peak RSS of this benchmark process", f"{peak_mib:.0f} MiB", "-", "-"))
    print_table(rows)
    np.testing.assert_array_equal(reference, warm.rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, BARS))


if __name__ == "__main__":
    main()
