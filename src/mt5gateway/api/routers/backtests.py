"""Backtest routes (scope ``research``): submit a job, read its state, trades, equity and report.

Jobs run in worker processes of ``mt5gateway.research.service``; this module only parses and answers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse

from mt5gateway.research.service import BacktestSpec

from ..auth import Caller, require_scope
from ..deps import ResearchDep

__all__ = ["router"]

router = APIRouter(prefix="/api/backtests", tags=["research"])

ResearchCaller = Annotated[Caller, Depends(require_scope("research"))]
JobId = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="the job's id")]


@router.post("", status_code=202, summary="Submits a backtest (or an optimisation) as a job.")
async def submit(spec: BacktestSpec, _caller: ResearchCaller, research: ResearchDep) -> dict[str, Any]:
    return {"success": True, **await research.submit(spec)}


@router.get("/{job_id}", summary="Returns a job's state, progress and (once done) statistics.")
async def job(job_id: JobId, _caller: ResearchCaller, research: ResearchDep) -> dict[str, Any]:
    return {"success": True, **await research.get(job_id)}


@router.get("/{job_id}/trades", summary="Returns a finished job's trades.")
async def trades(job_id: JobId, _caller: ResearchCaller, research: ResearchDep) -> dict[str, Any]:
    rows = await research.result(job_id, "trades")
    return {"success": True, "id": job_id, "count": len(rows), "trades": rows}


@router.get("/{job_id}/equity", summary="Returns a finished job's equity curve and drawdown.")
async def equity(job_id: JobId, _caller: ResearchCaller, research: ResearchDep) -> dict[str, Any]:
    rows = await research.result(job_id, "equity")
    return {"success": True, "id": job_id, "count": len(rows), "equity": rows}


@router.get("/{job_id}/report", response_class=HTMLResponse, summary="Returns a finished job's HTML report.")
async def report(job_id: JobId, _caller: ResearchCaller, research: ResearchDep) -> HTMLResponse:
    return HTMLResponse(await research.result(job_id, "report"))
