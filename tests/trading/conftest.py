"""One live gateway (two simulated terminals, the bridge installed) per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .gateway import Live, build_app, live_gateway


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder: Path = tmp_path_factory.mktemp("bridge")
    app = build_app(folder / "broker.sqlite", folder / "journal.sqlite")
    with live_gateway(app) as gateway:
        yield gateway
