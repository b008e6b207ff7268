"""A backtest's statistics: backtesting.py 0.6.6's keys and definitions, from an equity curve and trades.

``compute_stats`` returns a ``Stats`` series (it prints like backtesting.py's) with ``Start``, ``End``,
``Duration``, ``Exposure Time [%]``, ``Equity Final [$]``, ``Equity Peak [$]``, ``Commissions [$]``
(when any), ``Return [%]``, ``Buy & Hold Return [%]``, ``Return (Ann.) [%]``, ``Volatility (Ann.) [%]``,
``CAGR [%]``, ``Sharpe Ratio``, ``Sortino Ratio``, ``Calmar Ratio``, ``Alpha [%]``, ``Beta``,
``Max. Drawdown [%]``, ``Avg. Drawdown [%]``, ``Max. Drawdown Duration``, ``Avg. Drawdown Duration``,
``# Trades``, ``Win Rate [%]``, ``Best Trade [%]``, ``Worst Trade [%]``, ``Avg. Trade [%]``,
``Max. Trade Duration``, ``Avg. Trade Duration``, ``Profit Factor``, ``Expectancy [%]``, ``SQN``,
``Kelly Criterion``, then ``_strategy``, ``_equity_curve`` (Equity, DrawdownPct, DrawdownDuration)
and ``_trades``.

The definitions, briefly: returns are compounded; annual figures use the daily (weekly, monthly,
yearly for such bars) equity returns over 252 trading days a year (365 when the bars include
weekends); Sharpe and Sortino divide the annual return by the annual volatility / downside
deviation; a trade's return is its price move less its commissions as a share of its entry value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    from .model import Strategy, Trade

__all__ = [
    "KEYS",
    "TRADE_COLUMNS",
    "Stats",
    "compute_stats",
    "drawdown_episodes",
    "records_frame",
    "trades_frame",
]

KEYS = (
    "Start",
    "End",
    "Duration",
    "Exposure Time [%]",
    "Equity Final [$]",
    "Equity Peak [$]",
    "Commissions [$]",
    "Return [%]",
    "Buy & Hold Return [%]",
    "Return (Ann.) [%]",
    "Volatility (Ann.) [%]",
    "CAGR [%]",
    "Sharpe Ratio",
    "Sortino Ratio",
    "Calmar Ratio",
    "Alpha [%]",
    "Beta",
    "Max. Drawdown [%]",
    "Avg. Drawdown [%]",
    "Max. Drawdown Duration",
    "Avg. Drawdown Duration",
    "# Trades",
    "Win Rate [%]",
    "Best Trade [%]",
    "Worst Trade [%]",
    "Avg. Trade [%]",
    "Max. Trade Duration",
    "Avg. Trade Duration",
    "Profit Factor",
    "Expectancy [%]",
    "SQN",
    "Kelly Criterion",
)
"""Every statistic's key, in order (``Commissions [$]`` only when there were any, ``CAGR [%]`` only on dated bars)."""

TRADE_COLUMNS = (
    "Size",
    "EntryBar",
    "ExitBar",
    "EntryPrice",
    "ExitPrice",
    "SL",
    "TP",
    "PnL",
    "Commission",
    "ReturnPct",
    "EntryTime",
    "ExitTime",
    "Duration",
    "Tag",
)


class Stats(pd.Series):
    """Statistics of one run; printed as an aligned table (frames abbreviated)."""

    @property
    def _constructor(self) -> type[Stats]:
        return Stats

    def __repr__(self) -> str:
        with pd.option_context(
            "display.max_colwidth", 20, "display.max_rows", len(self), "display.precision", 5
        ):
            return str(pd.Series(self, dtype=object).fillna(np.nan).to_string(na_rep="--", dtype=True))


def _period(index: pd.Index) -> Any:
    """The bars' typical spacing: the median step of the last 100 bars."""
    return pd.Series(index[-100:]).diff().dropna().median()


