"""The store's tables (SQLAlchemy Core): ticks, bars, completeness per symbol per day, jobs, and backtests.

Keys make every write idempotent: a tick is ``(symbol, time_msc, seq)`` where ``seq`` numbers the
ticks of one millisecond in arrival order; a bar is ``(symbol, timeframe, time)``. The tick and bar
tables are clustered on their key in SQLite (``WITHOUT ROWID``), so appends in time order stay cheap.
Times are MT5's: epoch seconds for bars, epoch milliseconds for ticks; timeframes are stored by name
(``"M1"``) so that the rows read well in SQL.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["BACKTESTS", "BARS", "COMPLETENESS", "JOBS", "METADATA", "TICKS"]

METADATA = sa.MetaData()

TICKS = sa.Table(
    "ticks",
    METADATA,
    sa.Column("symbol", sa.String(32), nullable=False),
    sa.Column("time_msc", sa.BigInteger, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("bid", sa.Double, nullable=False),
    sa.Column("ask", sa.Double, nullable=False),
    sa.Column("last", sa.Double, nullable=False),
    sa.Column("volume", sa.BigInteger, nullable=False),
    sa.Column("flags", sa.Integer, nullable=False),
    sa.Column("volume_real", sa.Double, nullable=False),
    sa.PrimaryKeyConstraint("symbol", "time_msc", "seq", name="pk_ticks"),
    sqlite_with_rowid=False,
)

BARS = sa.Table(
    "bars",
    METADATA,
    sa.Column("symbol", sa.String(32), nullable=False),
    sa.Column("timeframe", sa.String(4), nullable=False),
    sa.Column("time", sa.BigInteger, nullable=False),
    sa.Column("open", sa.Double, nullable=False),
    sa.Column("high", sa.Double, nullable=False),
    sa.Column("low", sa.Double, nullable=False),
    sa.Column("close", sa.Double, nullable=False),
    sa.Column("tick_volume", sa.BigInteger, nullable=False),
    sa.Column("spread", sa.Integer, nullable=False),
    sa.Column("real_volume", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("symbol", "timeframe", "time", name="pk_bars"),
    sqlite_with_rowid=False,
)

COMPLETENESS = sa.Table(
    "completeness",
    METADATA,
    sa.Column("symbol", sa.String(32), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),  # ISO date, UTC
    sa.Column("expected_minutes", sa.Integer, nullable=False),
    sa.Column("present_minutes", sa.Integer, nullable=False),
    sa.Column("updated_msc", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("symbol", "day", name="pk_completeness"),
)

JOBS = sa.Table(
    "jobs",
    METADATA,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("symbol", sa.String(32), nullable=False),
    sa.Column("what", sa.String(8), nullable=False),
    sa.Column("from_time", sa.BigInteger, nullable=False),
    sa.Column("to_time", sa.BigInteger, nullable=False),
    sa.Column("cursor", sa.BigInteger, nullable=False),  # everything before it is done
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("rows_written", sa.BigInteger, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_msc", sa.BigInteger, nullable=False),
    sa.Column("updated_msc", sa.BigInteger, nullable=False),
    sa.Index("ix_jobs_state", "state"),
)

BACKTESTS = sa.Table(
    "backtests",
    METADATA,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),  # pending, running, done, failed
    sa.Column("request", sa.Text, nullable=False),  # the job's JSON, as accepted
    sa.Column("progress", sa.Float, nullable=False),  # 0.0 .. 1.0
    sa.Column("pid", sa.Integer, nullable=True),  # the worker process running it
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("stats", sa.Text, nullable=True),  # JSON of the statistics, once done
    sa.Column("trades", sa.Text, nullable=True),  # JSON rows
    sa.Column("equity", sa.Text, nullable=True),  # JSON rows
    sa.Column("report", sa.Text, nullable=True),  # the HTML report
    sa.Column("created_msc", sa.BigInteger, nullable=False),
    sa.Column("updated_msc", sa.BigInteger, nullable=False),
    sa.Index("ix_backtests_state", "state"),
)
"""Backtest jobs of the research service: what was asked, how far it got, and what it found."""
