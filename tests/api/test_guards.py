"""``RequestGuard`` on a bare ASGI app: the key before the body, the size limit, the open paths."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mt5gateway.api import ApiKeyConfig, GatewayConfig, build_gateway, load_settings
from mt5gateway.api.guards import RequestGuard
from mt5gateway.api.keys import hash_key

KEY = "mt5gw_guard_test_key"


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"read": len(await request.body())})


def _client(**options: object) -> httpx.AsyncClient:
    settings = load_settings(None, keys=(ApiKeyConfig(name="k", hash=hash_key(KEY)),))
    gateway = build_gateway(GatewayConfig(api=settings))
    app = Starlette(routes=[Route("/{path:path}", _echo, methods=["POST"])])
    guarded = RequestGuard(app, gateway=gateway, max_bytes=1024, **options)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded), base_url="http://test")


async def test_a_body_needs_a_key_unless_its_path_is_open() -> None:
    async with _client(open_body_paths=("/login",)) as client:
        assert (await client.post("/orders", content=b"{}")).status_code == 401
        assert (await client.post("/api/admin/x", content=b"{}")).status_code == 403
        opened = await client.post("/login", content=b"{}")
        assert opened.status_code == 200 and opened.json() == {"read": 2}
        keyed = await client.post("/orders", content=b"{}", headers={"Authorization": f"Bearer {KEY}"})
        assert keyed.json() == {"read": 2}


async def test_the_limit_holds_for_declared_and_streamed_bodies() -> None:
    async def chunks() -> object:
        for _ in range(4):
            yield b"x" * 512

    async with _client() as client:
        headers = {"X-API-Key": KEY}
        assert (await client.post("/a", content=b"x" * 1024, headers=headers)).json() == {"read": 1024}
        assert (await client.post("/a", content=b"x" * 1025, headers=headers)).status_code == 413
        streamed = await client.post("/a", content=chunks(), headers=headers)  # type: ignore[arg-type]
        assert streamed.status_code == 413 and streamed.json()["limit"] == 1024
