"""Initial schema: ticks, bars, completeness, jobs; TimescaleDB hypertables when the extension exists.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Hypertable chunk sizes, in each table's own time unit: a day of ticks (ms), a month of bars (s).
_HYPERTABLES = {"ticks": ("time_msc", 86_400_000), "bars": ("time", 30 * 86_400)}


def upgrade() -> None:
    op.create_table(
        "ticks",
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
    op.create_table(
        "bars",
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
    op.create_table(
        "completeness",
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("expected_minutes", sa.Integer, nullable=False),
        sa.Column("present_minutes", sa.Integer, nullable=False),
        sa.Column("updated_msc", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("symbol", "day", name="pk_completeness"),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("what", sa.String(8), nullable=False),
        sa.Column("from_time", sa.BigInteger, nullable=False),
        sa.Column("to_time", sa.BigInteger, nullable=False),
        sa.Column("cursor", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("rows_written", sa.BigInteger, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_msc", sa.BigInteger, nullable=False),
        sa.Column("updated_msc", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_jobs_state", "jobs", ["state"])
    _make_hypertables()


def _make_hypertables() -> None:
    """Turn ticks and bars into hypertables when the server offers TimescaleDB; plain tables stay otherwise."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).first()
    if available is None:
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    for table, (column, chunk) in _HYPERTABLES.items():
        op.execute(
            sa.text(
                f"SELECT create_hypertable('{table}', '{column}', chunk_time_interval => {chunk}, "
                "if_not_exists => TRUE)"
            )
        )


def downgrade() -> None:
    op.drop_index("ix_jobs_state", table_name="jobs")
    for table in ("jobs", "completeness", "bars", "ticks"):
        op.drop_table(table)
