"""The examples run unmodified through ``mt5gateway sim-run`` and print what they promise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# Lines each example must print: the output a reader of the script expects.
EXPECTED_OUTPUT = {
    "connection.py": [
        "terminal: MetaTrader 5 (simulated)",
        "account #5000001",
        "switched to #5000003",
        "(-6,",
    ],
    "symbols.py": ["symbols total: 45", "EURUSD: digits=5", "market depth, 20 levels", "(-4,"],
    "rates.py": ["EURUSD H4 bars up to", "GBPUSD newest M1 bars", "XAUUSD D1 bars", "(-2,"],
    "ticks.py": ["EURUSD ticks received: 1000", "USDJPY ticks from", "(-2,"],
    "trading.py": ["retcode=10009", "positions left: 0", "pending orders left: 0", "retcode=10014"],
    "history.py": ["history orders:", "deals of position", "history orders on *BTC*: 2", "(-2,"],
    "helpers.py": [
        "Buy: retcode=10009",
        "Sell: retcode=10009",
        "equal: True",
        "Close: True",
        "positions left: 0",
        """int volume: None (-2, 'Invalid "volume" argument')""",
        "positional symbol: None (-2, 'Unnamed arguments not allowed')",
    ],
}


def _sim_run(script: Path, *args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MT5GW_SIM_MEMORY": "1", "MT5GW_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "mt5gateway.cli", "sim-run", str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_every_example_is_covered() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED_OUTPUT)


@pytest.mark.parametrize("name", sorted(EXPECTED_OUTPUT))
def test_example_runs_on_the_simulator(name: str, tmp_path: Path) -> None:
    done = _sim_run(EXAMPLES / name, data_dir=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    for expected in EXPECTED_OUTPUT[name]:
        assert expected in done.stdout, f"{expected!r} missing from:\n{done.stdout}"


def test_sim_run_binds_star_import_and_passes_arguments(tmp_path: Path) -> None:
    script = tmp_path / "star.py"
    script.write_text(
        "import sys\n"
        "from MetaTrader5 import *\n"
        "assert initialize(), last_error()\n"
        "print(sys.argv[1:], symbol_info_tick(sys.argv[1]).bid > 0, TIMEFRAME_H1)\n"
        "shutdown()\n"
        "sys.exit(3)\n"
    )
    done = _sim_run(script, "XAUUSD", "--flag", data_dir=tmp_path)
    assert done.returncode == 3, done.stderr
    assert done.stdout == "['XAUUSD', '--flag'] True 16385\n"


def test_sim_run_reports_a_missing_script(tmp_path: Path) -> None:
    done = _sim_run(tmp_path / "absent.py", data_dir=tmp_path)
    assert done.returncode == 2
    assert "no such script" in done.stderr
