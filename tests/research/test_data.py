"""Bars from every source, MT5's file formats, and clear errors for bad input and look-ahead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mt5gateway.research import Backtest, BacktestError, LookAheadError, Strategy, bars
from mt5gateway.store import Store
from mt5gateway.terminal.dtypes import RATES_DTYPE

from .oracle import GOOG


class Idle(Strategy):
    window = 5

    def init(self) -> None:
        pass

    def next(self) -> None:
        pass


def sim_bars() -> pd.DataFrame:
    return bars("EURUSD", "H1", "2024-02-01", "2024-02-07")


def test_sim_bars_are_an_mt5_history_frame() -> None:
    frame = sim_bars()
    assert frame.attrs["symbol"] == "EURUSD"
    assert list(frame.columns[:5]) == ["Open", "High", "Low", "Close", "Volume"] and "spread" in frame
    assert frame.index[0] == pd.Timestamp("2024-02-01") and frame.index[-1] < pd.Timestamp("2024-02-08")
    assert (frame.index.to_series().diff().dropna() >= pd.Timedelta("1h")).all()
    assert bars("EURUSD", "H1", "2024-02-01", "2024-02-07", seed=0).equals(frame)


def test_store_bars_read_what_the_recorder_wrote(tmp_path: Path) -> None:
    rates = np.zeros(48, dtype=RATES_DTYPE)
    rates["time"] = 1_706_745_600 + 3600 * np.arange(48)
    rates["open"] = rates["high"] = rates["low"] = rates["close"] = 1.1 + np.arange(48) / 1e4
    rates["spread"] = 7
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store.open(url)
    store.write_bars("EURUSD", "H1", rates)
    store.close()
    frame = bars("EURUSD", "H1", "2024-02-01", "2024-02-01", source="store", store_url=url)
    assert (
        len(frame) == 24 and frame["Close"].iloc[-1] == pytest.approx(1.1023) and (frame["spread"] == 7).all()
    )


def test_terminal_export_csv_is_read_and_aggregated(tmp_path: Path) -> None:
    minutes = pd.date_range("2024-03-04", periods=180, freq="1min")
    prices = 1.08 + np.arange(180) / 1e5
    lines = ["<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>"]
    lines += [
        f"{t:%Y.%m.%d}\t{t:%H:%M:%S}\t{p:.5f}\t{p + 2e-5:.5f}\t{p - 1e-5:.5f}\t{p + 1e-5:.5f}\t{10 + i}\t0\t{5 + i % 3}"
        for i, (t, p) in enumerate(zip(minutes, prices, strict=True))
    ]
    path = tmp_path / "EURUSD_M1.csv"
    path.write_text("\n".join(lines) + "\n")
    m1 = bars("EURUSD", "M1", "2024-03-04", "2024-03-04", source=f"csv:{path}")
    assert len(m1) == 180 and m1["Volume"].iloc[2] == 12 and m1["spread"].iloc[1] == 6
    h1 = bars("EURUSD", "H1", "2024-03-04", "2024-03-04", source=f"csv:{path}")
    assert len(h1) == 3
    first = h1.iloc[0]
    assert (first["Open"], first["High"], first["Low"], first["Close"]) == pytest.approx(
        (prices[0], prices[59] + 2e-5, prices[0] - 1e-5, prices[59] + 1e-5)
    )
    assert first["Volume"] == sum(10 + i for i in range(60)) and first["spread"] == 5


def test_copy_rates_csv_and_parquet_are_read(tmp_path: Path) -> None:
    rates = pd.DataFrame(np.zeros(10, dtype=RATES_DTYPE))
    rates["time"] = 1_709_251_200 + 3600 * np.arange(10)
    rates[["open", "high", "low", "close"]] = 1.2
    rates.to_csv(tmp_path / "rates.csv", index=False)
    rates.to_parquet(tmp_path / "rates.parquet")
    for source in (f"csv:{tmp_path / 'rates.csv'}", f"parquet:{tmp_path / 'rates.parquet'}"):
        frame = bars("GBPUSD", "H1", "2024-03-01", "2024-03-02", source=source)
        assert len(frame) == 10 and frame.index[0] == pd.Timestamp("2024-03-01")


def test_copy_rates_arrays_run_directly() -> None:
    rates = np.zeros(50, dtype=RATES_DTYPE)
    rates["time"] = 1_709_251_200 + 60 * np.arange(50)
    rates["open"] = rates["high"] = rates["low"] = rates["close"] = 1.2
    stats = Backtest(pd.DataFrame(rates), Idle).run()
    assert stats["Start"] == pd.Timestamp("2024-03-01") and stats["# Trades"] == 0


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (GOOG.iloc[::-1], "not in time order"),
        (GOOG.assign(Close=GOOG["Close"].where(GOOG.index != GOOG.index[40])), "NaN prices"),
        (GOOG.drop(columns="Low"), "missing Low"),
        (GOOG.iloc[:0], "no bars"),
        (pd.concat([GOOG.iloc[:5], GOOG.iloc[4:6]]), "repeat"),
    ],
    ids=["unsorted", "nan", "columns", "empty", "duplicates"],
)
def test_bad_bars_are_refused_clearly(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(BacktestError, match=message):
        Backtest(frame, Idle)


def test_unknown_parameter_is_refused_with_the_known_ones() -> None:
    with pytest.raises(
        BacktestError, match=r"has no parameter .windw. .*did you mean window.*parameters are: window"
    ):
        Backtest(GOOG, Idle).run(windw=3)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: bars("EURUSD", "H1", "2024-02-07", "2024-02-01"), "empty range"),
        (lambda: bars("EURUSD", "H1", "2024-02-03", "2024-02-04"), "no EURUSD H1 bars"),  # a weekend
        (lambda: bars("EURUSD", "H7", "2024-02-01", "2024-02-07"), "unknown timeframe"),
        (lambda: bars("EURUSD", "H1", "2024-02-01", "2024-02-07", source="ftp:x"), "unknown source"),
        (lambda: bars("NOPE", "H1", "2024-02-01", "2024-02-07"), "no NOPE H1 bars"),
        (lambda: bars("EURUSD", "H1", "yesterday-ish", "2024-02-07"), "not a time"),
        (
            lambda: bars("EURUSD", "H1", "2024-02-01", "2024-02-07", source="csv:/nonexistent.csv"),
            "no such file",
        ),
    ],
    ids=["reversed", "weekend", "timeframe", "source", "symbol", "time", "file"],
)
def test_bad_ranges_and_sources_are_refused_clearly(call: Any, message: str) -> None:
    with pytest.raises(BacktestError, match=message):
        call()


def test_reading_a_future_bar_fails_loudly() -> None:
    class Peek(Strategy):
        def init(self) -> None:
            self.sma = self.I("SMA", self.data.Close, 3)

        def next(self) -> None:
            if self.data.Close[len(self.data)] > self.sma[-1]:  # the bar after the newest
                self.buy()

    with pytest.raises(LookAheadError, match=r"read bar 4 while bar 3 .* is the newest closed one"):
        Backtest(GOOG, Peek).run()


def test_indicators_are_cut_at_the_current_bar() -> None:
    class Seen(Strategy):
        def init(self) -> None:
            self.sma = self.I("SMA", self.data.Close, 5)
            self.lengths: list[tuple[int, int, float]] = []

        def next(self) -> None:
            self.lengths.append((len(self.data.Close), len(self.sma), self.sma[-1]))

    stats = Backtest(GOOG.iloc[:30], Seen).run()
    lengths = stats["_strategy"].lengths
    assert lengths[0][:2] == (6, 6) and all(a == b for a, b, _ in lengths)
    assert lengths[-1][2] == pytest.approx(GOOG["Close"].iloc[25:30].mean())
