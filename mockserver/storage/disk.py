"""Disk backend (--data-dir): blobs in files named by random ids; key documents (an object key's versions) as
records of the key log (storage/keylog.py: append-only segments, group commit, compaction); other metadata
(buckets, uploads, upload parts, annotations) as JSON documents, one file per version. A blob is complete before
the metadata naming it is written, so after a kill -9 an object is either complete or absent; unreferenced blobs
are removed at start. Without fsync every acknowledged write is in the kernel (survives kill -9); with fsync it is
on the disk (survives power loss).

Layout: blobs/<xx>/<blob id>, meta/log/<segment id>.seg (the key log), meta/buckets/<sha256>.<generation>.json,
meta/uploads/<sha256>.<generation>.json, meta/parts/<xx>/<sha256 of the upload id>-<part number>.<generation>.json
(one document per part: an UploadPart writes its part only, so the 10,000th part costs what the first did),
meta/annotations/<xx>/<sha256>.<generation>.json (one per object annotation), tmp/, index.cache (clean shutdown).
meta/keys/<xx>/<sha256>.<generation>.json: key documents of earlier versions (loaded; removed once the key has a
record in the log). Object keys and bucket names appear only inside documents and records.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import marshal
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mockserver.storage import crashpoints, keypayload
from mockserver.storage.base import Bucket, ObjectVersion, Part, Storage, Upload, new_blob_id, preadv_full
from mockserver.storage.jsontext import encode
from mockserver.storage.keylog import KeyLog, encode_record, location, location_parts, payload_of
from mockserver.storage.records import thaw

log = logging.getLogger("mockserver")


class DataDirError(RuntimeError):
    """The data dir holds what this version cannot read: the server does not start (and changes nothing)."""


def _fsync_dir(path: str, fsync: bool = True) -> None:
    if not fsync:
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """os.write until every byte is written (a write may be short)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _create_file(path: str, data: bytes, fsync: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        write_all(fd, data)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str, data: bytes, tmp_dir: str, fsync: bool = True) -> None:
    """Readers (and a restart after kill -9) see the old document or the new one, never a mix."""
    tmp = os.path.join(tmp_dir, new_blob_id())
    _create_file(tmp, data, fsync)
    os.replace(tmp, path)
    _fsync_dir(os.path.dirname(path), fsync)


def write_new(path: str, data: bytes, fsync: bool) -> None:
    """Create `path` (which must not exist) holding `data`. Not atomic by itself: a document cut short by a
    kill -9 fails to parse at load and the previous generation, still present, is used. A failed write (full
    disk) removes what it created and raises."""
    try:
        _create_file(path, data, fsync)
        _fsync_dir(os.path.dirname(path), fsync)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


def atomic_remove(path: str, fsync: bool = True) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    _fsync_dir(os.path.dirname(path), fsync)


def _encode_document(document: dict[str, Any] | list[Any]) -> bytes:
    return encode(document).encode()


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


