"""Backtests as jobs: accepted, run in worker processes (never on the event loop), kept in the store.

``BacktestService`` takes a ``BacktestSpec`` (strategy, bars, options, parameters or ranges to
optimise), checks it, stores a pending job and returns its id at once. Jobs run one per worker
process (``spawn``: a fresh interpreter, at most ``ResearchSettings.workers`` at a time); the process
records its progress, then the statistics, trades, equity curve and HTML report, in the store's
``backtests`` table. A process that dies before it finishes (killed, out of memory) leaves its job
``failed`` with the reason; jobs a stopped gateway left running are failed the same way at the next
start, and pending ones run then.

Imports of the backtester happen inside the functions that need them: the gateway builds this
service at start-up, and pandas, Numba and TA-Lib load only in the worker processes.

Strategies: a built-in by name, or ``file:NAME.py[:CLASS]`` from ``ResearchSettings.strategies_dir``
(files the operator registered there; nothing is uploaded).
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import os
import signal
import time
import uuid
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from mt5gateway.errors import NotFound
from mt5gateway.store.engine import create_store_engine, migrate
from mt5gateway.store.tables import BACKTESTS

from .errors import BacktestError
from .settings import ResearchSettings

if TYPE_CHECKING:
    import pandas as pd

    from .model import Backtest

__all__ = ["BacktestOptions", "BacktestService", "BacktestSpec", "ResearchSettings", "run_job"]

JobStateName = Literal["pending", "running", "done", "failed"]
ParamValue = int | float | bool | str


class BacktestOptions(BaseModel):
    """The account and fill options of a ``Backtest`` (its keyword arguments, by the same names)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cash: float = Field(default=10_000, gt=0)
    commission: float = Field(default=0.0, ge=-0.1, description="a rate; money per lot and side with mt5")
    spread: float = Field(default=0.0, ge=0, description="relative; points with mt5 (when bars have none)")
    margin: float = Field(default=1.0, gt=0, le=1)
    trade_on_close: bool = False
    hedging: bool = False
    exclusive_orders: bool = False
    finalize_trades: bool = True
    mt5: bool = Field(default=False, description="MT5 account: lots, contract size, ask/bid, swaps")
    leverage: float = Field(default=100, gt=0)
    intrabar: Literal["sl_first", "ohlc", "ticks"] = "sl_first"

    def backtest(
        self, data: pd.DataFrame, strategy: type[Any], *, symbol: str, ticks: str | None
    ) -> Backtest:
        """A ``Backtest`` of ``strategy`` over ``data`` with these options (``symbol`` for MT5 mode)."""
        from .model import Backtest  # noqa: PLC0415  (see the module docstring)

        return Backtest(
            data,
            strategy,
            cash=self.cash,
            commission=self.commission,
            spread=self.spread,
            margin=self.margin,
            trade_on_close=self.trade_on_close,
            hedging=self.hedging,
            exclusive_orders=self.exclusive_orders,
            finalize_trades=self.finalize_trades,
            symbol=symbol if self.mt5 else None,
            leverage=self.leverage,
            intrabar=self.intrabar,
            ticks=ticks if self.intrabar == "ticks" else None,
        )


class BacktestSpec(BacktestOptions):
    """One backtest job: which strategy, over which bars, with which options and parameters."""

    strategy: str = Field(
        min_length=1, max_length=200, description="sma_cross, rsi_reversion or file:NAME.py[:CLASS]"
    )
    symbol: str = Field(default="EURUSD", min_length=1, max_length=32)
    timeframe: str = Field(default="H1", min_length=2, max_length=16)
    start: str = Field(description="first day or time (UTC), e.g. 2024-01-01", max_length=40)
    end: str = Field(description="last day (included) or end time", max_length=40)
    source: Literal["sim", "store"] = "sim"
    seed: int = Field(default=0, ge=0, description="the simulator's seed")
    params: dict[str, ParamValue] = Field(default_factory=dict, description="strategy parameters")
    optimize: dict[str, list[ParamValue] | str] = Field(
        default_factory=dict, description='ranges to search: a list, or "LOW..HIGH[:STEP]"'
    )
    maximize: str = "SQN"
    method: Literal["grid", "optuna"] = "grid"
    max_tries: float | None = Field(default=None, gt=0)


def _strategy(spec: BacktestSpec, strategies_dir: Path | None) -> type[Any]:
    from .strategies import BUILT_IN, strategy_class  # noqa: PLC0415  (see the module docstring)

    if spec.strategy in BUILT_IN:
        return BUILT_IN[spec.strategy]
    if not spec.strategy.startswith("file:"):
        raise BacktestError(
            f"unknown strategy {spec.strategy!r}: a built-in ({', '.join(BUILT_IN)}) or file:NAME.py[:CLASS]",
            field="strategy",
        )
    name, _, klass = spec.strategy.removeprefix("file:").partition(":")
    if strategies_dir is None:
        raise BacktestError(
            "no strategy files are registered on this gateway (research.strategies_dir)", field="strategy"
        )
    if Path(name).name != name or not name.endswith(".py"):
        raise BacktestError(f"a registered strategy is a file name NAME.py, not {name!r}", field="strategy")
    return strategy_class(f"{strategies_dir / name}" + (f":{klass}" if klass else ""))


