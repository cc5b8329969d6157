"""Chunked AES-256-GCM streams and key wrapping (mockserver/crypto)."""
from __future__ import annotations

import os
import random

import pytest

from mockserver.crypto import gcm_stream, keywrap
from mockserver.crypto.gcm_stream import CHUNK_SIZE, HEADER_SIZE, TAG, CorruptStream

SMALL = 1024      # small chunk size keeps multi-chunk tests fast


def encrypt(key: bytes, data: bytes, chunk_size: int = SMALL, step: int = 777) -> bytes:
    enc = gcm_stream.ChunkedEncryptor(key, chunk_size)
    out = [enc.update(data[i:i + step]) for i in range(0, len(data), step)]
    return b"".join(out) + enc.finalize()


def reader(blob: bytes):
    return lambda off, n: blob[off:off + n]


def decrypt(key: bytes, blob: bytes, size: int, start: int = 0, end: int | None = None) -> bytes:
    end = size - 1 if end is None else end
    return b"".join(gcm_stream.decrypt_range(key, reader(blob), size, start, end))


@pytest.mark.parametrize("size", [0, 1, SMALL - 1, SMALL, SMALL + 1, 5 * SMALL, 5 * SMALL + 3])
def test_round_trip_and_size(size: int) -> None:
    key, data = os.urandom(32), os.urandom(size)
    blob = encrypt(key, data)
    assert len(blob) == gcm_stream.ciphertext_size(size, SMALL)
    assert decrypt(key, blob, size) == data


def test_default_chunk_size_round_trip_large_updates() -> None:
    key, data = os.urandom(32), os.urandom(3 * CHUNK_SIZE + 10)
    blob = encrypt(key, data, CHUNK_SIZE, step=CHUNK_SIZE)
    assert len(blob) == gcm_stream.ciphertext_size(len(data))
    assert decrypt(key, blob, len(data)) == data


def test_ciphertext_differs_from_plaintext_and_between_streams() -> None:
    key, data = os.urandom(32), b"A" * 5000
    a, b = encrypt(key, data), encrypt(key, data)
    assert data[:64] not in a and a != b


def test_random_ranges() -> None:
    rng = random.Random(7)
    key, data = os.urandom(32), os.urandom(7 * SMALL + 123)
    blob = encrypt(key, data)
    for _ in range(200):
        start = rng.randrange(len(data))
        end = rng.randrange(start, len(data))
        assert decrypt(key, blob, len(data), start, end) == data[start:end + 1]


def test_range_reads_only_covering_chunks() -> None:
    key, data = os.urandom(32), os.urandom(20 * SMALL)
    blob = encrypt(key, data)
    calls: list[tuple[int, int]] = []

    def read(off: int, n: int) -> bytes:
        calls.append((off, n))
        return blob[off:off + n]

    out = b"".join(gcm_stream.decrypt_range(key, read, len(data), 10 * SMALL + 5, 10 * SMALL + 10))
    assert out == data[10 * SMALL + 5:10 * SMALL + 11]
    assert sum(n for _, n in calls) == HEADER_SIZE + SMALL + TAG


def _chunks(blob: bytes, chunk_size: int = SMALL) -> tuple[bytes, list[bytes]]:
    body = blob[HEADER_SIZE:]
    stride = chunk_size + TAG
    return blob[:HEADER_SIZE], [body[i:i + stride] for i in range(0, len(body), stride)]


def test_tampered_byte_detected() -> None:
    key, data = os.urandom(32), os.urandom(3 * SMALL)
    blob = bytearray(encrypt(key, data))
    blob[HEADER_SIZE + SMALL + 20] ^= 1
    with pytest.raises(CorruptStream):
        decrypt(key, bytes(blob), len(data))


def test_tampered_header_detected() -> None:
    key, data = os.urandom(32), os.urandom(100)
    blob = bytearray(encrypt(key, data))
    blob[HEADER_SIZE - 1] ^= 1            # nonce prefix
    with pytest.raises(CorruptStream):
        decrypt(key, bytes(blob), len(data))


