"""Store: idempotent tick and bar writes, reads as MT5 arrays, completeness, engines and migrations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from mt5gateway.store import DayCompleteness, Store, default_url, migrate, normalize_url, tick_sequence
from mt5gateway.store.tables import BARS, TICKS
from mt5gateway.terminal.dtypes import RATES_DTYPE, TICKS_DTYPE

T0_MSC = 1_763_337_600_000  # 2025-11-17 00:00 UTC, a Monday


def make_ticks(count: int, *, start_msc: int = T0_MSC, step_msc: int = 250) -> np.ndarray:
    """Ticks with distinct prices; every third one shares the millisecond of the one before."""
    ticks = np.zeros(count, dtype=TICKS_DTYPE)
    offsets = np.arange(count) * step_msc
    offsets[2::3] = offsets[1::3][: len(offsets[2::3])]
    ticks["time_msc"] = start_msc + offsets
    ticks["time"] = ticks["time_msc"] // 1000
    ticks["bid"] = 1.1 + np.arange(count) * 1e-5
    ticks["ask"] = ticks["bid"] + 2e-5
    ticks["volume"] = np.arange(count) % 7
    ticks["flags"] = 6
    ticks["volume_real"] = ticks["volume"].astype(float)
    return ticks


def make_bars(count: int, *, start: int = T0_MSC // 1000) -> np.ndarray:
    bars = np.zeros(count, dtype=RATES_DTYPE)
    bars["time"] = start + 60 * np.arange(count)
    bars["open"] = 1.1 + np.arange(count) * 1e-4
    bars["high"] = bars["open"] + 3e-4
    bars["low"] = bars["open"] - 2e-4
    bars["close"] = bars["open"] + 1e-4
    bars["tick_volume"] = 40 + np.arange(count) % 9
    bars["spread"] = 12
    return bars


def row_count(store: Store, table: sa.Table) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_write_ticks_replayed_changes_nothing(store: Store) -> None:
    ticks = make_ticks(5_000)
    assert store.write_ticks("EURUSD", ticks) == 5_000
    assert store.write_ticks("EURUSD", ticks) == 0
    assert store.write_ticks("EURUSD", ticks[1_000:2_000]) == 0
    assert row_count(store, TICKS) == 5_000
    back = store.read_ticks("EURUSD", T0_MSC, T0_MSC + 10**9)
    np.testing.assert_array_equal(back, ticks)


def test_write_ticks_overlapping_batch_adds_only_new(store: Store) -> None:
    ticks = make_ticks(3_000)
    store.write_ticks("EURUSD", ticks[:2_001])
    # a refetch from the newest stored millisecond on: the whole millisecond comes again, numbered from 0
    newest_msc = int(ticks["time_msc"][2_000])
    refetched = ticks[ticks["time_msc"] >= newest_msc]
    assert store.write_ticks("EURUSD", refetched) == 3_000 - 2_001
    np.testing.assert_array_equal(store.read_ticks("EURUSD", 0, 2**62), ticks)


def test_write_ticks_batch_split_inside_a_millisecond_keeps_both(store: Store) -> None:
    ticks = make_ticks(6)  # ticks 1 and 2 share a millisecond
    store.write_ticks("EURUSD", ticks[:2])
    newest = store.newest_tick("EURUSD")
    assert newest == (int(ticks["time_msc"][1]), 1)
    seq = tick_sequence(ticks["time_msc"][2:], continues=newest)
    assert store.write_ticks("EURUSD", ticks[2:], seq=seq) == 4
    np.testing.assert_array_equal(store.read_ticks("EURUSD", 0, 2**62), ticks)


def test_tick_sequence_numbers_ticks_within_a_millisecond() -> None:
    times = np.array([5, 5, 5, 6, 7, 7], dtype=np.int64)
    assert tick_sequence(times).tolist() == [0, 1, 2, 0, 0, 1]
    assert tick_sequence(times, continues=(5, 2)).tolist() == [2, 3, 4, 0, 0, 1]
    assert tick_sequence(times, continues=(4, 9)).tolist() == [0, 1, 2, 0, 0, 1]
    assert tick_sequence(np.empty(0, dtype=np.int64)).tolist() == []


def test_tick_sequence_rejects_times_going_backwards() -> None:
    with pytest.raises(ValueError, match="time order"):
        tick_sequence(np.array([5, 4], dtype=np.int64))


def test_write_bars_replayed_changes_nothing_and_a_changed_bar_is_replaced(store: Store) -> None:
    bars = make_bars(1_440)
    assert store.write_bars("EURUSD", "M1", bars) == 1_440
    assert store.write_bars("EURUSD", "M1", bars) == 0
    final = bars[100:101].copy()
    final["close"] += 5e-4
    final["tick_volume"] += 3
    assert store.write_bars("EURUSD", "M1", final) == 1
    back = store.read_bars("EURUSD", "M1", int(bars["time"][0]), int(bars["time"][-1]) + 60)
    bars[100] = final[0]
    np.testing.assert_array_equal(back, bars)
    assert row_count(store, BARS) == 1_440


def test_read_bars_is_half_open_and_per_symbol_and_timeframe(store: Store) -> None:
    bars = make_bars(10)
    store.write_bars("EURUSD", "M1", bars)
    store.write_bars("EURUSD", "M5", bars[::5])
    store.write_bars("GBPUSD", "M1", bars)
    start = int(bars["time"][2])
    window = store.read_bars("EURUSD", "M1", start, start + 3 * 60)
    assert window["time"].tolist() == bars["time"][2:5].tolist()
    assert window.dtype == RATES_DTYPE
    assert store.bar_times("EURUSD", "M5", 0, 2**40).tolist() == bars["time"][::5].tolist()
    assert len(store.read_bars("USDJPY", "M1", 0, 2**40)) == 0


def test_newest_tick_and_symbol_counts(store: Store) -> None:
    assert store.newest_tick("EURUSD") is None
    ticks = make_ticks(9)  # the last two share a millisecond
    store.write_ticks("EURUSD", ticks)
    store.write_bars("EURUSD", "M1", make_bars(3))
    assert store.newest_tick("EURUSD") == (int(ticks["time_msc"][-1]), 2)
    counts = {c.symbol: c for c in store.symbol_counts(["EURUSD", "USDJPY"])}
    assert counts["EURUSD"].ticks == 9
    assert counts["EURUSD"].first_tick_msc == T0_MSC
    assert counts["EURUSD"].m1_bars == 3
    assert counts["EURUSD"].last_bar_time == T0_MSC // 1000 + 120
    assert counts["USDJPY"].ticks == 0
    assert counts["USDJPY"].last_tick_msc is None


def test_completeness_saved_again_replaces_the_day(store: Store) -> None:
    store.save_completeness([DayCompleteness("EURUSD", "2025-11-17", 1440, 1000)])
    store.save_completeness(
        [
            DayCompleteness("EURUSD", "2025-11-17", 1440, 1440),
            DayCompleteness("EURUSD", "2025-11-18", 1440, 0),
        ]
    )
    days = store.read_completeness(symbol="EURUSD")
    assert [(d.day, d.present_minutes) for d in days] == [("2025-11-17", 1440), ("2025-11-18", 0)]
    assert days[0].percent == 100.0
    assert store.read_completeness(from_day="2025-11-18")[0].percent == 0.0
    assert DayCompleteness("EURUSD", "2025-11-22", 0, 0).percent == 100.0


def test_migrate_twice_is_a_no_op(store_url: str) -> None:
    migrate(store_url)
    migrate(store_url)
    engine = sa.create_engine(normalize_url(store_url))
    try:
        names = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"ticks", "bars", "jobs", "completeness", "alembic_version"} <= names


def test_sqlite_store_runs_in_wal_mode(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'nested' / 'store.db'}")
    try:
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        store.close()


def test_default_url_is_a_sqlite_file_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MT5GW_DATA_DIR", str(tmp_path))
    assert default_url() == f"sqlite:///{tmp_path / 'mt5gateway.db'}"
    assert normalize_url(None) == default_url()
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
