"""The S3-compatible evidence store (issue 18, monitor.evidence_s3) against a real S3 server
on loopback (moto's HTTP server, tests/support/s3.py): content-addressed keys, a body
written once and never replaced, its hash checked on every read, and each mistake of
configuration named in a sentence."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest

from monitor.errors import ConfigError, NotFound
from monitor.evidence_store import StoreUnavailable, evidence_store, store_for
from monitor.settings import load_settings
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY, Bucket, bucket, s3_endpoint

pytestmark = pytest.mark.integration

PAGE = "<html><body><p>网传某戒毒所学员死亡</p></body></html>".encode()


def _store(b: Bucket, tmp_path: Path, prefix: str = "evidence"):  # type: ignore[no-untyped-def]
    return store_for(b.url(prefix), tmp_path, s3_endpoint=b.endpoint, s3_region=REGION,
                     s3_access_key=ACCESS_KEY, s3_secret_key=SECRET_KEY)


def test_put_get_exists_with_content_addressed_keys(bucket: Bucket, tmp_path: Path) -> None:
    store = _store(bucket, tmp_path, prefix="prod/evidence/")
    sha = hashlib.sha256(PAGE).hexdigest()
    assert not store.exists(sha)
    assert store.put(PAGE) == sha
    assert store.exists(sha)
    assert store.get(sha) == PAGE
    assert bucket.keys() == [f"prod/evidence/{sha[:2]}/{sha}"]
    head = bucket.client.head_object(Bucket=bucket.name, Key=bucket.keys()[0])
    assert head["Metadata"] == {"sha256": sha}
    with pytest.raises(NotFound, match="not in the store"):
        store.get("0" * 64)
    # A key is a SHA-256 or nothing: never a path into the bucket.
    for bad in ("../" + sha[3:], sha.upper(), ""):
        with pytest.raises(NotFound):
            store.get(bad)


def test_a_second_put_writes_nothing(bucket: Bucket, tmp_path: Path) -> None:
    store = _store(bucket, tmp_path)
    sha = store.put(PAGE)
    key = bucket.keys()[0]
    first = bucket.client.head_object(Bucket=bucket.name, Key=key)
    assert store.put(PAGE) == sha and store.put(b"other") != sha
    assert len(bucket.keys()) == 2
    again = bucket.client.head_object(Bucket=bucket.name, Key=key)
    assert again["LastModified"] == first["LastModified"] and again["ETag"] == first["ETag"]


def test_a_put_racing_another_writer_never_replaces_it(
        bucket: Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers storing one page: the one whose existence check came too late is refused
    by the server (If-None-Match: *), and what the first stored stays as it was."""
    store = _store(bucket, tmp_path)
    sha = hashlib.sha256(PAGE).hexdigest()
    key = f"evidence/{sha[:2]}/{sha}"
    bucket.client.put_object(Bucket=bucket.name, Key=key, Body=b"the first writer's bytes")
    monkeypatch.setattr(store, "exists", lambda _sha: False)  # the check raced the other put
    assert store.put(PAGE) == sha
    kept = bucket.client.get_object(Bucket=bucket.name, Key=key)["Body"].read()
    assert kept == b"the first writer's bytes"


def test_an_altered_object_is_refused(bucket: Bucket, tmp_path: Path) -> None:
    store = _store(bucket, tmp_path)
    sha = store.put(PAGE)
    bucket.client.put_object(Bucket=bucket.name, Key=bucket.keys()[0],
                             Body=PAGE.replace("死亡".encode(), "受伤".encode()))
    with pytest.raises(NotFound, match="does not match its hash: the object was altered"):
        store.get(sha)


def test_a_missing_bucket_is_named_as_the_configuration(
        s3_endpoint: str, tmp_path: Path) -> None:
    store = store_for("s3://no-such-bucket/evidence", tmp_path, s3_endpoint=s3_endpoint,
                      s3_region=REGION, s3_access_key=ACCESS_KEY, s3_secret_key=SECRET_KEY)
    with pytest.raises(ConfigError, match=r"s3://no-such-bucket/evidence/ at http://127\.0\.0\."
                                          r"1:\d+: the bucket does not exist \(NoSuchBucket\)"):
        store.put(PAGE)
    with pytest.raises(ConfigError, match="the bucket does not exist"):
        store.get(hashlib.sha256(PAGE).hexdigest())


def test_an_unreachable_server_is_transient(tmp_path: Path) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = store_for("s3://evidence", tmp_path, s3_endpoint=f"http://127.0.0.1:{port}",
                      s3_region=REGION, s3_access_key=ACCESS_KEY, s3_secret_key=SECRET_KEY)
    with pytest.raises(StoreUnavailable, match="cannot be reached"):
        store.put(PAGE)


@pytest.mark.parametrize(("url", "extra", "words"), [
    ("s3://", {}, "is not s3://bucket/prefix"),
    ("s3://key:secret@bucket/p", {}, "give only s3://bucket/prefix"),
    ("s3://bucket/p?region=x", {}, "give only s3://bucket/prefix"),
    ("s3://bucket/p", {"s3_access_key": "only-the-key"}, "go together"),
    ("s3://bucket/p", {"s3_endpoint": "minio:9000"}, "is not an http(s):// URL"),
    ("gs://bucket/p", {}, "neither empty, file:// nor s3://"),
])
def test_malformed_settings_are_refused_before_any_request(
        url: str, extra: dict[str, str], words: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")
                       .replace("?", r"\?")):
        store_for(url, tmp_path, **extra)


def test_the_settings_name_the_store(bucket: Bucket, tmp_path: Path) -> None:
    """The YUQING_EVIDENCE_* variables reach the store as the README documents them."""
    settings = load_settings(env={"YUQING_HOME": str(tmp_path), **bucket.env("from-env")})
    store = evidence_store(settings)
    sha = store.put(PAGE)
    assert bucket.keys() == [f"from-env/{sha[:2]}/{sha}"]
    assert evidence_store(load_settings(env={"YUQING_HOME": str(tmp_path)})).exists(sha) is False
