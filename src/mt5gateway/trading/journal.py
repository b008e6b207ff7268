"""The idempotency journal: every trading request is written down before it is sent.

One row per (owner, Idempotency-Key): the request's fingerprint, the terminal and account it goes to,
the compact tag put in the order comment, the number of send attempts and, once known, the answer
(HTTP status and body). The write-ahead order is what makes "never twice" hold across a crash:

1. ``begin`` inserts the row (``attempts = 0``): nothing has been sent yet;
2. ``mark_sending`` commits ``attempts + 1`` *before* the terminal call;
3. ``finish`` stores the answer.

A row left with ``attempts > 0`` and no answer (a timeout, or a gateway killed mid-send) has an
unknown outcome: the service reconciles it from the terminal's orders and deals (by the tag) and never
re-sends it blindly. SQLite runs in WAL mode with ``synchronous=NORMAL``: a committed row survives a
killed process (the case that matters here); only a power cut could lose the last commits.

The journal is written from the event loop, so no write may wait on the disk: a commit only appends
to the WAL, and the checkpoints that copy the WAL into the database (and sync both) run on a thread
of their own, every ``checkpoint_s``. Left to SQLite, each thousandth page's commit ran one, 5-9 ms
with the event loop held: every request in flight waited (REST orders at 500/s: a stall every
half second).
"""

from __future__ import annotations

import base64
import hashlib
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from mt5gateway.errors import Conflict

