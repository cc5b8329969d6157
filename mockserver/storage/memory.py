"""In-memory backend: nothing survives the process. Blobs up to 8 KiB are committed inline (their bytes kept in
the object's Part record, as the disk backend does: no blob id, no blob-store entry). Blobs over 8 MiB spill to anonymous temporary files
(unlinked at creation, gone with the process), on tmpfs (/dev/shm) when there is one: still memory, but outside
the server's heap, so a 1 GiB object costs no RSS and is written at memory speed (a disk-backed /tmp here
writes at ~370 MB/s, below the PUT target)."""
from __future__ import annotations

import concurrent.futures
import contextlib
import mmap
import os
import tempfile
from typing import Any

from mockserver.storage.base import Storage, new_blob_id, preadv_full

SPILL_THRESHOLD = 8 * 1024 * 1024
INLINE_LIMIT = 8 * 1024
# Closing a spill file frees its tmpfs pages: ~0.04 s per GiB, done here instead of on the event loop.
_CLOSER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mock-free")
_POPULATE = getattr(mmap, "MAP_POPULATE", 0)


class _MemoryBlob:
    __slots__ = ("data", "file")

    def __init__(self, data: bytes | None, file) -> None:
        self.data = data
        self.file = file


class _Writer:
    def __init__(self, store: MemoryBlobStore) -> None:
        self.blob_id = new_blob_id()
        self.inline: bytes | None = None
        self._store = store
        self._chunks: list[bytes] = []
        self._size = 0
        self._file: Any = None

    def write(self, data: bytes | memoryview) -> None:
        if self._file is not None:
            self._file.write(data)
            return
        if type(data) is not bytes:
            data = bytes(data)          # the caller may reuse its buffer
        self._chunks.append(data)
        self._size += len(data)
        if self._size > SPILL_THRESHOLD:
            # Closed by abort() or by MemoryBlobStore.delete(), not at the end of this block.
            self._file = tempfile.TemporaryFile(dir=self._store.spill_dir)  # noqa: SIM115
            for c in self._chunks:
                self._file.write(c)
            self._chunks = []

    def commit(self) -> None:
        if self._file is not None:
            self._file.flush()
            self._store.blobs[self.blob_id] = _MemoryBlob(None, self._file)
        elif self._size <= INLINE_LIMIT:
            self.inline = b"".join(self._chunks)
        else:
            self._store.blobs[self.blob_id] = _MemoryBlob(b"".join(self._chunks), None)
        self._chunks = []

    def abort(self) -> None:
        self._chunks = []
        if self._file is not None:
            self._file.close()
            self._file = None


class _Window:
    """A spill file's bytes [offset, offset + length) mapped read-only (and populated in the calling thread: the
    GET's read-ahead). Long GETs decrypt straight from it: reading tmpfs pages with pread costs a copy plus per-page
    lookups and LRU updates (~0.14 CPU s per GiB, more than the page cache of a disk file); the mapping costs
    ~0.04. Unmapped by release(), so its pages count in RSS only meanwhile. Spill files are unlinked and never
    change once committed: the mapping cannot lose its pages (no SIGBUS)."""

    __slots__ = ("_map", "view")

    def __init__(self, fd: int, offset: int, length: int) -> None:
        start = offset - offset % mmap.ALLOCATIONGRANULARITY
        self._map = mmap.mmap(fd, offset + length - start, flags=mmap.MAP_SHARED | _POPULATE, prot=mmap.PROT_READ,
                              offset=start)
        self.view = memoryview(self._map)[offset - start:]

    def release(self) -> None:
        self.view.release()
        with contextlib.suppress(BufferError):     # a view still alive somewhere: unmapped when it goes
            self._map.close()


class _Reader:
    __slots__ = ("_blob",)

    def __init__(self, blob: _MemoryBlob) -> None:
        self._blob = blob

    def read(self, offset: int, length: int) -> bytes:
        if self._blob.data is not None:
            return self._blob.data[offset:offset + length]
        return os.pread(self._blob.file.fileno(), length, offset)

    def readinto(self, offset: int, view: memoryview) -> int:
        if self._blob.data is not None:
            piece = memoryview(self._blob.data)[offset:offset + len(view)]
            view[:len(piece)] = piece
            return len(piece)
        return preadv_full(self._blob.file.fileno(), view, offset)

    def window(self, offset: int, length: int) -> _Window | None:
        """[offset, offset + length) of a spilled blob mapped (gcm_stream.decrypt_range_views); None for blobs
        held as bytes, or a range past the end (the caller's read then reports it short)."""
        if self._blob.file is None or length <= 0:
            return None
        try:
            return _Window(self._blob.file.fileno(), offset, length)
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        return None


def default_spill_dir() -> str | None:
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return None     # tempfile's default directory


class MemoryBlobStore:
    def __init__(self, spill_dir: str | None = None) -> None:
        self.blobs: dict[str, _MemoryBlob] = {}
        self.spill_dir = spill_dir if spill_dir is not None else default_spill_dir()

    def writer(self) -> _Writer:
        return _Writer(self)

    def reader(self, blob_id: str) -> _Reader:
        return _Reader(self.blobs[blob_id])

    def delete(self, blob_id: str) -> None:
        blob = self.blobs.pop(blob_id, None)
        if blob is not None and blob.file is not None:
            _CLOSER.submit(blob.file.close)

    def existing(self) -> set[str]:
        return set(self.blobs)


def memory_storage() -> Storage:
    return Storage(MemoryBlobStore())
