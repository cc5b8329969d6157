"""The key log (--data-dir): every change of an object key's versions is one record appended to a segment file,
meta/log/<segment id, 16 hex digits>.seg. Nothing in a segment is ever rewritten in place.

Segment: an 8-byte magic (b"S3CKLOG1"), then records. Record: a 8-byte header, little-endian
`length` (u32: bytes after the header) and `crc` (u32: zlib.crc32 of those bytes), then the body: `generation` (u64,
the journal's monotonic generation: a higher one is newer), the bucket name's length (u16) and the key's (u32), both
names (UTF-8, surrogates passed through), then the payload: the key's versions (storage/keypayload.py: pickled
compact fields; JSON text in records of earlier versions); no versions are not written: a body ending after the
key is a tombstone (the key has no versions). The same record
bytes are valid anywhere: compaction copies them unchanged.

Writing: records that are ready are appended with one write(). With fsync that is a group commit: records queue
while the previous batch is being written and synced, then one write() and one fsync cover every waiting record,
each request acknowledged once its batch is durable. Without fsync a record is written as soon as it is ready (one
write() into the page cache before the request is answered: survives a kill -9). A write that fails (full disk) is cut off
again (ftruncate to where the batch began; when that fails too, the segment is sealed and the next write starts a
new one): a failed write leaves nothing a later one would follow.

Loading: segments in id order, records in file order; a record whose header runs past the end of the file, whose
length is impossible or whose crc does not match ends its segment (a torn write of a kill -9: everything before it
was written before it). That segment is never appended to again (the next write starts a new segment), so what
follows a torn record in a segment is always nothing. For each key the record with the highest generation wins
(equal: the later one, an unchanged copy); a winning tombstone means the key is absent.

Compaction: while the log holds more than COMPACT_RATIO x its live bytes (and more than COMPACT_MIN), the oldest
segment is compacted COMPACT_STEP bytes at a time: each write while it runs adds twice its bytes to compaction's
budget, and a step (run after writes) reads once the budget makes a whole step (no pause proportional to the store;
reads stay large). Its live records (the ones the index names: a record is live iff the index holds its location)
are copied unchanged to the head, each after its crc is checked; dead records are passed on their header and names
alone (every record's crc was checked when it was written or loaded). Tombstones are dropped (the oldest segment
holds every older record of their key, all dead) unless the key still has a per-document file of an earlier version
(`keep_tombstone`). The index counts each segment's live bytes and its tombstones not yet passed (a segment read
only in part at load, the index cache covering the rest, counts as holding some): once both are 0, the rest of the
segment is not read at all (a segment whose records are all dead is removed unread). Once the whole segment is
passed, the copies are made durable (fsync in fsync mode) and only then the segment is unlinked: a kill -9 at any
point leaves every record either in the old segment or in both (the same generation: either wins).
"""
from __future__ import annotations

import contextlib
import logging
import os
import struct
import zlib
from collections.abc import Callable, Iterator

from mockserver.storage import crashpoints

log = logging.getLogger("mockserver")

MAGIC = b"S3CKLOG1"
_HEAD = struct.Struct("<II")              # length, crc32
_BODY = struct.Struct("<QHI")             # generation, bucket name length, key length
MAX_RECORD = 1 << 31                      # a length above this is damage, not a record
UNCOUNTED = 1 << 62                       # tombstones of a segment not counted (never reaches 0 by decrements)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def encode_record(generation: int, bucket: str, key: str, payload: bytes) -> bytes:
    """One record; `payload` empty: a tombstone."""
    b = bucket.encode("utf-8", "surrogatepass")
    k = key.encode("utf-8", "surrogatepass")
    body = b"".join((_BODY.pack(generation, len(b), len(k)), b, k, payload))
    return _HEAD.pack(len(body), zlib.crc32(body)) + body


def _location(segment: int, offset: int, length: int) -> int:
    return (segment << 64) | (offset << 32) | length


