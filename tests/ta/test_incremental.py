"""Streamed values equal batch values, bit for bit, over a simulated day of M1 bars and its ticks:
each closed bar fed to TA-Lib's stream handle (``update``), and forming bars built from the day's
ticks (``peek``), against TA-Lib's batch function over the same bars."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mt5gateway.ta import CATALOGUE, Bars, IndicatorSpec, IndicatorStream, compute, parse_spec

from .builders import sim_day, sim_terminal

HISTORY = 3_000
# forming bars are checked on every SAMPLE-th bar of the day, at a few ticks into each
SAMPLE = 60


@pytest.fixture(scope="module")
def day() -> tuple[Bars, Bars, np.ndarray[Any, Any]]:
    """History, history + the day, and the day's ticks."""
    with sim_terminal() as terminal:
        before, bars, ticks = sim_day(terminal, "EURUSD", history=HISTORY)
    return Bars.from_rates(before), Bars.from_rates(np.concatenate([before, bars])), ticks


def _row(bars: Bars, index: int) -> tuple[float, ...]:
    return tuple(float(bars.column(name)[index]) for name in ("open", "high", "low", "close", "volume"))


def _with_forming(bars: Bars, count: int, forming: tuple[float, ...]) -> Bars:
    """The first ``count`` bars, then ``forming``."""
    head = bars.rows(0, count)
    columns = [
        np.append(head.column(name), value)
        for name, value in zip(("open", "high", "low", "close", "volume"), forming, strict=True)
    ]
    return Bars(np.append(head.time, head.time[-1] + 60), *columns)


def _forming_states(ticks: np.ndarray[Any, Any], open_time: int) -> list[tuple[float, ...]]:
    """The forming bar as its first ticks arrived: after 1, a third, two thirds and all of them."""
    inside = ticks[(ticks["time"] >= open_time) & (ticks["time"] < open_time + 60)]
    states = []
    for count in sorted({1, len(inside) // 3, 2 * len(inside) // 3, len(inside)} - {0}):
        bids = inside["bid"][:count]
        states.append((float(bids[0]), float(bids.max()), float(bids.min()), float(bids[-1]), float(count)))
    return states


_SPECS = [IndicatorSpec(f.name, f.defaults) for f in CATALOGUE.values()] + [
    parse_spec(text)
    for text in ("RSI(5)", "MACD(5,35,5).macdhist", "BBANDS(50,1.5,2.5,EMA)", "KAMA(10)", "MAMA(0.3,0.03)")
]


@pytest.mark.parametrize("spec", _SPECS, ids=str)
def test_streamed_values_equal_batch_values_bit_for_bit(
    spec: IndicatorSpec, day: tuple[Bars, Bars, Any]
) -> None:
    history, bars, ticks = day
    stream = IndicatorStream.open(spec, history)
    assert stream is not None, "3000 bars open every served function"
    batch = compute(spec, bars)  # every served function is causal: bar k's value uses bars up to k only
    for index in range(len(history), len(bars)):
        if (index - len(history)) % SAMPLE == 0:
            for forming in _forming_states(ticks, int(bars.time[index])):
                expected = compute(spec, _with_forming(bars, index, forming))
                peeked = stream.peek(forming)
                for name, values in expected.items():
                    np.testing.assert_array_equal(peeked[name], values[-1], err_msg=f"peek {name} at {index}")
        updated = stream.update(_row(bars, index))
        for name, values in batch.items():
            np.testing.assert_array_equal(updated[name], values[index], err_msg=f"update {name} at {index}")
    for name, value in stream.value.items():
        np.testing.assert_array_equal(value, batch[name][-1], err_msg=f"value {name}")


def test_stream_waits_for_enough_history() -> None:
    with sim_terminal() as terminal:
        before, _, _ = sim_day(terminal, "EURUSD", history=10)
    assert IndicatorStream.open(parse_spec("RSI(14)"), Bars.from_rates(before)) is None
    assert IndicatorStream.open(parse_spec("SMA(5)"), Bars.from_rates(before)) is not None