def test_reordered_chunks_detected() -> None:
    key, data = os.urandom(32), os.urandom(4 * SMALL)
    header, chunks = _chunks(encrypt(key, data))
    swapped = header + chunks[1] + chunks[0] + b"".join(chunks[2:])
    with pytest.raises(CorruptStream):
        decrypt(key, swapped, len(data))


def test_truncation_at_chunk_boundary_detected() -> None:
    # Dropping the final chunk and claiming the shorter size: the new last chunk lacks the final flag.
    key, data = os.urandom(32), os.urandom(3 * SMALL + 7)
    header, chunks = _chunks(encrypt(key, data))
    truncated = header + b"".join(chunks[:3])
    with pytest.raises(CorruptStream):
        decrypt(key, truncated, 3 * SMALL)


def test_short_read_detected() -> None:
    key, data = os.urandom(32), os.urandom(2 * SMALL)
    blob = encrypt(key, data)
    with pytest.raises(CorruptStream):
        decrypt(key, blob[:-5], len(data))


def test_wrong_key_detected() -> None:
    data = os.urandom(50)
    blob = encrypt(os.urandom(32), data)
    with pytest.raises(CorruptStream):
        decrypt(os.urandom(32), blob, len(data))


def test_encryptor_rejects_use_after_finalize() -> None:
    enc = gcm_stream.ChunkedEncryptor(os.urandom(32))
    enc.finalize()
    with pytest.raises(ValueError):
        enc.update(b"x")


def test_dsse_layers_round_trip_and_ranges() -> None:
    inner, outer = os.urandom(32), os.urandom(32)
    data = os.urandom(2 * CHUNK_SIZE + 999)
    enc = gcm_stream.LayeredEncryptor(inner, outer)
    blob = enc.update(data[:1000]) + enc.update(data[1000:]) + enc.finalize()
    assert len(blob) == gcm_stream.layered_ciphertext_size(len(data))
    whole = b"".join(gcm_stream.layered_decrypt_range(inner, outer, reader(blob), len(data), 0, len(data) - 1))
    assert whole == data
    rng = random.Random(3)
    for _ in range(10):
        s = rng.randrange(len(data))
        e = rng.randrange(s, len(data))
        got = b"".join(gcm_stream.layered_decrypt_range(inner, outer, reader(blob), len(data), s, e))
        assert got == data[s:e + 1]


def test_dsse_layers_are_independent() -> None:
    inner, outer = os.urandom(32), os.urandom(32)
    data = os.urandom(3000)
    enc = gcm_stream.LayeredEncryptor(inner, outer)
    blob = enc.update(data) + enc.finalize()
    # Peeling the outer layer yields a stream that is itself encrypted (no plaintext), under the inner key only.
    inner_size = gcm_stream.ciphertext_size(len(data))
    inner_stream = b"".join(gcm_stream.decrypt_range(outer, reader(blob), inner_size, 0, inner_size - 1))
    assert data[:32] not in inner_stream
    assert decrypt(inner, inner_stream, len(data)) == data
    for bad_inner, bad_outer in ((outer, outer), (inner, inner), (outer, inner)):
        with pytest.raises(CorruptStream):
            b"".join(gcm_stream.layered_decrypt_range(bad_inner, bad_outer, reader(blob), len(data), 0, len(data) - 1))


def test_keywrap_binds_purpose_and_binding() -> None:
    kek, key = os.urandom(32), os.urandom(32)
    blob = keywrap.wrap_b64(kek, key, purpose="sse-s3", binding={"bucket": "b", "key": "k"})
    assert keywrap.unwrap_b64(kek, blob, purpose="sse-s3", binding={"bucket": "b", "key": "k"}) == key
    for purpose, binding in (("sse-c", {"bucket": "b", "key": "k"}), ("sse-s3", {"bucket": "b", "key": "other"})):
        with pytest.raises(keywrap.UnwrapError):
            keywrap.unwrap_b64(kek, blob, purpose=purpose, binding=binding)
    with pytest.raises(keywrap.UnwrapError):
        keywrap.unwrap_b64(os.urandom(32), blob, purpose="sse-s3", binding={"bucket": "b", "key": "k"})
    with pytest.raises(keywrap.UnwrapError):
        keywrap.unwrap_b64(kek, "not base64!!", purpose="sse-s3")



