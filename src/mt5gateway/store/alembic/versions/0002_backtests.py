"""Backtest jobs of the research service.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backtests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("stats", sa.Text, nullable=True),
        sa.Column("trades", sa.Text, nullable=True),
        sa.Column("equity", sa.Text, nullable=True),
        sa.Column("report", sa.Text, nullable=True),
        sa.Column("created_msc", sa.BigInteger, nullable=False),
        sa.Column("updated_msc", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_backtests_state", "backtests", ["state"])


def downgrade() -> None:
    op.drop_index("ix_backtests_state", table_name="backtests")
    op.drop_table("backtests")
