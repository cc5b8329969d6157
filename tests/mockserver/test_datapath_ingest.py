"""datapath.ingest with bodies above one batch: any split of the body into pieces (views or bytes, pieces that end
exactly on a batch boundary, pieces larger than a batch) gives the same ciphertext plaintext and the same digests
as hashing the whole body at once; a blob store failure mid-body aborts the writer and raises."""
from __future__ import annotations

import asyncio
import hashlib
import os
import random
import time

import pytest
from awscrt import checksums as crt

from mockserver.crypto import gcm_stream, keywrap
from mockserver.datapath import ingest as ingest_module
from mockserver.datapath.workers import BATCH


class _Writer:
    def __init__(self, fail_after: int | None = None) -> None:
        self.blob_id = "blob"
        self.data = bytearray()
        self.aborted = False
        self._fail_after = fail_after

    def write(self, data) -> None:
        if self._fail_after is not None and len(self.data) + len(data) > self._fail_after:
            raise OSError(28, "No space left on device")
        self.data += data

    def commit(self) -> None:
        pass

    def abort(self) -> None:
        self.aborted = True


def _splits(size: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    cuts, pos = [], 0
    while pos < size:
        n = rng.choice([1, 4096, 65536, 262144, 262143, BATCH - 1, BATCH, BATCH + 1, 3 * BATCH])
        if rng.random() < 0.2:
            n = BATCH - pos % BATCH or BATCH       # end exactly on a batch boundary
        n = min(n, size - pos)
        cuts.append(n)
        pos += n
    return cuts


async def _body(data: bytes, cuts: list[int], views: bool):
    pos = 0
    for i, n in enumerate(cuts):
        piece = data[pos:pos + n]
        pos += n
        yield memoryview(bytearray(piece)) if views and i % 2 else piece
        if i % 7 == 0:
            await asyncio.sleep(0)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("md5", [True, False])
def test_any_split_gives_the_same_blob_and_digests(seed: int, md5: bool) -> None:
    data = os.urandom(3 * BATCH + 54321)
    key = keywrap.new_key()
    writer = _Writer()
    got = asyncio.run(ingest_module.ingest(_body(data, _splits(len(data), seed), views=bool(seed % 2)), writer,
                                           gcm_stream.ChunkedEncryptor(key), md5=md5,
                                           algorithms={"crc64nvme", "sha256"}))
    assert got.size == len(data)
    assert got.md5 == (hashlib.md5(data).digest() if md5 else None)
    assert got.digests["sha256"] == hashlib.sha256(data).digest()
    assert got.digests["crc64nvme"] == crt.crc64nvme(data).to_bytes(8, "big")
    blob = bytes(writer.data)
    assert len(blob) == gcm_stream.ciphertext_size(len(data))
    plain = b"".join(gcm_stream.decrypt_range(key, lambda o, n: blob[o:o + n], len(data), 0, len(data) - 1))
    assert plain == data


def test_a_store_failure_mid_body_aborts_the_writer() -> None:
    data = os.urandom(6 * BATCH)
    writer = _Writer(fail_after=2 * BATCH)
    with pytest.raises((OSError, RuntimeError)):
        asyncio.run(ingest_module.ingest(_body(data, [65536] * (len(data) // 65536), views=False), writer,
                                         gcm_stream.ChunkedEncryptor(keywrap.new_key()), md5=True,
                                         algorithms={"crc64nvme"}))
    assert writer.aborted


@pytest.mark.parametrize("size", [0, 1, 1024, 65535, 65536, 65537, 200000])
@pytest.mark.parametrize("md5", [True, False])
def test_write_path_shortcut_for_small_bodies_is_ingest(size: int, md5: bool) -> None:
    """datapath.write.ingest_body: a body that ends within SMALL_BODY bytes is handled in one step, a longer one
    by ingest() (the pieces read first included); either way the digests, the MD5 and the blob's plaintext are
    those of the whole body."""
    from mockserver.datapath import write as write_module
    data = os.urandom(size)
    whole = [size] if size else []
    for cuts in (whole, _splits(size, size), [1, 1, 1, size - 3] if size > 3 else whole):
        key = keywrap.new_key()
        writer = _Writer()
        got = asyncio.run(write_module.ingest_body(_body(data, cuts, views=True), writer,
                                                   gcm_stream.ChunkedEncryptor(key), md5=md5,
                                                   algorithms={"crc64nvme", "sha256", "crc32"}))
        assert got.size == size and got.blob_id == "blob"
        assert got.md5 == (hashlib.md5(data).digest() if md5 else None)
        assert got.digests == {"sha256": hashlib.sha256(data).digest(),
                               "crc64nvme": crt.crc64nvme(data).to_bytes(8, "big"),
                               "crc32": crt.crc32(data).to_bytes(4, "big")}
        blob = bytes(writer.data)
        assert len(blob) == gcm_stream.ciphertext_size(size)
        plain = b"".join(gcm_stream.decrypt_range(key, lambda o, n, blob=blob: blob[o:o + n], size, 0, size - 1)) if size else b""
        assert plain == data and not writer.aborted


@pytest.mark.parametrize("fail_at", [0, 2])
def test_write_path_shortcut_aborts_the_writer_on_error(fail_at: int) -> None:
    """A body that fails while it is read (a signature or length check of auth's decoder), or a blob store failure,
    aborts the writer and raises, in the small-body shortcut as in ingest()."""
    from mockserver.datapath import write as write_module

    async def failing():
        for i in range(4):
            if i == fail_at:
                raise ValueError("bad body")
            yield b"x" * 100
    writer = _Writer()
    with pytest.raises(ValueError):
        asyncio.run(write_module.ingest_body(failing(), writer, gcm_stream.ChunkedEncryptor(keywrap.new_key()),
                                             md5=True, algorithms={"crc64nvme"}))
    assert writer.aborted
    writer = _Writer(fail_after=10)
    with pytest.raises(OSError):
        asyncio.run(write_module.ingest_body(_body(b"y" * 1000, [1000], views=False), writer,
                                             gcm_stream.ChunkedEncryptor(keywrap.new_key()), md5=True,
                                             algorithms={"crc64nvme"}))
    assert writer.aborted


def test_a_failing_digest_lane_aborts_the_writer() -> None:
    class _Broken:
        def update(self, data) -> None:
            raise ValueError("digest failed")

    data = os.urandom(6 * BATCH)
    writer = _Writer()
    real = ingest_module.new_digest
    try:
        ingest_module.new_digest = lambda a: _Broken() if a == "md5" else real(a)
        with pytest.raises((ValueError, RuntimeError)):
            asyncio.run(ingest_module.ingest(_body(data, [65536] * (len(data) // 65536), views=False), writer,
                                             gcm_stream.ChunkedEncryptor(keywrap.new_key()), md5=True,
                                             algorithms={"crc64nvme"}))
    finally:
        ingest_module.new_digest = real
    assert writer.aborted


def test_a_body_cancelled_midway_stops_the_lanes_before_the_writer_is_aborted() -> None:
    """A client gone mid-body cancels the request: no lane thread may still write once the writer is aborted."""
    data = os.urandom(8 * BATCH)
    writes_after_abort: list[int] = []

    class _Watching(_Writer):
        def write(self, data) -> None:
            if self.aborted:
                writes_after_abort.append(len(data))
            time.sleep(0.002)
            super().write(data)

    writer = _Watching()

    async def main() -> None:
        task = asyncio.ensure_future(ingest_module.ingest(_body(data, [65536] * (len(data) // 65536), views=False),
                                                          writer, gcm_stream.ChunkedEncryptor(keywrap.new_key()),
                                                          md5=True, algorithms={"crc64nvme"}))
        while len(writer.data) < 2 * BATCH:
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert writer.aborted
    assert writes_after_abort == []
