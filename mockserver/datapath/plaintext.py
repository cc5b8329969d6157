"""Stored blobs back out as plaintext: a worker thread reads ~4 MiB of ciphertext into a reused buffer and decrypts
it chunk by chunk into a pooled plaintext buffer, one batch ahead of the socket, while a read-ahead thread
(READ_POOL) already reads the next batch's ciphertext; each batch is sent as one view
(no joins, no per-chunk allocations). Small ranges are decrypted inline."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Generator, Iterator

from mockserver.crypto import gcm_stream
from mockserver.crypto.gcm_stream import BufferPool
from mockserver.datapath.workers import BATCH, POOL, READ_POOL
from mockserver.sse.service import ObjectKeys
from mockserver.storage.base import Part, Storage

# Plaintext buffers per stream (one being decrypted, one queued, one or two held by the transport while the socket
# drains); a view of each is sent as one response body message.
PLAIN_BATCH = gcm_stream.batch_plaintext_size()
POOLED_BATCHES = 4
# Many-part objects (issue 15: a GET of 10,000 parts of 1 KiB): a part of at most one chunk is decrypted into bytes
# of its own size (a pooled view would allocate a chunk-sized buffer per part, held until sent: 256 KiB per 1 KiB
# part), and runs of small pieces are joined into one body message of about COALESCE bytes (one send per piece
# cost more than the decryption).
SMALL_PART = gcm_stream.CHUNK_SIZE
COALESCE = 256 * 1024


def _plaintext_pieces(storage: Storage, keys: ObjectKeys, parts: list[Part], start: int, end: int,
                      pool: BufferPool | None = None) -> Generator[bytes | memoryview, None, None]:
    """Plaintext bytes [start, end] of an object made of `parts`, decrypting only the chunks needed. With a
    `pool`, long ranges come as views of pooled buffers (read and decrypted without per-chunk allocations)."""
    offset = 0
    for part in parts:
        part_start, part_end = offset, offset + part.size - 1
        offset += part.size
        if part.size == 0 or part_end < start or part_start > end:
            continue
        reader = storage.reader(part)
        lo, hi = max(start, part_start) - part_start, min(end, part_end) - part_start
        try:
            if pool is None or part.size <= SMALL_PART:
                yield from keys.decrypt_range(reader.read, part.size, lo, hi)
            else:
                yield from keys.decrypt_range_views(reader, part.size, lo, hi, pool)
        finally:
            reader.close()


def _batches(pieces: Iterator[bytes | memoryview]) -> Callable[[], list[bytes | memoryview] | None]:
    """Pulls about BATCH bytes of pieces per call (decrypted chunks are sent as they are: no joining copy; only runs
    of pieces under COALESCE bytes, the parts of a many-part object, are joined into messages of about COALESCE)."""
    def next_batch() -> list[bytes | memoryview] | None:
        out: list[bytes | memoryview] = []
        size = 0
        run: list[bytes | memoryview] = []
        run_size = 0
        for piece in pieces:
            n = len(piece)
            size += n
            if n < COALESCE:
                run.append(piece)
                run_size += n
                if run_size >= COALESCE:
                    out.append(b"".join(run))
                    run, run_size = [], 0
            else:
                if run:
                    out.append(b"".join(run))
                    run, run_size = [], 0
                out.append(piece)
            if size >= PLAIN_BATCH:
                break
        if run:
            out.append(run[0] if len(run) == 1 else b"".join(run))
        return out or None
    return next_batch


async def plaintext_stream(storage: Storage, keys: ObjectKeys, parts: list[Part], start: int, end: int
                           ) -> AsyncIterator[bytes | memoryview]:
    """Async plaintext of [start, end]; decrypts in a worker thread one batch ahead of the consumer."""
    pool = BufferPool(PLAIN_BATCH, POOLED_BATCHES, read_ahead=READ_POOL)
    pieces = _plaintext_pieces(storage, keys, parts, start, end, pool)
    next_batch = _batches(pieces)
    if end - start + 1 <= BATCH:
        batch = next_batch()
        while batch is not None:
            for piece in batch:
                yield piece
            batch = next_batch()
        return
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(POOL, next_batch)
    try:
        while True:
            batch = await future
            if batch is None:
                return
            future = loop.run_in_executor(POOL, next_batch)
            for piece in batch:
                yield piece
    finally:
        if not future.done():
            with contextlib.suppress(Exception):   # the consumer has gone; nobody to report to
                await future
        pieces.close()


def read_small(storage: Storage, keys: ObjectKeys, parts: list[Part], start: int, end: int) -> bytes:
    """Plaintext of a small range, decrypted inline (cheaper than a streamed body for a few KiB). An object of
    one part (every PutObject) is decrypted in one call, without _plaintext_pieces' generators: the same bytes."""
    if len(parts) == 1:
        part = parts[0]
        size = part.size
        if size == 0 or size - 1 < start or end < 0:
            return b""
        reader = storage.reader(part)
        try:
            return keys.decrypt_bytes(reader.read, size, max(start, 0), min(end, size - 1))
        finally:
            reader.close()
    return b"".join(_plaintext_pieces(storage, keys, parts, start, end))


async def read_plaintext(storage: Storage, keys: ObjectKeys, parts: list[Part], start: int, end: int) -> bytes:
    """Whole plaintext of a small range (copy sources that fit in memory are streamed instead)."""
    return b"".join([b async for b in plaintext_stream(storage, keys, parts, start, end)])
