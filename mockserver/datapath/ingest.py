"""Streaming request bodies into encrypted blobs.

Bodies up to one 4 MiB batch are hashed, encrypted and written inline on the event loop. Larger ones are copied
once, as they arrive, into pooled 4 MiB buffers that feed two ordered worker lanes running in parallel: one for
MD5/SHA (MD5 is the slowest step, ~0.6-0.8 GB/s here, and gets one contiguous buffer per GIL release) and one for
CRCs + encryption (sealed straight from the buffer) + one blob write per batch. Both release the GIL, so a 1 GiB
PUT uses both cores while the loop keeps receiving. Nothing is committed until the caller has checked every digest.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from mockserver.checksums import CRC_ALGORITHMS, new_digest
from mockserver.datapath.workers import BATCH, run_blocking
from mockserver.sse.service import StreamEncryptor
from mockserver.storage.base import BlobWriter

BUFFERED_BATCHES = 5        # batch buffers in flight (being filled, queued, hashed, encrypted)
# The lanes' threads: one per lane for the whole body, so not datapath.workers.POOL (a few slow uploads would hold
# every worker the rest of the server needs). Persistent rather than a thread per body: a thread per body made
# glibc hand each new thread a malloc arena and the server's RSS crept up by ~15 MiB over a few 1 GiB PUTs. When
# all are busy, a new body's lanes wait for one (its reader stops after BUFFERED_BATCHES batches meanwhile).
LANE_THREADS = concurrent.futures.ThreadPoolExecutor(max_workers=64, thread_name_prefix="mock-lane")


@dataclass
class Ingested:
    blob_id: str
    size: int
    md5: bytes | None
    digests: dict[str, bytes] = field(default_factory=dict)   # algorithm -> raw checksum


class _Lane:
    """Applies `fn` to batches in order in a thread of its own (a LANE_THREADS worker for the whole body), which
    takes each batch straight from a queue: no event-loop round trip and no executor hand-off between batches (the
    MD5 lane runs back to back while batches are queued, the loop only hears of each finished batch). `done(batch)` runs on the event loop after each;
    `failed()` on the loop when `fn` raises. The queue holds at most the batches in flight (_Batches' limit)."""

    def __init__(self, fn: Callable[[Any], None], done: Callable[[Any], None], failed: Callable[[], None]) -> None:
        self._fn = fn
        self._done = done
        self._failed = failed
        self._loop = asyncio.get_running_loop()
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._finished: asyncio.Future[None] = self._loop.create_future()
        self._error: BaseException | None = None
        self._stopping = False
        LANE_THREADS.submit(self._work)

    def _work(self) -> None:
        error: BaseException | None = None
        try:
            while True:
                data = self._jobs.get()
                if data is None:
                    break
                if self._stopping:
                    continue                # stop(): the remaining batches are dropped, not processed
                self._fn(data)
                self._notify(self._done, data)
        except BaseException as exc:  # noqa: BLE001 - handed to the request on the loop
            error = exc
        self._notify(self._exit, error)

    def _notify(self, fn: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):     # the loop has closed (server shutdown): nobody to tell
            self._loop.call_soon_threadsafe(fn, *args)

    def _exit(self, error: BaseException | None) -> None:
        if error is not None:
            self._error = error
            self._failed()          # wakes a producer waiting for a buffer this lane will not return
        if not self._finished.done():
            self._finished.set_result(None)

    def check(self) -> None:
        if self._error is not None:
            raise self._error

    def feed(self, data: Any) -> None:
        self.check()                # re-raise the worker's error
        self._jobs.put(data)

    async def close(self) -> None:
        self._jobs.put(None)
        await self._finished
        self.check()

    async def stop(self) -> None:
        """Drops the batches still queued and waits until the worker thread has let go of the batch and the
        writer (aborting the writer under a running thread could write into a reused file descriptor)."""
        self._stopping = True
        self._jobs.put(None)
        await asyncio.shield(self._finished)


class _Batches:
    """Fixed BATCH-sized buffers the body is copied into (the only copy of each received byte): the MD5 lane
    then hashes one contiguous 4 MiB buffer per GIL release and the store lane encrypts straight out of it.
    A buffer returns to the pool when every lane is done with it; at most `limit` are in flight (bounds RSS)."""

    def __init__(self, lanes: int, limit: int) -> None:
        self._lanes = lanes
        self._free: list[bytearray] = []
        self._allocated = 0
        self._limit = limit
        self._users: dict[int, int] = {}
        self._available = asyncio.Event()
        self._failed = False

    def fail(self) -> None:
        self._failed = True
        self._available.set()

    async def take(self) -> bytearray | None:
        """A free buffer; None once a lane has failed (its error is then raised by the caller)."""
        while True:
            if self._failed:
                return None
            if self._free:
                return self._free.pop()
            if self._allocated < self._limit:
                self._allocated += 1
                return bytearray(BATCH)
            self._available.clear()
            await self._available.wait()

    def sent(self, buf: bytearray) -> None:
        self._users[id(buf)] = self._lanes

    def done(self, batch: tuple[bytearray, int]) -> None:
        buf = batch[0]
        left = self._users[id(buf)] - 1
        if left:
            self._users[id(buf)] = left
            return
        del self._users[id(buf)]
        self._free.append(buf)
        self._available.set()


async def ingest(body: AsyncIterator[bytes | memoryview], writer: BlobWriter, encryptor: StreamEncryptor, *, md5: bool,
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

    def hash_heavy(batch: tuple[bytearray, int]) -> None:
        # One update per 4 MiB: MD5 releases the GIL while it runs, and each re-acquisition can wait.
        view = memoryview(batch[0])[:batch[1]]
        for d in heavy:
            d.update(view)

    def store(batch: tuple[bytearray, int]) -> None:
        view = memoryview(batch[0])[:batch[1]]
        for d in light_list:
            d.update(view)
        out = encryptor.update_view(view)
        if out:
            writer.write(out)

    def small(chunks: list[bytes | memoryview]) -> None:
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        for d in heavy:
            d.update(data)
        for d in light_list:
            d.update(data)
        out = encryptor.update(data)
        if out:
            writer.write(out)

    lanes: list[_Lane] = []
    pool: _Batches | None = None
    pending: list[bytes | memoryview] = []
    pending_size = 0
    size = 0
    buf: bytearray | None = None
    view: memoryview | None = None
    fill = 0

    def dispatch() -> None:
        nonlocal buf, view, fill
        assert buf is not None and pool is not None
        view = None
        pool.sent(buf)
        for lane in lanes:
            lane.feed((buf, fill))
        buf, fill = None, 0

    async def copy_in(chunk: bytes | memoryview) -> None:
        nonlocal buf, view, fill
        src = memoryview(chunk)
        pos = 0
        left = len(src)
        while left:
            if buf is None:
                assert pool is not None
                buf = await pool.take()
                if buf is None:
                    for lane in lanes:
                        lane.check()
                    raise RuntimeError("a body lane stopped")
                view = memoryview(buf)
            n = min(left, BATCH - fill)
            view[fill:fill + n] = src[pos:pos + n]  # type: ignore[index]
            fill += n
            pos += n
            left -= n
            if fill == BATCH:
                dispatch()

    try:
        async for chunk in body:
            size += len(chunk)
            if pool is None:
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size < BATCH:
                    continue
                # A large body: from here on, two ordered worker lanes (MD5/SHA, and CRC + AES + write).
                fns = [hash_heavy, store] if heavy else [store]
                pool = _Batches(len(fns), limit=BUFFERED_BATCHES)
                lanes = [_Lane(fn, pool.done, pool.fail) for fn in fns]
                held, pending = pending, []
                for piece in held:
                    await copy_in(piece)
                continue
            n = len(chunk)
            if view is not None and fill + n < BATCH:
                view[fill:fill + n] = chunk     # the usual piece: no coroutine per piece
                fill += n
                continue
            await copy_in(chunk)
        if pool is not None:
            if fill:
                dispatch()
            for lane in lanes:
                await lane.close()
            await run_blocking(lambda: writer.write(encryptor.finalize()))
        else:
            if pending:
                small(pending)
            writer.write(encryptor.finalize())
    except BaseException:
        for lane in lanes:
            await lane.stop()
        await run_blocking(writer.abort)
        raise
    digests = {a: d.digest() for a, d in light.items()}
    for name, d in zip(heavy_names, heavy):
        digests[name] = d.digest()
    return Ingested(writer.blob_id, size, md5_digest.digest() if md5_digest is not None else None, digests)


async def commit(writer: BlobWriter, durable: bool) -> None:
    if durable:
        await run_blocking(writer.commit)
    else:
        writer.commit()


async def discard(writer: BlobWriter) -> None:
    await run_blocking(writer.abort)
