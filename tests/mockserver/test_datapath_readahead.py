"""Read-ahead of long encrypted ranges (gcm_stream.decrypt_range_views with BufferPool.read_ahead): the next batch's
ciphertext is read in another thread while the current batch is decrypted. Same plaintext, same tamper and
truncation detection as without it, and no read left running once the consumer stops."""
from __future__ import annotations

import random
import threading
import time

import pytest

from mockserver.crypto import gcm_stream
from mockserver.crypto.gcm_stream import CHUNK_SIZE, TAG, CorruptStream

BATCH_CHUNKS = gcm_stream.batch_plaintext_size() // CHUNK_SIZE


# `executor` and `sealed` (a 4-batch sealed stream) come from conftest.py.


def _readinto_from(blob: bytes, log: list[tuple[int, int]] | None = None, delay: float = 0.0):
    def readinto(offset: int, view: memoryview) -> int:
        if delay:
            time.sleep(delay)
        piece = blob[offset:offset + len(view)]
        view[:len(piece)] = piece
        if log is not None:
            log.append((offset, len(piece)))
        return len(piece)
    return readinto


def test_read_ahead_gives_the_same_plaintext_for_random_ranges(sealed, executor) -> None:
    key, data, blob = sealed
    rng = random.Random(5)
    pool = gcm_stream.BufferPool(gcm_stream.batch_plaintext_size(), limit=2, read_ahead=executor)
    ranges = [(0, len(data) - 1), (1, len(data) - 2), (CHUNK_SIZE * BATCH_CHUNKS - 1, len(data) - 1)]
    for _ in range(20):
        start = rng.randrange(len(data))
        ranges.append((start, rng.randrange(start, len(data))))
    for start, end in ranges:
        views = list(gcm_stream.decrypt_range_views(key, _readinto_from(blob), len(data), start, end, pool))
        assert b"".join(bytes(v) for v in views) == data[start:end + 1]
        del views


def test_read_ahead_reads_each_batch_once_and_in_order(sealed, executor) -> None:
    key, data, blob = sealed
    log: list[tuple[int, int]] = []
    pool = gcm_stream.BufferPool(gcm_stream.batch_plaintext_size(), read_ahead=executor)
    out = b"".join(bytes(v) for v in gcm_stream.decrypt_range_views(key, _readinto_from(blob, log), len(data), 0,
                                                                      len(data) - 1, pool))
    assert out == data
    reads = log[1:]                     # the header first
    assert [offset for offset, _ in reads] == sorted({offset for offset, _ in reads})
    assert sum(length for _, length in reads) == len(blob) - gcm_stream.HEADER_SIZE


@pytest.mark.parametrize("where", ["first", "last-batch", "final-tag"])
def test_read_ahead_still_detects_tampering(sealed, executor, where: str) -> None:
    key, data, blob = sealed
    bad = bytearray(blob)
    position = {"first": gcm_stream.HEADER_SIZE + 9, "last-batch": len(blob) - 3 * CHUNK_SIZE,
                "final-tag": len(blob) - 1}[where]
    bad[position] ^= 1
    pool = gcm_stream.BufferPool(gcm_stream.batch_plaintext_size(), read_ahead=executor)
    with pytest.raises(CorruptStream):
        for _ in gcm_stream.decrypt_range_views(key, _readinto_from(bytes(bad)), len(data), 0, len(data) - 1, pool):
            pass


def test_read_ahead_detects_truncation(sealed, executor) -> None:
    key, data, blob = sealed
    pool = gcm_stream.BufferPool(gcm_stream.batch_plaintext_size(), read_ahead=executor)
    with pytest.raises(CorruptStream):
        for _ in gcm_stream.decrypt_range_views(key, _readinto_from(blob[:-TAG]), len(data), 0, len(data) - 1, pool):
            pass


def test_no_read_runs_after_the_consumer_stops(sealed, executor) -> None:
    """Closing the stream early waits for the read-ahead in flight: the reader may be closed right after."""
    key, data, blob = sealed
    running = threading.Event()
    finished = threading.Event()
    inner = _readinto_from(blob)

    def readinto(offset: int, view: memoryview) -> int:
        if offset > gcm_stream.HEADER_SIZE:      # a read-ahead
            running.set()
            time.sleep(0.2)
            n = inner(offset, view)
            finished.set()
            return n
        return inner(offset, view)

    pool = gcm_stream.BufferPool(gcm_stream.batch_plaintext_size(), read_ahead=executor)
    stream = gcm_stream.decrypt_range_views(key, readinto, len(data), 0, len(data) - 1, pool)
    first = next(stream)
    assert bytes(first) == data[:len(first)]
    assert running.wait(5)
    stream.close()
    assert finished.is_set()
