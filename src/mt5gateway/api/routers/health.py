"""The public health summary and the Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Security
from starlette.responses import Response

from mt5gateway.errors import Unauthorized

from ..auth import admin_key_header
from ..deps import GatewayDep
from ..responses import OrjsonResponse
from ..schemas import ErrorBody, HealthResponse
from ..terminal_views import health_body

__all__ = ["router"]

router = APIRouter(tags=["health"])

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


@router.get(
    "/api/health",
    response_model=HealthResponse,
    response_model_exclude_unset=True,
    responses={503: {"model": HealthResponse, "description": "every terminal is down"}},
)
async def health(gateway: GatewayDep) -> Any:
    """Overall status (ok, degraded, error) and each symbol's terminal; 503 when none is up. No key needed."""
    body = health_body(gateway.pool.statuses())
    if body["status"] == "error":
        return OrjsonResponse(body, status_code=503)
    return body


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
        401: {"model": ErrorBody},
    },
)
async def metrics(
    gateway: GatewayDep, admin_key: Annotated[str | None, Security(admin_key_header)] = None
) -> Response:
    """Prometheus metrics: requests, latency, terminal up gauges and restarts.

    Needs the admin key unless the service is bound to loopback (``metrics_public_on_loopback``).
    """
    settings = gateway.settings
    open_on_loopback = settings.metrics_public_on_loopback and settings.host in _LOOPBACK_HOSTS
    if not open_on_loopback and not gateway.keys.is_admin(admin_key):
        raise Unauthorized("Unauthorized")
    return Response(gateway.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
