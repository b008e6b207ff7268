"""The idempotency journal on real SQLite files: write-ahead order, repeats, conflicts, restarts."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from mt5gateway.errors import Conflict
from mt5gateway.trading.journal import Journal, fingerprint, idempotency_tag


def _begin(journal: Journal, key: str = "k1", body: dict[str, object] | None = None) -> tuple[object, bool]:
    return journal.begin(
        owner="web",
        key=key,
        fingerprint=fingerprint("place", "orders", body or {"volume": 0.1}),
        operation="place",
        request={"body": body or {"volume": 0.1}},
        terminal_id="MT5_03",
        login=5001,
    )


def test_begin_creates_once_and_returns_the_entry_on_repeat(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite").open()
    first, created = _begin(journal)
    again, created_again = _begin(journal)
    assert created and not created_again
    assert first == again


def test_same_key_with_another_body_is_a_conflict(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite").open()
    _begin(journal, body={"volume": 0.1})
    with pytest.raises(Conflict) as info:
        _begin(journal, body={"volume": 0.2})
    assert info.value.status == 409
    assert info.value.extra["idempotency_key"] == "k1"


def test_outcome_is_unknown_between_send_and_answer(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite").open()
    _begin(journal)
    entry = journal.get("web", "k1")
    assert entry is not None and not entry.outcome_unknown and not entry.finished
    assert journal.mark_sending("web", "k1") == 1
    entry = journal.get("web", "k1")
    assert entry is not None and entry.outcome_unknown
    journal.finish("web", "k1", 200, {"success": True, "result": {"order": 7}})
    entry = journal.get("web", "k1")
    assert entry is not None and entry.finished and not entry.outcome_unknown
    assert entry.response == {"success": True, "result": {"order": 7}}


def test_entries_survive_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path).open()
    _begin(journal)
    journal.mark_sending("web", "k1")
    journal.close()
    reopened = Journal(path).open()
    pending = reopened.unfinished()
    assert [e.key for e in pending] == ["k1"]
    assert pending[0].attempts == 1 and pending[0].tag == idempotency_tag("web", "k1")


def test_forget_only_drops_entries_never_sent(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite").open()
    _begin(journal, "never-sent")
    _begin(journal, "sent")
    journal.mark_sending("web", "sent")
    journal.forget("web", "never-sent")
    journal.forget("web", "sent")
    assert journal.get("web", "never-sent") is None
    assert journal.get("web", "sent") is not None


def test_keys_are_scoped_by_owner(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite").open()
    _begin(journal)
    _, created = journal.begin(
        owner="other",
        key="k1",
        fingerprint=fingerprint("place", "orders", {"volume": 5}),
        operation="place",
        request={},
        terminal_id="MT5_03",
        login=None,
    )
    assert created
    assert idempotency_tag("web", "k1") != idempotency_tag("other", "k1")


def test_tag_fits_an_mt5_comment_with_room_for_the_client() -> None:
    from mt5gateway.trading.schemas import COMMENT_MAX_LENGTH

    tag = idempotency_tag("web", "a" * 200)
    assert tag.isalnum() and len(tag) == 12
    assert len(f"#{tag} ") + COMMENT_MAX_LENGTH <= 29  # the module's limit for an order comment


def test_prune_drops_old_answered_entries_only(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite").open()
    _begin(journal, "answered")
    journal.mark_sending("web", "answered")
    journal.finish("web", "answered", 200, {})
    _begin(journal, "open")
    assert journal.prune(older_than_s=-1) == 1
    assert journal.get("web", "open") is not None


def test_commits_reach_the_database_file_by_a_checkpoint_off_the_writers_thread(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path, checkpoint_s=0.05).open()
    for n in range(200):
        _begin(journal, key=f"k{n}")
    # The WAL holds them at first (no commit checkpoints: the writer never waits on the disk)...
    assert _rows_in_database_file(path, tmp_path / "copy0.sqlite") < 200
    time.sleep(0.3)
    # ... then the checkpointer has copied them into the database file itself.
    assert _rows_in_database_file(path, tmp_path / "copy1.sqlite") == 200
    journal.close()
    assert not Path(f"{path}-wal").exists()  # the last close checkpointed what was left


def _rows_in_database_file(path: Path, copy: Path) -> int:
    """Rows in the database file alone, without its WAL (read from a copy of the file)."""
    shutil.copyfile(path, copy)
    with contextlib.closing(sqlite3.connect(copy)) as conn:
        try:
            count: int = conn.execute("SELECT count(*) FROM trade_journal").fetchone()[0]
        except sqlite3.OperationalError:  # the table itself is still only in the WAL
            return 0
        return count
