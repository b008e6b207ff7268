"""The ``gap-fill``, ``gaps`` and ``record`` commands: a month filled and reported, bad options refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from mt5gateway.cli import main


def sim_gap_fill(db: str, symbol: str, start: str, end: str) -> list[str]:
    """``mt5gateway gap-fill`` of ``symbol`` from the simulator into ``db``."""
    return ["gap-fill", "--db", db, "--source", "sim", "--symbol", symbol, "--from", start, "--to", end]


def test_gap_fill_then_gaps_reports_complete_days(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(sim_gap_fill(db, "US30", "2024-01-08", "2024-01-10")) == 0
    assert "US30 bars: " in capsys.readouterr().out
    assert main(["gaps", "--db", db, "--from", "2024-01-08", "--to", "2024-01-10"]) == 0
    report = capsys.readouterr().out
    assert report.count("100.00") == 2
    assert "2024-01-09" in report
    assert main(["gap-fill", "--db", db, "--resume"]) == 0
    assert "no unfinished jobs" in capsys.readouterr().out


def test_gaps_lists_a_missing_span(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(sim_gap_fill(db, "BTCUSD", "2024-01-06", "2024-01-06T12:00")) == 0
    capsys.readouterr()
    assert (
        main(["gaps", "--db", db, "--symbols", "BTCUSD", "--from", "2024-01-06", "--to", "2024-01-07"]) == 0
    )
    report = capsys.readouterr().out
    assert "2024-01-06 12:00" in report and "720" in report  # the afternoon is missing: 720 minutes
    assert "50.00" in report


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["gap-fill", "--symbol", "EURUSD", "--from", "2024-02-01", "--to", "2024-01-01"], "must be before"),
        (
            ["gap-fill", "--symbol", "NOPE", "--from", "2024-01-01", "--to", "2024-01-02"],
            "unknown symbol 'NOPE'",
        ),
        (["gap-fill", "--symbol", "EURUSD", "--from", "2023-01-01", "--to", "2024-06-01"], "over the limit"),
        (
            ["gap-fill", "--symbol", "EURUSD", "--from", "yesterday", "--to", "2024-01-02"],
            "neither epoch seconds",
        ),
        (["gap-fill", "--symbol", "EURUSD"], "give --symbol, --from and --to"),
        (["gaps", "--symbols", "NOPE"], "unknown symbol 'NOPE'"),
        (["record", "--symbols", "NOPE"], "no configured terminal serves NOPE"),
    ],
)
def test_bad_options_get_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    command, *rest = argv
    assert main([command, "--db", f"sqlite:///{tmp_path / 'cli.db'}", *rest]) == 2
    assert message in capsys.readouterr().err
