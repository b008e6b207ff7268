"""Recorded-data endpoints (``/api/data``): statistics, gaps and completeness, gap-fill jobs, exports.

Each route parses its input and calls ``mt5gateway.recorder.service``, which checks it (spans, limits,
symbols, formats) and raises the gateway's 4xx errors; store work runs in a thread, off the event loop.
The admin key or a client key with scope ``data`` may call them. Times are epoch seconds; spans are
half-open ``[from, to)``.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import StreamingResponse

from mt5gateway.recorder import service
from mt5gateway.store import Job

from ..auth import require_scope_or_admin
from ..deps import GatewayDep
from ..openapi import errors
from ..params import MAX_EPOCH_SECONDS, epoch_query

__all__ = ["router"]

T = TypeVar("T")

# A gaps request without `from` looks back this far from `to`, as `mt5gateway gaps` does.
_DEFAULT_GAPS_SPAN = 7 * 86_400

_MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}

router = APIRouter(
    prefix="/api/data",
    tags=["data"],
    responses=errors(
        (400, "a parameter is invalid: from not before to, a span over the limit, a bad format or timeframe"),
        (404, "unknown symbol or job"),
        (503, "the database did not answer; see Retry-After"),
    ),
    dependencies=[Depends(require_scope_or_admin("data"))],
)

EpochSeconds = Annotated[int, Field(ge=0, le=MAX_EPOCH_SECONDS)]


class GapFillRequest(BaseModel):
    """What to copy from the terminal into the store (JSON types as declared: strict)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)

    symbol: str = Field(min_length=1, max_length=64, description="a symbol the pool routes")
    from_time: EpochSeconds = Field(alias="from", description="epoch seconds, inclusive")
    to_time: EpochSeconds = Field(alias="to", description="epoch seconds, exclusive")
    what: Literal["ticks", "bars"] = Field(
        default="bars", description="ticks (at most 31 days) or bars: M1 and the kept timeframes (366 days)"
    )


class JobResponse(BaseModel):
    """A gap-fill job: ``pending`` -> ``running`` -> ``done`` | ``failed``."""

    success: bool
    job_id: str
    kind: str
    symbol: str
    what: str
    from_: int = Field(alias="from")
    to: int
    cursor: int = Field(description="epoch seconds copied up to")
    state: str
    progress: float = Field(description="0.0 .. 1.0")
    rows_written: int
    error: str | None
    created_msc: int
    updated_msc: int


class StatisticsResponse(BaseModel):
    success: bool
    symbols: list[dict[str, Any]] = Field(
        description="per symbol: ticks, first_tick_msc, last_tick_msc, bars (M1), first_bar_time, "
        "last_bar_time, completeness (%), gaps (count)"
    )


class GapsResponse(BaseModel):
    success: bool
    symbol: str
    from_: int = Field(alias="from")
    to: int
    gaps: list[dict[str, int]] = Field(description="start, end (exclusive), minutes missing")
    completeness: list[dict[str, Any]] = Field(
        description="per UTC day: day, expected_minutes, present_minutes, percent"
    )


async def _in_thread(function: Callable[..., T], **kwargs: Any) -> T:
    """``function(**kwargs)`` in a worker thread (the store's calls block)."""
    return await asyncio.to_thread(functools.partial(function, **kwargs))


def _job_body(job: Job) -> dict[str, Any]:
    return {
        "success": True,
        "job_id": job.id,
        "kind": job.kind,
        "symbol": job.symbol,
        "what": job.what,
        "from": job.from_time,
        "to": job.to_time,
        "cursor": job.cursor,
        "state": str(job.state),
        "progress": round(job.progress, 6),
        "rows_written": job.rows_written,
        "error": job.error,
        "created_msc": job.created_msc,
        "updated_msc": job.updated_msc,
    }


@router.post(
    "/gap-fill",
    status_code=202,
    response_model=JobResponse,
    summary="Starts a job copying a span of a symbol's history from its terminal into the store.",
)
async def gap_fill(gateway: GatewayDep, request: GapFillRequest) -> dict[str, Any]:
    """Start a job copying ``[from, to)`` of ``symbol`` from its terminal; poll ``/api/data/jobs/{id}``."""
    symbol = request.symbol.upper()
    gateway.pool.terminal_for_symbol(symbol)  # 404 before a job is recorded for a symbol nobody serves
    store = await gateway.data.open_store()
    job = await _in_thread(
        service.create_gap_fill,
        store=store,
        symbol=symbol,
        from_time=request.from_time,
        to_time=request.to_time,
        what=request.what,
    )
    gateway.data.start_fill(job.id)
    return _job_body(job)


