"""Snapshots in an S3-compatible bucket (issue 18): `evidence.store_url: s3://bucket/prefix`.

The same contract as `LocalStore` (monitor.evidence_store): a body is kept under the key
<prefix>/<sha[:2]>/<sha> of its SHA-256, written once and never replaced, and checked
against its hash on every read. "Written once" is the server's job as well as ours: a put
is sent only when the key is absent, and then with `If-None-Match: *`, so that of two
workers storing one page at the same moment the second is refused (412) instead of
replacing the first. A server that ignores that header rewrites the same bytes under the
same name, which alters nothing. Object locks or versioning on the bucket, if the office
wants them, are the bucket's settings, not ours.

Where the bucket is and who we are: `evidence.s3_endpoint` (YUQING_EVIDENCE_S3_ENDPOINT;
empty = AWS itself), `evidence.s3_region` (empty = boto3's AWS_REGION/AWS_DEFAULT_REGION,
else us-east-1), and the keys `evidence.s3_access_key`/`s3_secret_key`; when those are
empty, boto3's own chain applies (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws, an
instance role), so a deployment can keep the secret out of yuqing's settings entirely.

Errors are sorted by whose they are: a missing bucket, refused credentials or a malformed
URL are the configuration's (ConfigError, a sentence naming the setting); a server that
cannot be reached or answers 5xx is transient (StoreUnavailable, which the snapshot task
retries); a key that is absent, or whose bytes do not match their name, is NotFound."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from monitor.errors import ConfigError, NotFound
from monitor.evidence_base import StoreUnavailable, checked_sha, sha256_of

# Error codes the server sends for the configuration's mistakes, not the request's.
_CONFIG_CODES = {
    "NoSuchBucket": "the bucket does not exist",
    "InvalidAccessKeyId": "the access key is not known to the server",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "AccessDenied": "the credentials may not use this bucket",
    "InvalidBucketName": "the bucket's name is not valid",
    "AuthorizationHeaderMalformed": "the region does not match the bucket's",
    "PermanentRedirect": "the bucket is in another region (set evidence.s3_region)",
}
_ABSENT = {"404", "NoSuchKey", "NotFound"}
_ALREADY = {"412", "PreconditionFailed", "ConditionalRequestConflict"}


@dataclass(frozen=True)
class S3Config:
    """Where and as whom: everything a client needs, hashable so clients are cached."""

    bucket: str
    prefix: str = ""
    endpoint: str = ""
    region: str = ""
    access_key: str = ""
    secret_key: str = ""

    @classmethod
    def from_url(cls, url: str, *, endpoint: str = "", region: str = "", access_key: str = "",
                 secret_key: str = "") -> S3Config:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ConfigError(f"evidence.store_url: {url!r} is not s3://bucket/prefix")
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise ConfigError("evidence.store_url: give only s3://bucket/prefix; the "
                              "endpoint, region and keys have settings of their own "
                              "(evidence.s3_endpoint, s3_region, s3_access_key, s3_secret_key)")
        if bool(access_key) != bool(secret_key):
            raise ConfigError("evidence.s3_access_key and evidence.s3_secret_key go together: "
                              "set both, or neither to use AWS_ACCESS_KEY_ID/"
                              "AWS_SECRET_ACCESS_KEY or ~/.aws")
        if endpoint and urlsplit(endpoint).scheme not in ("http", "https"):
            raise ConfigError(f"evidence.s3_endpoint: {endpoint!r} is not an http(s):// URL")
        prefix = parts.path.strip("/")
        return cls(bucket=parts.netloc, prefix=f"{prefix}/" if prefix else "",
                   endpoint=endpoint, region=region, access_key=access_key,
                   secret_key=secret_key)

    def where(self) -> str:
        at = f" at {self.endpoint}" if self.endpoint else ""
        return f"s3://{self.bucket}/{self.prefix}{at}"


@functools.lru_cache(maxsize=8)
def _client(cfg: S3Config) -> Any:
    """One client per configuration and process (boto3 clients are thread-safe, and building
    one reads its service model from disk: not something to do per snapshot)."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:  # the optional extra is not installed
        raise ConfigError("evidence.store_url is s3:// but boto3 is not installed: "
                          "pip install 'yuqing[s3]'") from exc
    kwargs: dict[str, Any] = {
        "config": Config(retries={"max_attempts": 3, "mode": "standard"},
                         connect_timeout=10, read_timeout=60,
                         # Path-style addressing works on every S3-compatible server
                         # (MinIO, Ceph, a loopback test server) as well as on AWS.
                         s3={"addressing_style": "path"},
                         # Checksums only when an operation requires one: some
                         # S3-compatible servers refuse the newer default trailers.
                         request_checksum_calculation="when_required",
                         response_checksum_validation="when_required")}
    if cfg.endpoint:
        kwargs["endpoint_url"] = cfg.endpoint
    if cfg.region:
        kwargs["region_name"] = cfg.region
    if cfg.access_key:
        kwargs["aws_access_key_id"] = cfg.access_key
        kwargs["aws_secret_access_key"] = cfg.secret_key
    return boto3.session.Session().client("s3", **kwargs)