__all__ = ["Journal", "JournalEntry", "fingerprint", "idempotency_tag"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trade_journal (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    operation TEXT NOT NULL,
    request TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    login INTEGER,
    tag TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status INTEGER,
    response TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (owner, key)
)
"""
_COLUMNS = (
    "owner, key, fingerprint, operation, request, terminal_id, login, tag, attempts, status, response, "
    "created_at, updated_at"
)

# 12 base32 characters = 60 bits of the key's hash: collisions are out of reach, and "#" + tag
# leaves room for a client comment within MT5's 31-character order comment.
_TAG_LENGTH = 12


def idempotency_tag(owner: str, key: str) -> str:
    """The compact tag for an idempotency key, written into the order comment as ``#<tag>``."""
    digest = hashlib.sha256(f"{owner}\x00{key}".encode()).digest()
    return base64.b32encode(digest).decode()[:_TAG_LENGTH]


def fingerprint(operation: str, target: str, body: dict[str, Any]) -> str:
    """A stable hash of what a request asks for: same key and same fingerprint means a repeat."""
    canonical = orjson.dumps(
        {"operation": operation, "target": target, "body": body}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True)
class JournalEntry:
    """One journaled request and, when known, its answer."""

    owner: str
    key: str
    fingerprint: str
    operation: str
    request: dict[str, Any]
    terminal_id: str
    login: int | None
    tag: str
    attempts: int
    status: int | None
    response: dict[str, Any] | None
    created_at: float
    updated_at: float

    @property
    def finished(self) -> bool:
        """The answer is stored: a repeat of the key returns it."""
        return self.status is not None

    @property
    def outcome_unknown(self) -> bool:
        """Sent at least once and never answered: reconcile before anything else."""
        return self.attempts > 0 and self.status is None


class Journal:
    """The journal in one SQLite file (``":memory:"`` for a throwaway one), opened by ``open()``.

    Made without touching the disk, so the gateway can build it with the other services and open it
    when the app starts (an app that never starts leaves no file behind).
    """

    def __init__(self, path: str | Path, *, checkpoint_s: float = 1.0) -> None:
        self.path = str(path)
        self._checkpoint_s = checkpoint_s
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._checkpointer: threading.Thread | None = None

    def open(self) -> Journal:
        """Open (creating the file and its folder when missing) and start checkpointing; returns self."""
        if self._conn is not None:
            return self
        in_memory = self.path == ":memory:"
        if not in_memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # The gateway calls the journal from its event loop and from worker threads alike.
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        with self._lock:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            if not in_memory:
                conn.execute("PRAGMA wal_autocheckpoint=0")
                # Should the checkpointer ever hold a lock a commit needs, the commit waits for it.
                conn.execute("PRAGMA busy_timeout=5000")
            self._conn = conn
        self._closing.clear()
        if not in_memory:
            self._checkpointer = threading.Thread(
                target=self._checkpoint_every,
                args=(self._checkpoint_s,),
                name="journal-checkpoint",
                daemon=True,
            )
            self._checkpointer.start()
        return self

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError(f"the trade journal {self.path} is not open")
        return self._conn

    def _checkpoint_every(self, interval_s: float) -> None:
        """Copy the WAL into the database now and then, on this thread's own connection.

        PASSIVE never blocks the writer; what a commit appends meanwhile waits for the next round.
        """
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            while not self._closing.wait(interval_s):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    def close(self) -> None:
        """Stop checkpointing and close the file (SQLite checkpoints what is left as it closes)."""
        self._closing.set()
        if self._checkpointer is not None:
            self._checkpointer.join()
            self._checkpointer = None
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _row(self, owner: str, key: str) -> JournalEntry | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM trade_journal WHERE owner = ? AND key = ?", (owner, key)
        ).fetchone()
        return None if row is None else _entry(row)

    def get(self, owner: str, key: str) -> JournalEntry | None:
        """The entry for a key, or None."""
        with self._lock:
            return self._row(owner, key)

    def begin(
        self,
        *,
        owner: str,
        key: str,
        fingerprint: str,
        operation: str,
        request: dict[str, Any],
        terminal_id: str,
        login: int | None,
    ) -> tuple[JournalEntry, bool]:
        """Write a new request down, or return the existing entry for the key: ``(entry, created)``.

        The same key with another fingerprint is a ``Conflict`` (409): a client reused a key for a
        different request, and answering with the first one's result would mislead it.
        """
        now = time.time()
        tag = idempotency_tag(owner, key)
        with self._lock:
            inserted = self._db.execute(
                "INSERT OR IGNORE INTO trade_journal (owner, key, fingerprint, operation, request, terminal_id, "
                "login, tag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    owner,
                    key,
                    fingerprint,
                    operation,
                    orjson.dumps(request).decode(),
                    terminal_id,
                    login,
                    tag,
                    now,
                    now,
                ),
            ).rowcount
            if inserted:
                entry: JournalEntry | None = JournalEntry(
                    owner=owner,
                    key=key,
                    fingerprint=fingerprint,
                    operation=operation,
                    request=request,
                    terminal_id=terminal_id,
                    login=login,
                    tag=tag,
                    attempts=0,
                    status=None,
                    response=None,
                    created_at=now,
                    updated_at=now,
                )
            else:
                entry = self._row(owner, key)
        assert entry is not None  # just inserted or already there, under the lock
        if entry.fingerprint != fingerprint:
            raise Conflict(
                "this Idempotency-Key was already used for a different request",
                idempotency_key=key,
                first_operation=entry.operation,
            )
        return entry, bool(inserted)

    def mark_sending(self, owner: str, key: str) -> int:
        """Commit one more send attempt before the terminal call; returns the attempt number."""
        with self._lock:
            row = self._db.execute(
                "UPDATE trade_journal SET attempts = attempts + 1, updated_at = ? WHERE owner = ? AND key = ? "
                "RETURNING attempts",
                (time.time(), owner, key),
            ).fetchone()
        if row is None:
            raise KeyError(key)
        attempts: int = row[0]
        return attempts

    def finish(self, owner: str, key: str, status: int, response: dict[str, Any]) -> None:
        """Store the answer; later repeats of the key return it."""
        with self._lock:
            self._db.execute(
                "UPDATE trade_journal SET status = ?, response = ?, updated_at = ? WHERE owner = ? AND key = ?",
                (status, orjson.dumps(response).decode(), time.time(), owner, key),
            )

    def forget(self, owner: str, key: str) -> None:
        """Drop an entry that was never sent (refused before the send), so the key may be used again."""
        with self._lock:
            self._db.execute(
                "DELETE FROM trade_journal WHERE owner = ? AND key = ? AND attempts = 0", (owner, key)
            )

    def unfinished(self) -> list[JournalEntry]:
        """Entries without an answer, oldest first (to reconcile after a restart)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM trade_journal WHERE status IS NULL ORDER BY created_at"
            ).fetchall()
        return [_entry(row) for row in rows]

    def prune(self, older_than_s: float) -> int:
        """Delete answered entries older than ``older_than_s`` seconds; returns how many."""
        with self._lock:
            return self._db.execute(
                "DELETE FROM trade_journal WHERE status IS NOT NULL AND created_at < ?",
                (time.time() - older_than_s,),
            ).rowcount


def _entry(row: tuple[Any, ...]) -> JournalEntry:
    (
        owner,
        key,
        fp,
        operation,
        request,
        terminal_id,
        login,
        tag,
        attempts,
        status,
        response,
        created,
        updated,
    ) = row
    return JournalEntry(
        owner=owner,
        key=key,
        fingerprint=fp,
        operation=operation,
        request=orjson.loads(request),
        terminal_id=terminal_id,
        login=login,
        tag=tag,
        attempts=attempts,
        status=status,
        response=None if response is None else orjson.loads(response),
        created_at=created,
        updated_at=updated,
    )
