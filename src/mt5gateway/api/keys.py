"""API keys: making them, hashing them, and recognising a presented key in constant time.

A key is 32 random bytes (``mt5gw_`` + URL-safe base64). Only its SHA-256 is stored: a random key of
that length cannot be guessed from its hash, so a slow password hash would only cost latency on
every request. A presented key is hashed once and compared with *every* stored hash with
``hmac.compare_digest``, so neither which key matched nor how much of it matched shows in the time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from .settings import ApiKeyConfig

__all__ = ["KEY_PREFIX", "KeyStore", "generate_key", "hash_key"]

KEY_PREFIX = "mt5gw_"


def generate_key() -> str:
    """A new random key (shown once, never stored)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of a key: ``"sha256:<hex>"``."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    """The configured client keys and the admin key hash."""

    def __init__(self, keys: Iterable[ApiKeyConfig], admin_key_hash: str | None) -> None:
        self._keys = tuple((key.hash.encode(), key) for key in keys)
        self._admin_hash = admin_key_hash.encode() if admin_key_hash else None

    def client(self, presented: str | None) -> ApiKeyConfig | None:
        """The key config matching ``presented``, or ``None``."""
        if not presented:
            return None
        digest = hash_key(presented).encode()
        found: ApiKeyConfig | None = None
        for stored, key in self._keys:
            if hmac.compare_digest(stored, digest):
                found = key
        return found

    def is_admin(self, presented: str | None) -> bool:
        """Whether ``presented`` is the admin key (always false when none is configured)."""
        if not presented or self._admin_hash is None:
            return False
        return hmac.compare_digest(self._admin_hash, hash_key(presented).encode())
