"""boto3 over HTTPS sends aws-chunked bodies with a trailing checksum: stored byte-exact, checksum kept."""
from __future__ import annotations

import base64
import io
import os
import zlib
from collections.abc import Iterator

import pytest

from mockserver.server import RunningServer, running_server


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server(tls=True) as srv:
        yield srv


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_chunked_trailer_put_and_multipart(s3, bucket):
    data = os.urandom(3 * 1024 * 1024 + 17)
    put = s3.put_object(Bucket=bucket, Key="k", Body=data)
    assert put["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-crc32"] == crc32_b64(data)
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == crc32_b64(data) and head["ContentLength"] == len(data)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == data
    big = data * 3
    s3.upload_fileobj(io.BytesIO(big), bucket, "mp")
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == big
    parts = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=["ObjectParts"])["ObjectParts"]
    assert parts["TotalPartsCount"] >= 2
