"""Fixtures for the mock server's HTTP tests: one in-memory server per module, boto3 clients, fresh buckets,
and `raw` for hand-made requests (SigV4-signed by botocore, sent with requests)."""
from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mockserver.crypto import gcm_stream, keywrap
from mockserver.crypto.gcm_stream import CHUNK_SIZE
from mockserver.server import RunningServer, running_server
from mockserver.storage import crashpoints

BATCH_CHUNKS = gcm_stream.batch_plaintext_size() // CHUNK_SIZE


@pytest.fixture(scope="module")
def executor() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    """Two decryption threads, as the GET read-ahead pool (tests of decrypt_range_views)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        yield pool


@pytest.fixture(scope="module")
def sealed() -> tuple[bytes, bytes, bytes]:
    """(key, plaintext, sealed stream) of 4 decryption batches, the last one short."""
    key = keywrap.new_key()
    data = os.urandom(3 * BATCH_CHUNKS * CHUNK_SIZE + 5 * CHUNK_SIZE + 77)
    enc = gcm_stream.ChunkedEncryptor(key)
    return key, data, bytes(enc.update_view(data)) + enc.finalize()


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def s3(server: RunningServer) -> Any:
    return server.client("s3")


@pytest.fixture(scope="module")
def s3_alt(server: RunningServer) -> Any:
    return server.client("s3", account="alt")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"test-{uuid.uuid4().hex[:20]}"
    s3.create_bucket(Bucket=name)
    return name


class Raw:
    """Signed raw HTTP requests against the server (for what boto3 will not send)."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.session = requests.Session()

    def __call__(self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b"",
                 account: str = "main", sign: bool = True, query: str = "") -> requests.Response:
        url = self.server.endpoint + path + (f"?{query}" if query else "")
        request = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body)
        if sign:
            c = self.server.credentials[account]
            S3SigV4Auth(Credentials(c["access_key"], c["secret_key"]), "s3", self.server.region).add_auth(request)
        prepared = request.prepare()
        return self.session.request(method, prepared.url, headers=dict(prepared.headers), data=body, timeout=60)


@pytest.fixture(scope="module")
def raw(server: RunningServer) -> Raw:
    return Raw(server)


def error_of(response: requests.Response) -> dict[str, str]:
    """Code, Message and extra fields of an S3 error body."""
    from lxml import etree

    root = etree.fromstring(response.content)
    return {child.tag: child.text or "" for child in root}


def client_error(exc: Any) -> tuple[int, str, str]:
    return (exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"],
            exc.response["Error"].get("Message", ""))


def _serve_until_crash(data_dir: str, step: str, conn: Any) -> None:       # in a forked child process
    crashpoints.arm(step)
    with running_server(data_dir=data_dir) as srv:
        conn.send(srv.endpoint)
        time.sleep(60)                         # the request under test ends this process at `step`
    os._exit(1)


@contextlib.contextmanager
def serve_until_crash(data_dir: str, step: str) -> Iterator[str]:
    """A `--data-dir` server in a forked process, armed to die at crash point `step`: yields its endpoint. Once the
    block has sent the request that reaches `step`, the process must have ended there (crashpoints.CRASH_STATUS);
    one still alive is killed."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    proc = context.Process(target=_serve_until_crash, args=(data_dir, step, child))
    proc.start()
    try:
        assert parent.poll(30), "the crash server did not start"
        yield parent.recv()
        proc.join(20)
        assert proc.exitcode == crashpoints.CRASH_STATUS, f"never reached {step}"
    finally:
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
            proc.join(5)