class S3Store:
    def __init__(self, cfg: S3Config) -> None:
        self.cfg = cfg
        self._s3 = _client(cfg)

    def key(self, sha256: str) -> str:
        sha = checked_sha(sha256)
        return f"{self.cfg.prefix}{sha[:2]}/{sha}"

    def exists(self, sha256: str) -> bool:
        key = self.key(sha256)
        try:
            self._call("head_object", Bucket=self.cfg.bucket, Key=key)
        except NotFound:
            return False
        return True

    def put(self, body: bytes) -> str:
        sha = sha256_of(body)
        if self.exists(sha):
            return sha  # content-addressed: the same bytes are already kept
        try:
            self._call("put_object", Bucket=self.cfg.bucket, Key=self.key(sha), Body=body,
                       IfNoneMatch="*",
                       ContentType="application/octet-stream",
                       Metadata={"sha256": sha})
        except _AlreadyThere:
            pass  # another worker stored these bytes between our check and our put
        return sha

    def get(self, sha256: str) -> bytes:
        key = self.key(sha256)
        try:
            answer = self._call("get_object", Bucket=self.cfg.bucket, Key=key)
        except NotFound:
            raise NotFound(f"snapshot {sha256} is not in the store "
                           f"({self.cfg.where()})") from None
        body = bytes(answer["Body"].read())
        if sha256_of(body) != sha256:
            raise NotFound(f"snapshot {sha256} in {self.cfg.where()} does not match its "
                           "hash: the object was altered")
        return body

    def _call(self, operation: str, **kwargs: Any) -> Any:
        """One S3 operation, its failures sorted into the project's errors."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
            ParamValidationError,
        )

        try:
            return getattr(self._s3, operation)(**kwargs)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            code = str(err.get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if code in _CONFIG_CODES:
                raise ConfigError(f"evidence.store_url {self.cfg.where()}: "
                                  f"{_CONFIG_CODES[code]} ({code})") from None
            if code in _ALREADY:
                raise _AlreadyThere() from None
            if code in _ABSENT:
                raise NotFound(f"no object {kwargs.get('Key')} in {self.cfg.where()}") from None
            if code == "403" or status == 403:  # HEAD answers carry no error code
                raise ConfigError(f"evidence.store_url {self.cfg.where()}: the server refused "
                                  "the credentials (HTTP 403)") from None
            if status >= 500 or code in ("SlowDown", "RequestTimeout", "InternalError"):
                raise StoreUnavailable(f"the evidence store {self.cfg.where()} answered "
                                       f"{status} {code}; try again later") from None
            raise
        except NoCredentialsError:
            raise ConfigError("evidence.store_url is s3:// but no credentials were found: set "
                              "evidence.s3_access_key/s3_secret_key "
                              "(YUQING_EVIDENCE_S3_ACCESS_KEY, YUQING_EVIDENCE_S3_SECRET_KEY) "
                              "or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY") from None
        except ParamValidationError:
            raise  # our call is wrong: a bug, not the store's state
        except EndpointConnectionError as exc:
            raise StoreUnavailable(f"the evidence store {self.cfg.where()} cannot be "
                                   f"reached: {exc}") from None
        except BotoCoreError as exc:
            raise StoreUnavailable(f"the evidence store {self.cfg.where()}: {exc}") from None


class _AlreadyThere(Exception):
    """A conditional put found the key taken: by content addressing, by the same bytes."""