def location_parts(location: int) -> tuple[int, int, int]:
    """(segment, offset, length) of a record's location."""
    return location >> 64, (location >> 32) & 0xFFFFFFFF, location & 0xFFFFFFFF


class Record:
    """A record as read: where it is, its generation and names, and its payload's bounds in the segment's data."""
    __slots__ = ("bucket", "end", "generation", "key", "length", "offset", "start")

    def __init__(self, offset: int, length: int, generation: int, bucket: str, key: str, start: int,
                 end: int) -> None:
        self.offset, self.length, self.generation = offset, length, generation
        self.bucket, self.key, self.start, self.end = bucket, key, start, end


def parse_records(data: bytes | memoryview, base: int, limit: int | None = None) -> tuple[list[Record], int, bool]:
    """Records in `data` (which begins at file offset `base`): (records, bytes used, damaged). Stops at the first
    record cut short (damaged False when it is merely incomplete in `data` and `limit` says more may follow; the
    caller then reads on) or damaged (bad length or crc: True)."""
    records: list[Record] = []
    view = memoryview(data)
    pos = 0
    size = len(view)
    head, body_size = _HEAD.size, _BODY.size
    crc32 = zlib.crc32
    while pos < size:
        if size - pos < head:
            return records, pos, limit is None
        length, crc = _HEAD.unpack_from(view, pos)
        if length < body_size or length > MAX_RECORD:
            return records, pos, True
        end = pos + head + length
        if end > size:
            return records, pos, limit is None or base + end > limit
        body = view[pos + head:end]
        if crc32(body) != crc:
            return records, pos, True
        generation, bucket_len, key_len = _BODY.unpack_from(body)
        names = body_size + bucket_len + key_len
        if names > length:
            return records, pos, True
        try:
            bucket = str(body[body_size:body_size + bucket_len], "utf-8", "surrogatepass")
            key = str(body[body_size + bucket_len:names], "utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return records, pos, True
        records.append(Record(base + pos, head + length, generation, bucket, key, pos + head + names, end))
        pos = end
    return records, pos, False


class KeyLog:
    SEGMENT_LIMIT = 32 * 1024 * 1024      # a segment is sealed once it holds this many bytes
    COMPACT_MIN = 8 * 1024 * 1024         # no compaction below this many bytes of log
    COMPACT_RATIO = 2                     # ... nor while the log holds at most this many times its live bytes
    COMPACT_STEP = 64 * 1024              # bytes of the oldest segment read per compaction step

    def __init__(self, directory: str, fsync: bool = False) -> None:
        self.dir = directory
        self.fsync = fsync
        os.makedirs(directory, exist_ok=True)
        # bucket -> key -> location (segment << 64 | offset << 32 | length) of the key's live record
        self.where: dict[str, dict[str, int]] = {}
        self.sizes: dict[int, int] = {}   # segment id -> bytes of valid records (with the magic)
        self.live: dict[int, int] = {}    # segment id -> bytes of its live records
        # segment id -> tombstones in it not yet passed by compaction (UNCOUNTED added: a segment read only in part
        # at load, behind the index cache, may hold any number)
        self.tombstones: dict[int, int] = {}
        self.total = 0                    # sum of sizes
        self.live_total = 0
        self._active: int | None = None   # the segment appended to (None: the next write opens a new one)
        self._fd: int | None = None
        self._reusable: int | None = None  # after load: the last segment, when it ends with a complete record
        self._top = 0                     # the highest segment id seen (a new segment gets a higher one)
        self._compacting: list[int] | None = None   # [segment, cursor]
        self._compact_fd: int | None = None
        self._credit = 0                  # bytes compaction may read: 2 x those appended while it runs, less reads
        self.keep_tombstone: Callable[[str, str], bool] = lambda bucket, key: False

    # ----- files -----
    def path(self, segment: int) -> str:
        return os.path.join(self.dir, f"{segment:016x}.seg")

    def segment_ids(self) -> list[int]:
        ids = []
        for name in os.listdir(self.dir):
            stem, _, suffix = name.partition(".")
            if suffix == "seg" and len(stem) == 16:
                try:
                    number = int(stem, 16)
                except ValueError:
                    continue
                if f"{number:016x}" == stem:
                    ids.append(number)
        return sorted(ids)

    def _open_active(self) -> int:
        if self._fd is not None:
            return self._fd
        if self._reusable is not None:
            segment, self._reusable = self._reusable, None
            self._fd = os.open(self.path(segment), os.O_WRONLY | os.O_APPEND)
            self._active = segment
            return self._fd
        segment = max(self._top, max(self.sizes, default=0)) + 1
        path = self.path(segment)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        self._top = segment
        try:
            _write_all(fd, MAGIC)
            if self.fsync:
                os.fsync(fd)
                _fsync_dir(self.dir)
        except BaseException:
            os.close(fd)
            try:
                os.unlink(path)
            except OSError:
                pass
            raise
        self._fd, self._active = fd, segment
        self.sizes[segment] = len(MAGIC)
        self.live[segment] = 0
        self.tombstones[segment] = 0
        self.total += len(MAGIC)
        return fd

    def _seal(self) -> None:
        """The next write opens a new segment (this one is complete: made durable in fsync mode)."""
        if self._fd is None:
            return
        fd, self._fd, self._active = self._fd, None, None
        try:
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        self._seal()
        if self._compact_fd is not None:
            os.close(self._compact_fd)
            self._compact_fd = None

    # ----- writing -----
    def _append(self, blob: bytes, partial_step: str, sync: bool) -> tuple[int, int]:
        """Appends `blob` (whole records): (segment, offset). On OSError nothing of it stays in the log."""
        fd = self._fd
        if fd is None:
            fd = self._open_active()
        segment = self._active
        assert segment is not None
        start = self.sizes[segment]
        try:
            if crashpoints.armed(partial_step):
                _write_all(fd, blob[:len(blob) // 2])
                crashpoints.crash_at(partial_step)
            written = os.write(fd, blob)
            if written != len(blob):       # a short write (full disk: the next one raises)
                _write_all(fd, memoryview(blob)[written:])
            if sync:
                os.fsync(fd)
        except OSError:
            self._cut(fd, start)
            raise
        self.sizes[segment] = start + len(blob)
        self.total += len(blob)
        return segment, start

    def _cut(self, fd: int, start: int) -> None:
        """A write that failed is cut off at `start`, where it began."""
        try:
            os.ftruncate(fd, start)
        except OSError:                # the torn bytes end that segment (load stops there); later records go to
            with contextlib.suppress(OSError):          # a new one
                self._seal()

    def _place(self, bucket: str, key: str, location: int | None) -> None:
        keys = self.where.get(bucket)
        old = None
        if location is not None:
            if keys is None:
                keys = self.where[bucket] = {}
            old = keys.get(key)
            keys[key] = location
            segment, length = location >> 64, location & 0xFFFFFFFF
            self.live[segment] += length
            self.live_total += length
        elif keys is not None:
            old = keys.pop(key, None)
            if not keys:
                del self.where[bucket]
        if old is not None:
            length = old & 0xFFFFFFFF
            self.live[old >> 64] -= length
            self.live_total -= length

    def append(self, records: list[tuple[str, str, bytes, bool]]) -> None:
        """Appends (bucket, key, record bytes, tombstone) in order, with one write (and one fsync in fsync mode).
        Raises OSError when that fails: then none of them is in the log."""
        if len(records) == 1:           # the usual case (every write without fsync): the bookkeeping inline
            bucket, key, blob, tombstone = records[0]
            fd = self._fd
            length = len(blob)
            if fd is None or self.fsync or crashpoints.armed_any():
                segment, offset = self._append(blob, "meta.key.partial", self.fsync)
                crashpoints.crash_at("meta.key.written")
            else:                       # _append's common case
                segment = self._active  # type: ignore[assignment]
                offset = self.sizes[segment]
                try:
                    written = os.write(fd, blob)
                    if written != length:
                        _write_all(fd, memoryview(blob)[written:])
                except OSError:
                    self._cut(fd, offset)
                    raise
                self.sizes[segment] = offset + length
                self.total += length
            if self._compacting is not None:
                self._credit += 2 * length
            if tombstone:
                self.tombstones[segment] += 1
                self._place(bucket, key, None)
            else:
                keys = self.where.get(bucket)
                if keys is None:
                    keys = self.where[bucket] = {}
                old = keys.get(key)
                keys[key] = (segment << 64) | (offset << 32) | length
                if old is None:
                    self.live[segment] += length
                    self.live_total += length
                else:
                    old_length = old & 0xFFFFFFFF
                    if old >> 64 == segment:
                        self.live[segment] += length - old_length
                    else:
                        self.live[segment] += length
                        self.live[old >> 64] -= old_length
                    self.live_total += length - old_length
        else:
            segment, offset = self._append(b"".join(r[2] for r in records), "meta.key.partial", self.fsync)
            crashpoints.crash_at("meta.key.written")
            if self._compacting is not None:
                self._credit += 2 * (self.sizes[segment] - offset)
            for bucket, key, record, tombstone in records:
                if tombstone:
                    self.tombstones[segment] += 1
                self._place(bucket, key, None if tombstone else _location(segment, offset, len(record)))
                offset += len(record)
        if self.sizes[segment] >= self.SEGMENT_LIMIT:
            try:
                self._seal()
            except OSError as error:       # the batch itself is durable (fsynced above)
                log.error("could not seal key log segment %d: %s", segment, error)

    # ----- compaction -----
    def compaction_due(self) -> bool:
        """True when a compaction step has work now: the log is to be compacted and no segment is under way, or
        the one under way has a step's budget, or needs no read (nothing in its rest is live or a tombstone, or it
        is passed whole). A write path runs compact_step after a write when this is true."""
        compacting = self._compacting
        if compacting is None:          # (_oversized, inline: asked after every write)
            total = self.total
            return total > self.COMPACT_MIN and total > self.COMPACT_RATIO * self.live_total
        segment = compacting[0]
        return (self._credit >= self.COMPACT_STEP or compacting[1] >= self.sizes[segment]
                or not (self.live.get(segment) or self.tombstones.get(segment, UNCOUNTED)))

    def _oversized(self) -> bool:
        return self.total > self.COMPACT_MIN and self.total > self.COMPACT_RATIO * self.live_total

    def compact_step(self, budget: int = 0) -> None:
        """Compaction's share of the writes since the previous step: twice the bytes appended meanwhile (counted
        here: a caller may run one step after several writes), at least `budget` (a write path passes twice what it
        wrote; 0: one COMPACT_STEP). Shares add up until they make a step: the oldest segment is read COMPACT_STEP
        bytes at a time (reads stay large; a pause stays bounded by that share plus a step), its live records copied
        to the head; once nothing in the rest of it is live or a tombstone, the rest is not read. The segment is
        removed once all of it is copied (and durable). A failure (full disk) is logged and retried at a later
        step."""
        credit = max(self._credit, budget or self.COMPACT_STEP)
        try:
            while credit > 0 and (self._compacting is not None or self._oversized()):
                spent = self._compact_step(credit >= self.COMPACT_STEP)
                if spent is None:           # the next step reads: it waits for a whole step's credit
                    break
                credit -= spent
        except OSError as error:
            log.error("key log compaction postponed: %s", error)
        self._credit = max(0, min(credit, self.COMPACT_STEP))

    def _compact_step(self, may_read: bool) -> int | None:
        """One step: the bytes it read (at least 1), or None when it has to read and `may_read` is false."""
        if self._compacting is None:
            if not self._oversized() or not self.sizes:
                return 1 << 62
            oldest = min(self.sizes)
            if oldest == self._active or oldest == self._reusable:
                self._reusable = None
                self._seal()           # the head moves on; the oldest segment can then be compacted
            self._compacting = [oldest, len(MAGIC)]
        segment, cursor = self._compacting
        end = self.sizes[segment]
        if cursor < end and not self.live.get(segment) and not self.tombstones.get(segment, UNCOUNTED):
            # Nothing after the cursor is live or a tombstone (the index counts both): nothing to copy, nothing read.
            cursor = self._compacting[1] = end
        if cursor < end:
            if not may_read:
                return None
            if self._compact_fd is None:
                self._compact_fd = os.open(self.path(segment), os.O_RDONLY)
            data = os.pread(self._compact_fd, min(self.COMPACT_STEP, end - cursor), cursor)
            read = len(data)
            copies, used, passed, damaged = self._copies(segment, data, cursor, end)
            if not damaged and used == 0 and len(data) < end - cursor:
                length = _HEAD.unpack_from(data)[0] + _HEAD.size      # one record longer than a step
                data = os.pread(self._compact_fd, length, cursor)
                read += len(data)
                copies, used, passed, damaged = self._copies(segment, data, cursor, end)
            if damaged or not used:
                used = end - cursor     # sizes[] ends before any damage: cannot happen; never loops forever
                copies = []
            if copies:
                blob = b"".join([data[start:start + length] for start, length, _b, _k, _live in copies])
                head, offset = self._append(blob, "meta.compact.partial", False)
                tombstones = 0
                for _start, length, bucket, key, live in copies:
                    if live:
                        self._place(bucket, key, (head << 64) | (offset << 32) | length)
                    else:
                        tombstones += 1
                    offset += length
                if tombstones:
                    self.tombstones[head] += tombstones
                if self.sizes[head] >= self.SEGMENT_LIMIT:
                    self._seal()
            cursor += used
            self._compacting[1] = cursor
            self.tombstones[segment] -= passed      # once passed for good (a failed copy is read again)
            if cursor < end:
                return max(read, 1)
        # Every live record of the segment has a copy: durable before the segment goes.
        if self.fsync and self._fd is not None:
            os.fsync(self._fd)
        crashpoints.crash_at("meta.compact.copied")
        if self._compact_fd is not None:
            os.close(self._compact_fd)
            self._compact_fd = None
        os.unlink(self.path(segment))
        if self.fsync:
            _fsync_dir(self.dir)
        self.total -= self.sizes.pop(segment)
        self.tombstones.pop(segment, None)
        leftover = self.live.pop(segment, 0)
        if leftover:                   # cannot happen: every live record was moved
            log.error("key log compaction: %d live bytes left in segment %d", leftover, segment)
            self.live_total -= leftover
        self._compacting = None
        crashpoints.crash_at("meta.compact.removed")
        return self.COMPACT_STEP

    def _copies(self, segment: int, data: bytes, base: int,
                limit: int) -> tuple[list[tuple[int, int, str, str, bool]], int, int, bool]:
        """The records of `data` (the oldest segment's bytes from offset `base` on) that compaction copies: (their
        start in `data`, length, bucket, key, live), the bytes passed (whole records; the last may end past `data`
        when it is dead), the tombstones among them, damaged (as parse_records). A record is live iff the index names its location; a dead one is passed
        on its header and names alone (its crc was checked when it was written or loaded); a live one, and a
        tombstone kept, has its crc checked before it is copied."""
        copies: list[tuple[int, int, str, str, bool]] = []
        size = len(data)
        pos = 0
        head, body_size = _HEAD.size, _BODY.size
        unpack_head, unpack_body = _HEAD.unpack_from, _BODY.unpack_from
        names_of = self.where.get
        keep_tombstone = self.keep_tombstone
        segment_bits = segment << 64
        tombstones = 0
        damaged = False
        while pos < size:
            if size - pos < head:
                break
            length, crc = unpack_head(data, pos)
            if length < body_size or length > MAX_RECORD:
                damaged = True
                break
            end = pos + head + length
            if base + end > limit:
                damaged = True
                break
            if pos + head + body_size > size:
                break                   # its names are not in `data`: read on
            _generation, bucket_len, key_len = unpack_body(data, pos + head)
            names = pos + head + body_size + bucket_len + key_len
            if names > end:
                damaged = True
                break
            if names > size:
                break
            try:
                bucket = data[pos + head + body_size:pos + head + body_size + bucket_len].decode("utf-8",
                                                                                                "surrogatepass")
                key = data[pos + head + body_size + bucket_len:names].decode("utf-8", "surrogatepass")
            except UnicodeDecodeError:
                damaged = True
                break
            keys = names_of(bucket)
            live = keys is not None and keys.get(key) == segment_bits | ((base + pos) << 32) | (head + length)
            tombstone = names == end
            if live or (tombstone and keep_tombstone(bucket, key)):
                if end > size:
                    break               # a copy needs the whole record: read on
                if zlib.crc32(memoryview(data)[pos + head:end]) != crc:
                    damaged = True
                    break
                copies.append((pos, head + length, bucket, key, live))
            if tombstone:
                tombstones += 1
            pos = end                   # a dead record may end past `data`: passed unread
        return copies, pos, tombstones, damaged

    # ----- loading -----
    def read_segment(self, segment: int, start: int = 0) -> bytes:
        """The segment's bytes from `start` on (its magic first when `start` is past it)."""
        with open(self.path(segment), "rb") as f:
            if start <= len(MAGIC):
                return f.read()
            magic = f.read(len(MAGIC))
            f.seek(start)
            return magic + f.read()

    def scan(self, resume: dict[int, int] | None = None) -> Iterator[tuple[int, bytes, list[Record]]]:
        """(segment, its data, its valid records) of every segment in id order, from the offsets in `resume`
        (segment -> offset already known; others from the start). Records `sizes` (the valid end of each) and
        which segment a write may go on appending to."""
        ids = self.segment_ids()
        self._top = max(self._top, *ids) if ids else self._top
        for segment in ids:
            start = (resume or {}).get(segment, len(MAGIC))
            data = self.read_segment(segment, start)     # with a cache: only what follows the cached part
            if data[:len(MAGIC)] != MAGIC:
                if len(data) < len(MAGIC) and MAGIC.startswith(data) and segment == ids[-1]:
                    os.unlink(self.path(segment))    # created by a run killed before its first record
                    continue
                log.error("key log segment %s is not a segment of this format: ignored", self.path(segment))
                continue
            skipped = start - len(MAGIC)           # data holds the magic, then the bytes from `start` on
            records, used, _damaged = parse_records(memoryview(data)[len(MAGIC):], start)
            valid = start + used
            size = skipped + len(data)
            if valid < size:            # a write cut short by a kill -9 (or damage): what came before it stands
                log.warning("key log segment %d: %d bytes after offset %d ignored (a record cut short or damaged)",
                            segment, size - valid, valid)
            self.sizes[segment] = valid
            self.live.setdefault(segment, 0)
            self.tombstones[segment] = sum(1 for r in records if r.start == r.end) + (
                UNCOUNTED if start > len(MAGIC) else 0)     # the part behind the index cache is not read
            self.total += valid
            if segment == ids[-1] and valid == size and valid < self.SEGMENT_LIMIT:
                self._reusable = segment
            yield segment, data, records

    def place_loaded(self, bucket: str, key: str, location: int) -> None:
        keys = self.where.get(bucket)
        if keys is None:
            keys = self.where[bucket] = {}
        keys[key] = location
        length = location & 0xFFFFFFFF
        self.live[location >> 64] = self.live.get(location >> 64, 0) + length
        self.live_total += length



def location(segment: int, offset: int, length: int) -> int:
    return _location(segment, offset, length)


def payload_of(data: bytes, offset: int, length: int) -> bytes:
    """The payload (the versions, storage/keypayload.py) of the record at `offset` (`length` bytes) of a segment's
    `data`."""
    _generation, bucket_len, key_len = _BODY.unpack_from(data, offset + _HEAD.size)
    return data[offset + _HEAD.size + _BODY.size + bucket_len + key_len:offset + length]
