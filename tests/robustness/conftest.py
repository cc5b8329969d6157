"""One in-memory mock server per test session (per xdist worker), a Wire for hand-made requests, and a
`victim`: a bucket holding an object whose bytes and ETag every attack must leave unchanged."""
from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mockserver.server import RunningServer, running_server

from .wire import Reply, Wire


@pytest.fixture(scope="session")
def server() -> Iterator[RunningServer]:
    # SSE-C over plain HTTP is allowed so that malformed SSE-C headers reach their own checks.
    with running_server(allow_sse_c_over_http=True) as srv:
        yield srv


@pytest.fixture(scope="session")
def s3(server: RunningServer) -> Any:
    return server.client("s3")


@pytest.fixture(scope="session")
def wire(server: RunningServer) -> Wire:
    return Wire(server.endpoint, server.credentials, server.region)


@dataclass
class Victim:
    """An object that exists before the attack; `assert_intact` checks it byte for byte afterwards."""
    wire: Wire
    bucket: str
    key: str
    body: bytes
    etag: str

    @property
    def path(self) -> str:
        return f"/{self.bucket}/{self.key}"

    def assert_intact(self) -> None:
        reply = self.wire.send("GET", self.path)
        assert reply.status == 200, reply
        assert reply.body == self.body
        assert reply.headers["ETag"] == self.etag


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"rb-{uuid.uuid4().hex[:24]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def victim(s3: Any, wire: Wire, bucket: str) -> Victim:
    body = b"precious bytes " + uuid.uuid4().bytes
    etag = s3.put_object(Bucket=bucket, Key="victim", Body=body)["ETag"]
    assert etag == f'"{hashlib.md5(body).hexdigest()}"'
    return Victim(wire, bucket, "victim", body, etag)


def assert_s3_error(reply: Reply, status: int | tuple[int, ...], code: str | tuple[str, ...]) -> None:
    """A well-formed S3 error document with AWS's status and code."""
    statuses = (status,) if isinstance(status, int) else status
    codes = (code,) if isinstance(code, str) else code
    assert reply.status in statuses, reply
    assert reply.code in codes, reply
    assert reply.headers.get("x-amz-request-id"), reply


UNBLOCK_SSE_C = (b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256"
                 b"</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BlockedEncryptionTypes><EncryptionType>NONE"
                 b"</EncryptionType></BlockedEncryptionTypes></Rule></ServerSideEncryptionConfiguration>")


@pytest.fixture
def sse_c_victim(wire: Wire, victim: Victim) -> Victim:
    """The victim's bucket with SSE-C unblocked (new buckets block it, as AWS does since April 2026)."""
    md5 = base64.b64encode(hashlib.md5(UNBLOCK_SSE_C).digest()).decode()
    reply = wire.send("PUT", f"/{victim.bucket}?encryption", [("Content-MD5", md5)], UNBLOCK_SSE_C)
    assert reply.status == 200, reply
    return victim
