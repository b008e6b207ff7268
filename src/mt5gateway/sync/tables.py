"""The mirror's own tables (created with ``metadata.create_all``; the store's tables are not touched).

``sync_accounts``: one row per login. The figure columns hold exactly what a gateway last sent
(NULL until one did); the back-office columns (client_id, fund_type, target_amount, name) come from
config and are never written by a sync. ``sync_runs``: one row per cycle.
"""

from __future__ import annotations

import sqlalchemy as sa

from mt5gateway.accounts.service import LIVE_FIELDS

__all__ = ["BACKOFFICE_COLUMNS", "FIGURE_COLUMNS", "metadata", "sync_accounts", "sync_runs"]

metadata = sa.MetaData()

# The live figures a gateway sends in ``live_data`` (the bridge's LIVE_FIELDS), stored as sent.
FIGURE_COLUMNS: tuple[str, ...] = LIVE_FIELDS
BACKOFFICE_COLUMNS: tuple[str, ...] = ("client_id", "fund_type", "target_amount", "name")

_UTC_TIME = sa.DateTime(timezone=True)

sync_accounts = sa.Table(
    "sync_accounts",
    metadata,
    sa.Column("login", sa.BigInteger, primary_key=True, autoincrement=False),
    # where the account lives, as the gateway's account list said
    sa.Column("terminal_id", sa.String(64)),
    sa.Column("server", sa.String(128)),
    # the figures (the gateway's values, never computed here)
    sa.Column("balance", sa.Float),
    sa.Column("equity", sa.Float),
    sa.Column("profit", sa.Float),
    sa.Column("margin", sa.Float),
    sa.Column("margin_free", sa.Float),
    sa.Column("margin_level", sa.Float),
    sa.Column("leverage", sa.Integer),
    sa.Column("currency", sa.String(16)),
    sa.Column("trade_allowed", sa.Boolean),
    sa.Column("updated_at", _UTC_TIME, comment="when the gateway read the figures (its fetched_at)"),
    sa.Column("synced_from_gateway", sa.String(128), comment="the source the figures came from"),
    sa.Column("synced_at", _UTC_TIME, comment="when the sync stored them (the freshness reference)"),
    sa.Column("data_source", sa.String(8), comment="LIVE: the terminal answered; STORED: the gateway's copy"),
    # failures of the account's last attempts (alerts after N in a row)
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("last_attempt_at", _UTC_TIME),
    # the back office's own columns, from config only
    sa.Column("client_id", sa.String(64), index=True),
    sa.Column("fund_type", sa.String(64)),
    sa.Column("target_amount", sa.Float),
    sa.Column("name", sa.String(256)),
)

sync_runs = sa.Table(
    "sync_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("trigger", sa.String(16), nullable=False, comment="schedule or manual"),
    sa.Column("started_at", _UTC_TIME, nullable=False, index=True),
    sa.Column("finished_at", _UTC_TIME, nullable=False),
    sa.Column("duration_seconds", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, comment="ok, partial, skipped or failed"),
    sa.Column("accounts_total", sa.Integer, nullable=False),
    sa.Column("accounts_ok", sa.Integer, nullable=False),
    sa.Column("accounts_failed", sa.Integer, nullable=False),
    sa.Column("gateways_down", sa.Integer, nullable=False),
    sa.Column("errors", sa.JSON, nullable=False, comment="one line per failed gateway or account"),
)