def _ranges(spec: BacktestSpec) -> dict[str, list[Any]]:
    from .cli import parse_range  # noqa: PLC0415  (see the module docstring)

    return {
        name: parse_range(value) if isinstance(value, str) else list(value)
        for name, value in spec.optimize.items()
    }


def check_spec(spec: BacktestSpec, strategies_dir: Path | None) -> None:
    """Refuse, with the reason, a job that cannot run (before it is stored)."""
    from .data import parse_time, timeframe_seconds  # noqa: PLC0415  (see the module docstring)
    from .stats import KEYS  # noqa: PLC0415  (see the module docstring)

    strategy = _strategy(spec, strategies_dir)
    known = strategy.parameters()
    unknown = [name for name in (*spec.params, *spec.optimize) if name not in known]
    if unknown:
        raise BacktestError(
            f"Strategy '{strategy.__name__}' has no parameter {', '.join(unknown)}; its parameters are: "
            f"{', '.join(known) or 'none'}",
            field=unknown[0],
        )
    for name, values in _ranges(spec).items():
        if not values:
            raise BacktestError(f"parameter {name!r} has no values to try", field=name)
    timeframe_seconds(spec.timeframe)
    if parse_time(spec.end, end=True) <= parse_time(spec.start):
        raise BacktestError(f"empty range: {spec.start} to {spec.end}", field="end")
    if spec.maximize not in KEYS:
        raise BacktestError(f"maximize {spec.maximize!r} is not a statistic", field="maximize")


def _now_msc() -> int:
    return int(time.time() * 1000)


