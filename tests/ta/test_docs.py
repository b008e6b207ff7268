"""docs/ta.md stays true: its spec and condition tables parse as written, its Python example and its
command lines run (its HTTP examples run against a live gateway in tests/api/test_ta.py)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from mt5gateway.cli import main
from mt5gateway.streams.protocol import parse_channel
from mt5gateway.ta import parse_conditions, parse_spec

DOC = (Path(__file__).resolve().parents[2] / "docs" / "ta.md").read_text("utf-8")


def blocks(language: str) -> list[str]:
    """The fenced code blocks of ``language`` in docs/ta.md."""
    return re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.DOTALL)


def table(header: str) -> list[tuple[str, str]]:
    """The rows (first two cells, code quotes removed) of the table whose header starts ``header``."""
    start = DOC.index(header)
    rows = []
    for line in DOC[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        rows.append((cells[0], cells[1]))
    return rows


@pytest.mark.parametrize(("written", "canonical"), table("| you write | canonical |"))
def test_spec_table_gives_the_canonical_forms_it_shows(written: str, canonical: str) -> None:
    assert parse_spec(written).canonical == canonical


@pytest.mark.parametrize(("condition", "_meaning"), table("| condition | holds when |"))
def test_condition_table_parses(condition: str, _meaning: str) -> None:
    assert parse_conditions(condition)


def test_python_example_runs() -> None:
    (example,) = blocks("python")
    exec(compile(example, "docs/ta.md", "exec"), {})  # the page's own example, as a reader runs it


@pytest.mark.parametrize(
    "line", [line for block in blocks("console") for line in block.splitlines() if line.startswith("$ ")]
)
def test_command_line_example_runs(line: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = shlex.split(line.removeprefix("$ "))
    assert argv[0] == "mt5gateway"
    assert main(argv[1:]) == 0, capsys.readouterr().out
    assert "symbols" in capsys.readouterr().out or argv[1] == "ta"


def test_websocket_example_names_valid_channels() -> None:
    (example,) = blocks("json")
    names = re.findall(r'"((?:ta|patterns):[^"]+)"', example)
    assert [parse_channel(name).name for name in names] == [
        "ta:EURUSD:H1:RSI(14)",
        "ta:EURUSD:H1:MACD(12,26,9).macdhist",
        "patterns:EURUSD:H1",
    ]
