"""Long GETs of spilled memory-mode blobs decrypt straight from read-only mappings (storage.memory._Reader.window,
gcm_stream.decrypt_range_views(window=...)): the same plaintext as the read path, the same tamper and truncation
detection, every mapping released (also when the consumer stops early), and no mapping for blobs held as bytes.
Deleting a spilled blob frees its file off the event loop, but frees it."""
from __future__ import annotations

import os
import random
import threading

import pytest

from mockserver.crypto import gcm_stream, keywrap
from mockserver.crypto.gcm_stream import CHUNK_SIZE, CorruptStream
from mockserver.storage import memory

BATCH_CHUNKS = gcm_stream.batch_plaintext_size() // CHUNK_SIZE


# `executor` and `sealed` (a 4-batch sealed stream) come from conftest.py.


def _stored(blob: bytes) -> tuple[memory.MemoryBlobStore, str]:
    store = memory.MemoryBlobStore()
    writer = store.writer()
    for pos in range(0, len(blob), 1 << 20):
        writer.write(memoryview(blob)[pos:pos + (1 << 20)])
    writer.commit()
    assert store.blobs[writer.blob_id].file is not None      # spilled: above SPILL_THRESHOLD
    return store, writer.blob_id


class _Counting:
    """The reader's window(), counting the mappings handed out and released."""

    def __init__(self, reader) -> None:
        self._reader = reader
        self.lock = threading.Lock()
        self.made = 0
        self.released = 0

    def __call__(self, offset: int, length: int):
        mapped = self._reader.window(offset, length)
        if mapped is None:
            return None
        with self.lock:
            self.made += 1
        outer = self

        class _Tracked:
            view = mapped.view

            def release(self) -> None:
                mapped.release()
                with outer.lock:
                    outer.released += 1
        return _Tracked()


def _plaintext(key, reader, size, start, end, pool, window) -> bytes:
    return b"".join(bytes(v) for v in gcm_stream.decrypt_range_views(key, reader.readinto, size, start, end, pool,
                                                                     window))


@pytest.mark.parametrize("read_ahead", [True, False])
def test_mapped_batches_give_the_same_plaintext_and_are_all_released(sealed, executor, read_ahead: bool) -> None:
    key, data, blob = sealed
    store, blob_id = _stored(blob)
    reader = store.reader(blob_id)
    window = _Counting(reader)
    pool = gcm_stream.BufferPool(gcm_stream.batch_plaintext_size(), read_ahead=executor if read_ahead else None)
    rng = random.Random(7)
    ranges = [(0, len(data) - 1), (1, len(data) - 2), (CHUNK_SIZE * BATCH_CHUNKS - 1, len(data) - 1)]
    for _ in range(12):
        start = rng.randrange(len(data))
        ranges.append((start, rng.randrange(start, len(data))))
    for start, end in ranges:
        assert _plaintext(key, reader, len(data), start, end, pool, window) == data[start:end + 1]
        assert window.made == window.released > 0
    store.delete(blob_id)


def test_a_stream_closed_early_releases_its_mappings(sealed, executor) -> None:
    key, data, blob = sealed
    store, blob_id = _stored(blob)
    reader = store.reader(blob_id)
    window = _Counting(reader)
    pool = gcm_stream.BufferPool(gcm_stream.batch_plaintext_size(), read_ahead=executor)
    stream = gcm_stream.decrypt_range_views(key, reader.readinto, len(data), 0, len(data) - 1, pool, window)
    first = next(stream)
    assert bytes(first) == data[:len(first)]
    stream.close()
    assert window.made == window.released >= 2     # the batch sent and those decrypted ahead
    store.delete(blob_id)


@pytest.mark.parametrize("where", ["first", "last-batch", "final-tag"])
def test_mapped_batches_still_detect_tampering(sealed, executor, where: str) -> None:
    key, data, blob = sealed
    store, blob_id = _stored(blob)
    position = {"first": gcm_stream.HEADER_SIZE + 9, "last-batch": len(blob) - 3 * CHUNK_SIZE,
                "final-tag": len(blob) - 1}[where]
    fd = store.blobs[blob_id].file.fileno()
    os.pwrite(fd, bytes([blob[position] ^ 1]), position)
    reader = store.reader(blob_id)
    window = _Counting(reader)
    pool = gcm_stream.BufferPool(gcm_stream.batch_plaintext_size(), read_ahead=executor)
    with pytest.raises(CorruptStream):
        _plaintext(key, reader, len(data), 0, len(data) - 1, pool, window)
    assert window.made == window.released > 0
    store.delete(blob_id)


def test_a_short_file_is_reported_not_mapped(sealed, executor) -> None:
    key, data, blob = sealed
    store, blob_id = _stored(blob)
    os.ftruncate(store.blobs[blob_id].file.fileno(), len(blob) - 1)
    reader = store.reader(blob_id)
    assert reader.window(len(blob) - 100, 100) is None          # past the end: no mapping (no SIGBUS later)
    pool = gcm_stream.BufferPool(gcm_stream.batch_plaintext_size(), read_ahead=executor)
    with pytest.raises(CorruptStream):
        _plaintext(key, reader, len(data), 0, len(data) - 1, pool, reader.window)
    store.delete(blob_id)


def test_blobs_held_as_bytes_are_not_mapped() -> None:
    store = memory.MemoryBlobStore()
    writer = store.writer()
    writer.write(os.urandom(64 * 1024))
    writer.commit()
    assert store.blobs[writer.blob_id].file is None
    assert store.reader(writer.blob_id).window(0, 4096) is None


def test_deleting_a_spilled_blob_frees_its_file(sealed) -> None:
    _, _, blob = sealed
    store, blob_id = _stored(blob)
    file = store.blobs[blob_id].file
    store.delete(blob_id)
    assert blob_id not in store.blobs
    memory._CLOSER.submit(lambda: None).result(timeout=10)     # the close queued before it has run
    assert file.closed


def test_a_reader_whose_blob_is_not_mapped_reads_it(executor) -> None:
    """A multi-batch blob held as bytes (under the spill threshold) through the same call: read, not mapped."""
    key = keywrap.new_key()
    data = os.urandom(memory.SPILL_THRESHOLD - 2 * CHUNK_SIZE)
    enc = gcm_stream.ChunkedEncryptor(key)
    blob = bytes(enc.update_view(data)) + enc.finalize()
    store = memory.MemoryBlobStore()
    writer = store.writer()
    writer.write(blob)
    writer.commit()
    reader = store.reader(writer.blob_id)
    assert reader.window(0, 4096) is None
    pool = gcm_stream.BufferPool(gcm_stream.batch_plaintext_size(), read_ahead=executor)
    assert _plaintext(key, reader, len(data), 5, len(data) - 1, pool, reader.window) == data[5:]
