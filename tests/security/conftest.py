"""Fixtures for the security regression tests: one in-memory loopback server per module, boto3
clients for both accounts, fresh buckets."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.server import RunningServer, running_server


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


@pytest.fixture(scope="module")
def kms(server: RunningServer) -> Any:
    return server.client("kms")


@pytest.fixture(scope="module")
def kms_alt(server: RunningServer) -> Any:
    return server.client("kms", account="alt")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"sec-{uuid.uuid4().hex[:20]}"
    s3.create_bucket(Bucket=name)
    return name


def error_code(exc: Any) -> tuple[int, str, str]:
    return (exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"],
            exc.response["Error"].get("Message", ""))