def test_keywrap_aad_encoding_is_stable() -> None:
    """The AAD is part of every stored wrapped key (on-disk format): each text as a 4-byte big-endian length and
    its UTF-8 bytes (surrogates passed through), the purpose first, then the binding's pairs sorted by name."""
    def length(data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + data
    assert keywrap._aad("sse-s3", None) == keywrap._aad("sse-s3", {}) == length(b"sse-s3")
    expected = b"".join(length(t.encode("utf-8", "surrogatepass")) for t in ("p", "bucket", "b", "key", "k\u00e9\udc80"))
    assert keywrap._aad("p", {"key": "k\u00e9\udc80", "bucket": "b"}) == expected
    assert keywrap._aad("p", {"bucket": "b", "key": "k\u00e9\udc80"}) == expected


def test_unwrap_cache_answers_as_unwrap_whatever_the_binding_order() -> None:
    kek, key = os.urandom(32), os.urandom(32)
    blob = keywrap.wrap_b64(kek, key, purpose="sse-s3", binding={"bucket": "b", "key": "k"})
    cache = keywrap.UnwrapCache(size=2)
    for _ in range(2):
        assert cache.unwrap_b64(kek, blob, purpose="sse-s3", binding={"bucket": "b", "key": "k"}) == key
        assert cache.unwrap_b64(kek, blob, purpose="sse-s3", binding={"key": "k", "bucket": "b"}) == key
    with pytest.raises(keywrap.UnwrapError):
        cache.unwrap_b64(kek, blob, purpose="sse-s3", binding={"bucket": "b", "key": "other"})
    assert cache.unwrap_b64(kek, blob, purpose="sse-s3", binding={"bucket": "b", "key": "k"}) == key


def test_unwrap_cache_keeps_no_reference_to_a_binding_that_can_change() -> None:
    """A hit compares the binding with the one the key was unwrapped under: a dict changed after the first call
    must not make another binding look like that one."""
    kek, key = os.urandom(32), os.urandom(32)
    blob = keywrap.wrap_b64(kek, key, purpose="sse-s3", binding={"bucket": "b", "key": "k"})
    cache = keywrap.UnwrapCache()
    binding = {"bucket": "b", "key": "k"}
    assert cache.unwrap_b64(kek, blob, purpose="sse-s3", binding=binding) == key
    binding["key"] = "other"
    with pytest.raises(keywrap.UnwrapError):
        cache.unwrap_b64(kek, blob, purpose="sse-s3", binding=binding)
    with pytest.raises(keywrap.UnwrapError):
        cache.unwrap_b64(kek, blob, purpose="sse-s3")

# ----- copy-free paths (update_view, decrypt_range_views, BufferPool) -----
def _readinto_from(blob: bytes):
    def readinto(offset: int, view: memoryview) -> int:
        piece = blob[offset:offset + len(view)]
        view[:len(piece)] = piece
        return len(piece)
    return readinto


@pytest.mark.parametrize("chunk_size", [1000, CHUNK_SIZE])
def test_update_view_matches_update_format(chunk_size: int) -> None:
    rng = random.Random(7)
    key = keywrap.new_key()
    for _ in range(40):
        data = os.urandom(rng.randrange(0, 6 * chunk_size))
        enc = gcm_stream.ChunkedEncryptor(key, chunk_size)
        out, pos = bytearray(), 0
        while pos < len(data):
            n = rng.choice([1, chunk_size - 1, chunk_size, chunk_size + 1, 4 * chunk_size])
            piece = data[pos:pos + n]
            pos += n
            out += enc.update_view(memoryview(bytearray(piece))) if rng.random() < 0.7 else enc.update(piece)
        out += enc.finalize()
        assert len(out) == gcm_stream.ciphertext_size(len(data), chunk_size)
        assert b"".join(gcm_stream.decrypt_range(key, lambda o, n, out=out: bytes(out[o:o + n]), len(data), 0,
                                              len(data) - 1)) == data


def test_decrypt_range_views_random_ranges_and_pool_reuse() -> None:
    rng = random.Random(11)
    key = keywrap.new_key()
    data = os.urandom(40 * CHUNK_SIZE + 123)
    enc = gcm_stream.ChunkedEncryptor(key)
    blob = bytes(enc.update_view(data)) + enc.finalize()
    pool = gcm_stream.BufferPool(gcm_stream.batch_plaintext_size(), limit=2)
    for _ in range(30):
        start = rng.randrange(len(data))
        end = rng.randrange(start, len(data))
        views = list(gcm_stream.decrypt_range_views(key, _readinto_from(blob), len(data), start, end, pool))
        # Every view stays valid while held, even when the pool has to hand out more buffers than it keeps.
        assert b"".join(bytes(v) for v in views) == data[start:end + 1]
        del views


def test_decrypt_range_views_detects_tampering_and_truncation() -> None:
    key = keywrap.new_key()
    data = os.urandom(3 * CHUNK_SIZE)
    enc = gcm_stream.ChunkedEncryptor(key)
    blob = bytes(enc.update_view(data)) + enc.finalize()
    for where in (3, HEADER_SIZE + 5, len(blob) - 1):
        bad = bytearray(blob)
        bad[where] ^= 1
        with pytest.raises(CorruptStream):
            list(gcm_stream.decrypt_range_views(key, _readinto_from(bytes(bad)), len(data), 0, len(data) - 1))
    with pytest.raises(CorruptStream):
        list(gcm_stream.decrypt_range_views(key, _readinto_from(blob[:-TAG]), len(data), 0, len(data) - 1))


def test_buffer_pool_reuses_only_unreferenced_buffers() -> None:
    pool = gcm_stream.BufferPool(16, limit=2)
    first = pool.take()
    held = memoryview(first)[2:4]
    second = pool.take()
    assert second is not first            # `first` is still viewed
    del held
    assert pool.take() is first           # free again once the view is gone


def test_unwrap_cache_returns_what_unwrap_returns_and_stays_bounded() -> None:
    kek, other = keywrap.new_key(), keywrap.new_key()
    cache = keywrap.UnwrapCache(size=2)
    keys = [keywrap.new_key() for _ in range(3)]
    wrapped = [keywrap.wrap_b64(kek, k, purpose="sse-s3", binding={"key": str(i)}) for i, k in enumerate(keys)]
    for _ in range(2):
        for i, blob in enumerate(wrapped):
            assert cache.unwrap_b64(kek, blob, purpose="sse-s3", binding={"key": str(i)}) == keys[i]
    assert len(cache._entries) == 2
    # A hit needs the same key-encryption key, purpose and binding: anything else is a real unwrap and fails.
    with pytest.raises(keywrap.UnwrapError):
        cache.unwrap_b64(other, wrapped[2], purpose="sse-s3", binding={"key": "2"})
    with pytest.raises(keywrap.UnwrapError):
        cache.unwrap_b64(kek, wrapped[2], purpose="bucket-key", binding={"key": "2"})
    with pytest.raises(keywrap.UnwrapError):
        cache.unwrap_b64(kek, wrapped[2], purpose="sse-s3", binding={"key": "1"})


def test_aad_is_the_sorted_length_prefixed_encoding_for_every_binding():
    """keywrap._aad's shortcut for the server's own binding (bucket, id, key) gives the bytes of the general
    encoding: the purpose, then each (name, value) pair in sorted order, each text as its 4-byte big-endian
    length and UTF-8 bytes (surrogates passed through). A changed AAD would make every stored key unreadable."""
    import struct

    def field(text: str) -> bytes:
        data = text.encode("utf-8", "surrogatepass")
        return struct.pack(">I", len(data)) + data

    def expected(purpose: str, binding: dict[str, str] | None) -> bytes:
        return field(purpose) + b"".join(field(n) + field(v) for n, v in sorted((binding or {}).items()))

    rng = random.Random(7)
    for _ in range(5000):
        names = rng.choice([["id", "bucket", "key"], ["key", "id", "bucket"], ["id", "bucket", "x"],
                            ["id", "bucket", "key", "z"], ["é", "id"], []])
        binding = {n: rng.choice(["a", "é", "\udcff", "", "k" * rng.randrange(5), "AAAA" * 3]) for n in names}
        purpose = rng.choice(["sse-s3", "bucket-key", "é"])
        assert keywrap._aad(purpose, binding) == expected(purpose, binding)
    assert keywrap._aad("sse-s3", None) == field("sse-s3")
