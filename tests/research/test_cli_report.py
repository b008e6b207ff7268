"""The ``mt5gateway backtest`` command and the HTML / CSV reports."""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from mt5gateway.cli import main
from mt5gateway.research import Backtest
from mt5gateway.research.cli import parse_range
from mt5gateway.research.report import html_report, trades_csv
from mt5gateway.research.strategies import SmaCross

from .oracle import GOOG


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.sources += [value or "" for name, value in attrs if name in ("src", "href")]


def test_html_report_is_self_contained_with_equity_candles_stats_and_trades() -> None:
    stats = Backtest(GOOG, SmaCross, finalize_trades=True).run()
    page = html_report(stats, GOOG)
    parsed = _Tags()
    parsed.feed(page)
    assert parsed.tags.count("svg") == 2 and "script" not in parsed.tags and parsed.sources == []
    assert "http" not in page.replace('lang="en"', "")
    assert "Sharpe Ratio" in page and "Equity and drawdown" in page
    assert page.count("<title>") == 1 + len(stats["_trades"])  # one tooltip per trade
    frame = pd.read_csv(io.StringIO(trades_csv(stats)))
    assert len(frame) == len(stats["_trades"]) and {"EntryTime", "PnL", "ReturnPct"} <= set(frame.columns)


def test_long_histories_are_drawn_as_at_most_max_candles() -> None:
    index = pd.date_range("2020-01-01", periods=20_000, freq="h")
    bars = pd.DataFrame({"Open": 1.0, "High": 1.1, "Low": 0.9, "Close": 1.0}, index=index)
    bars["Close"] += (pd.Series(range(20_000), index=index) % 50) / 1000
    stats = Backtest(bars, SmaCross, finalize_trades=True).run()
    assert html_report(stats, bars).count("<rect") <= 1_500


def test_ranges_parse_like_the_issue_writes_them() -> None:
    assert parse_range("5..50:5") == list(range(5, 51, 5))
    assert parse_range("10,20,40") == [10, 20, 40]
    assert parse_range("0.1..0.3:0.1") == [0.1, 0.2, 0.3]


def test_backtest_command_runs_reports_and_optimises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["backtest", "--strategy", "sma_cross", "--symbol", "EURUSD", "--timeframe", "H1"]
    span = ["--from", "2024-01-01", "--to", "2024-03-31"]
    report, trades = tmp_path / "out.html", tmp_path / "trades.csv"
    argv = [
        *base,
        *span,
        "--param",
        "fast=10",
        "--param",
        "slow=30",
        "--report",
        str(report),
        "--trades",
        str(trades),
        "--json",
    ]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["# Trades"] > 10 and report.read_text().startswith("<!DOCTYPE html>")
    assert len(pd.read_csv(trades)) == printed["# Trades"]
    assert main([*base, *span, "--optimize", "fast=5..20:5", "--optimize", "slow=30,60", "--json"]) == 0
    best = json.loads(capsys.readouterr().out)
    assert best["SQN"] is not None


def test_backtest_command_reads_files_and_refuses_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "goog.csv"
    GOOG.to_csv(path)
    assert (
        main(["backtest", "--strategy", "sma_cross", "--data", str(path), "--timeframe", "D1", "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["# Trades"] > 50
    assert (
        main(
            [
                "backtest",
                "--strategy",
                "sma_cross",
                "--data",
                str(path),
                "--timeframe",
                "D1",
                "--param",
                "fats=3",
            ]
        )
        == 2
    )
    assert "has no parameter 'fats'" in capsys.readouterr().err
    assert main(["backtest", "--strategy", "nope", "--from", "2024-01-01", "--to", "2024-01-02"]) == 2
    assert "unknown strategy" in capsys.readouterr().err


def test_strategies_load_from_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mine.py"
    path.write_text(
        "from mt5gateway.research import Strategy\n"
        "class Dip(Strategy):\n"
        "    depth = 0.02\n"
        "    def init(self):\n"
        "        pass\n"
        "    def next(self):\n"
        "        if not self.position and self.data.Close[-1] < self.data.Close[-2] * (1 - self.depth):\n"
        "            self.buy(size=0.1, tp=self.data.Close[-1] * 1.02)\n"
    )
    argv = ["backtest", "--strategy", f"{path}:Dip", "--symbol", "XAUUSD", "--mt5", "--timeframe", "H1"]
    assert (
        main([*argv, "--from", "2024-01-01", "--to", "2024-02-29", "--param", "depth=0.002", "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["# Trades"] > 0
