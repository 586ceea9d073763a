"""Where snapshots live: content-addressed, written once, never altered.

`LocalStore` keeps each body at <root>/<sha[:2]>/<sha> (root = YUQING_HOME/evidence by
default), written to a temporary file and renamed into place, then made read-only; a body
already stored is not written again, so two alerts that cite one page share one file. An
S3-compatible bucket (`evidence.store_url: s3://bucket/prefix`) fits the same interface
(`EvidenceStore`) but is not implemented in this version: such a URL is refused at start
with a sentence saying so, rather than silently writing elsewhere."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from monitor.errors import ConfigError, NotFound


class EvidenceStore(Protocol):
    def put(self, body: bytes) -> str: ...
    def get(self, sha256: str) -> bytes: ...
    def exists(self, sha256: str) -> bool: ...


def sha256_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _checked(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise NotFound(f"no snapshot {sha256!r}")
    return sha256


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        sha = _checked(sha256)
        return self.root / sha[:2] / sha

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, body: bytes) -> str:
        sha = sha256_of(body)
        final = self.path(sha)
        if final.is_file():
            return sha  # content-addressed: the same bytes are already kept
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(body)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def get(self, sha256: str) -> bytes:
        path = self.path(sha256)
        if not path.is_file():
            raise NotFound(f"snapshot {sha256} is not in the store ({self.root})")
        body = path.read_bytes()
        if sha256_of(body) != sha256:
            raise NotFound(f"snapshot {sha256} in {self.root} does not match its hash: "
                           "the file was altered")
        return body


def store_for(url: str, home: Path) -> EvidenceStore:
    """The store named by evidence.store_url: "" or file:///path → LocalStore."""
    if not url:
        return LocalStore(home / "evidence")
    if url.startswith("file://"):
        return LocalStore(Path(url.removeprefix("file://")))
    if url.startswith("s3://"):
        raise ConfigError("evidence.store_url: S3-compatible stores are not implemented yet; "
                          "leave it empty for the local store under YUQING_HOME/evidence")
    raise ConfigError(f"evidence.store_url: {url!r} is neither empty, file:// nor s3://")