def _json_value(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) or value in (np.inf, -np.inf) else float(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if hasattr(value, "total_seconds"):  # a Timedelta: seconds
        return value.total_seconds()
    if hasattr(value, "isoformat"):  # a Timestamp
        return value.isoformat()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _results(stats: pd.Series, bars: pd.DataFrame) -> dict[str, str]:
    from .report import html_report  # noqa: PLC0415  (see the module docstring)

    scalars = {str(k): _json_value(v) for k, v in stats.items() if not str(k).startswith("_")}
    strategy = stats["_strategy"]
    scalars["_params"] = {k: _json_value(v) for k, v in getattr(strategy, "_params", {}).items()}
    trades = stats["_trades"]
    rows = [{str(k): _json_value(v) for k, v in row.items()} for row in trades.to_dict(orient="records")]
    curve = stats["_equity_curve"]
    equity = [
        {"time": _json_value(t), "equity": _json_value(e), "drawdown_pct": _json_value(d)}
        for t, e, d in zip(curve.index, curve["Equity"], curve["DrawdownPct"], strict=True)
    ]
    return {
        "stats": json.dumps(scalars),
        "trades": json.dumps(rows),
        "equity": json.dumps(equity),
        "report": html_report(stats, bars),
    }


def run_job(store_url: str | None, job_id: str, strategies_dir: str | None) -> None:
    """A worker process's whole life: run job ``job_id`` and store what it found (or why it failed)."""
    engine = create_store_engine(store_url)
    table = BACKTESTS

    def update(**values: Any) -> None:
        with engine.begin() as connection:
            connection.execute(
                sa.update(table).where(table.c.id == job_id).values(updated_msc=_now_msc(), **values)
            )

    try:
        with engine.connect() as connection:
            row = connection.execute(sa.select(table.c.request).where(table.c.id == job_id)).one()
        spec = BacktestSpec.model_validate_json(row.request)
        update(state="running", pid=os.getpid())
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.5 or done >= total:
                last[0] = now
                update(progress=min(1.0, done / total) if total else 0.0)

        stats, bars = _run(spec, Path(strategies_dir) if strategies_dir else None, progress)
        update(state="done", progress=1.0, **_results(stats, bars))
    except Exception as exc:  # the job fails with its reason; the process ends normally
        message = exc.message if isinstance(exc, BacktestError) else f"{type(exc).__name__}: {exc}"
        update(state="failed", error=message)
    finally:
        engine.dispose()


def _run(spec: BacktestSpec, strategies_dir: Path | None, progress: Any) -> tuple[pd.Series, pd.DataFrame]:
    from .data import bars  # noqa: PLC0415  (see the module docstring)

    strategy = _strategy(spec, strategies_dir)
    data = bars(spec.symbol, spec.timeframe, spec.start, spec.end, source=spec.source, seed=spec.seed)
    backtest = spec.backtest(data, strategy, symbol=spec.symbol, ticks=spec.source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if spec.optimize:
            ranges = {**{k: [v] for k, v in spec.params.items()}, **_ranges(spec)}
            stats = backtest.optimize(
                maximize=spec.maximize,
                method=spec.method,
                max_tries=spec.max_tries,
                progress=progress,
                **ranges,
            )
        else:
            backtest.progress = progress
            stats = backtest.run(**spec.params)
    return stats, data


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the worker process was killed ({name}) before the job finished"
    return f"the worker process ended (exit code {exitcode}) before the job finished"


class BacktestService:
    """Backtest jobs over the store (see the module docstring)."""

    def __init__(self, settings: ResearchSettings, store_url: str | None) -> None:
        self.settings = settings
        self._store_url = store_url
        self._engine: sa.Engine | None = None
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._runners: list[asyncio.Task[None]] = []
        self._processes: dict[str, Any] = {}

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            raise RuntimeError("the research service is not started")
        return self._engine

    async def start(self) -> None:
        """Open the store; fail the jobs a stopped gateway left running, queue the pending ones."""
        self._engine = await asyncio.to_thread(self._open)
        pending = await asyncio.to_thread(self._recover)
        for job_id in pending:
            self._queue.put_nowait(job_id)
        self._runners = [asyncio.create_task(self._runner()) for _ in range(self.settings.workers)]

    def _open(self) -> sa.Engine:
        migrate(self._store_url)
        return create_store_engine(self._store_url)

    def _recover(self) -> list[str]:
        table = BACKTESTS
        with self.engine.begin() as connection:
            connection.execute(
                sa.update(table)
                .where(table.c.state == "running")
                .values(state="failed", error="the gateway stopped while the job ran", updated_msc=_now_msc())
            )
            rows = connection.execute(
                sa.select(table.c.id).where(table.c.state == "pending").order_by(table.c.created_msc)
            ).all()
        return [row.id for row in rows]

    async def stop(self) -> None:
        """Stop the runners; a job still running is ended and failed with that reason."""
        for task in self._runners:
            task.cancel()
        for process in list(self._processes.values()):
            process.terminate()
        await asyncio.gather(*self._runners, return_exceptions=True)
        self._runners = []
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    async def _runner(self) -> None:
        context = multiprocessing.get_context("spawn")
        strategies_dir = str(self.settings.strategies_dir) if self.settings.strategies_dir else None
        while True:
            job_id = await self._queue.get()
            process = context.Process(
                target=run_job, args=(self._store_url, job_id, strategies_dir), daemon=True
            )
            try:
                await asyncio.to_thread(process.start)
                self._processes[job_id] = process
                await asyncio.to_thread(process.join)
            except asyncio.CancelledError:
                await asyncio.to_thread(process.join, 5)
                await asyncio.to_thread(self._settle, job_id, "the gateway stopped while the job ran")
                raise
            finally:
                self._processes.pop(job_id, None)
            await asyncio.to_thread(self._settle, job_id, _death(process.exitcode))

    def _settle(self, job_id: str, reason: str) -> None:
        """Fail ``job_id`` with ``reason`` unless its process recorded an end."""
        table = BACKTESTS
        with self.engine.begin() as connection:
            connection.execute(
                sa.update(table)
                .where(table.c.id == job_id, table.c.state.in_(("pending", "running")))
                .values(state="failed", error=reason, updated_msc=_now_msc())
            )

    async def submit(self, spec: BacktestSpec) -> dict[str, Any]:
        """Check and store a job, queue it; its view (``id``, ``state``)."""
        await asyncio.to_thread(check_spec, spec, self.settings.strategies_dir)
        job_id = uuid.uuid4().hex
        now = _now_msc()
        values = {
            "id": job_id,
            "state": "pending",
            "request": spec.model_dump_json(),
            "progress": 0.0,
            "created_msc": now,
            "updated_msc": now,
        }
        await asyncio.to_thread(self._insert, values)
        self._queue.put_nowait(job_id)
        return await self.get(job_id)

    def _insert(self, values: dict[str, Any]) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.insert(BACKTESTS).values(values))

    def _row(self, job_id: str, *columns: str) -> Any:
        table = BACKTESTS
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(*(table.c[name] for name in columns)).where(table.c.id == job_id)
            ).one_or_none()
        if row is None:
            raise NotFound(f"no backtest {job_id}", id=job_id)
        return row

    async def get(self, job_id: str) -> dict[str, Any]:
        """A job's state, progress, request and (once done) statistics or (failed) error."""
        row = await asyncio.to_thread(
            self._row,
            job_id,
            "id",
            "state",
            "progress",
            "request",
            "error",
            "stats",
            "created_msc",
            "updated_msc",
        )
        return {
            "id": row.id,
            "state": row.state,
            "progress": row.progress,
            "request": json.loads(row.request),
            "error": row.error,
            "statistics": json.loads(row.stats) if row.stats else None,
            "created_msc": row.created_msc,
            "updated_msc": row.updated_msc,
        }

    async def result(self, job_id: str, part: Literal["trades", "equity", "report"]) -> Any:
        """A finished job's trades or equity (decoded JSON) or report (HTML); ``NotFound`` before."""
        row = await asyncio.to_thread(self._row, job_id, "state", part)
        value = getattr(row, part)
        if row.state != "done" or value is None:
            raise NotFound(f"backtest {job_id} has no {part} ({row.state})", id=job_id, state=row.state)
        return value if part == "report" else json.loads(value)
