"""The official MetaTrader5 wheel, read at test time (nothing of it is committed).

``read_official_wheel`` downloads it and gives its ``__init__.py`` (constants and the Buy/Sell/Close
helpers, in Python) and the printable strings of its compiled ``_core`` (the messages its functions
give for bad arguments). The ``official`` fixture (``conftest.py``) does it once per session.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class OfficialWheel:
    """What the tests read from the wheel."""

    init_source: str
    core_strings: frozenset[str]


def read_official_wheel(folder: Path) -> OfficialWheel:
    """Download the wheel into ``folder`` and read it (skip, or fail on CI, when out of reach)."""
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
        "--platform", "win_amd64", "--python-version", "3.11", "-d", str(folder), "MetaTrader5",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    wheels = list(folder.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        if os.environ.get("CI") or os.environ.get("MT5GW_REQUIRE_SERVICES"):
            pytest.fail(f"could not download the MetaTrader5 wheel: {done.stderr.strip()}")
        pytest.skip("the package registry is out of reach; cannot download the MetaTrader5 wheel")
    with zipfile.ZipFile(wheels[0]) as wheel:
        init_source = wheel.read("MetaTrader5/__init__.py").decode("utf-8")
        core = next(name for name in wheel.namelist() if name.startswith("MetaTrader5/_core"))
        binary = wheel.read(core)
    strings = frozenset(s.decode("ascii") for s in re.findall(rb"[\x20-\x7e]{4,}", binary))
    return OfficialWheel(init_source, strings)
