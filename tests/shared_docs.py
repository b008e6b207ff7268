"""The team's shared documents (``shared/``: the SPEC, the original services' contracts), read where they
lie beside this checkout: ``../shared``, or beside the main checkout when this is a git worktree of it.
A test that needs one skips with that reason only when the folder is truly absent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["shared_path"]

ROOT = Path(__file__).resolve().parents[1]


def _candidates() -> Iterator[Path]:
    yield ROOT.parent / "shared"
    git = ROOT / ".git"
    if git.is_file():  # a worktree: "gitdir: <main>/.git/worktrees/<name>"
        gitdir = Path(git.read_text().partition(":")[2].strip())
        yield gitdir.parents[2].parent / "shared"


def shared_path(*parts: str) -> Path:
    """``shared/<parts>``; skips the test when no shared folder lies beside this checkout."""
    for folder in _candidates():
        if folder.is_dir():
            path = folder.joinpath(*parts)
            assert path.exists(), f"{path} is missing from the shared folder"
            return path
    pytest.skip("the shared folder (../shared) is not beside this checkout")
