"""Searching a strategy's parameters: a grid or Optuna, and walk-forward windows, fanned out.

``optimize(backtest, maximize="SQN", method="grid" | "optuna", max_tries=None, constraint=None,
return_heatmap=False, random_state=None, workers=None, scheduler=None, progress=True, **ranges)``
follows ``Backtest.optimize`` of backtesting.py: ``ranges`` give each parameter's values, the best
set's full statistics come back (with the heatmap of every set's score when asked). A set whose run
makes no trade scores NaN.

Where the runs go:

- a ``SignalStrategy`` the compiled path can run, scored by one of ``compiled.SUMMARY_FIELDS``:
  in this process, many sets per compiled call, on all cores (Numba threads);
- otherwise event-loop runs in batches over ``workers`` local processes (default: every core;
  1: this process), or over a Dask cluster when ``scheduler`` is given (its address, or a
  ``distributed.Client``); the strategy class must then be importable on the workers;
- a progress bar (rich, on stderr) counts the runs unless ``progress=False``; a function
  ``(done, total)`` given as ``progress`` hears the counts instead.

``walk_forward(backtest, train=..., test=..., anchored=False, **same)`` optimises on each in-sample
window, runs the best set on the out-of-sample window that follows, stitches the out-of-sample
equity into one curve and reports its statistics beside the in-sample ones.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .accounts import UnitsAccount
from .compiled import SUMMARY_FIELDS, simulate_many
from .errors import BacktestError
from .stats import KEYS, compute_stats

if TYPE_CHECKING:
    from .model import Backtest
    from .stats import Stats

__all__ = ["WalkForward", "optimize", "parameter_grid", "walk_forward"]

_simulate_many: Any = simulate_many  # Numba's dispatcher, called with plain arrays and scalars

Params = dict[str, Any]
Maximize = str | Callable[[pd.Series], float]
ProgressHook = Callable[[int, int], None]


class _AttrDict(dict[str, Any]):
    """Parameters readable as attributes by a ``constraint`` (``p.fast < p.slow``)."""

    def __getattr__(self, item: str) -> Any:
        try:
            return self[item]
        except KeyError:
            raise AttributeError(item) from None


def _values(name: str, values: Any) -> list[Any]:
    listed = list(values) if isinstance(values, Iterable) and not isinstance(values, str) else [values]
    if not listed:
        raise BacktestError(f"parameter {name!r} has no values to try", field=name)
    return listed


def parameter_grid(
    ranges: Mapping[str, Any], constraint: Callable[[Any], bool] | None = None
) -> list[Params]:
    """Every combination of ``ranges`` that ``constraint`` admits, in grid order."""
    names = list(ranges)
    columns = [_values(name, ranges[name]) for name in names]
    combos = [dict(zip(names, values, strict=True)) for values in product(*columns)]
    if constraint is not None:
        combos = [combo for combo in combos if constraint(_AttrDict(combo))]
    return combos


# ---------------------------------------------------------------------------------- running sets


def _score(stats: pd.Series, maximize: Maximize) -> float:
    if not stats["# Trades"]:
        return math.nan
    value = maximize(stats) if callable(maximize) else stats[maximize]
    return float(value)


_WORKER_BACKTEST: Backtest | None = None


def _install(backtest: Backtest) -> None:
    global _WORKER_BACKTEST
    _WORKER_BACKTEST = backtest
    warnings.simplefilter("ignore")


def _run_batch(batch: list[Params], maximize: Maximize, backtest: Backtest | None = None) -> list[float]:
    """Scores of a batch of sets (in a worker: the backtest it was given at start)."""
    chosen = backtest if backtest is not None else _WORKER_BACKTEST
    assert chosen is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [_score(chosen.run(**params), maximize) for params in batch]


def _batches(combos: Sequence[Params], workers: int) -> list[list[Params]]:
    size = max(1, min(64, len(combos) // (workers * 8) or 1))
    return [list(combos[i : i + size]) for i in range(0, len(combos), size)]


@contextmanager
def _progress(total: int, enabled: bool | ProgressHook, label: str) -> Iterator[ProgressHook]:
    """A rich progress bar on stderr; or the caller's own hook; or nothing."""
    if callable(enabled):
        yield enabled
        return
    if not enabled or total <= 1:
        yield lambda done, total_: None
        return
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)

        def advance(done: int, total_: int) -> None:
            bar.update(task, completed=done, total=total_)

        yield advance