@router.get(
    "/jobs/{job_id}", response_model=JobResponse, summary="Reports a gap-fill job's state and progress."
)
async def job(gateway: GatewayDep, job_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """A job's state and progress."""
    store = await gateway.data.open_store()
    return _job_body(await _in_thread(service.job_status, store=store, job_id=job_id))


@router.get(
    "/statistics",
    response_model=StatisticsResponse,
    summary="Counts the stored ticks and bars of each symbol, with completeness and gaps.",
)
async def statistics(
    gateway: GatewayDep,
    symbols: Annotated[
        str | None, Query(max_length=1000, description="comma-separated symbols (default: all stored)")
    ] = None,
) -> dict[str, Any]:
    """Per symbol: ticks and M1 bars stored, first and last times, completeness % and gaps."""
    wanted = None if symbols is None else [s.upper() for s in (p.strip() for p in symbols.split(",")) if s]
    store = await gateway.data.open_store()
    return {"success": True, "symbols": await _in_thread(service.statistics, store=store, symbols=wanted)}


@router.get(
    "/gaps",
    response_model=GapsResponse,
    summary="Lists the gaps in a symbol's stored M1 bars and its completeness per day.",
)
async def gaps(
    gateway: GatewayDep,
    symbol: Annotated[str, Query(min_length=1, max_length=64)],
    date_from: Annotated[
        int | None, epoch_query(alias="from", description="epoch seconds (default: 7 days before to)")
    ] = None,
    date_to: Annotated[
        int | None, epoch_query(alias="to", description="epoch seconds (default: the current minute)")
    ] = None,
) -> dict[str, Any]:
    """The gaps of ``symbol``'s M1 bars in ``[from, to)`` (at most 366 days) and completeness per day."""
    name = symbol.upper()
    to_time = date_to if date_to is not None else int(time.time()) // 60 * 60
    from_time = date_from if date_from is not None else max(0, to_time - _DEFAULT_GAPS_SPAN)
    store = await gateway.data.open_store()
    span = {"store": store, "symbol": name, "from_time": from_time, "to_time": to_time}
    found = await _in_thread(service.gaps, **span)
    days = await _in_thread(service.completeness, **span)
    return {
        "success": True,
        "symbol": name,
        "from": from_time,
        "to": to_time,
        "gaps": [{"start": gap.start, "end": gap.end, "minutes": gap.minutes} for gap in found],
        "completeness": [
            {
                "day": day.day,
                "expected_minutes": day.expected_minutes,
                "present_minutes": day.present_minutes,
                "percent": round(day.percent, 3),
            }
            for day in days
        ],
    }


@router.get(
    "/export",
    response_class=StreamingResponse,
    summary="Streams stored bars or ticks of a span as CSV or Parquet.",
    responses={
        200: {
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}} for media in _MEDIA_TYPES.values()
            },
            "description": "the rows, streamed",
        }
    },
)
async def export(
    gateway: GatewayDep,
    symbol: Annotated[str, Query(min_length=1, max_length=64)],
    timeframe: Annotated[str, Query(max_length=16, description="a kept timeframe (M1 .. D1) or ticks")],
    date_from: Annotated[int, epoch_query(alias="from", description="epoch seconds")],
    date_to: Annotated[int, epoch_query(alias="to", description="epoch seconds")],
    fmt: Annotated[Literal["csv", "parquet"], Query(alias="format")] = "csv",
) -> StreamingResponse:
    """Stored bars or ticks of ``[from, to)`` as CSV or Parquet, streamed (7 days of ticks, 366 of bars)."""
    name = symbol.upper()
    store = await gateway.data.open_store()
    # Every check runs here, before the response starts; the rows are then read chunk by chunk.
    rows = await _in_thread(
        service.export_rows,
        store=store,
        symbol=name,
        timeframe=timeframe,
        from_time=date_from,
        to_time=date_to,
        fmt=fmt,
    )
    label = "ticks" if timeframe.lower() == "ticks" else timeframe.upper()
    filename = f"{name}_{label}_{date_from}_{date_to}.{fmt}"
    return StreamingResponse(
        rows,
        media_type=_MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
