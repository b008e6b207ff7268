"""Reports of a run: one self-contained HTML file (no scripts or assets from anywhere), and trades as CSV.

``html_report(stats, bars)`` draws, as inline SVG: the equity curve with its drawdown below, the
candles with every trade (entry and exit marks joined by a line, green when it won, red when it
lost; hover for details), the statistics table and the trades table. Long histories are drawn as
at most ``MAX_CANDLES`` candles (each spanning several bars); the figures are computed on all bars.
``trades_csv(stats)`` is the ``_trades`` frame as CSV.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MAX_CANDLES", "html_report", "trades_csv", "write_report"]

MAX_CANDLES = 1_500
WIDTH = 1100
_STYLE = """
body{font:14px system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px}
.sub{color:#666;margin-bottom:16px}
svg{display:block;background:#fafafa;border:1px solid #e5e5e5}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}
th{background:#f3f3f3;position:sticky;top:0} td:first-child,th:first-child{text-align:left}
.stats td:first-child{color:#555} .scroll{max-height:480px;overflow:auto;display:inline-block}
.win{color:#137333} .loss{color:#b3261e}
"""


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return "—" if math.isnan(value) else f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, pd.Timedelta):
        return str(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return html.escape(str(value))


def _scale(values: np.ndarray, low: float, high: float, top: float, bottom: float) -> np.ndarray:
    span = high - low or 1.0
    return bottom - (values - low) / span * (bottom - top)


def _equity_svg(curve: pd.DataFrame) -> str:
    equity = curve["Equity"].to_numpy(dtype=float)
    drawdown = curve["DrawdownPct"].to_numpy(dtype=float)
    n = len(equity)
    step = max(1, n // 2000)
    idx = np.arange(0, n, step)
    xs = 50 + idx / max(1, n - 1) * (WIDTH - 70)
    height, dd_height = 260, 110
    ys = _scale(equity[idx], float(np.nanmin(equity)), float(np.nanmax(equity)), 15, height - 15)
    deepest = float(np.nanmax(drawdown)) or 1.0
    dd_ys = height + 10 + drawdown[idx] / deepest * (dd_height - 20)
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    area = f"{xs[0]:.1f},{height + 10} " + " ".join(
        f"{x:.1f},{y:.1f}" for x, y in zip(xs, dd_ys, strict=True)
    )
    area += f" {xs[-1]:.1f},{height + 10}"
    labels = (
        f'<text x="4" y="20" font-size="11">{equity.max():,.0f}</text>'
        f'<text x="4" y="{height - 10}" font-size="11">{equity.min():,.0f}</text>'
        f'<text x="4" y="{height + dd_height - 2}" font-size="11">-{deepest * 100:.1f}%</text>'
    )
    return (
        f'<svg width="{WIDTH}" height="{height + dd_height}" role="img" aria-label="equity and drawdown">'
        f'<polyline fill="none" stroke="#1a73e8" stroke-width="1.5" points="{line}"/>'
        f'<line x1="50" x2="{WIDTH - 20}" y1="{height + 10}" y2="{height + 10}" stroke="#ccc"/>'
        f'<polygon fill="#f28b82" fill-opacity="0.6" points="{area}"/>{labels}</svg>'
    )


def _candles(bars: pd.DataFrame) -> pd.DataFrame:
    """At most ``MAX_CANDLES`` candles; each row also keeps the first bar position it covers."""
    n = len(bars)
    group = max(1, math.ceil(n / MAX_CANDLES))
    keys = np.arange(n) // group
    frame = pd.DataFrame(
        {
            "Open": bars["Open"].to_numpy(),
            "High": bars["High"].to_numpy(),
            "Low": bars["Low"].to_numpy(),
            "Close": bars["Close"].to_numpy(),
            "key": keys,
        }
    )
    candles = frame.groupby("key").agg(
        Open=("Open", "first"), High=("High", "max"), Low=("Low", "min"), Close=("Close", "last")
    )
    candles["first_bar"] = np.arange(len(candles)) * group
    candles.attrs["group"] = group
    return candles


def _trades_svg(bars: pd.DataFrame, trades: pd.DataFrame) -> str:
    candles = _candles(bars)
    group = candles.attrs["group"]
    count = len(candles)
    height = 380
    low, high = float(candles["Low"].min()), float(candles["High"].max())
    slot = (WIDTH - 70) / max(1, count)

    def x_of(bar: float) -> float:
        return float(50 + (bar / group + 0.5) * slot)

    def y_of(price: float) -> float:
        return float(_scale(np.array([price]), low, high, 15, height - 15)[0])

    parts = [f'<svg width="{WIDTH}" height="{height}" role="img" aria-label="candles and trades">']
    body = max(1.0, slot * 0.6)
    opens, highs, lows, closes = (
        candles[col].to_numpy(dtype=float).tolist() for col in ("Open", "High", "Low", "Close")
    )
    for k, (open_, top_price, bottom_price, close) in enumerate(zip(opens, highs, lows, closes, strict=True)):
        x = 50 + (k + 0.5) * slot
        color = "#26a69a" if close >= open_ else "#ef5350"
        top, bottom = y_of(max(open_, close)), y_of(min(open_, close))
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y_of(top_price):.1f}" y2="{y_of(bottom_price):.1f}" stroke="{color}"/>'
        )
        parts.append(
            f'<rect x="{x - body / 2:.1f}" y="{top:.1f}" width="{body:.1f}" height="{max(0.8, bottom - top):.1f}" fill="{color}"/>'
        )
    for trade in trades.to_dict(orient="records"):
        size, pnl = float(trade["Size"]), float(trade["PnL"])
        entry_price, exit_price = float(trade["EntryPrice"]), float(trade["ExitPrice"])
        color = "#137333" if pnl > 0 else "#b3261e"
        x1, y1 = x_of(int(trade["EntryBar"])), y_of(entry_price)
        x2, y2 = x_of(int(trade["ExitBar"])), y_of(exit_price)
        tip = html.escape(
            f"{'long' if size > 0 else 'short'} {abs(size):g} at {entry_price:g} "
            f"({trade['EntryTime']}) -> {exit_price:g} ({trade['ExitTime']}): PnL {pnl:,.2f}"
        )
        marker = "M0,-6 L5,3 L-5,3 Z" if size > 0 else "M0,6 L5,-3 L-5,-3 Z"
        parts.append(
            f'<g><title>{tip}</title><line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{color}" stroke-dasharray="3,2"/>'
            f'<path d="{marker}" transform="translate({x1:.1f},{y1:.1f})" fill="{color}"/>'
            f'<circle cx="{x2:.1f}" cy="{y2:.1f}" r="3" fill="none" stroke="{color}"/></g>'
        )
    parts.append(
        f'<text x="4" y="20" font-size="11">{high:g}</text><text x="4" y="{height - 8}" font-size="11">{low:g}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _stats_table(stats: pd.Series) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(str(key))}</td><td>{_fmt(value)}</td></tr>"
        for key, value in stats.items()
        if not str(key).startswith("_")
    )
    return f'<table class="stats">{rows}</table>'


def _trades_table(trades: pd.DataFrame) -> str:
    columns = [c for c in trades.columns if not str(c).startswith(("Entry_", "Exit_"))]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for row in trades[columns].to_dict(orient="records"):
        cells = "".join(f"<td>{_fmt(value)}</td>" for value in row.values())
        style = "win" if float(row.get("PnL", 0)) > 0 else "loss"
        body.append(f'<tr class="{style}">{cells}</tr>')
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def html_report(stats: pd.Series, bars: pd.DataFrame, *, title: str | None = None) -> str:
    """The run's report as one HTML document (inline SVG and CSS only)."""
    strategy = stats.get("_strategy")
    heading = html.escape(title or f"Backtest of {strategy}")
    trades = stats["_trades"]
    span = f"{stats['Start']} — {stats['End']} · {len(bars):,} bars · {len(trades):,} trades"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{heading}</title><style>{_STYLE}</style></head><body>"
        f'<h1>{heading}</h1><div class="sub">{html.escape(span)}</div>'
        f"<h2>Equity and drawdown</h2>{_equity_svg(stats['_equity_curve'])}"
        f"<h2>Trades on the candles</h2>{_trades_svg(bars, trades)}"
        f"<h2>Statistics</h2>{_stats_table(stats)}"
        f"<h2>Trades</h2>{_trades_table(trades)}"
        "</body></html>"
    )


def trades_csv(stats: pd.Series) -> str:
    """The run's trades (``_trades``) as CSV."""
    return str(stats["_trades"].to_csv(index=False))


def write_report(stats: pd.Series, bars: pd.DataFrame, path: str | Path, *, title: str | None = None) -> Path:
    """Write the HTML report to ``path``, or the trades when ``path`` ends in ``.csv``."""
    target = Path(path)
    text = trades_csv(stats) if target.suffix.lower() == ".csv" else html_report(stats, bars, title=title)
    target.write_text(text, encoding="utf-8")
    return target
