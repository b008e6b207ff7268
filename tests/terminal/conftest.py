"""The ``official`` fixture: the official MetaTrader5 wheel, downloaded once per test session."""

from __future__ import annotations

import pytest

from .official_wheel import OfficialWheel, read_official_wheel


@pytest.fixture(scope="session")
def official(tmp_path_factory: pytest.TempPathFactory) -> OfficialWheel:
    return read_official_wheel(tmp_path_factory.mktemp("mt5wheel"))
