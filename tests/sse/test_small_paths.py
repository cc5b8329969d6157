"""The one-step paths of small objects give exactly what the streaming paths give: ChunkedEncryptor.seal_whole
(update + finalize) and gcm_stream.decrypt_range_bytes (b"".join(decrypt_range))."""
from __future__ import annotations

import os

import pytest

from mockserver import checksums
from mockserver.crypto import gcm_stream


def _twin(key: bytes, chunk: int = gcm_stream.CHUNK_SIZE) -> tuple[gcm_stream.ChunkedEncryptor, ...]:
    first, second = gcm_stream.ChunkedEncryptor(key, chunk), gcm_stream.ChunkedEncryptor(key, chunk)
    second._prefix, second._header = first._prefix, first._header
    return first, second


@pytest.mark.parametrize("size", [0, 1, 1024, gcm_stream.CHUNK_SIZE])
def test_seal_whole_is_update_then_finalize(size):
    key, data = os.urandom(32), os.urandom(size)
    streamed, whole = _twin(key)
    expected = (streamed.update(data) if size else b"") + streamed.finalize()
    assert whole.seal_whole(data) == expected
    with pytest.raises(ValueError):
        whole.finalize()


def test_seal_whole_declines_what_is_not_one_chunk():
    key = os.urandom(32)
    encryptor = gcm_stream.ChunkedEncryptor(key, 16)
    assert encryptor.seal_whole(b"x" * 17) is None
    started = gcm_stream.ChunkedEncryptor(key)
    started.update(b"abc")
    assert started.seal_whole(b"def") is None


def _reader(stored: bytes):
    return lambda offset, length: stored[offset:offset + length]


def _stored(key: bytes, data: bytes, chunk: int = gcm_stream.CHUNK_SIZE) -> bytes:
    encryptor = gcm_stream.ChunkedEncryptor(key, chunk)
    return encryptor.update(data) + encryptor.finalize()


@pytest.mark.parametrize("chunk", [gcm_stream.CHUNK_SIZE, 7])
def test_decrypt_range_bytes_is_the_joined_range(chunk):
    key, data = os.urandom(32), os.urandom(40)
    read = _reader(_stored(key, data, chunk))
    for start, end in [(0, 39), (0, 0), (5, 17), (39, 39), (30, 100), (-3, 4), (41, 50), (9, 3)]:
        joined = b"".join(gcm_stream.decrypt_range(key, read, len(data), start, end))
        assert gcm_stream.decrypt_range_bytes(key, read, len(data), start, end) == joined
    assert gcm_stream.decrypt_range_bytes(key, _reader(_stored(key, b"")), 0, 0, 0) == b""


def test_decrypt_range_bytes_refuses_what_does_not_authenticate():
    key, data = os.urandom(32), os.urandom(64)
    stored = bytearray(_stored(key, data))
    stored[-1] ^= 1
    with pytest.raises(gcm_stream.CorruptStream):
        gcm_stream.decrypt_range_bytes(key, _reader(bytes(stored)), len(data), 0, 63)
    with pytest.raises(gcm_stream.CorruptStream):
        gcm_stream.decrypt_range_bytes(key, _reader(bytes(stored[:-1])), len(data), 0, 63)
    with pytest.raises(gcm_stream.CorruptStream):
        gcm_stream.decrypt_range_bytes(os.urandom(32), _reader(_stored(key, data)), len(data), 0, 63)


@pytest.mark.parametrize("algorithm", checksums.ALGORITHMS)
def test_digest_of_is_the_incremental_digest(algorithm):
    for data in (b"", b"x", os.urandom(1000)):
        digest = checksums.new_digest(algorithm)
        if data:
            digest.update(data)
        assert checksums.digest_of(algorithm, data) == digest.digest()
