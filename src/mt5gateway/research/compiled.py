"""The compiled path: a ``SignalStrategy``'s orders simulated by Numba, one or many parameter sets at once.

Plain functions over arrays, no objects (the layout of vectorbt's ``portfolio/nb.py``): prices are
1-D float arrays of the bars; signals are 2-D, one row per parameter set; results are ``TRADE_DTYPE``
records and an equity curve, or one ``SUMMARY_FIELDS`` row per parameter set.

The rules are the event loop's (``model._Broker`` with ``sl_first``, a units account, one symbol)
for the orders a ``SignalStrategy`` places: at bar ``i`` the strategy may close its position
(market), and open one (market, with SL / TP) when flat or against the position; the next bar
fills the close first, then the entry (sized from the cash, cancelled when the margin cannot carry
it), then the new trade's SL and TP in that same bar, SL first; an open trade's SL then TP are looked
at in each bar. ``tests/research/test_signals.py`` proves both engines give the same trades.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

__all__ = [
    "ERROR_LONG_STOPS",
    "ERROR_SHORT_STOPS",
    "SUMMARY_FIELDS",
    "TRADE_DTYPE",
    "simulate",
    "simulate_many",
]

TRADE_DTYPE = np.dtype(
    [
        ("size", np.float64),
        ("entry_bar", np.int64),
        ("exit_bar", np.int64),
        ("entry_price", np.float64),
        ("exit_price", np.float64),
        ("sl", np.float64),
        ("tp", np.float64),
        ("pnl", np.float64),
        ("commission", np.float64),
        ("return_pct", np.float64),
    ]
)
"""One closed trade; ``sl`` / ``tp`` are NaN when the trade had none."""

SUMMARY_FIELDS = (
    "Equity Final [$]",
    "Equity Peak [$]",
    "Return [%]",
    "Max. Drawdown [%]",
    "# Trades",
    "Win Rate [%]",
    "Best Trade [%]",
    "Worst Trade [%]",
    "Profit Factor",
    "Expectancy [%]",
    "SQN",
    "Kelly Criterion",
    "Exposure Time [%]",
)
"""The statistics the compiled path computes for every parameter set (the others need a full run)."""

ERROR_LONG_STOPS = 1
ERROR_SHORT_STOPS = 2

FloatArray = npt.NDArray[np.float64]


@numba.njit(cache=True)
def _commission(size: float, price: float, fixed: float, rate: float) -> float:
    return fixed + abs(size) * price * rate


@numba.njit(cache=True)
def _sl_tp_exit(is_long: bool, sl: float, tp: float, open_: float, high: float, low: float) -> float:
    """The price an open trade's SL or TP fills at in a bar (SL first), NaN if neither is reached."""
    if is_long:
        if not math.isnan(sl) and low <= sl:
            return min(open_, sl)
        if not math.isnan(tp) and high >= tp:
            return max(open_, tp)
    else:
        if not math.isnan(sl) and high >= sl:
            return max(open_, sl)
        if not math.isnan(tp) and low <= tp:
            return min(open_, tp)
    return math.nan


@numba.njit(cache=True)
def _book(
    trades: npt.NDArray[np.void],
    count: int,
    held: float,
    entry_bar: int,
    exit_bar: int,
    entry_price: float,
    price: float,
    sl: float,
    tp: float,
    fixed: float,
    rate: float,
) -> float:
    """Record the trade closing at ``price``; returns what it adds to the cash."""
    exit_commission = _commission(held, price, fixed, rate)
    gross = held * (price - entry_price)
    commissions = exit_commission + _commission(held, entry_price, fixed, rate)
    record = trades[count]
    record["size"] = held
    record["entry_bar"] = entry_bar
    record["exit_bar"] = exit_bar
    record["entry_price"] = entry_price
    record["exit_price"] = price
    record["sl"] = sl
    record["tp"] = tp
    record["pnl"] = gross - commissions
    record["commission"] = commissions
    sign = 1.0 if held > 0 else -1.0
    record["return_pct"] = sign * (price / entry_price - 1) - commissions / (abs(held) * entry_price)
    return gross - exit_commission


