"""``mt5gateway quotes``: the quote table a person watches while the simulator runs."""

from __future__ import annotations

import pytest

from mt5gateway.cli import main
from mt5gateway.sim.quotes import quote_table
from mt5gateway.sim.terminal import SimConfig, SimTerminal


def test_quote_table_has_a_row_per_symbol_and_marks_unknown_ones() -> None:
    terminal = SimTerminal(SimConfig(db_path=":memory:"))
    assert terminal.initialize()
    opening: dict[str, float] = {}
    table = quote_table(terminal, ["EURUSD", "BTCUSD", "NOSUCH"], opening)
    terminal.close()
    assert table.row_count == 3
    assert set(opening) == {"EURUSD", "BTCUSD"}
    assert list(table.columns[0].cells) == ["EURUSD", "BTCUSD", "NOSUCH"]
    assert "-4" in list(table.columns[5].cells)[2]


def test_quotes_command_refreshes_then_exits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quotes", "--symbols", "EURUSD,XAUUSD", "--count", "2", "--interval", "0"]) == 0
    out = capsys.readouterr().out
    assert "EURUSD" in out and "XAUUSD" in out and "change %" in out
