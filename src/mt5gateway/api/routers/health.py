"""The public health summary and the Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from ..auth import require_admin_off_loopback
from ..deps import GatewayDep
from ..responses import OrjsonResponse
from ..schemas import HealthResponse
from ..terminal_views import health_body

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get(
    "/api/health",
    response_model=HealthResponse,
    response_model_exclude_unset=True,
    summary="Reports the overall status and each symbol's terminal; no key needed.",
    responses={503: {"model": HealthResponse, "description": "every terminal is down"}},
)
async def health(gateway: GatewayDep) -> Any:
    """Overall status (ok, degraded, error) and each symbol's terminal; 503 when none is up."""
    body = health_body(gateway.pool.statuses())
    if body["status"] == "error":
        return OrjsonResponse(body, status_code=503)
    return body


@router.get(
    "/metrics",
    response_class=Response,
    summary="Serves the Prometheus metrics: requests, latency, terminals up and restarts.",
    dependencies=[Depends(require_admin_off_loopback)],
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text"}
    },
)
async def metrics(gateway: GatewayDep) -> Response:
    """Needs the admin key unless the service is bound to loopback (``metrics_public_on_loopback``)."""
    return Response(gateway.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
