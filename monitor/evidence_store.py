"""Where snapshots live: content-addressed, written once, never altered.

`LocalStore` keeps each body at <root>/<sha[:2]>/<sha> (root = YUQING_HOME/evidence by
default), written to a temporary file and renamed into place, then made read-only; a body
already stored is not written again, so two alerts that cite one page share one file.
`S3Store` (monitor.evidence_s3, `evidence.store_url: s3://bucket/prefix`) keeps the same
contract in an S3-compatible bucket for production. Both check a body against its hash on
every read: an altered snapshot is refused, never served as evidence."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.errors import ConfigError, NotFound
from monitor.evidence_base import EvidenceStore, StoreUnavailable, checked_sha, sha256_of

__all__ = ["EvidenceStore", "LocalStore", "StoreUnavailable", "checked_sha", "evidence_store",
           "sha256_of", "store_for"]

if TYPE_CHECKING:
    from monitor.settings import Settings


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        sha = checked_sha(sha256)
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


def store_for(url: str, home: Path, *, s3_endpoint: str = "", s3_region: str = "",
              s3_access_key: str = "", s3_secret_key: str = "") -> EvidenceStore:
    """The store named by evidence.store_url: "" or file:///path → LocalStore,
    s3://bucket/prefix → S3Store (the s3_* arguments are the evidence.s3_* settings)."""
    if not url:
        return LocalStore(home / "evidence")
    if url.startswith("file://"):
        return LocalStore(Path(url.removeprefix("file://")))
    if url.startswith("s3://"):
        from monitor.evidence_s3 import S3Config, S3Store  # boto3 only when asked for

        return S3Store(S3Config.from_url(url, endpoint=s3_endpoint, region=s3_region,
                                         access_key=s3_access_key, secret_key=s3_secret_key))
    raise ConfigError(f"evidence.store_url: {url!r} is neither empty, file:// nor s3://")


def evidence_store(settings: Settings) -> EvidenceStore:
    """The store the settings name: what the tasks, the CLI and the desk use."""
    ev = settings.evidence
    return store_for(ev.store_url, settings.home, s3_endpoint=ev.s3_endpoint,
                     s3_region=ev.s3_region, s3_access_key=ev.s3_access_key,
                     s3_secret_key=ev.s3_secret_key)
