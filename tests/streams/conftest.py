"""One live gateway (two simulated terminals, the bridge installed) per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.trading.gateway import Live, build_app, live_gateway


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("streams")
    with live_gateway(build_app(folder / "broker.sqlite", folder / "journal.sqlite")) as gateway:
        yield gateway