class _DiskWriter:
    """Blobs up to INLINE_LIMIT stored bytes stay in memory and are committed inline (inside the object's
    metadata document): a small PUT then costs no blob file creation and deletion."""

    INLINE_LIMIT = 8 * 1024

    def __init__(self, store: DiskBlobStore) -> None:
        self.blob_id = new_blob_id()
        self.inline: bytes | None = None
        self._fsync = store.fsync
        self._store = store
        self._path = ""                 # the blob file's, once the blob outgrows INLINE_LIMIT
        self._fd: int | None = None
        self._held: list[bytes] | None = []
        self._held_size = 0

    def _write_fd(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:                               # write_all's loop, with the crash point after each piece
            view = view[os.write(self._fd, view):]  # type: ignore[arg-type]
            crashpoints.crash_at("blob.partial")

    def write(self, data: bytes | memoryview) -> None:
        if self._held is not None:
            self._held.append(data if type(data) is bytes else bytes(data))   # the caller may reuse its buffer
            self._held_size += len(data)
            if self._held_size <= self.INLINE_LIMIT:
                return
            self._path = self._store.path(self.blob_id)
            self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            held, self._held = self._held, None
            for piece in held:
                self._write_fd(piece)
            return
        self._write_fd(data)

    def commit(self) -> None:
        if self._held is not None:
            self.inline = b"".join(self._held)
            self._held = None
            return
        assert self._fd is not None
        if self._fsync:
            os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        _fsync_dir(os.path.dirname(self._path), self._fsync)
        crashpoints.crash_at("blob.committed")

    def abort(self) -> None:
        self._held = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            try:
                os.unlink(self._path)
            except FileNotFoundError:
                pass


class _DiskReader:
    __slots__ = ("_fd",)

    def __init__(self, path: str) -> None:
        self._fd: int | None = os.open(path, os.O_RDONLY)

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self._fd, length, offset)  # type: ignore[arg-type]

    def readinto(self, offset: int, view: memoryview) -> int:
        return preadv_full(self._fd, view, offset)  # type: ignore[arg-type]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class DiskBlobStore:
    def __init__(self, root: str, fsync: bool = False) -> None:
        self.fsync = fsync
        self.root = os.path.join(root, "blobs")
        for i in range(256):
            os.makedirs(os.path.join(self.root, f"{i:02x}"), exist_ok=True)

    def path(self, blob_id: str) -> str:
        return os.path.join(self.root, blob_id[:2], blob_id)

    def writer(self) -> _DiskWriter:
        return _DiskWriter(self)

    def reader(self, blob_id: str) -> _DiskReader:
        return _DiskReader(self.path(blob_id))

    def delete(self, blob_id: str) -> None:
        try:
            os.unlink(self.path(blob_id))
        except FileNotFoundError:
            pass

    def existing(self) -> set[str]:
        found = set()
        for sub in os.listdir(self.root):
            found.update(os.listdir(os.path.join(self.root, sub)))
        return found


