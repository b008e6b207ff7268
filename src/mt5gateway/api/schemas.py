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
    "PatternListResponse",
    "PatternsResponse",
    "QuotesResponse",
    "RestartAllResponse",
    "RestartResponse",
    "ScanResponse",
    "StatsResponse",
    "SymbolsResponse",
    "TAFunctionsResponse",
    "TAResponse",
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


class TAParameter(BaseModel):
    name: str
    type: str = Field(description="int, float or matype (a moving-average type, by name)")
    default: int | float | str = Field(description="ours, written down (not the installed TA-Lib's)")
    min: int | float
    max: int | float
    description: str
    choices: list[str] | None = Field(default=None, description="the moving-average types (matype only)")


class TAFunction(BaseModel):
    name: str
    display_name: str
    group: str
    inputs: list[str] = Field(description="bar columns read, in order (volume is the tick volume)")
    parameters: list[TAParameter]
    outputs: list[str]
    unstable: bool = Field(description="recursive: values depend on the history start until the warm-up ends")
    path_dependent: bool = Field(description="the level depends on where the history starts, always")
    candlestick: bool


class TAFunctionsResponse(BaseModel):
    success: bool
    count: int
    functions: list[TAFunction]


class TAIndicator(BaseModel):
    spec: str = Field(description="the canonical spec: RSI(14), MACD(12,26,9), BBANDS(20,2,2,SMA)")
    function: str
    parameters: dict[str, int | float]
    lookback: int = Field(description="TA-Lib's lookback: bars before its first value")
    warmup_bars: int = Field(description="lookback + unstable period: bars before its values can be trusted")
    outputs: dict[str, list[float | None]] = Field(description="by TA-Lib's output name, aligned with time")


class TAHistory(BaseModel):
    bars: int = Field(description="bars the indicators were computed over (returned ones included)")
    from_: int | None = Field(alias="from", description="open time of the first of them")


class TAResponse(BaseModel):
    success: bool
    symbol: str
    timeframe: str
    tier: str
    terminal_id: str
    bars: int
    computed_over: TAHistory
    time: list[int] = Field(description="bar open times (epoch s), oldest first; the last bar is forming")
    indicators: list[TAIndicator]
    generated_at: str


class PatternInfo(BaseModel):
    pattern: str
    name: str
    parameters: list[TAParameter]


class PatternListResponse(BaseModel):
    success: bool
    count: int
    patterns: list[PatternInfo]


class PatternOccurrence(BaseModel):
    time: int = Field(description="open time of the bar that completes the pattern")
    pattern: str
    spec: str
    name: str
    direction: str = Field(description="bullish (signal > 0) or bearish (signal < 0)")
    signal: int = Field(description="TA-Lib's value: +-100, +-200 for a confirmed pattern")


class PatternsResponse(BaseModel):
    success: bool
    symbol: str
    timeframe: str
    tier: str
    terminal_id: str
    bars: int = Field(description="closed bars searched")
    patterns: list[str]
    count: int
    occurrences: list[PatternOccurrence] = Field(description="newest first")
    generated_at: str


class ScanMatch(BaseModel):
    symbol: str
    terminal_id: str
    time: int = Field(description="open time of the last closed bar, where the scan looked")
    close: float
    patterns: list[PatternOccurrence]
    values: dict[str, float | None] = Field(description="each condition's operands at that bar")


class ScanResponse(BaseModel):
    success: bool
    tier: str
    timeframe: str
    patterns: list[str]
    conditions: list[str]
    scanned: int
    count: int
    matches: list[ScanMatch]
    errors: dict[str, ErrorBody] = Field(description="symbols whose terminal could not answer")
    generated_at: str