@numba.njit(cache=True)
def simulate(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    entry: FloatArray,
    exit_: npt.NDArray[np.bool_],
    sl: FloatArray,
    tp: FloatArray,
    start: int,
    cash: float,
    spread: float,
    fixed: float,
    rate: float,
    leverage: float,
    on_close: bool,
    finalize: bool,
    equity: FloatArray,
    trades: npt.NDArray[np.void],
) -> tuple[int, int, int, float]:
    """Run one parameter set; fills ``equity`` (NaN before ``start``) and ``trades``.

    Returns (trades written, bar of an invalid order or -1, its error code, cash at the end).
    ``sl`` / ``tp`` may be empty (no stops); NaN in them means none for that bar's entry.
    """
    n = len(close)
    has_stops = len(sl) > 0
    held = 0.0  # units, negative when short; 0 when flat
    entry_price = 0.0
    entry_bar = 0
    trade_sl = math.nan
    trade_tp = math.nan
    pending_close = False
    pending_size = 0.0
    pending_sl = math.nan
    pending_tp = math.nan
    count = 0
    last = n - 1
    finalizing = False
    i = start
    while i <= last:
        # -- the broker: the close first, else the trade's SL then TP, then the entry --
        if pending_close and held != 0:
            price = close[i - 1] if on_close else open_[i]
            when = i - 1 if on_close else i
            cash += _book(
                trades, count, held, entry_bar, when, entry_price, price, trade_sl, trade_tp, fixed, rate
            )
            count += 1
            held = 0.0
        elif held != 0:
            price = _sl_tp_exit(held > 0, trade_sl, trade_tp, open_[i], high[i], low[i])
            if not math.isnan(price):
                cash += _book(
                    trades, count, held, entry_bar, i, entry_price, price, trade_sl, trade_tp, fixed, rate
                )
                count += 1
                held = 0.0
        pending_close = False
        if pending_size != 0:
            order_size = pending_size
            pending_size = 0.0
            price = close[i - 1] if on_close else open_[i]
            adjusted = price * (1 + math.copysign(spread, order_size))
            per_unit = adjusted + _commission(order_size, price, fixed, rate) / abs(order_size)
            size = order_size
            available = max(0.0, cash)
            if -1 < size < 1:
                size = math.copysign(float(int((available * leverage * abs(size)) // per_unit)), size)
            if size != 0 and not abs(size) * per_unit > available * leverage:
                held = size
                entry_price = adjusted
                entry_bar = i - 1 if on_close else i
                trade_sl = pending_sl
                trade_tp = pending_tp
                cash -= _commission(size, adjusted, fixed, rate)
                # a market entry's SL / TP apply in its own bar
                price = _sl_tp_exit(held > 0, trade_sl, trade_tp, open_[i], high[i], low[i])
                if not math.isnan(price):
                    cash += _book(
                        trades, count, held, entry_bar, i, entry_price, price, trade_sl, trade_tp, fixed, rate
                    )
                    count += 1
                    held = 0.0
        value = cash + (close[i] * held - held * entry_price) if held != 0 else cash
        equity[i] = value
        if value <= 0:
            if held != 0:
                _book(
                    trades, count, held, entry_bar, i, entry_price, close[i], trade_sl, trade_tp, fixed, rate
                )
                count += 1
            equity[i:] = 0.0
            return count, -1, 0, 0.0
        if finalizing:
            break
        # -- the strategy: decide on bar i --
        direction = 0.0 if held == 0 else (1.0 if held > 0 else -1.0)
        wanted = entry[i]
        wanted_direction = 0.0 if (math.isnan(wanted) or wanted == 0) else (1.0 if wanted > 0 else -1.0)
        if direction != 0 and (exit_[i] or wanted_direction == -direction):
            pending_close = True
        if wanted_direction not in (0.0, direction):
            order_sl = sl[i] if has_stops else math.nan
            order_tp = tp[i] if has_stops else math.nan
            reference = close[i] * (1 + math.copysign(spread, wanted))
            below = order_sl if wanted_direction > 0 else order_tp
            above = order_tp if wanted_direction > 0 else order_sl
            if not ((math.isnan(below) or below < reference) and (math.isnan(above) or reference < above)):
                return count, i, ERROR_LONG_STOPS if wanted_direction > 0 else ERROR_SHORT_STOPS, cash
            pending_size = wanted
            pending_sl = order_sl
            pending_tp = order_tp
        if i == last:
            if not finalize:
                break
            # finalize_trades: what is open closes at the last bar's open, in a second pass over it
            pending_close = held != 0 or pending_close
            finalizing = True
            continue
        i += 1
    return count, -1, 0, cash


@numba.njit(cache=True)
def summarize(equity: FloatArray, trades: npt.NDArray[np.void], count: int, out: FloatArray) -> None:
    """The ``SUMMARY_FIELDS`` of one run into ``out`` (``equity`` already back-filled)."""
    n = len(equity)
    peak = equity[0]
    deepest = 0.0
    top = equity[0]
    for value in equity:
        peak = max(peak, value)
        top = max(top, value)
        drop = 1 - value / peak
        deepest = max(deepest, drop)
    out[0] = equity[n - 1]
    out[1] = top
    out[2] = (equity[n - 1] - equity[0]) / equity[0] * 100
    out[3] = -deepest * 100
    out[4] = count
    wins = 0
    best = -math.inf
    worst = math.inf
    gains = 0.0
    losses = 0.0
    total_return = 0.0
    pnl_sum = 0.0
    win_sum = 0.0
    loss_sum = 0.0
    loss_count = 0
    exposed = np.zeros(n, dtype=np.bool_)
    for k in range(count):
        record = trades[k]
        pnl = record["pnl"]
        ret = record["return_pct"]
        pnl_sum += pnl
        total_return += ret
        if pnl > 0:
            wins += 1
            win_sum += pnl
        elif pnl < 0:
            loss_count += 1
            loss_sum += pnl
        if ret > 0:
            gains += ret
        elif ret < 0:
            losses += ret
        best = max(best, ret)
        worst = min(worst, ret)
        exposed[record["entry_bar"] : record["exit_bar"] + 1] = True
    if count:
        mean = pnl_sum / count
        spread = 0.0
        for k in range(count):
            spread += (trades[k]["pnl"] - mean) ** 2
        std = math.sqrt(spread / (count - 1)) if count > 1 else math.nan
        win_rate = wins / count
        out[5] = win_rate * 100
        out[6] = best * 100
        out[7] = worst * 100
        out[8] = gains / abs(losses) if losses != 0 else math.nan
        out[9] = total_return / count * 100
        out[10] = math.sqrt(count) * mean / std if std and not math.isnan(std) else math.nan
        ratio = (win_sum / wins) / (-loss_sum / loss_count) if wins and loss_count else math.nan
        out[11] = win_rate - (1 - win_rate) / ratio
    else:
        for field in range(5, 12):
            out[field] = math.nan
    out[12] = exposed.mean() * 100


@numba.njit(cache=True, parallel=True)
def simulate_many(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    entries: FloatArray,
    exits: npt.NDArray[np.bool_],
    sls: FloatArray,
    tps: FloatArray,
    starts: npt.NDArray[np.int64],
    cash: float,
    spread: float,
    fixed: float,
    rate: float,
    leverage: float,
    on_close: bool,
    finalize: bool,
    summaries: FloatArray,
    errors: npt.NDArray[np.int64],
) -> None:
    """``simulate`` and ``summarize`` for each row of ``entries`` (a parameter set), in parallel.

    ``sls`` / ``tps`` have a row per set or none (shape ``(0, 0)``). ``errors[row]`` holds the bar of
    an invalid order (or -1) and its code.
    """
    sets, n = entries.shape
    empty = np.empty(0)
    for row in numba.prange(sets):
        equity = np.full(n, np.nan)
        trades = np.empty(n, dtype=TRADE_DTYPE)
        row_sl = sls[row] if sls.shape[0] else empty
        row_tp = tps[row] if tps.shape[0] else empty
        count, bad_bar, code, left = simulate(
            open_, high, low, close, entries[row], exits[row], row_sl, row_tp, starts[row], cash, spread,
            fixed, rate, leverage, on_close, finalize, equity, trades,
        )  # fmt: skip
        errors[row, 0] = bad_bar
        errors[row, 1] = code
        first = starts[row] if starts[row] < n else n - 1
        for k in range(first):
            equity[k] = equity[first] if not math.isnan(equity[first]) else left
        for k in range(first, n):
            if math.isnan(equity[k]):
                equity[k] = equity[k - 1] if k > 0 else left
        summarize(equity, trades, count, summaries[row])