class _Runner:
    """Scores parameter sets: compiled in bulk, on local processes, or on a Dask cluster."""

    def __init__(
        self,
        backtest: Backtest,
        maximize: Maximize,
        *,
        workers: int | None,
        scheduler: Any,
        on_progress: ProgressHook,
    ) -> None:
        self.backtest = backtest
        self.maximize = maximize
        self.workers = workers or os.cpu_count() or 1
        self.scheduler = scheduler
        self.on_progress = on_progress
        self.done = 0
        self.total = 0
        self._compiled = isinstance(maximize, str) and maximize in SUMMARY_FIELDS and backtest._compiles()
        self._pool: ProcessPoolExecutor | None = None
        self._client: Any = None
        self._remote_backtest: Any = None

    def __enter__(self) -> _Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
        if self._client is not None and isinstance(self.scheduler, str):
            self._client.close()

    def scores(self, combos: Sequence[Params]) -> list[float]:
        """One score per set, in order."""
        if not combos:
            return []
        if self._compiled:
            return self._compiled_scores(combos)
        if self.scheduler is not None:
            return self._dask_scores(combos)
        if self.workers == 1 or len(combos) == 1:
            results = []
            for params in combos:
                results += _run_batch([params], self.maximize, self.backtest)
                self._advance(1)
            return results
        return self._process_scores(combos)

    def _advance(self, count: int) -> None:
        self.done += count
        self.on_progress(self.done, max(self.total, self.done))

    def _process_scores(self, combos: Sequence[Params]) -> list[float]:
        if self._pool is None:
            # fork shares the backtest (bars, strategy class) with the workers without pickling it
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=context, initializer=_install, initargs=(self.backtest,)
            )
        batches = _batches(combos, self.workers)
        futures = {self._pool.submit(_run_batch, batch, self.maximize): k for k, batch in enumerate(batches)}
        results: list[list[float]] = [[] for _ in batches]
        for future in as_completed(futures):
            k = futures[future]
            results[k] = future.result()
            self._advance(len(batches[k]))
        return [score for batch in results for score in batch]

    def _dask_scores(self, combos: Sequence[Params]) -> list[float]:
        from distributed import Client  # noqa: PLC0415  (Dask only when a scheduler is given)
        from distributed import as_completed as dask_completed  # noqa: PLC0415  (the same)

        if self._client is None:
            self._client = self.scheduler if isinstance(self.scheduler, Client) else Client(self.scheduler)  # type: ignore[no-untyped-call]
            self._remote_backtest = self._client.scatter(self.backtest, broadcast=True)
        workers = max(1, len(self._client.scheduler_info().get("workers", {})))
        batches = _batches(combos, workers)
        futures = [
            self._client.submit(_run_batch, batch, self.maximize, self._remote_backtest, pure=False)
            for batch in batches
        ]
        position = {future.key: k for k, future in enumerate(futures)}
        results: list[list[float]] = [[] for _ in batches]
        for future in dask_completed(futures):  # type: ignore[no-untyped-call]
            k = position[future.key]
            results[k] = future.result()
            self._advance(len(batches[k]))
        return [score for batch in results for score in batch]

    def _compiled_scores(self, combos: Sequence[Params]) -> list[float]:
        backtest = self.backtest
        frame = backtest.data
        prices = [
            np.ascontiguousarray(frame[col].to_numpy(dtype=float)) for col in ("Open", "High", "Low", "Close")
        ]
        length = len(frame)
        account = UnitsAccount(
            spread=backtest._spread, commission=backtest._commission, margin=backtest._margin
        )
        fixed, rate = account.commission_terms() or (0.0, 0.0)
        field = SUMMARY_FIELDS.index(str(self.maximize))
        trades_field = SUMMARY_FIELDS.index("# Trades")
        chunk = max(1, min(len(combos), int(400e6 // (length * 8 * 4))))
        scores: list[float] = []
        for begin in range(0, len(combos), chunk):
            part = combos[begin : begin + chunk]
            entries = np.zeros((len(part), length))
            exits = np.zeros((len(part), length), dtype=np.bool_)
            stops: list[tuple[np.ndarray, np.ndarray]] = []
            starts = np.zeros(len(part), dtype=np.int64)
            for row, params in enumerate(part):
                strategy, _, _, _, start = backtest._prepare(params)
                entry, closing, sl, tp = strategy.signals()  # type: ignore[attr-defined]
                entries[row], exits[row], starts[row] = entry, closing, start
                stops.append((sl, tp))
            with_stops = any(len(sl) for sl, _ in stops)
            sls = (
                np.vstack([sl if len(sl) else np.full(length, np.nan) for sl, _ in stops])
                if with_stops
                else np.empty((0, 0))
            )
            tps = (
                np.vstack([tp if len(tp) else np.full(length, np.nan) for _, tp in stops])
                if with_stops
                else np.empty((0, 0))
            )
            summaries = np.empty((len(part), len(SUMMARY_FIELDS)))
            errors = np.empty((len(part), 2), dtype=np.int64)
            _simulate_many(
                *prices, entries, exits, sls, tps, starts, float(backtest._cash), float(account.spread), float(fixed),
                float(rate), float(account.leverage), bool(backtest._options["trade_on_close"]),
                bool(backtest._finalize_trades), summaries, errors,
            )  # fmt: skip
            bad = np.flatnonzero(errors[:, 0] >= 0)
            if len(bad):
                backtest.run(**part[int(bad[0])])  # raises the event loop's OrderError for it
            for row in range(len(part)):
                trades = summaries[row, trades_field]
                scores.append(float(summaries[row, field]) if trades else math.nan)
            self._advance(len(part))
        return scores


def _maximize_of(maximize: Maximize) -> Maximize:
    if isinstance(maximize, str):
        if maximize not in KEYS:
            raise BacktestError(
                f"maximize {maximize!r} is not a statistic; one of: {', '.join(KEYS)}", field="maximize"
            )
        return maximize
    if not callable(maximize):
        raise BacktestError(
            "maximize must be a statistic's name or a function of the statistics", field="maximize"
        )
    return maximize


def _check_ranges(backtest: Backtest, ranges: Mapping[str, Any]) -> None:
    if not ranges:
        raise BacktestError("give parameters to optimise, e.g. fast=range(5, 50, 5)")
    known = backtest.strategy.parameters()
    unknown = [name for name in ranges if name not in known]
    if unknown:
        raise BacktestError(
            f"Strategy '{backtest.strategy.__name__}' has no parameter {', '.join(unknown)}; "
            f"its parameters are: {', '.join(known) or 'none'}",
            field=unknown[0],
        )


def optimize(
    backtest: Backtest,
    *,
    maximize: Maximize = "SQN",
    method: str = "grid",
    max_tries: float | None = None,
    constraint: Callable[[Any], bool] | None = None,
    return_heatmap: bool = False,
    random_state: int | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | ProgressHook = True,
    **ranges: Any,
) -> Stats | tuple[Stats, pd.Series]:
    """The best parameter set's statistics (and the heatmap of scores); see the module docstring."""
    _check_ranges(backtest, ranges)
    maximize = _maximize_of(maximize)
    if constraint is not None and not callable(constraint):
        raise BacktestError("constraint must be a function of the parameters", field="constraint")
    search = _Search(
        backtest, ranges, maximize, max_tries, constraint, random_state, workers, scheduler, progress
    )
    if method == "grid":
        tried, scores = _grid(search)
    elif method == "optuna":
        tried, scores = _optuna(search)
    else:
        raise BacktestError(f"method must be 'grid' or 'optuna', not {method!r}", field="method")
    names = list(ranges)
    heatmap = pd.Series(
        scores,
        index=pd.MultiIndex.from_tuples([tuple(p[n] for n in names) for p in tried], names=names),
        name=maximize if isinstance(maximize, str) else getattr(maximize, "__name__", "score"),
        dtype=float,
    )
    best = tried[0] if heatmap.isna().all() else tried[int(np.nanargmax(heatmap.to_numpy()))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = backtest.run(**best)
    return (stats, heatmap) if return_heatmap else stats


@dataclass(frozen=True)
class _Search:
    """What one ``optimize`` call asked for (see its parameters)."""

    backtest: Backtest
    ranges: Mapping[str, Any]
    maximize: Maximize
    max_tries: float | None
    constraint: Callable[[Any], bool] | None
    random_state: int | None
    workers: int | None
    scheduler: Any
    progress: bool | ProgressHook

    def admits(self, params: Params) -> bool:
        return self.constraint is None or bool(self.constraint(_AttrDict(params)))

    def runner(self, on_progress: ProgressHook) -> _Runner:
        return _Runner(
            self.backtest,
            self.maximize,
            workers=self.workers,
            scheduler=self.scheduler,
            on_progress=on_progress,
        )


def _grid(search: _Search) -> tuple[list[Params], list[float]]:
    combos = parameter_grid(search.ranges, search.constraint)
    if not combos:
        raise BacktestError("no admissible parameter combination: the constraint refuses every one")
    max_tries = search.max_tries
    if max_tries is not None:
        count = int(max_tries * len(combos)) if 0 < max_tries <= 1 else int(max_tries)
        if count < len(combos):
            chosen = np.random.default_rng(search.random_state).choice(
                len(combos), size=max(1, count), replace=False
            )
            combos = [combos[k] for k in sorted(chosen)]
    with (
        _progress(len(combos), search.progress, "Backtest.optimize") as advance,
        search.runner(advance) as runner,
    ):
        runner.total = len(combos)
        return combos, runner.scores(combos)


def _optuna_space(name: str, values: list[Any]) -> Callable[[Any], Any]:
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if numbers and all(isinstance(v, int) for v in values) and len(values) > 2:
        steps = np.diff(sorted(values))
        if len(set(steps.tolist())) == 1 and steps[0] > 0:
            low, high, step = min(values), max(values), int(steps[0])
            return lambda trial: trial.suggest_int(name, low, high, step=step)
    return lambda trial: trial.suggest_categorical(name, values)


def _optuna(search: _Search) -> tuple[list[Params], list[float]]:
    import optuna  # noqa: PLC0415  (Optuna only for method='optuna')

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ranges, max_tries = search.ranges, search.max_tries
    grid_size = math.prod(len(_values(n, v)) for n, v in ranges.items())
    tries = (
        200
        if max_tries is None
        else (max(1, int(max_tries * grid_size)) if 0 < max_tries <= 1 else int(max_tries))
    )
    tries = min(tries, grid_size)
    space = {name: _optuna_space(name, _values(name, values)) for name, values in ranges.items()}
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=search.random_state)
    )
    seen: dict[tuple[Any, ...], float] = {}
    tried: list[Params] = []
    scores: list[float] = []
    stalls = 0
    with (
        _progress(tries, search.progress, "Backtest.optimize (optuna)") as advance,
        search.runner(lambda done, total: None) as runner,
    ):
        while len(tried) < tries and stalls < 10 * tries:
            batch_size = min(max(1, runner.workers), tries - len(tried))
            trials = [study.ask() for _ in range(batch_size)]
            asked = [{name: suggest(trial) for name, suggest in space.items()} for trial in trials]
            fresh: list[Params] = []
            for params in asked:
                key = tuple(params.values())
                if key not in seen and search.admits(params) and params not in fresh:
                    fresh.append(params)
            for params, score in zip(fresh, runner.scores(fresh), strict=True):
                seen[tuple(params.values())] = score
                tried.append(params)
                scores.append(score)
            stalls += batch_size - len(fresh)
            for trial, params in zip(trials, asked, strict=True):
                found = seen.get(tuple(params.values()))
                if not search.admits(params) or found is None or math.isnan(found):
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                else:
                    study.tell(trial, found)
            advance(len(tried), tries)
    if not tried:
        raise BacktestError("no admissible parameter combination: the constraint refuses every one tried")
    return tried, scores


# ---------------------------------------------------------------------------------- walk-forward


@dataclass(frozen=True)
class WalkForward:
    """A walk-forward run: each window's best parameters and scores, and the stitched out-of-sample run.

    ``windows``: one row per window (its in-sample and out-of-sample spans, the best parameters,
    and the in-sample / out-of-sample ``Return [%]``, ``Sharpe Ratio``, ``Max. Drawdown [%]``,
    ``# Trades`` and the score maximised). ``stats``: statistics of the stitched out-of-sample
    equity and trades. ``in_sample``: the in-sample statistics averaged over the windows.
    """

    windows: pd.DataFrame
    stats: Stats
    in_sample: pd.Series
    bars: pd.DataFrame
    """The out-of-sample windows' bars, one after another (what ``stats`` was computed on)."""

    def summary(self) -> pd.DataFrame:
        """In-sample (mean over windows) beside out-of-sample (stitched), one row per statistic."""
        keys = [key for key in self.in_sample.index if key in self.stats.index]
        return pd.DataFrame(
            {"in-sample (mean)": self.in_sample[keys], "out-of-sample": [self.stats[key] for key in keys]},
            index=keys,
        )


_WINDOW_KEYS = ("Return [%]", "Sharpe Ratio", "Max. Drawdown [%]", "# Trades", "Win Rate [%]", "SQN")


def _span(frame: pd.DataFrame, value: int | str | pd.Timedelta, what: str) -> int:
    """A window length in bars, from a bar count or a duration (``"180D"``)."""
    if isinstance(value, int | np.integer):
        bars = int(value)
    else:
        duration = pd.Timedelta(value)
        index = frame.index
        if not isinstance(index, pd.DatetimeIndex):
            raise BacktestError(f"{what} as a duration needs bars on a DatetimeIndex")
        bars = int(index.searchsorted(index[0] + duration))
    if bars < 2:
        raise BacktestError(f"{what} must span at least 2 bars, got {bars}", field=what)
    return bars


def walk_forward(
    backtest: Backtest,
    *,
    train: int | str | pd.Timedelta,
    test: int | str | pd.Timedelta,
    anchored: bool = False,
    maximize: Maximize = "SQN",
    method: str = "grid",
    max_tries: float | None = None,
    constraint: Callable[[Any], bool] | None = None,
    random_state: int | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | ProgressHook = True,
    **ranges: Any,
) -> WalkForward:
    """Rolling (or ``anchored``) in-sample optimisation, each followed by an out-of-sample run."""
    if len(backtest._symbols) != 1:
        raise BacktestError("walk-forward runs one symbol's bars")
    _check_ranges(backtest, ranges)
    frame = backtest.data
    train_bars, test_bars = _span(frame, train, "train"), _span(frame, test, "test")
    if train_bars + test_bars > len(frame):
        raise BacktestError(f"train + test ({train_bars} + {test_bars} bars) exceed the {len(frame)} bars")
    rows: list[dict[str, Any]] = []
    in_sample: list[pd.Series] = []
    curves: list[np.ndarray] = []
    trades: list[pd.DataFrame] = []
    tested: list[pd.DataFrame] = []
    value = backtest._cash
    offset = 0
    first = 0
    while first + train_bars + test_bars <= len(frame):
        begin = 0 if anchored else first
        split, end = first + train_bars, first + train_bars + test_bars
        result = cast(
            "Stats",
            optimize(
                backtest.evolve(data=frame.iloc[begin:split]),
                maximize=maximize,
                method=method,
                max_tries=max_tries,
                constraint=constraint,
                random_state=random_state,
                workers=workers,
                scheduler=scheduler,
                progress=progress,
                **ranges,
            ),
        )
        best = result["_strategy"]._params
        window = frame.iloc[split:end]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outside = backtest.evolve(data=window).run(**best)
        equity = outside["_equity_curve"]["Equity"].to_numpy()
        curves.append(equity / equity[0] * value)
        value = curves[-1][-1]
        shifted = outside["_trades"].copy()
        shifted[["EntryBar", "ExitBar"]] += offset
        trades.append(shifted)
        tested.append(window)
        offset += len(window)
        score_name = maximize if isinstance(maximize, str) else "score"
        row: dict[str, Any] = {
            "train_start": frame.index[begin],
            "train_end": frame.index[split - 1],
            "test_start": window.index[0],
            "test_end": window.index[-1],
            **best,
        }
        for key in dict.fromkeys((*_WINDOW_KEYS, score_name)):
            if key in result.index:
                row[f"IS {key}"] = result[key]
                row[f"OOS {key}"] = outside[key]
        rows.append(row)
        in_sample.append(result)
        first += test_bars
    stitched = compute_stats(
        trades=pd.concat(trades, ignore_index=True),
        equity=np.concatenate(curves),
        ohlc=pd.concat(tested),
        strategy=None,
    )
    numbers = [
        {
            key: value
            for key, value in stats.items()
            if isinstance(value, int | float | np.number) and not isinstance(value, bool)
        }
        for stats in in_sample
    ]
    means = pd.DataFrame(numbers).mean()
    return WalkForward(windows=pd.DataFrame(rows), stats=stitched, in_sample=means, bars=pd.concat(tested))
