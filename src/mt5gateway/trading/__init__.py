"""Order placement: request validation, the idempotency journal, and journaled, reconciled sends.

Owns the trading request schemas (``schemas``), the MT5 rules checked before any terminal call
(``validation``), the SQLite journal that makes each ``Idempotency-Key`` send at most once
(``journal``), and ``TradingService`` (``service``), which places, checks, modifies, cancels and
closes over the pool and reconciles lost answers from the terminal's orders and deals.
"""

from __future__ import annotations

from .journal import Journal, JournalEntry, fingerprint, idempotency_tag
from .schemas import OrderModify, OrderRequest, PositionModify
from .service import TradeOutcome, TradingService

__all__ = [
    "Journal",
    "JournalEntry",
    "OrderModify",
    "OrderRequest",
    "PositionModify",
    "TradeOutcome",
    "TradingService",
    "fingerprint",
    "idempotency_tag",
]
