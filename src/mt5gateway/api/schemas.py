"""Response shapes for the OpenAPI document (``/openapi.json``, ``/docs``).

Bodies are built as dicts (or cached bytes) and rendered by orjson; these models describe them for
clients and for schema-driven tests, and are not used to validate each response at run time.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "AdminHealthResponse",
    "BarsResponse",
    "ErrorBody",
    "HealthResponse",
    "IndicatorResponse",
    "LogsResponse",
    "QuotesResponse",
    "RestartAllResponse",
    "RestartResponse",
    "StatsResponse",
    "SymbolsResponse",
    "TicksResponse",
    "TimeframesResponse",
]


class ErrorBody(BaseModel):
    """Every error: a sentence, a machine code, and fields that help (tier, accessible_*, ...)."""

    model_config = {"extra": "allow"}

    success: bool = False
    error: str
    code: str


class SymbolsResponse(BaseModel):
    success: bool
    tier: str
    symbols: list[str]


class TimeframesResponse(BaseModel):
    success: bool
    tier: str
    timeframes: list[str]


class TerminalHealth(BaseModel):
    connected: bool
    terminal_id: str
    last_check: str | None
    error: str | None = None


class HealthResponse(BaseModel):
    success: bool
    status: str = Field(description="ok (all up), degraded (some down) or error (none up)")
    version: str
    total_terminals: int
    connected_terminals: int
    terminals: dict[str, TerminalHealth] = Field(description="by symbol")
    error: str | None = Field(default=None, description="when no terminal is connected (503)")
    code: str | None = Field(default=None, description="no_terminal_connected with the 503")


class AdminTerminalHealth(TerminalHealth):
    status: str
    uptime_percentage: float
    reconnect_count: int
    restart_count: int
    pid: int | None
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    calls: int
    errors: int
    last_error: str | None


class AdminHealthResponse(HealthResponse):
    terminals: dict[str, AdminTerminalHealth]  # type: ignore[assignment]


class Point(BaseModel):
    index: int = Field(description="series index: 0 = newest bar")
    value: float


class FractalPoint(BaseModel):
    time: int
    price: float


class Fractals(BaseModel):
    peaks: list[FractalPoint]
    bottoms: list[FractalPoint]


class OhlcBar(BaseModel):
    time: int
    open: float
    high: float
    low: float
    close: float
    volume: int


class IndicatorMetadata(BaseModel):
    symbol: str
    timeframe: str
    tier: str
    bars_returned: int
    terminal_id: str
    generated_at: str


class IndicatorData(BaseModel):
    ohlc: list[OhlcBar] = Field(description="oldest first")
    horizontal: dict[str, list[Point]] = Field(description="peak_1..3, bottom_1..3")
    diagonal: dict[str, list[Point]] = Field(description="ascending_1..3, descending_1..3")
    fractals: Fractals
    metadata: IndicatorMetadata


class IndicatorResponse(BaseModel):
    success: bool
    data: IndicatorData


class BarsResponse(BaseModel):
    success: bool
    symbol: str
    timeframe: str
    terminal_id: str
    count: int
    bars: list[dict[str, Any]] = Field(
        description="time, open, high, low, close, tick_volume, spread, real_volume; oldest first"
    )


class TicksResponse(BaseModel):
    success: bool
    symbol: str
    terminal_id: str
    count: int
    ticks: list[dict[str, Any]] = Field(
        description="time, bid, ask, last, volume, time_msc, flags, volume_real; oldest first"
    )


class QuotesResponse(BaseModel):
    success: bool
    tier: str
    quotes: dict[str, dict[str, Any]] = Field(description="the last tick by symbol")
    errors: dict[str, ErrorBody] = Field(description="symbols whose terminal could not answer")


class RestartResponse(BaseModel):
    success: bool
    message: str
    terminal_id: str
    symbol: str | None
    connected: bool
    last_error: str | None = None


class RestartResult(BaseModel):
    terminal_id: str
    symbol: str | None
    success: bool
    error: str | None = None


class RestartAllResponse(BaseModel):
    success: bool
    message: str
    total_terminals: int
    successful_restarts: int
    failed_restarts: int
    results: list[RestartResult]


class LogLine(BaseModel):
    timestamp: str
    level: str
    message: str


class LogsResponse(BaseModel):
    success: bool
    terminal_id: str
    symbol: str | None
    logs: list[LogLine]


class TerminalsByStatus(BaseModel):
    connected: int
    disconnected: int
    reconnecting: int


class ProblematicTerminal(BaseModel):
    terminal_id: str
    symbol: str | None
    errors: int
    restarts: int
    reconnects: int
    last_error: str | None


class Stats(BaseModel):
    total_uptime_percentage: float
    total_reconnects_24h: int
    avg_response_time_ms: float | None
    terminals_by_status: TerminalsByStatus
    most_problematic_terminals: list[ProblematicTerminal]


class StatsResponse(BaseModel):
    success: bool
    stats: Stats
