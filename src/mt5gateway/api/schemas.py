"""Response shapes for the OpenAPI document (``/openapi.json``, ``/docs``).

Bodies are built as dicts (or cached bytes) and rendered by orjson; these models describe them for
clients and for schema-driven tests, and are not used to validate each response at run time.
"""

from __future__ import annotations

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
    last_check: str = Field(
        description="date-time of the last health check (before the first: when its worker started)"
    )
    error: str | None = Field(default=None, description="why it is not connected (absent when it is)")


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
    last_error: str = Field(description='the last failure ("" when there is none)')


class AdminHealthResponse(HealthResponse):
    terminals: dict[str, AdminTerminalHealth]  # type: ignore[assignment]


class Point(BaseModel):
    index: int = Field(description="the bar's position in ohlc (0 = the newest bar)")
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
    series_order: str = Field(
        description="newest_first: ohlc, fractals and line points; a point's index is its position in ohlc"
    )


class IndicatorData(BaseModel):
    ohlc: list[OhlcBar] = Field(description="newest first (ohlc[0] is the newest bar)")
    horizontal: dict[str, list[Point]] = Field(description="peak_1..3, bottom_1..3; points newest first")
    diagonal: dict[str, list[Point]] = Field(
        description="ascending_1..3, descending_1..3; points newest first"
    )
    fractals: Fractals = Field(description="newest first")
    metadata: IndicatorMetadata


class IndicatorResponse(BaseModel):
    success: bool
    data: IndicatorData


class Bar(BaseModel):
    """One bar, as ``copy_rates_*`` gives it (time in epoch seconds)."""

    time: int
    open: float
    high: float
    low: float
    close: float
    tick_volume: int
    spread: int
    real_volume: int


class Tick(BaseModel):
    """One tick, as ``copy_ticks_*`` gives it (time in epoch seconds, time_msc in milliseconds)."""

    time: int
    bid: float
    ask: float
    last: float
    volume: int
    time_msc: int
    flags: int
    volume_real: float


class Quote(Tick):
    terminal_id: str


class BarsResponse(BaseModel):
    success: bool
    symbol: str
    timeframe: str
    terminal_id: str
    count: int
    bars: list[Bar] = Field(description="oldest first")


class TicksResponse(BaseModel):
    success: bool
    symbol: str
    terminal_id: str
    count: int
    ticks: list[Tick] = Field(description="oldest first")


class QuotesResponse(BaseModel):
    success: bool
    tier: str
    quotes: dict[str, Quote] = Field(description="the last tick by symbol")
    errors: dict[str, ErrorBody] = Field(description="symbols whose terminal could not answer")


class RestartResponse(BaseModel):
    success: bool
    message: str
    terminal_id: str
    symbol: str = Field(description='the symbol the terminal is known by ("" when it serves none)')
    connected: bool
    last_error: str = Field(default="", description="why it did not come back (absent when it did)")


class RestartResult(BaseModel):
    terminal_id: str
    symbol: str
    success: bool
    error: str = Field(default="", description="why it did not come back (absent when it did)")


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
    symbol: str
    logs: list[LogLine]


class TerminalsByStatus(BaseModel):
    connected: int
    disconnected: int
    reconnecting: int


class ProblematicTerminal(BaseModel):
    terminal_id: str
    symbol: str
    errors: int
    restarts: int
    reconnects: int
    last_error: str
    reconnect_count: int = Field(description="the original service's name for reconnects")
    uptime: float = Field(description="uptime in %, the original service's name")


class Stats(BaseModel):
    total_uptime_percentage: float
    total_reconnects_24h: int
    avg_response_time_ms: float = Field(default=0.0, description="absent until a call was timed")
    terminals_by_status: TerminalsByStatus
    most_problematic_terminals: list[ProblematicTerminal]


class StatsResponse(BaseModel):
    success: bool
    stats: Stats
