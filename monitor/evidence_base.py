"""What every evidence store shares: the interface, the key (a body's SHA-256) and the
transient error. Its own module so that the stores (monitor.evidence_store's LocalStore and
the choice among them, monitor.evidence_s3's S3Store) import it without importing each
other."""

from __future__ import annotations

import hashlib
from typing import Protocol

from monitor.errors import MonitorError, NotFound


class EvidenceStore(Protocol):
    def put(self, body: bytes) -> str: ...
    def get(self, sha256: str) -> bytes: ...
    def exists(self, sha256: str) -> bool: ...


def sha256_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class StoreUnavailable(MonitorError):
    """The store could not be reached or answered with a server error: transient, so the
    snapshot task retries it (a local disk has no such state; a bucket over a network does)."""


def checked_sha(sha256: str) -> str:
    """A key is a lowercase SHA-256 in hex or nothing: never a path or a key of our choosing."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise NotFound(f"no snapshot {sha256!r}")
    return sha256