def drawdown_episodes(drawdown: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Duration and deepest point of each drawdown, placed at the bar that ends it (NaN elsewhere).

    A drawdown runs from a bar at a new high (drawdown 0) to the next such bar, or to the last bar.
    """
    at_high = np.flatnonzero(drawdown.to_numpy() == 0)
    ends = np.unique(np.r_[at_high, len(drawdown) - 1])
    starts = np.r_[np.nan, ends[:-1]]
    keep = ends > starts + 1  # NaN start compares false
    if not keep.any():
        blank = drawdown.replace(0, np.nan)
        return blank, blank
    ends, starts_int = ends[keep], starts[keep].astype(np.int64)
    index = drawdown.index
    durations = pd.Series(index[ends] - index[starts_int], index=index[ends])
    values = drawdown.to_numpy()
    peaks = pd.Series(
        [values[s : e + 1].max() for s, e in zip(starts_int, ends, strict=True)], index=index[ends]
    )
    return durations.reindex(index), peaks.reindex(index)


def _geometric_mean(returns: pd.Series) -> float:
    growth = returns.fillna(0) + 1
    if np.any(growth <= 0):
        return 0
    return float(np.exp(np.log(growth).sum() / (len(growth) or np.nan)) - 1)


def trades_frame(
    trades: Sequence[Trade], strategy: Strategy | None, *, by_symbol: bool = False
) -> pd.DataFrame:
    """The closed trades as backtesting.py's ``_trades`` frame (plus ``Symbol`` and ``Swap`` when asked),
    with each indicator's value at entry and exit (``Entry_SMA(C,10)``, ...)."""
    frame = pd.DataFrame(
        {
            "Size": [t.size for t in trades],
            "EntryBar": [t.entry_bar for t in trades],
            "ExitBar": [t.exit_bar for t in trades],
            "EntryPrice": [t.entry_price for t in trades],
            "ExitPrice": [t.exit_price for t in trades],
            "SL": [t.sl for t in trades],
            "TP": [t.tp for t in trades],
            "PnL": [t.pl for t in trades],
            "Commission": [t._commissions for t in trades],
            "ReturnPct": [t.pl_pct for t in trades],
        }
    )
    index = trades[0]._broker.index if trades else pd.DatetimeIndex([])
    frame["EntryTime"] = index[frame["EntryBar"].to_numpy(dtype=np.int64)]
    frame["ExitTime"] = index[frame["ExitBar"].to_numpy(dtype=np.int64)]
    if by_symbol:
        frame.insert(0, "Symbol", [t.symbol for t in trades])
    swaps = [t.swap for t in trades] if by_symbol else None
    return _completed(frame, [t.tag for t in trades], strategy, swaps=swaps)


def records_frame(records: npt.NDArray[np.void], index: pd.Index, strategy: Strategy | None) -> pd.DataFrame:
    """The ``_trades`` frame of the compiled path's ``TRADE_DTYPE`` records (the event loop's columns)."""

    def optional(values: npt.NDArray[np.float64]) -> list[float | None]:
        return [None if math.isnan(value) else float(value) for value in values.tolist()]

    frame = pd.DataFrame(
        {
            "Size": records["size"].astype(np.int64),
            "EntryBar": records["entry_bar"],
            "ExitBar": records["exit_bar"],
            "EntryPrice": records["entry_price"],
            "ExitPrice": records["exit_price"],
            "SL": optional(records["sl"]),
            "TP": optional(records["tp"]),
            "PnL": records["pnl"],
            "Commission": records["commission"],
            "ReturnPct": records["return_pct"],
            "EntryTime": index[records["entry_bar"]],
            "ExitTime": index[records["exit_bar"]],
        }
    )
    return _completed(frame, [None] * len(frame), strategy, swaps=None)


def _completed(
    frame: pd.DataFrame, tags: list[object], strategy: Strategy | None, *, swaps: list[float] | None
) -> pd.DataFrame:
    """Duration, tags (and swaps), and each indicator's value at entry and exit."""
    frame["Duration"] = frame["ExitTime"] - frame["EntryTime"]
    frame["Tag"] = cast(Any, tags)  # a list, so pandas infers the column type as backtesting.py gets it
    if swaps is not None:
        frame["Swap"] = swaps
    if len(frame) and strategy is not None:
        entry_bars, exit_bars = frame["EntryBar"].to_numpy(), frame["ExitBar"].to_numpy()
        for indicator in strategy._indicators:
            lines = np.atleast_2d(np.asarray(indicator))
            names = indicator.name if isinstance(indicator.name, list) else None
            for row, values in enumerate(lines):
                label = indicator.name if names is None else names[row]
                suffix = f"_{row}" if len(lines) > 1 and names is None else ""
                frame[f"Entry_{label}{suffix}"] = values[entry_bars]
                frame[f"Exit_{label}{suffix}"] = values[exit_bars]
    return frame


def compute_stats(
    *,
    trades: Sequence[Trade] | pd.DataFrame,
    equity: npt.NDArray[np.float64],
    ohlc: pd.DataFrame,
    strategy: Strategy | None,
    warmup: int = 0,
    risk_free_rate: float = 0.0,
    symbols: Sequence[str] | None = None,
) -> Stats:
    """The statistics of a run: ``equity`` per bar of ``ohlc``, and the closed ``trades`` (objects or
    a ``_trades`` frame); ``warmup`` bars precede the first the strategy could trade on."""
    if not -1 < risk_free_rate < 1:
        raise ValueError(f"risk_free_rate must be in (-1, 1), got {risk_free_rate}")
    index = ohlc.index
    drawdown = 1 - equity / np.maximum.accumulate(equity)
    dd_duration, dd_peaks = drawdown_episodes(pd.Series(drawdown, index=index))
    equity_frame = pd.DataFrame(
        {"Equity": equity, "DrawdownPct": drawdown, "DrawdownDuration": dd_duration}, index=index
    )
    if isinstance(trades, pd.DataFrame):
        trade_frame = trades
        commissions = trades["Commission"].sum() if "Commission" in trades else None
    else:
        trade_frame = trades_frame(trades, strategy, by_symbol=symbols is not None)
        commissions = sum(t._commissions for t in trades)
    pl = trade_frame["PnL"]
    returns = trade_frame["ReturnPct"]
    durations = trade_frame["Duration"]
    period = _period(index)

    def ceil_to_period(value: Any) -> Any:
        if not isinstance(value, pd.Timedelta):
            return value
        resolution = getattr(period, "resolution_string", None) or period.resolution
        return value.ceil(resolution)

    s: dict[str, Any] = {}
    s["Start"] = index[0]
    s["End"] = index[-1]
    s["Duration"] = s["End"] - s["Start"]
    exposed = np.zeros(len(index), dtype=np.int64)
    for entry, exit_ in zip(
        trade_frame["EntryBar"].to_numpy(), trade_frame["ExitBar"].to_numpy(), strict=True
    ):
        exposed[int(entry) : int(exit_) + 1] = 1
    s["Exposure Time [%]"] = exposed.mean() * 100
    s["Equity Final [$]"] = equity[-1]
    s["Equity Peak [$]"] = equity.max()
    if commissions:
        s["Commissions [$]"] = commissions
    s["Return [%]"] = (equity[-1] - equity[0]) / equity[0] * 100
    close = ohlc["Close"].to_numpy()
    s["Buy & Hold Return [%]"] = (close[-1] - close[warmup]) / close[warmup] * 100
    gmean_day_return = 0.0
    day_returns: Any = np.array(np.nan)
    annual_days = np.nan
    dated = isinstance(index, pd.DatetimeIndex)
    if dated:
        freq_days = period.days
        weekend_share = pd.DatetimeIndex(index).day_of_week.to_series().between(5, 6).mean()
        annual_days = {7: 52, 31: 12, 365: 1}.get(freq_days, 365 if weekend_share > 2 / 7 * 0.6 else 252)
        rule = {7: "W", 31: "ME", 365: "YE"}.get(freq_days, "D")
        day_returns = equity_frame["Equity"].resample(rule).last().dropna().pct_change().dropna()
        gmean_day_return = _geometric_mean(day_returns)
    annual_return = (1 + gmean_day_return) ** annual_days - 1
    s["Return (Ann.) [%]"] = annual_return * 100
    variance = day_returns.var(ddof=int(bool(day_returns.shape)))
    s["Volatility (Ann.) [%]"] = (
        np.sqrt(
            (variance + (1 + gmean_day_return) ** 2) ** annual_days
            - (1 + gmean_day_return) ** (2 * annual_days)
        )
        * 100
    )
    if dated:
        years = (s["Duration"].days + s["Duration"].seconds / 86400) / 365.25
        s["CAGR [%]"] = ((s["Equity Final [$]"] / equity[0]) ** (1 / years) - 1) * 100 if years else np.nan
    s["Sharpe Ratio"] = (s["Return (Ann.) [%]"] - risk_free_rate * 100) / (
        s["Volatility (Ann.) [%]"] or np.nan
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        downside = np.sqrt(np.mean(day_returns.clip(-np.inf, 0) ** 2)) * np.sqrt(annual_days)
        s["Sortino Ratio"] = (annual_return - risk_free_rate) / downside
    max_dd = -np.nan_to_num(drawdown.max())
    s["Calmar Ratio"] = annual_return / (-max_dd or np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        equity_log = np.log(equity[1:] / equity[:-1])
    market_log = np.log(close[1:] / close[:-1])
    beta = np.nan
    if len(equity_log) > 1 and len(market_log) > 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            covariance = np.cov(equity_log, market_log)
            beta = covariance[0, 1] / covariance[1, 1]
    s["Alpha [%]"] = (
        s["Return [%]"] - risk_free_rate * 100 - beta * (s["Buy & Hold Return [%]"] - risk_free_rate * 100)
    )
    s["Beta"] = beta
    s["Max. Drawdown [%]"] = max_dd * 100
    s["Avg. Drawdown [%]"] = -dd_peaks.mean() * 100
    s["Max. Drawdown Duration"] = ceil_to_period(dd_duration.max())
    s["Avg. Drawdown Duration"] = ceil_to_period(dd_duration.mean())
    s["# Trades"] = count = len(trade_frame)
    win_rate = np.nan if not count else (pl > 0).mean()
    s["Win Rate [%]"] = win_rate * 100
    s["Best Trade [%]"] = returns.max() * 100
    s["Worst Trade [%]"] = returns.min() * 100
    s["Avg. Trade [%]"] = _geometric_mean(returns) * 100
    s["Max. Trade Duration"] = ceil_to_period(durations.max())
    s["Avg. Trade Duration"] = ceil_to_period(durations.mean())
    s["Profit Factor"] = returns[returns > 0].sum() / (abs(returns[returns < 0].sum()) or np.nan)
    s["Expectancy [%]"] = returns.mean() * 100
    s["SQN"] = np.sqrt(count) * pl.mean() / (pl.std() or np.nan)
    s["Kelly Criterion"] = win_rate - (1 - win_rate) / (pl[pl > 0].mean() / -pl[pl < 0].mean())
    s["_strategy"] = strategy
    s["_equity_curve"] = equity_frame
    s["_trades"] = trade_frame
    return Stats(s, dtype=object)