class DiskJournal:
    """Metadata, each write in call order; a request is acknowledged once its write is done.

    Key documents (an object key's versions) are records of the key log (storage/keylog.py): one append per
    change, group-committed. Every other document (bucket, upload, part, annotation) is a file of its own: a
    document is never renamed over its previous version (ext4 turns a rename that replaces a file into a
    synchronous data flush: auto_da_alloc; 1.4 ms per small PUT here). Each version is written to a new name
    `<digest>.<generation>.json`, then the previous version is unlinked. A restart keeps the highest generation of
    each digest (a kill -9 between the write and the unlink leaves two).

    Key documents of earlier versions (meta/keys/<xx>/<digest>.<generation>.json) still load: for each key the
    highest generation wins, among those files and the log's records. A key's file is removed once a record of the
    key is in the log (the key migrates when it is next written), and superseded files are removed at load.
    """

    CACHE_MAGIC = b"mockserver-index-cache-2\n"
    CACHE_BATCH = 1000              # keys per marshal record of the index cache

    def __init__(self, root: str, fsync: bool = False) -> None:
        self.fsync = fsync
        self.queued = fsync         # writes wait for a thread in call order (see Storage._free_failed)
        self.meta = os.path.join(root, "meta")
        self.cache_path = os.path.join(root, "index.cache")      # beside meta/, whose files are all documents
        self.tmp = os.path.join(root, "tmp")
        self.buckets_dir = os.path.join(self.meta, "buckets")
        self.keys_dir = os.path.join(self.meta, "keys")
        self.uploads_dir = os.path.join(self.meta, "uploads")
        self.parts_dir = os.path.join(self.meta, "parts")
        for d in (self.buckets_dir, self.uploads_dir, self.tmp):
            os.makedirs(d, exist_ok=True)
        for i in range(256):
            os.makedirs(os.path.join(self.parts_dir, f"{i:02x}"), exist_ok=True)
        self.log = KeyLog(os.path.join(self.meta, "log"), fsync)
        self.log.keep_tombstone = self._has_legacy
        # Key documents of an earlier version still on disk: digest (32 bytes) -> generation.
        self._legacy: dict[bytes, int] = {}
        # fsync mode: records waiting for the committer (bucket, key, record, tombstone, the writer's future)
        self._pending: list[tuple[str, str, bytes, bool, asyncio.Future[None]]] = []
        self._committer: asyncio.Task[None] | None = None
        self._compaction_scheduled = False
        self._part_numbers: dict[str, set[int]] = {}    # upload id -> numbers of its part documents
        shutil.rmtree(self.tmp)     # half-written documents of an interrupted run
        os.makedirs(self.tmp)
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}
        # Document -> generation of its latest version. Key documents of an earlier version (one per stored key:
        # memory per stored object) are named by their digest's 32 bytes, not their path (~120 characters), and moved
        # to `_legacy` at load; other documents by their path.
        self._current: dict[str | bytes, int] = {}
        self._keys_prefix = os.path.join(self.keys_dir, "")
        self._generation = 0

    def _name(self, logical: str) -> str | bytes:
        """The key of a document in `_current`: a key document's digest as bytes, any other's logical path."""
        if logical.startswith(self._keys_prefix):
            digest = logical[len(self._keys_prefix) + 3:]
            if len(digest) == 64:
                try:
                    raw = bytes.fromhex(digest)
                except ValueError:
                    raw = b""
                if raw.hex() == digest:
                    return raw
                # not a digest as this journal names them (a stray file): named by its path, as any other
        return logical

    def _next_generation(self) -> int:
        self._generation = max(self._generation + 1, time.time_ns())
        return self._generation

    def _store(self, kind: str, logical: str, data: bytes | None, generation: int) -> None:
        """Raises OSError (full disk) only while the new generation is not complete: the document is then as it
        was. Once the new generation is down, failing to remove the previous one is logged (a restart keeps the
        highest generation) and the write counts as done."""
        name = self._name(logical)
        old_generation = self._current.get(name)
        old = None if old_generation is None else f"{logical}.{old_generation:016x}.json"
        if data is not None:
            path = f"{logical}.{generation:016x}.json"
            if crashpoints.armed(f"meta.{kind}.partial"):
                _create_file(path, data[:len(data) // 2], False)
                crashpoints.crash_at(f"meta.{kind}.partial")
            write_new(path, data, self.fsync)
            self._current[name] = generation
            crashpoints.crash_at(f"meta.{kind}.written")
        else:
            self._current.pop(name, None)
        if old is not None:
            try:
                atomic_remove(old, self.fsync)
            except OSError as error:
                log.error("could not remove superseded metadata %s: %s", old, error)
        if data is None:
            crashpoints.crash_at(f"meta.{kind}.removed")

    async def _write(self, kind: str, logical: str, document: dict[str, Any] | None) -> None:
        # Serialised now (the state this request acknowledges); written in call order per document.
        data = None if document is None else _encode_document(document)
        generation = self._next_generation()
        if not self.fsync:
            # A few syscalls into the page cache: cheaper inline than a thread hop, and trivially in order.
            self._store(kind, logical, data, generation)
            return
        lock = self._locks.get(logical)
        if lock is None:
            lock = self._locks[logical] = asyncio.Lock()
        self._users[logical] = self._users.get(logical, 0) + 1
        try:
            async with lock:
                await asyncio.to_thread(self._store, kind, logical, data, generation)
        finally:
            users = self._users[logical] - 1
            if users:
                self._users[logical] = users
            else:
                del self._users[logical]
                del self._locks[logical]

    async def save_bucket(self, bucket: Bucket) -> None:
        await self._write("bucket", os.path.join(self.buckets_dir, _digest(bucket.name)), bucket.to_json())

    async def delete_bucket(self, name: str) -> None:
        await self._write("bucket", os.path.join(self.buckets_dir, _digest(name)), None)

    def _key_record(self, bucket: str, key: str, versions: list[ObjectVersion]) -> bytes:
        """The key log record of a key's versions (none: a tombstone), with the next generation."""
        return encode_record(self._next_generation(), bucket, key, keypayload.encode(versions) if versions else b"")

    def write_key(self, bucket: str, key: str, versions: list[ObjectVersion]) -> None:
        """save_key without fsync as a plain call (Storage.put_version's: no coroutine), done when it returns: the
        record written into the page cache (survives a kill -9). Raises OSError when it could not be written (then
        it is not in the log)."""
        record = self._key_record(bucket, key, versions)
        self._commit([(bucket, key, record, not versions)])
        if not self._compaction_scheduled and self.log.compaction_due():
            self._compaction_scheduled = True
            asyncio.get_running_loop().call_soon(self._compact, 2 * len(record))

    async def save_key(self, bucket: str, key: str, versions: list[ObjectVersion]) -> None:
        """One record appended to the key log. Without fsync: written at once (write_key: a write() into the page
        cache, cheaper than a thread hop). With fsync: queued; the committer writes every queued record with one
        write() and one fsync, and this returns once that batch is durable (or raises its OSError)."""
        if not self.fsync:
            self.write_key(bucket, key, versions)
            return
        record = self._key_record(bucket, key, versions)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((bucket, key, record, not versions, future))
        if self._committer is None:
            self._committer = asyncio.get_running_loop().create_task(self._commit_queued())
        await future

    def _commit(self, records: list[tuple[str, str, bytes, bool]]) -> None:
        self.log.append(records)
        if self._legacy:
            for bucket, key, _record, _tombstone in records:
                self._drop_legacy(bucket, key)

    async def _commit_queued(self) -> None:
        """fsync mode: group commit, batch after batch, in call order; a compaction step between batches."""
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await asyncio.to_thread(self._commit, [item[:4] for item in batch])
                except OSError as error:
                    for item in batch:
                        if not item[4].done():
                            item[4].set_exception(OSError(error.errno, error.strerror))
                except BaseException:
                    for item in batch:
                        item[4].cancel()
                    raise
                else:
                    for item in batch:
                        if not item[4].done():
                            item[4].set_result(None)
                if self.log.compaction_due():
                    budget = 2 * sum(len(item[2]) for item in batch)
                    await asyncio.to_thread(self.log.compact_step, budget)
        finally:
            self._committer = None

    def _compact(self, budget: int) -> None:
        self._compaction_scheduled = False
        self.log.compact_step(budget)

    def _has_legacy(self, bucket: str, key: str) -> bool:
        return bool(self._legacy) and bytes.fromhex(_digest(bucket, key)) in self._legacy

    def _drop_legacy(self, bucket: str, key: str) -> None:
        """The key's record is in the log: its document of an earlier version (if any) is removed."""
        digest = _digest(bucket, key)
        raw = bytes.fromhex(digest)
        generation = self._legacy.pop(raw, None)
        if generation is None:
            return
        try:
            atomic_remove(os.path.join(self.keys_dir, digest[:2], f"{digest}.{generation:016x}.json"), self.fsync)
        except OSError as error:        # the next load removes it (the log's record is newer)
            log.error("could not remove the migrated key document %s: %s", digest, error)
            self._legacy[raw] = generation

    def _part_path(self, upload_id: str, number: int) -> str:
        digest = _digest(upload_id)
        return os.path.join(self.parts_dir, digest[:2], f"{digest}-{number}")

    async def save_upload(self, upload: Upload) -> None:
        """The upload's own document (its parts are documents of their own: save_part)."""
        document = upload.to_json()
        document["parts"] = [p.to_json() for n, p in upload.parts.items()
                             if n not in self._part_numbers.get(upload.upload_id, ())]
        await self._write("upload", os.path.join(self.uploads_dir, _digest(upload.upload_id)), document)

    async def save_part(self, upload: Upload, number: int) -> None:
        part = upload.parts.get(number)
        numbers = self._part_numbers.setdefault(upload.upload_id, set())
        if part is not None:
            numbers.add(number)
        document = None if part is None else {"upload_id": upload.upload_id, "parts": [part.to_json()]}
        await self._write("upload", self._part_path(upload.upload_id, number), document)

    async def delete_upload(self, upload_id: str) -> None:
        await self._write("upload", os.path.join(self.uploads_dir, _digest(upload_id)), None)
        # A crash before the part documents are gone leaves them without their upload: removed at the next load.
        for number in sorted(self._part_numbers.pop(upload_id, ())):
            await self._write("upload", self._part_path(upload_id, number), None)

    def forget_uploads(self, upload_ids: list[str]) -> None:
        """At load: remove the documents of uploads found completed (a crash inside CompleteMultipartUpload)."""
        for upload_id in upload_ids:
            self._store("upload", os.path.join(self.uploads_dir, _digest(upload_id)), None,
                        self._next_generation())
            for number in sorted(self._part_numbers.pop(upload_id, ())):
                self._store("upload", self._part_path(upload_id, number), None, self._next_generation())

    def _documents(self, directory: str) -> Iterator[dict[str, Any]]:
        return (doc for _logical, doc in self._documents_at(directory))

    def _documents_at(self, directory: str, cached: dict[str | bytes, tuple[Any, ...]] | None = None
                      ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Latest complete version of every document under `directory` with its logical path; older and broken
        ones are removed. One directory at a time (every generation of a document is in its directory), each
        document handed over as soon as it is read: a restart with 100k objects never holds them all as JSON.
        `cached` (document name, as `_name` gives it -> (generation, bucket, key, versions)): a document whose newest
        generation is the cached one is not read; {"cached": (bucket, key, versions)} is handed over instead."""
        for dirpath, _dirs, files in os.walk(directory):
            found: dict[str, list[int]] = {}
            for name in files:
                digest, _, rest = name.partition(".")
                generation_text, _, suffix = rest.partition(".")
                try:
                    generation = int(generation_text, 16)
                except ValueError:
                    continue
                if suffix == "json" and f"{generation:016x}" == generation_text:
                    found.setdefault(digest, []).append(generation)
            for digest, generations in found.items():
                logical = os.path.join(dirpath, digest)
                generations.sort(reverse=True)
                chosen = None
                doc_name = self._name(logical)
                if cached:
                    hit = cached.pop(doc_name, None)
                    if hit is not None and hit[0] == generations[0]:
                        generation, bucket, key, versions, cached_name = hit
                        chosen = {"cached": (bucket, key, versions if type(versions) is list else [versions])}
                        self._current[cached_name] = generation     # objects made with the versions: kept
                        self._generation = max(self._generation, generations[0])
                        yield logical, chosen
                        for generation in generations[1:]:
                            os.unlink(f"{logical}.{generation:016x}.json")
                        continue
                for generation in generations:
                    path = f"{logical}.{generation:016x}.json"
                    if chosen is None:
                        try:
                            with open(path, "rb") as f:
                                chosen = json.loads(f.read())
                        except ValueError:           # cut short by a kill -9 while being written
                            chosen = None
                        if chosen is not None:
                            self._current[doc_name] = generation
                            self._generation = max(self._generation, generation)
                            yield logical, chosen
                            continue
                    os.unlink(path)

    def load(self) -> tuple[list[Bucket], list[tuple[str, str, list[ObjectVersion]]], list[Upload]]:
        buckets = [Bucket.from_json(d) for d in self._documents(self.buckets_dir)]
        keys = self._load_keys(self._read_cache())
        uploads = [Upload.from_json(d) for d in self._documents(self.uploads_dir)]
        by_id = {u.upload_id: u for u in uploads}
        for logical, d in self._documents_at(self.parts_dir):
            upload = by_id.get(d["upload_id"])
            if upload is None:      # its upload was completed or aborted; a crash came before this was removed
                self._store("upload", logical, None, self._next_generation())
                continue
            for p in d["parts"]:
                part = Part.from_json(p)
                upload.parts[part.number] = part
                self._part_numbers.setdefault(upload.upload_id, set()).add(part.number)
        for upload in uploads:
            upload.parts = dict(sorted(upload.parts.items()))
        return buckets, keys, uploads

    # ----- annotations (storage/annotations.py): meta/annotations/<xx>/<sha256 of bucket, key, version, name> -----
    def _annotation_path(self, bucket: str, key: str, version_id: str, name: str) -> str:
        digest = _digest(bucket, key, version_id, name)
        return os.path.join(self.meta, "annotations", digest[:2], digest)

    async def save_annotation(self, bucket: str, key: str, version_id: str, name: str,
                              document: dict[str, Any] | None) -> None:
        """One annotation's document (None: removed), a document kind of its own written as the others are."""
        logical = self._annotation_path(bucket, key, version_id, name)
        if document is not None:
            os.makedirs(os.path.dirname(logical), exist_ok=True)
        await self._write("annotation", logical, document)

    def load_annotations(self, belongs: Callable[[dict[str, Any]], bool]) -> Iterator[dict[str, Any]]:
        """Every annotation document whose object version still exists (`belongs`); the others (a kill -9 came
        between deleting the version and removing its annotations) are removed."""
        directory = os.path.join(self.meta, "annotations")
        if not os.path.isdir(directory):
            return
        removed = 0
        for logical, document in list(self._documents_at(directory)):
            if belongs(document):
                yield document
            else:
                self._store("annotation", logical, None, self._next_generation())
                removed += 1
        if removed:
            log.warning("removed %d annotation(s) of object versions that no longer exist", removed)

    async def flush(self) -> None:
        # Every write is awaited by the request that made it; wait for queued ones (the committer, locks).
        while self._committer is not None:
            await asyncio.wait({self._committer})
        for lock in list(self._locks.values()):
            async with lock:
                pass

    # ----- loading the keys -----
    def _load_keys(self, cache: tuple[Any, ...] | None) -> list[tuple[str, str, list[ObjectVersion]]]:
        """Every key's versions: the index cache's state (when it matches the log), the log's records after it (all
        of them without a cache), and key documents of earlier versions; for each key the highest generation wins.
        Two passes over the log: the first reads every record's header and names, the second parses the versions
        of the winners only (a key overwritten many times is parsed once)."""
        # (bucket, key) -> [generation, location of its log record or None, versions or None (not yet parsed)]
        winners: dict[tuple[str, str], list[Any]] = {}
        resume = None
        legacy_cached = None
        if cache is not None:
            segments, generation, entries, legacy_cached = cache
            if self._cache_matches(segments):
                resume = dict(segments)
                self._generation = max(self._generation, generation)
                for bucket, key, generation, where, versions in entries:
                    winners[(bucket, key)] = [generation, where, versions]
            else:
                log.warning("index cache not used (the key log changed since it was written): reading the log")
        for segment, _data, records in self.log.scan(resume):
            for r in records:
                names = (r.bucket, r.key)
                current = winners.get(names)
                if current is None or r.generation >= current[0]:
                    winners[names] = [r.generation, location(segment, r.offset, r.length) if r.end > r.start else None,
                                      None]
                self._generation = max(self._generation, r.generation)
        todo: dict[int, list[tuple[str, list[Any]]]] = {}
        for (_bucket, key), winner in winners.items():
            if winner[2] is None and winner[1] is not None:
                todo.setdefault(winner[1] >> 64, []).append((key, winner))
        for segment in sorted(todo):
            data = self.log.read_segment(segment)
            for key, winner in todo.pop(segment):
                _segment, offset, length = location_parts(winner[1])
                try:
                    documents = keypayload.documents(payload_of(data, offset, length))
                except ValueError as error:      # a record this version cannot read: stop before anything is
                    raise DataDirError(         # removed (its key's blobs would look unreferenced)
                        f"cannot load the data dir: the key log record of key {key!r} ({self.log.path(segment)}, "
                        f"offset {offset}) is unreadable ({error}); was it written by a newer version of this "
                        "server? No data was changed") from None
                winner[2] = _parsed_versions(key, documents)
            del data
        self._load_legacy_keys(winners, legacy_cached)
        keys = []
        for (bucket, key), (_generation, where, versions) in winners.items():
            if versions is None:
                continue                    # a tombstone: the key was deleted
            if where is not None:
                self.log.place_loaded(bucket, key, where)
            keys.append((bucket, key, versions))
        return keys

    def _load_legacy_keys(self, winners: dict[tuple[str, str], list[Any]],
                          cached: dict[str | bytes, tuple[Any, ...]] | None) -> None:
        """Key documents of earlier versions (meta/keys/): one newer than the log's record of its key wins (kept,
        named in `_legacy`); the others are removed."""
        if not os.path.isdir(self.keys_dir):
            return
        superseded = 0
        for logical, d in self._documents_at(self.keys_dir, cached):
            bucket, key, versions = d["cached"] if "cached" in d else _parsed_key(d)
            name = self._name(logical)
            generation = self._current.pop(name)
            current = winners.get((bucket, key))
            if current is None or generation > current[0]:
                winners[(bucket, key)] = [generation, None, versions]
                if isinstance(name, bytes):
                    self._legacy[name] = generation
                else:                   # a stray file name: a document as any other
                    self._current[name] = generation
                continue
            superseded += 1
            try:
                atomic_remove(f"{logical}.{generation:016x}.json", self.fsync)
            except OSError as error:    # still there: loses again at the next load; compaction keeps tombstones
                log.error("could not remove the superseded key document %s: %s", logical, error)
                if isinstance(name, bytes):
                    self._legacy[name] = generation
        if superseded:
            log.info("removed %d key document(s) of an earlier version superseded by the key log", superseded)

    # ----- index cache: a restart reads one file instead of the whole key log -----
    # <data dir>/index.cache holds the key log's segments and their sizes, the journal's generation, and for every key
    # its versions in a compact form (marshal: built-in types only, inline blobs as bytes) with where its state is
    # (the location of its log record, or the digest of its key document of an earlier version) and its generation.
    # Written at a clean shutdown (write_cache, after flush), read and removed at the next start. It is used only when
    # every segment it names is still there, at least as long as it was (compaction removes segments: then the log is
    # read whole); records after the cached sizes (and segments made later) are read as usual and win by generation.
    # Key documents of earlier versions are checked as before: one whose newest generation on disk is the cached one
    # is not read. Unreadable or of another format: ignored (and removed).

    def _cache_matches(self, segments: list[tuple[int, int]]) -> bool:
        ids = self.log.segment_ids()
        listed = dict(segments)
        top = max(listed, default=-1)
        if any(segment <= top and segment not in listed for segment in ids):
            return False
        present = set(ids)
        for segment, size in listed.items():
            if segment not in present or os.path.getsize(self.log.path(segment)) < size:
                return False
        return True

    def _read_cache(self) -> tuple[Any, ...] | None:
        """(segments [(id, size)], generation, [(bucket, key, generation, location, versions)] of log keys,
        {digest: (generation, bucket, key, versions (the version itself when only one), digest)} of keys whose
        state is a key document of an earlier version)."""
        result: tuple[Any, ...] | None
        try:
            with open(self.cache_path, "rb") as f:
                if f.read(len(self.CACHE_MAGIC)) != self.CACHE_MAGIC:
                    raise ValueError("another format")
                header: tuple[Any, ...] | None = None
                entries: list[tuple[str, str, int, int, list[ObjectVersion]]] = []
                legacy: dict[str | bytes, tuple[Any, ...]] = {}
                size = os.fstat(f.fileno()).st_size
                while True:          # length-prefixed records: marshal.loads of bytes is ~10x marshal.load(file)
                    length = int.from_bytes(f.read(8), "little")
                    if not length:
                        break
                    if length > size - f.tell():    # damage (a read of it would fail to allocate): not a cache
                        raise EOFError("cut short")
                    payload = f.read(length)
                    if len(payload) != length:
                        raise EOFError("cut short")
                    if header is None:
                        header = marshal.loads(payload)
                        continue
                    # Built batch by batch: the file's tuples never all live at once beside the records.
                    for where, generation, entry in marshal.loads(payload):
                        bucket, key, versions = _from_cache(entry)
                        if type(where) is int:
                            entries.append((bucket, key, generation, where, versions))
                        else:
                            legacy[where] = (generation, bucket, key, versions[0] if len(versions) == 1 else versions,
                                             where)
                if header is None:
                    raise EOFError("no header")
                segments, generation = header
                result = ([(int(s), int(n)) for s, n in segments], int(generation), entries, legacy)
        except FileNotFoundError:
            return None
        except Exception as error:  # noqa: BLE001 - a cache: whatever is wrong with it, the log is read instead
            log.warning("index cache not used (%s): reading the key log", error)
            result = None
        with contextlib.suppress(OSError):
            atomic_remove(self.cache_path, self.fsync)   # valid for this start only
        return result

    def write_cache(self, entries: Iterable[tuple[str, str, list[ObjectVersion]]]) -> None:
        """At a clean shutdown (every write done): the cache of the keys' current state. `entries`: (bucket, key,
        versions) of every key. Blocking; a failure is logged (the next start reads the log)."""
        tmp = os.path.join(self.tmp, "index.cache." + new_blob_id())
        try:
            with open(tmp, "wb") as f:
                f.write(self.CACHE_MAGIC)

                def record(value: Any) -> None:
                    payload = marshal.dumps(value)
                    f.write(len(payload).to_bytes(8, "little"))
                    f.write(payload)

                record((sorted(self.log.sizes.items()), self._generation))
                batch: list[tuple[int | bytes, int, Any]] = []
                where = self.log.where
                legacy_seen = 0             # documents of earlier versions whose key is among the entries
                for bucket, key, versions in entries:
                    if not versions:
                        continue
                    at: int | bytes | None = where.get(bucket, {}).get(key)
                    generation = self._generation
                    if self._legacy:
                        digest = bytes.fromhex(_digest(bucket, key))
                        legacy_generation = self._legacy.get(digest)
                        legacy_seen += legacy_generation is not None
                        if at is None:
                            if legacy_generation is None:
                                continue
                            at, generation = digest, legacy_generation
                    elif at is None:
                        continue
                    batch.append((at, generation, _to_cache(bucket, key, versions)))
                    if len(batch) >= self.CACHE_BATCH:
                        record(batch)
                        batch = []
                if legacy_seen < len(self._legacy):
                    # A deleted key still has a document of an earlier version (its removal failed): its tombstone
                    # is in the log the cache would skip, and the cache names only keys that exist, so the document
                    # would win at the next start. No cache: that start reads the log (tombstones included).
                    raise ValueError(f"{len(self._legacy) - legacy_seen} deleted key(s) still have a document of an "
                                     "earlier version")
                if batch:
                    record(batch)
                f.write(bytes(8))            # length 0: the end (a file cut short has none and is not used)
                if self.fsync:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, self.cache_path)
            _fsync_dir(os.path.dirname(self.cache_path), self.fsync)
        except (OSError, ValueError, TypeError) as error:    # a cache: the shutdown goes on, the next start reads
            log.error("could not write the index cache: %s", error)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.log.close()


_VERSION_FIELDS = ("key", "version_id", "last_modified", "owner_id", "delete_marker", "size", "etag", "content_type",
                   "headers", "metadata", "storage_class", "checksum", "sse", "multipart", "tagging_count",
                   "upload_id")
_PART_FIELDS = ("number", "blob", "size", "etag", "checksums", "last_modified", "inline")


def _to_cache(bucket: str, key: str, versions: list[ObjectVersion]) -> tuple[Any, ...]:
    """One key's versions for the index cache: plain values in field order, inline blobs as bytes."""
    return (bucket, key, [(tuple(thaw(getattr(v, name)) for name in _VERSION_FIELDS),
                           [tuple(thaw(getattr(p, name)) for name in _PART_FIELDS) for p in v.parts])
                          for v in versions])


def _from_cache(entry: tuple[Any, ...]) -> tuple[str, str, list[ObjectVersion]]:
    bucket, key, cached = entry
    versions = []
    for fields, parts in cached:
        data = dict(zip(_VERSION_FIELDS, fields))
        data["parts"] = ObjectVersion.shared_parts(data, [dict(zip(_PART_FIELDS, p)) for p in parts],
                                                   lambda p: Part(**p))
        versions.append(ObjectVersion(**data))
    return bucket, key, versions


def _parsed_versions(key: str, documents: list[dict[str, Any]]) -> list[ObjectVersion]:
    """A key log record's versions, the key's text one object for the index and every version."""
    return [ObjectVersion.from_json({**v, "key": key} if v.get("key") == key else v) for v in documents]


def _parsed_key(document: dict[str, Any]) -> tuple[str, str, list[ObjectVersion]]:
    """A key document's versions; the key's text is one object for the index and every version (JSON parsing
    makes one per occurrence)."""
    key = document["key"]
    return (document["bucket"], key, [ObjectVersion.from_json({**v, "key": key} if v.get("key") == key else v)
                                      for v in document["versions"]])


def disk_storage(data_dir: str, fsync: bool = False) -> Storage:
    os.makedirs(data_dir, exist_ok=True)
    return Storage(DiskBlobStore(data_dir, fsync), DiskJournal(data_dir, fsync))
