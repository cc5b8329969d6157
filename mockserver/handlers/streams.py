"""Streaming request bodies into encrypted blobs and encrypted blobs back out as plaintext.

Ingest: bodies are cut into 1 MiB batches. Small bodies (one batch) are hashed, encrypted and written inline
on the event loop; larger ones go through two ordered worker lanes running in parallel: one for MD5/SHA
(MD5 is the slowest step, ~0.6-0.8 GB/s here) and one for CRCs + encryption + the blob write. Both release the
GIL, so a 1 GiB PUT uses both cores while the loop keeps receiving. Nothing is committed until the caller has
checked every digest.

Read: decryption and blob reads run in a worker thread one 1 MiB batch ahead of the socket.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from mockserver.checksums import CRC_ALGORITHMS, new_digest
from mockserver.storage.base import BlobWriter, Part, Storage

BATCH = 4 * 1024 * 1024     # big batches: fewer GIL hand-offs between the MD5 lane and the AES lane
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="mock-io")


async def run_blocking(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(_POOL, fn, *args)


@dataclass
class Ingested:
    blob_id: str
    size: int
    md5: bytes | None
    digests: dict[str, bytes] = field(default_factory=dict)   # algorithm -> raw checksum


class _Lane:
    """Applies `fn` to batches in order in a worker thread, at most `depth` batches queued."""

    def __init__(self, fn: Callable[[list[bytes]], None], depth: int = 3) -> None:
        self._fn = fn
        self._queue: asyncio.Queue[list[bytes] | None] = asyncio.Queue(depth)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            data = await self._queue.get()
            if data is None:
                return
            await run_blocking(self._fn, data)

    async def feed(self, data: list[bytes] | None) -> None:
        if self._task.done():
            self._task.result()          # re-raise the worker's error
            return
        put = asyncio.ensure_future(self._queue.put(data))
        done, _ = await asyncio.wait({put, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done and put not in done:
            put.cancel()
            self._task.result()

    async def close(self) -> None:
        await self.feed(None)
        await self._task

    def cancel(self) -> None:
        self._task.cancel()


async def ingest(body: AsyncIterator[bytes], writer: BlobWriter, encryptor: Any, *, md5: bool,
                 algorithms: set[str]) -> Ingested:
    """Stream `body` through the digests and the encryptor into `writer` (not committed). On any error the
    writer is aborted and the error propagates."""
    heavy = [new_digest(a) for a in algorithms if a not in CRC_ALGORITHMS]
    md5_digest = new_digest("md5") if md5 else None
    if md5_digest is not None:
        heavy.append(md5_digest)
    light = {a: new_digest(a) for a in algorithms if a in CRC_ALGORITHMS}
    light_list = list(light.values())
    heavy_names = [a for a in algorithms if a not in CRC_ALGORITHMS]

    def hash_heavy(chunks: list[bytes]) -> None:
        # One update per batch: MD5 releases the GIL while it runs, and each re-acquisition can wait.
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        for d in heavy:
            d.update(data)

    def store(chunks: list[bytes]) -> None:
        for data in chunks:
            for d in light_list:
                d.update(data)
            out = encryptor.update(data)
            if out:
                writer.write(out)

    lanes: list[_Lane] = []
    pending: list[bytes] = []
    pending_size = 0
    size = 0
    try:
        async for chunk in body:
            pending.append(chunk)
            pending_size += len(chunk)
            size += len(chunk)
            if pending_size >= BATCH:
                batch, pending, pending_size = pending, [], 0
                if not lanes:
                    lanes = [_Lane(hash_heavy), _Lane(store)] if heavy else [_Lane(store)]
                for lane in lanes:
                    await lane.feed(batch)
        if lanes:
            if pending:
                for lane in lanes:
                    await lane.feed(pending)
            for lane in lanes:
                await lane.close()
            await run_blocking(lambda: writer.write(encryptor.finalize()))
        else:
            if pending:
                hash_heavy(pending)
                store(pending)
            writer.write(encryptor.finalize())
    except BaseException:
        for lane in lanes:
            lane.cancel()
        await run_blocking(writer.abort)
        raise
    digests = {a: d.digest() for a, d in light.items()}
    for name, d in zip(heavy_names, heavy):
        digests[name] = d.digest()
    return Ingested(writer.blob_id, size, md5_digest.digest() if md5_digest is not None else None, digests)


async def commit(storage: Storage, writer: BlobWriter, durable: bool) -> None:
    if durable:
        await run_blocking(writer.commit)
    else:
        writer.commit()


async def discard(writer: BlobWriter) -> None:
    await run_blocking(writer.abort)


def _plaintext_pieces(storage: Storage, keys: Any, parts: list[Part], start: int, end: int
                      ) -> Generator[bytes, None, None]:
    """Plaintext bytes [start, end] of an object made of `parts`, decrypting only the chunks needed."""
    offset = 0
    for part in parts:
        part_start, part_end = offset, offset + part.size - 1
        offset += part.size
        if part.size == 0 or part_end < start or part_start > end:
            continue
        reader = storage.reader(part)
        try:
            yield from keys.decrypt_range(reader.read, part.size, max(start, part_start) - part_start,
                                          min(end, part_end) - part_start)
        finally:
            reader.close()


def _batches(pieces: Iterator[bytes]) -> Callable[[], list[bytes] | None]:
    """Pulls about BATCH bytes of pieces per call (decrypted chunks are sent as they are: no joining copy)."""
    def next_batch() -> list[bytes] | None:
        out: list[bytes] = []
        size = 0
        for piece in pieces:
            out.append(piece)
            size += len(piece)
            if size >= BATCH:
                break
        return out or None
    return next_batch


async def plaintext_stream(storage: Storage, keys: Any, parts: list[Part], start: int, end: int) -> AsyncIterator[bytes]:
    """Async plaintext of [start, end]; decrypts in a worker thread one batch ahead of the consumer."""
    pieces = _plaintext_pieces(storage, keys, parts, start, end)
    next_batch = _batches(pieces)
    if end - start + 1 <= BATCH:
        batch = next_batch()
        while batch is not None:
            for piece in batch:
                yield piece
            batch = next_batch()
        return
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(_POOL, next_batch)
    try:
        while True:
            batch = await future
            if batch is None:
                return
            future = loop.run_in_executor(_POOL, next_batch)
            for piece in batch:
                yield piece
    finally:
        if not future.done():
            with contextlib.suppress(Exception):   # the consumer has gone; nobody to report to
                await future
        pieces.close()


def read_small(storage: Storage, keys: Any, parts: list[Part], start: int, end: int) -> bytes:
    """Plaintext of a small range, decrypted inline (cheaper than a streamed body for a few KiB)."""
    return b"".join(_plaintext_pieces(storage, keys, parts, start, end))


async def read_plaintext(storage: Storage, keys: Any, parts: list[Part], start: int, end: int) -> bytes:
    """Whole plaintext of a small range (copy sources that fit in memory are streamed instead)."""
    return b"".join([b async for b in plaintext_stream(storage, keys, parts, start, end)])
