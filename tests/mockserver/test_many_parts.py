"""GET of an object made of many small parts (issue 15: 10,000 parts of 1 KiB): the bytes and every range are
right, small parts are decrypted into buffers of their own size and sent in few body messages."""
from __future__ import annotations

import asyncio
import os
import random
from typing import Any

import pytest

import mockserver.handlers.multipart as multipart_handler
from mockserver.crypto.gcm_stream import BufferPool
from mockserver.datapath import plaintext
from mockserver.server import running_server


@pytest.fixture(scope="module")
def many_parts() -> Any:
    saved = multipart_handler.MIN_PART_SIZE
    multipart_handler.MIN_PART_SIZE = 1         # S3's 5 MiB minimum would make 300 parts 1.5 GiB
    try:
        with running_server() as srv:
            s3 = srv.client()
            s3.create_bucket(Bucket="many")
            rng = random.Random(15)
            sizes = [rng.randint(1, 3000) for _ in range(300)]
            sizes[150] = 600 * 1024           # one part over a chunk (pooled views) between small ones
            bodies = [os.urandom(n) for n in sizes]
            uid = s3.create_multipart_upload(Bucket="many", Key="k", ServerSideEncryption="AES256")["UploadId"]
            etags = [s3.upload_part(Bucket="many", Key="k", UploadId=uid, PartNumber=i + 1, Body=b)["ETag"]
                     for i, b in enumerate(bodies)]
            s3.complete_multipart_upload(Bucket="many", Key="k", UploadId=uid, MultipartUpload={
                "Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
            yield srv, s3, b"".join(bodies)
    finally:
        multipart_handler.MIN_PART_SIZE = saved


def test_whole_object_and_ranges(many_parts: Any) -> None:
    _srv, s3, whole = many_parts
    assert s3.get_object(Bucket="many", Key="k")["Body"].read() == whole
    size = len(whole)
    for start, end in [(0, 0), (1, 5000), (size // 2 - 3000, size // 2 + 700 * 1024), (size - 10, size - 1),
                       (2999, 3001), (0, size - 1)]:
        got = s3.get_object(Bucket="many", Key="k", Range=f"bytes={start}-{end}")["Body"].read()
        assert got == whole[start:end + 1], (start, end)


def test_stream_joins_small_pieces(many_parts: Any) -> None:
    """The body goes out in a few messages (runs of small parts joined), the big part as its own views."""
    srv, _, whole = many_parts
    storage = srv.app.state.storage
    version = storage.latest("many", "k")
    keys = srv.app.state.encryption.open_read(operation="GetObject", meta=version.sse, headers={},
                                              account_id=srv.credentials["main"]["account_id"], secure=False)

    async def collect() -> list[bytes | memoryview]:
        return [bytes(p) async for p in plaintext.plaintext_stream(storage, keys, version.parts, 0, len(whole) - 1)]

    messages = asyncio.run(collect())
    assert b"".join(messages) == whole
    assert len(messages) < 12, len(messages)
    # Small parts come out as bytes of their own size (no chunk-sized buffer per part).
    small = version.parts[0]
    pieces = list(plaintext._plaintext_pieces(storage, keys, [small], 0, small.size - 1,
                                              BufferPool(plaintext.PLAIN_BATCH, 2)))
    assert [type(p) for p in pieces] == [bytes] and len(pieces[0]) == small.size
