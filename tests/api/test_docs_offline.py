"""``/docs`` and ``/redoc`` render in a real browser with no internet: every file they need is served
by the gateway (Swagger UI's and ReDoc's, from the ``fastapi-offline`` package).

Headless Chromium (Debian's, driven by Playwright; ``shared/BROWSER.md``) loads each page while every
request to another host is aborted and counted: there must be none, and the page must show the API.
Without ``/usr/bin/chromium`` the test skips on a laptop and fails on CI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.trading.gateway import Live, build_app, live_gateway

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "api-docs-offline.png"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (apt-get install -y chromium)"
        if os.environ.get("CI") or os.environ.get("MT5GW_REQUIRE_SERVICES"):
            pytest.fail(message + " (required on CI)")
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("docs")
    with live_gateway(build_app(folder / "broker.sqlite", folder / "journal.sqlite")) as gateway:
        yield gateway


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        ("/docs", ".swagger-ui .info .title"),
        ("/redoc", "h1"),
    ],
)
def test_docs_render_with_every_file_from_the_gateway(live: Live, path: str, rendered: str) -> None:
    from playwright.sync_api import Route, sync_playwright

    outside: list[str] = []

    def only_the_gateway(route: Route) -> None:
        if route.request.url.startswith(live.base_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", only_the_gateway)
            page.goto(live.base_url + path, wait_until="networkidle", timeout=60_000)
            title = page.wait_for_selector(rendered, timeout=60_000)
            assert title is not None and "mt5gateway" in title.inner_text()
            # The operations are listed, the S4 paths among them.
            page.wait_for_selector("text=/order", timeout=30_000)
            if path == "/docs":
                page.screenshot(path=str(SCREENSHOT))
        finally:
            browser.close()
    assert outside == []
