"""Parameter search: grid and Optuna, compiled in bulk, over local processes and a Dask cluster; walk-forward."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from mt5gateway.research import Backtest, BacktestError
from mt5gateway.research.optimize import walk_forward
from mt5gateway.research.strategies import RsiReversion, SmaCross

from .oracle import GOOG

DATA = GOOG.iloc[:1200]
RANGES = {"fast": range(5, 25, 5), "slow": range(20, 60, 10)}


def slower(p: object) -> bool:
    return p.fast < p.slow  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def event_heatmap() -> pd.Series:
    """Every set run on the event loop in this process: the reference."""
    _, heatmap = Backtest(DATA, SmaCross, engine="events").optimize(
        **RANGES, constraint=slower, return_heatmap=True, workers=1, progress=False
    )
    return heatmap


def test_compiled_bulk_scores_equal_event_loop_runs(event_heatmap: pd.Series) -> None:
    stats, heatmap = Backtest(DATA, SmaCross).optimize(
        **RANGES, constraint=slower, return_heatmap=True, progress=False
    )
    pd.testing.assert_series_equal(heatmap, event_heatmap, rtol=1e-9)
    assert len(heatmap) == 16 - 1  # 20 < 20 is refused
    best = heatmap.idxmax()
    assert (stats["_strategy"].fast, stats["_strategy"].slow) == best
    assert stats["SQN"] == pytest.approx(heatmap.max())


def test_local_processes_score_as_one_process(event_heatmap: pd.Series) -> None:
    _, heatmap = Backtest(DATA, SmaCross, engine="events").optimize(
        **RANGES, constraint=slower, return_heatmap=True, workers=2, progress=False
    )
    pd.testing.assert_series_equal(heatmap, event_heatmap)


def test_other_statistics_and_functions_can_be_maximised(event_heatmap: pd.Series) -> None:
    by_return = Backtest(DATA, SmaCross).optimize(**RANGES, maximize="Return [%]", progress=False, workers=1)
    by_function = Backtest(DATA, SmaCross).optimize(
        **RANGES, maximize=lambda s: s["Return [%]"] - abs(s["Max. Drawdown [%]"]), progress=False, workers=1
    )
    assert by_return["Return [%]"] >= by_function["Return [%]"]


def test_random_grid_tries_a_share_of_the_sets() -> None:
    _, heatmap = Backtest(DATA, SmaCross).optimize(
        **RANGES, max_tries=0.5, random_state=3, return_heatmap=True, progress=False
    )
    assert len(heatmap) == 8


def test_optuna_finds_the_grids_best_on_a_small_grid(event_heatmap: pd.Series) -> None:
    stats, heatmap = Backtest(DATA, SmaCross).optimize(
        **RANGES,
        method="optuna",
        max_tries=15,
        constraint=slower,
        random_state=1,
        return_heatmap=True,
        progress=False,
    )
    assert heatmap.index.is_unique and len(heatmap) >= 10
    assert heatmap.max() == pytest.approx(event_heatmap.max()) or heatmap.max() <= event_heatmap.max()
    assert stats["SQN"] == pytest.approx(heatmap.max())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fats": [5]}, "has no parameter fats"),
        ({"fast": []}, "has no values"),
        ({"fast": [5], "maximize": "Happiness"}, "not a statistic"),
        ({"fast": [5], "method": "annealing"}, "grid' or 'optuna"),
        ({"fast": [50], "slow": [20], "constraint": slower}, "no admissible"),
        ({}, "give parameters"),
    ],
)
def test_bad_searches_are_refused_clearly(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(BacktestError, match=message):
        Backtest(DATA, SmaCross).optimize(progress=False, **kwargs)


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[str]:
    from distributed import LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_dask_cluster_scores_as_local_processes(dask_cluster: str) -> None:
    backtest = Backtest(DATA, RsiReversion, engine="events")
    ranges = {"lower": [20, 25, 30, 35], "upper": [65, 70, 75]}
    _, local = backtest.optimize(**ranges, return_heatmap=True, workers=1, progress=False)
    _, remote = backtest.optimize(**ranges, return_heatmap=True, scheduler=dask_cluster, progress=False)
    pd.testing.assert_series_equal(remote, local)


def test_walk_forward_stitches_out_of_sample_windows() -> None:
    result = walk_forward(
        Backtest(DATA, SmaCross), train=400, test=200, **RANGES, constraint=slower, progress=False
    )
    windows = result.windows
    assert len(windows) == (len(DATA) - 400) // 200
    assert (windows["test_start"].iloc[1:].to_numpy() > windows["test_end"].iloc[:-1].to_numpy()).all()
    curve = result.stats["_equity_curve"]["Equity"]
    assert len(curve) == 200 * len(windows) and curve.iloc[0] == 10_000
    returns = (1 + windows["OOS Return [%]"] / 100).prod()
    assert result.stats["Return [%]"] == pytest.approx((returns - 1) * 100)
    assert result.stats["# Trades"] == windows["OOS # Trades"].sum()
    summary = result.summary()
    assert list(summary.columns) == ["in-sample (mean)", "out-of-sample"] and "Sharpe Ratio" in summary.index
    anchored = walk_forward(
        Backtest(DATA, SmaCross), train="500D", test="250D", anchored=True, **RANGES, progress=False
    )
    assert (anchored.windows["train_start"] == DATA.index[0]).all()
    assert np.isfinite(anchored.stats["Equity Final [$]"])
