"""``mt5gateway ta`` and ``mt5gateway scan`` on the simulator (the ``--url`` paths are tested against a
live gateway in tests/api/test_ta.py)."""

from __future__ import annotations

import numpy as np
import pytest

from mt5gateway.cli import main
from mt5gateway.sim.terminal import SimConfig, SimTerminal
from mt5gateway.ta import Bars, compute, parse_spec
from mt5gateway.ta.cli import indicator_rows
from mt5gateway.terminal import constants as c


def test_ta_prints_each_output_at_the_closed_and_the_forming_bar(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ta", "EURUSD", "H4", "RSI(14)", "MACD", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "EURUSD H4" in out
    for text in ("RSI(14)", "MACD(12,26,9)", "macdsignal", "macdhist", "154", "303"):
        assert text in out


def test_ta_values_are_talibs_over_the_simulators_bars() -> None:
    times, rows = indicator_rows("USDJPY", "D1", ["SMA(20)", "BBANDS(20,2,2)"], seed=3)
    terminal = SimTerminal(SimConfig(seed=3, db_path=":memory:"))
    assert terminal.initialize()
    try:
        rates = terminal.copy_rates_from_pos("USDJPY", c.TIMEFRAME_D1, 0, 100)
    finally:
        terminal.close()
    # the same bars the command read: warm-up (19) + 2, here up to the closed bar the table shows
    bars = Bars.from_rates(rates[rates["time"] <= times[0]][-20:])
    sma = compute(parse_spec("SMA(20)"), bars)["real"][-1]
    middle = compute(parse_spec("BBANDS(20,2,2)"), bars)["middleband"][-1]
    assert rows[0][:3] == ("SMA(20)", "real", sma)
    assert [row[1] for row in rows[1:]] == ["upperband", "middleband", "lowerband"]
    np.testing.assert_array_equal(rows[2][2], middle)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ta", "EURUSD", "H1", "RSI(1)"], "RSI parameter timeperiod must be between 2"),
        (["ta", "EURUSD", "H7", "RSI"], "Invalid timeframe H7"),
        (["ta", "NOPE", "H1", "RSI"], "no bars for NOPE H1"),
        (["scan", "--timeframe", "H1", "--indicators", "MACD > 0"], "MACD(12,26,9) has 3 outputs"),
        (["ta", "EURUSD", "H1", "RSI", "--url", "http://127.0.0.1:9", "--key", ""], "--url needs an API key"),
    ],
)
def test_bad_input_prints_one_sentence_and_fails(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) in (1, 2)
    assert message in " ".join(capsys.readouterr().out.split())


def test_scan_lists_the_symbols_that_match(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["scan", "--timeframe", "H1", "--indicators", "RSI(14) < 101", "--symbols", "EURUSD,XAUUSD"])
        == 0
    )
    out = capsys.readouterr().out
    assert "2 of 2 symbols" in out and "EURUSD" in out and "XAUUSD" in out and "RSI(14)" in out
    assert main(["scan", "--timeframe", "H1", "--indicators", "RSI(14) > 101", "--symbols", "EURUSD"]) == 0
    assert "0 of 1 symbols" in capsys.readouterr().out
