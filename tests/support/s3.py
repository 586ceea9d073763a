"""A real S3-compatible server on loopback for the evidence store's tests: moto's
ThreadedMotoServer (its HTTP server, spoken to over TCP by boto3 exactly as a bucket in
production would be), not moto's in-process mocks. One server per test module; one fresh
bucket per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

boto3 = pytest.importorskip("boto3", reason="the s3 extra (boto3) is not installed")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")

ACCESS_KEY = "yuqing-test"
SECRET_KEY = "yuqing-test-secret"
REGION = "us-east-1"
_names = itertools.count(1)


@dataclass(frozen=True)
class Bucket:
    endpoint: str
    name: str
    client: Any  # a boto3 client of our own, to look at (and tamper with) what was stored

    def url(self, prefix: str = "evidence") -> str:
        return f"s3://{self.name}/{prefix}"

    def env(self, prefix: str = "evidence") -> dict[str, str]:
        """The YUQING_* variables that point a process's evidence store at this bucket."""
        return {"YUQING_EVIDENCE_STORE_URL": self.url(prefix),
                "YUQING_EVIDENCE_S3_ENDPOINT": self.endpoint,
                "YUQING_EVIDENCE_S3_REGION": REGION,
                "YUQING_EVIDENCE_S3_ACCESS_KEY": ACCESS_KEY,
                "YUQING_EVIDENCE_S3_SECRET_KEY": SECRET_KEY}

    def keys(self) -> list[str]:
        answer = self.client.list_objects_v2(Bucket=self.name)
        return sorted(o["Key"] for o in answer.get("Contents", []))


def client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str) -> Bucket:
    name = f"yuqing-evidence-{next(_names)}"
    c = client(s3_endpoint)
    c.create_bucket(Bucket=name)
    return Bucket(s3_endpoint, name, c)
