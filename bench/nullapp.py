"""The reference the transfers are compared with: a null ASGI app on the mock server's own uvicorn set-up
(mockserver.server.running_server(app=...): same protocol class, guards and settings), which discards request
bodies (answering 200 with an ETag) and answers every GET with 1 GiB of zeros (or `?size=N` bytes), streamed in
4 MiB views of one zero buffer. `python bench/nullapp.py PORT` serves until SIGTERM.

A PUT with `?reference=seal` is the physical bound of a correct SSE PUT instead: the body is gathered into 4 MiB
buffers (the one copy fixed 256 KiB AES-GCM chunks need: received pieces do not fall on chunk boundaries; at most
SEAL_BUFFERS in flight) that one worker thread CRC64NVME-checksums (awscrt, the default checksum
AWS adds) and AES-256-GCM-encrypts (cryptography's AESGCM.encrypt_into, 256 KiB chunks as the mock stores them)
while the event loop keeps receiving; `?reference=store` also writes the ciphertext to an unlinked file in /dev/shm
(where the mock's memory mode spills large objects; the disk's page cache when there is no /dev/shm), which is
closed (and so freed) before the answer. Both libraries release the GIL; the worker thread takes each buffer
straight from a queue (no event-loop round trip per buffer). No MD5, no signature check, no metadata: nothing a
server could leave out."""
from __future__ import annotations

import asyncio
import os
import queue
import signal
import struct
import sys
import tempfile
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PIECE = memoryview(bytes(4 * 1024 * 1024))
DEFAULT_SIZE = 1024 * 1024 * 1024
SEAL_BATCH = 4 * 1024 * 1024
SEAL_CHUNK = 256 * 1024
SEAL_BUFFERS = 4


class _Sealer:
    """One worker thread: CRC64NVME + AES-256-GCM (+ a write to a tmpfs file) of each gathered buffer."""

    def __init__(self, loop: asyncio.AbstractEventLoop, store: bool) -> None:
        from awscrt import checksums
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._crc = checksums.crc64nvme
        self._aead = AESGCM(os.urandom(32))
        self._prefix = os.urandom(8)
        self._loop = loop
        self._free: list[bytearray] = [bytearray(SEAL_BATCH) for _ in range(SEAL_BUFFERS)]
        self._available = asyncio.Event()
        self._available.set()
        self._jobs: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        self._out = bytearray(SEAL_BATCH + 16 * (SEAL_BATCH // SEAL_CHUNK))
        self._file = tempfile.TemporaryFile(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) if store else None  # noqa: SIM115
        self._done = loop.create_future()
        self.crc = 0
        self._index = 0
        threading.Thread(target=self._work, daemon=True).start()

    def _work(self) -> None:
        out = memoryview(self._out)
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    break
                buf, size = job
                view = memoryview(buf)[:size]
                self.crc = self._crc(view, self.crc)
                pos = 0
                for start in range(0, size, SEAL_CHUNK):
                    piece = view[start:start + SEAL_CHUNK]
                    nonce = self._prefix + struct.pack(">I", self._index)
                    self._index += 1
                    self._aead.encrypt_into(nonce, piece, b"aad", out[pos:pos + len(piece) + 16])
                    pos += len(piece) + 16
                if self._file is not None:
                    os.write(self._file.fileno(), out[:pos])
                self._loop.call_soon_threadsafe(self._release, buf)
            if self._file is not None:
                self._file.close()
            self._loop.call_soon_threadsafe(self._done.set_result, None)
        except BaseException as exc:  # noqa: BLE001 - handed to the request
            self._loop.call_soon_threadsafe(self._done.set_exception, exc)

    def _release(self, buf: bytearray) -> None:
        self._free.append(buf)
        self._available.set()

    async def take(self) -> bytearray:
        while not self._free:
            self._available.clear()
            await self._available.wait()
        return self._free.pop()

    def submit(self, buf: bytearray, size: int) -> None:
        self._jobs.put((buf, size))

    async def finish(self) -> None:
        self._jobs.put(None)
        await self._done


async def _seal_body(receive: Any, store: bool) -> None:
    sealer = _Sealer(asyncio.get_running_loop(), store)
    buf = await sealer.take()
    view = memoryview(buf)
    fill = 0
    while True:
        message = await receive()
        body = message.get("body", b"")
        src = memoryview(body)
        pos, left = 0, len(src)
        while left:
            n = min(left, SEAL_BATCH - fill)
            view[fill:fill + n] = src[pos:pos + n]
            fill += n
            pos += n
            left -= n
            if fill == SEAL_BATCH:
                view.release()
                sealer.submit(buf, fill)
                buf = await sealer.take()
                view = memoryview(buf)
                fill = 0
        if not message.get("more_body"):
            break
    view.release()
    sealer.submit(buf, fill)
    await sealer.finish()


async def null_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["method"] in ("PUT", "POST"):
        query = scope.get("query_string", b"")
        if b"reference=seal" in query or b"reference=store" in query:
            await _seal_body(receive, store=b"reference=store" in query)
        else:
            while True:
                message = await receive()
                if not message.get("more_body"):
                    break
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"etag", b'"00000000000000000000000000000000"'), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
        return
    size = DEFAULT_SIZE
    for pair in scope.get("query_string", b"").decode().split("&"):
        if pair.startswith("size="):
            size = int(pair[5:])
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(size).encode()), (b"content-type", b"application/octet-stream")]})
    if scope["method"] == "HEAD":
        await send({"type": "http.response.body", "body": b""})
        return
    left = size
    while left > 0:
        piece = PIECE[:min(len(PIECE), left)]
        left -= len(piece)
        await send({"type": "http.response.body", "body": piece, "more_body": left > 0})
    if size == 0:
        await send({"type": "http.response.body", "body": b""})


def main(port: int) -> int:
    from mockserver.server import running_server

    stop_requested: list[int] = []      # lock-free, as mockserver.server.main (Event.set in a handler can deadlock)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: stop_requested.append(signum))
    with running_server(port=port, app=null_app) as server:
        print(f"null app on {server.endpoint}", flush=True)
        while not stop_requested:
            time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
