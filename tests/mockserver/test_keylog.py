"""The key log (mockserver/storage/keylog.py): compaction bounds it and is crash-safe, group commit with fsync,
failed writes leave nothing behind, a kill -9 at every step of the log (key records and compaction) leaves each
key either fully old or fully new, and the index cache is not used once compaction changed the log."""
from __future__ import annotations

import asyncio
import errno
import os
import random
import shutil
from typing import Any

import pytest

from mockserver.storage import crashpoints
from mockserver.storage.base import ObjectVersion
from mockserver.storage.disk import DiskJournal
from mockserver.storage.keylog import MAGIC, UNCOUNTED, KeyLog, encode_record, parse_records, payload_of

BUCKET = "b"


def _version(key: str, etag: str, size: int = 0) -> ObjectVersion:
    return ObjectVersion(key=key, version_id="null", last_modified=1.0, owner_id="111122223333", etag=etag,
                         metadata={"pad": "p" * size} if size else {})


def _state(data_dir: str, fsync: bool = False) -> dict[str, str]:
    _buckets, keys, _uploads = DiskJournal(data_dir, fsync).load()
    assert len({(b, k) for b, k, _ in keys}) == len(keys)
    return {k: vs[0].etag for b, k, vs in keys if b == BUCKET}


def _log_bytes(data_dir: str) -> int:
    directory = os.path.join(data_dir, "meta", "log")
    total = 0
    for name in os.listdir(directory):
        try:
            total += os.path.getsize(os.path.join(directory, name))
        except FileNotFoundError:           # compacted away meanwhile (fsync mode: compaction on a thread)
            pass
    return total


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thresholds small enough for a test to pass through many segments and compactions."""
    monkeypatch.setattr(KeyLog, "SEGMENT_LIMIT", 8 * 1024)
    monkeypatch.setattr(KeyLog, "COMPACT_MIN", 16 * 1024)
    monkeypatch.setattr(KeyLog, "COMPACT_STEP", 2 * 1024)


def _operations(count: int, keys: int = 40, seed: int = 1) -> list[tuple[str, str, int]]:
    """(key, etag or "" for a delete, padding): overwrites of a few keys, some deletes, records of varied size."""
    rnd = random.Random(seed)
    return [(f"k{rnd.randrange(keys)}", "" if rnd.random() < 0.1 else f"e{i}", rnd.choice((10, 200, 1500)))
            for i in range(count)]


async def _apply(journal: DiskJournal, ops: list[tuple[str, str, int]], expected: dict[str, str]) -> None:
    for key, etag, size in ops:
        await journal.save_key(BUCKET, key, [_version(key, etag, size)] if etag else [])
        if etag:
            expected[key] = etag
        else:
            expected.pop(key, None)
        await asyncio.sleep(0)               # the compaction step the write scheduled runs


@pytest.mark.parametrize("fsync", [False, True])
def test_compaction_bounds_the_log_and_keeps_every_key(tmp_path: Any, small: None, fsync: bool,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = str(tmp_path)
    journal = DiskJournal(data_dir, fsync)
    journal.load()
    reads: list[int] = []
    real_pread = os.pread

    def pread(fd: int, n: int, offset: int) -> bytes:
        reads.append(n)
        return real_pread(fd, n, offset)

    monkeypatch.setattr(os, "pread", pread)
    steps: list[int] = []
    real_step = KeyLog.compact_step

    def step(self: KeyLog, budget: int = 0) -> None:
        reads.clear()
        real_step(self, budget)
        steps.append(sum(reads))
        assert sum(reads) <= max(budget, KeyLog.COMPACT_STEP) + KeyLog.COMPACT_STEP + 4096   # bounded per request

    monkeypatch.setattr(KeyLog, "compact_step", step)
    expected: dict[str, str] = {}
    peak = 0

    async def run() -> None:
        nonlocal peak
        for chunk in range(30):
            await _apply(journal, _operations(100, seed=chunk), expected)
            peak = max(peak, _log_bytes(data_dir))
        await journal.flush()

    asyncio.run(run())
    assert steps, "compaction never ran"
    log = journal.log
    assert log.total == _log_bytes(data_dir)
    live = sum(location & 0xFFFFFFFF for keys in log.where.values() for location in keys.values())
    assert log.live_total == live == sum(log.live.values())
    _check_counts(log)                         # live bytes and tombstones per segment, as compaction relies on them
    # 3,000 writes of ~2.3 MB in all; the log stays within its bounds (ratio x live + a segment or two).
    assert peak <= KeyLog.COMPACT_RATIO * max(live, KeyLog.COMPACT_MIN) + 3 * KeyLog.SEGMENT_LIMIT, (peak, live)
    assert len(log.sizes) <= peak // KeyLog.SEGMENT_LIMIT + 2
    assert _state(data_dir) == expected


def test_group_commit_one_fsync_for_every_waiting_record(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = str(tmp_path)
    journal = DiskJournal(data_dir, fsync=True)
    journal.load()
    syncs = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        syncs.append(fd)
        real_fsync(fd)

    async def run() -> None:
        await journal.save_key(BUCKET, "first", [_version("first", "e")])     # opens the segment
        monkeypatch.setattr(os, "fsync", fsync)
        await asyncio.gather(*(journal.save_key(BUCKET, f"k{i}", [_version(f"k{i}", f"e{i}")]) for i in range(50)))

    asyncio.run(run())
    assert 1 <= len(syncs) <= 3, syncs          # the first record alone, then the 49 that queued meanwhile
    assert _state(data_dir) == {"first": "e", **{f"k{i}": f"e{i}" for i in range(50)}}


def test_failed_fsync_fails_the_whole_batch_and_leaves_nothing(tmp_path: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = str(tmp_path)
    journal = DiskJournal(data_dir, fsync=True)
    journal.load()
    real_fsync = os.fsync
    failures = [1]

    def fsync(fd: int) -> None:
        if failures:
            failures.pop()
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    async def run() -> list[Any]:
        await journal.save_key(BUCKET, "kept", [_version("kept", "old")])
        monkeypatch.setattr(os, "fsync", fsync)
        results = await asyncio.gather(*(journal.save_key(BUCKET, k, [_version(k, "new")]) for k in ("kept", "x")),
                                       return_exceptions=True)
        await journal.save_key(BUCKET, "after", [_version("after", "ok")])
        return results

    results = asyncio.run(run())
    assert all(isinstance(r, OSError) and r.errno == errno.EIO for r in results), results
    assert _state(data_dir) == {"kept": "old", "after": "ok"}


def test_short_write_on_a_full_disk_is_cut_off(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that stops half-way (ENOSPC after some bytes) is truncated away: the next record follows the last
    good one, and a restart reads every record."""
    data_dir = str(tmp_path)
    journal = DiskJournal(data_dir)
    journal.load()
    asyncio.run(journal.save_key(BUCKET, "a", [_version("a", "1")]))
    real_write = os.write
    calls = [0]

    def write(fd: int, data: Any) -> int:
        calls[0] += 1
        if calls[0] == 1:
            return real_write(fd, memoryview(data)[:len(data) // 3])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", write)
    with pytest.raises(OSError):
        asyncio.run(journal.save_key(BUCKET, "b", [_version("b", "lost")]))
    monkeypatch.setattr(os, "write", real_write)
    asyncio.run(journal.save_key(BUCKET, "c", [_version("c", "3")]))
    assert _state(data_dir) == {"a": "1", "c": "3"}
    assert len(os.listdir(os.path.join(data_dir, "meta", "log"))) == 1


def test_tombstone_is_kept_while_an_earlier_versions_document_remains(tmp_path: Any, small: None,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Compaction drops tombstones, except for a key whose per-key file of an earlier version could not be
    removed: that file would otherwise come back."""
    from tests.mockserver.test_storage_units import _legacy_document

    data_dir = str(tmp_path)
    legacy = _legacy_document(tmp_path, BUCKET, "gone", "legacy", 5)
    journal = DiskJournal(data_dir)
    journal.load()
    from mockserver.storage import disk

    real_remove = disk.atomic_remove

    def remove(path: str, fsync: bool = True) -> None:
        if path == legacy:
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
        real_remove(path, fsync)

    monkeypatch.setattr(disk, "atomic_remove", remove)
    expected: dict[str, str] = {}

    async def run() -> None:
        await journal.save_key(BUCKET, "gone", [])
        await _apply(journal, _operations(1500, keys=5), expected)

    asyncio.run(run())
    assert min(journal.log.sizes) > 1          # the tombstone's segment was compacted
    assert os.path.exists(legacy)
    assert "gone" not in _state(data_dir)      # the tombstone (copied by compaction) still wins
    monkeypatch.setattr(disk, "atomic_remove", real_remove)
    assert "gone" not in _state(data_dir)
    assert not os.path.exists(legacy)          # that load removed it: the log's tombstone is newer


def test_stale_cache_is_not_used_after_compaction(tmp_path: Any, small: None) -> None:
    data_dir = str(tmp_path)
    journal = DiskJournal(data_dir)
    journal.load()
    expected: dict[str, str] = {}
    asyncio.run(_apply(journal, _operations(200, seed=7), expected))
    journal.write_cache((BUCKET, k, [_version(k, e)]) for k, e in expected.items())
    stale = str(tmp_path / "stale.cache")
    shutil.copy(journal.cache_path, stale)
    journal = DiskJournal(data_dir)
    journal.load()
    first = min(journal.log.sizes)
    asyncio.run(_apply(journal, _operations(1500, seed=8), expected))
    assert min(journal.log.sizes) > first       # segments the cache names were compacted away
    shutil.copy(stale, journal.cache_path)
    assert _state(data_dir) == expected


# ----- kill -9 at every step of the key log ------------------------------------------------------------------------

def _run_until_crash(data_dir: str, step: str, fsync: bool, ops: list[tuple[str, str, int]], arm_after: int,
                     concurrent: bool = False) -> list[int]:
    """Applies `ops` in a forked child armed (after `arm_after` operations) to die at `step`; returns the indexes
    of the operations the child saw acknowledged before it died."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:                                       # the child: never returns
        try:
            os.close(read_end)
            journal = DiskJournal(data_dir, fsync)
            journal.load()

            async def one(i: int, key: str, etag: str, size: int) -> None:
                if i == arm_after:
                    crashpoints.arm(step)
                await journal.save_key(BUCKET, key, [_version(key, etag, size)] if etag else [])
                os.write(write_end, f"{i}\n".encode())
                await asyncio.sleep(0)

            async def main() -> None:
                if concurrent:                        # batches of distinct keys written at once (group commit)
                    for start in range(0, len(ops), 10):
                        await asyncio.gather(*(one(i, *ops[i]) for i in range(start, min(start + 10, len(ops)))))
                else:
                    for i, op in enumerate(ops):
                        await one(i, *op)

            asyncio.run(main())
        finally:
            os._exit(1)
    os.close(write_end)
    with os.fdopen(read_end) as f:
        acked = [int(line) for line in f.read().split()]
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == crashpoints.CRASH_STATUS, f"never reached {step}"
    return acked


def _check_after_crash(data_dir: str, ops: list[tuple[str, str, int]], acked: list[int]) -> None:
    """Every key holds its last acknowledged state, or the state of a write not acknowledged after it."""
    state = _state(data_dir)
    done = set(acked)
    for key in {k for k, _, _ in ops}:
        mine = [i for i, op in enumerate(ops) if op[0] == key]
        last_acked = max((i for i in mine if i in done), default=None)
        allowed = {None if last_acked is None or not ops[last_acked][1] else ops[last_acked][1]}
        allowed |= {ops[i][1] or None for i in mine if i not in done and (last_acked is None or i > last_acked)}
        assert state.get(key) in allowed, (key, state.get(key), allowed)
    # The log is usable after the crash: a write and another restart see it.
    journal = DiskJournal(data_dir)
    journal.load()
    asyncio.run(journal.save_key(BUCKET, "after-crash", [_version("after-crash", "ok")]))
    assert _state(data_dir) == {**state, "after-crash": "ok"}


KEY_STEPS = ["meta.key.partial", "meta.key.written"]
COMPACT_STEPS = ["meta.compact.partial", "meta.compact.copied", "meta.compact.removed"]


@pytest.mark.parametrize("fsync", [False, True], ids=["page-cache", "fsync"])
@pytest.mark.parametrize("step", KEY_STEPS + COMPACT_STEPS)
def test_kill_at_every_key_log_step(tmp_path: Any, small: None, step: str, fsync: bool) -> None:
    assert step in crashpoints.STEPS
    data_dir = str(tmp_path)
    ops = _operations(1500, keys=30, seed=3)
    acked = _run_until_crash(data_dir, step, fsync, ops, arm_after=0 if step in COMPACT_STEPS else 700,
                             concurrent=fsync)
    assert acked, "nothing was acknowledged before the crash"
    if step in KEY_STEPS:
        assert len(acked) == 700 or fsync      # died at the armed write (fsync: with the batch it was in)
    _check_after_crash(data_dir, ops, acked)


def test_a_segment_of_another_format_is_left_alone(tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A file named like a segment without the magic (another format, or damage) is not read, not removed and not
    appended to: new records go to a segment numbered after it."""
    data_dir = str(tmp_path)
    journal = DiskJournal(data_dir)
    journal.load()
    asyncio.run(journal.save_key(BUCKET, "a", [_version("a", "1")]))
    foreign = os.path.join(data_dir, "meta", "log", f"{7:016x}.seg")
    with open(foreign, "wb") as f:
        f.write(b"not a key log segment")
    journal = DiskJournal(data_dir)
    journal.load()
    asyncio.run(journal.save_key(BUCKET, "b", [_version("b", "2")]))
    assert "not a segment of this format" in caplog.text
    assert sorted(os.listdir(os.path.join(data_dir, "meta", "log"))) == [f"{n:016x}.seg" for n in (1, 7, 8)]
    with open(foreign, "rb") as f:
        assert f.read() == b"not a key log segment"
    assert _state(data_dir) == {"a": "1", "b": "2"}


# ----- through the server --------------------------------------------------------------------------------------------

def test_server_overwrites_compact_and_restart_whole(tmp_path: Any, small: None) -> None:
    """Many overwrites of a few keys through the server (inline and blob-file bodies): the log is compacted as it
    goes, and after a restart every key holds its last body, with exactly one blob file per file-backed object."""
    from mockserver.server import running_server

    data_dir = str(tmp_path / "data")
    rnd = random.Random(5)
    last: dict[str, bytes] = {}
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client()
        s3.create_bucket(Bucket="compact")
        for i in range(600):
            key = f"k{rnd.randrange(12)}"
            if rnd.random() < 0.1:
                s3.delete_object(Bucket="compact", Key=key)
                last.pop(key, None)
                continue
            body = rnd.randbytes(rnd.choice((100, 3000, 12_000)))
            s3.put_object(Bucket="compact", Key=key, Body=body, Metadata={"i": str(i)})
            last[key] = body
        keylog = srv.app.state.storage.journal.log
        written = sum(os.path.getsize(os.path.join(data_dir, "meta", "log", f)) for f in os.listdir(
            os.path.join(data_dir, "meta", "log")))
        assert keylog.total == written
        assert written <= KeyLog.COMPACT_RATIO * max(keylog.live_total, KeyLog.COMPACT_MIN) + 3 * KeyLog.SEGMENT_LIMIT
        assert keylog.live_total < 100_000 and min(keylog.sizes) > 10       # compacted many times
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client()
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket="compact").get("Contents", [])]
        assert listed == sorted(last)
        for key, body in last.items():
            assert s3.get_object(Bucket="compact", Key=key)["Body"].read() == body
    blobs = [f for _, _, fs in os.walk(os.path.join(data_dir, "blobs")) for f in fs]
    assert len(blobs) == sum(1 for body in last.values() if len(body) > 8 * 1024)


def test_server_with_fsync_concurrent_writers_survive_a_restart(tmp_path: Any) -> None:
    """--fsync: concurrent PUTs are group-committed; every acknowledged one is there after a restart."""
    import concurrent.futures

    from mockserver.server import running_server

    data_dir = str(tmp_path / "data")
    with running_server(data_dir=data_dir, fsync=True) as srv:
        srv.client().create_bucket(Bucket="group")

        def work(worker: int) -> dict[str, bytes]:
            client = srv.client()
            done = {}
            for i in range(15):
                key, body = f"w{worker}-{i % 5}", os.urandom(500 + i)
                client.put_object(Bucket="group", Key=key, Body=body)
                done[key] = body
            return done

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            acknowledged = {k: v for part in pool.map(work, range(8)) for k, v in part.items()}
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client()
        for key, body in acknowledged.items():
            assert s3.get_object(Bucket="group", Key=key)["Body"].read() == body


def test_cache_then_records_after_it_then_a_torn_one(tmp_path: Any, caplog: pytest.LogCaptureFixture,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """With a cache, only the bytes after the cached sizes are read: a record written after the cache counts, a
    torn one after that is ignored, and the next record goes to a new segment."""
    from mockserver.storage.keylog import encode_record

    data_dir = str(tmp_path)
    journal = DiskJournal(data_dir)
    journal.load()
    asyncio.run(journal.save_key(BUCKET, "a", [_version("a", "1")]))
    journal.write_cache([(BUCKET, "a", [_version("a", "1")])])
    [segment] = [os.path.join(data_dir, "meta", "log", f) for f in os.listdir(os.path.join(data_dir, "meta", "log"))]
    later = encode_record(journal._next_generation(), BUCKET, "a", b'[' + b'{"key":"a","version_id":"null"}' + b']')
    with open(segment, "ab") as f:
        f.write(encode_record(journal._next_generation(), BUCKET, "b", b""))     # a tombstone of a key never made
        f.write(later[:-1])                                                      # torn
    cached_size = os.path.getsize(segment) - len(later) + 1 - len(encode_record(1, BUCKET, "b", b""))
    reads: list[int] = []
    real_read = KeyLog.read_segment

    def read_segment(self: KeyLog, number: int, start: int = 0) -> bytes:
        reads.append(start)
        return real_read(self, number, start)

    monkeypatch.setattr(KeyLog, "read_segment", read_segment)
    journal = DiskJournal(data_dir)
    _buckets, keys, _uploads = journal.load()
    assert reads == [cached_size]                   # the cache was used: nothing before its size was read again
    assert [(k, vs[0].etag) for _, k, vs in keys] == [("a", "1")]
    assert "a record cut short or damaged" in caplog.text
    asyncio.run(journal.save_key(BUCKET, "c", [_version("c", "3")]))
    assert len(os.listdir(os.path.join(data_dir, "meta", "log"))) == 2
    assert _state(data_dir) == {"a": "1", "c": "3"}


# ----- what compaction can prove dead, it does not read ---------------------------------------------------------------

def _payload(key: str, generation: int) -> bytes:
    return f'[{{"key":"{key}","g":{generation}}}]'.encode() + b" " * 150


class _Log:
    """A KeyLog driven as DiskJournal drives it (a compaction step after each write), with its reads recorded."""

    def __init__(self, directory: str, monkeypatch: pytest.MonkeyPatch, fsync: bool = False) -> None:
        self.log = KeyLog(directory, fsync)
        self.generation = 0
        self.reads: list[tuple[int, int]] = []      # (segment read, bytes)
        self.opened: list[int] = []                 # segments opened for reading
        self.expected: dict[str, bytes] = {}
        real_pread, real_open = os.pread, os.open
        segments: dict[int, int] = {}

        def pread(fd: int, n: int, offset: int) -> bytes:
            self.reads.append((segments.get(fd, -1), n))
            return real_pread(fd, n, offset)

        def open_(path: str, flags: int, *args: Any) -> int:
            fd = real_open(path, flags, *args)
            if path.endswith(".seg") and flags == os.O_RDONLY:
                segments[fd] = int(os.path.basename(path)[:16], 16)
                self.opened.append(segments[fd])
            return fd

        monkeypatch.setattr(os, "pread", pread)
        monkeypatch.setattr(os, "open", open_)

    def write(self, key: str, delete: bool = False) -> None:
        self.generation += 1
        payload = b"" if delete else _payload(key, self.generation)
        self.log.append([(BUCKET, key, encode_record(self.generation, BUCKET, key, payload), delete)])
        if delete:
            self.expected.pop(key, None)
        else:
            self.expected[key] = payload
        if self.log.compaction_due():
            self.log.compact_step(2 * len(payload))

    def state(self) -> dict[str, bytes]:
        """What a restart loads: per key the highest generation's payload (tombstones: absent)."""
        fresh = KeyLog(self.log.dir)
        winners: dict[str, tuple[int, bytes]] = {}
        for _segment, data, records in fresh.scan():
            for r in records:
                if r.bucket == BUCKET and r.generation >= winners.get(r.key, (-1, b""))[0]:
                    winners[r.key] = (r.generation, payload_of(data, r.offset, r.length))
        return {key: payload for key, (_g, payload) in winners.items() if payload}


def _check_counts(log: KeyLog) -> None:
    """The index's counts match the files: per segment its live bytes, and its tombstones not yet passed by
    compaction (a segment behind the index cache: UNCOUNTED or more)."""
    live = {segment: 0 for segment in log.sizes}
    for keys in log.where.values():
        for location in keys.values():
            live[location >> 64] += location & 0xFFFFFFFF
    assert live == log.live
    for segment, size in log.sizes.items():
        start = log._compacting[1] if log._compacting and log._compacting[0] == segment else len(MAGIC)
        data = log.read_segment(segment)
        records, used, damaged = parse_records(memoryview(data)[start:size], start)
        assert start + used == size and not damaged
        tombstones = sum(1 for r in records if r.start == r.end)
        assert log.tombstones[segment] == tombstones or log.tombstones[segment] >= UNCOUNTED, (segment, tombstones)


def _fill_first_segment(w: _Log, keys: list[str]) -> None:
    """Segment 1 full (sealed) of records of `keys`, before compaction is due."""
    i = 0
    while not w.log.sizes or w.log._fd is not None:
        w.log.append([(BUCKET, keys[i % len(keys)], encode_record(w.generation + 1, BUCKET, keys[i % len(keys)],
                                                                    _payload(keys[i % len(keys)], w.generation + 1)),
                       False)])
        w.generation += 1
        w.expected[keys[i % len(keys)]] = _payload(keys[i % len(keys)], w.generation)
        i += 1
    assert list(w.log.sizes) == [1] and not w.log.compaction_due()        # sealed at SEGMENT_LIMIT


def test_a_segment_with_nothing_live_is_removed_unread(tmp_path: Any, small: None,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    w = _Log(str(tmp_path), monkeypatch)
    keys = [f"k{i}" for i in range(8)]
    _fill_first_segment(w, keys)
    while not w.log.compaction_due():      # every key written again: segment 1 holds only dead records
        for key in keys:
            w.log.append([(BUCKET, key, encode_record(w.generation + 1, BUCKET, key, _payload(key, 0)), False)])
            w.generation += 1
            w.expected[key] = _payload(key, 0)
    assert w.log.live[1] == 0 and w.log.tombstones[1] == 0
    w.log.compact_step(1)
    assert 1 not in w.log.sizes and not os.path.exists(w.log.path(1))
    assert w.opened == [] and w.reads == []          # never opened, never read
    _check_counts(w.log)
    assert w.state() == w.expected


def test_the_rest_of_a_segment_is_not_read_once_nothing_in_it_is_live(tmp_path: Any, small: None,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A live record at the start of the oldest segment is copied (its step read); the rest, dead, is not read."""
    w = _Log(str(tmp_path), monkeypatch)
    w.write("static")
    _fill_first_segment(w, [f"k{i}" for i in range(8)])
    size = w.log.sizes[1]
    while not w.log.compaction_due():
        for i in range(8):
            w.log.append([(BUCKET, f"k{i}", encode_record(w.generation + 1, BUCKET, f"k{i}", _payload("x", 0)),
                           False)])
            w.generation += 1
            w.expected[f"k{i}"] = _payload("x", 0)
    w.log.compact_step(KeyLog.COMPACT_STEP)           # reads a step: "static" copied
    w.log.compact_step(1)                             # nothing live left: the rest is not read
    assert 1 not in w.log.sizes
    assert w.reads == [(1, KeyLog.COMPACT_STEP)] and size > 3 * KeyLog.COMPACT_STEP      # the first step only
    assert w.log.where[BUCKET]["static"] >> 64 > 1                                     # copied to the head
    _check_counts(w.log)
    assert w.state() == w.expected


def test_overwriting_a_few_keys_compacts_without_reading_the_log(tmp_path: Any, small: None,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The bench's load (a few keys written round-robin, one written once): the log is compacted over and over;
    compaction reads one step of each segment it removes (where the key written once is), not the segment."""
    w = _Log(str(tmp_path), monkeypatch)
    w.write("object-1k")
    for i in range(3000):
        w.write(f"put-{i % 8}")
        if i % 500 == 0:
            _check_counts(w.log)
    removed = w.log._top - len(w.log.sizes)
    assert removed > 40                                    # compacted many times
    read = sum(n for _, n in w.reads)
    assert read <= (removed + 1) * KeyLog.COMPACT_STEP < removed * KeyLog.SEGMENT_LIMIT // 3, (read, removed)
    _check_counts(w.log)
    assert w.state() == w.expected


def test_dead_records_are_passed_on_their_headers_live_ones_checked(tmp_path: Any, small: None,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    """Compaction checks the crc of what it copies, not of what it passes: a damaged dead record (damage after
    the load that checked it) changes nothing; a damaged live record is not copied (and is reported)."""
    for damaged in ("dead", "live"):
        directory = str(tmp_path / damaged)
        w = _Log(directory, monkeypatch)
        w.write("first")                     # its record: dead (written again below) or live
        _fill_first_segment(w, [f"k{i}" for i in range(4)] + ["late"])
        if damaged == "dead":
            w.write("first")
        with open(w.log.path(1), "r+b") as f:        # a byte of the first record's payload
            f.seek(len(MAGIC) + 40)
            byte = f.read(1)
            f.seek(len(MAGIC) + 40)
            f.write(bytes([byte[0] ^ 0xFF]))
        while 1 in w.log.sizes:
            w.write(f"k{w.generation % 4}")
        if damaged == "dead":
            assert w.state() == w.expected and "live bytes left" not in caplog.text
        else:
            assert "live bytes left in segment 1" in caplog.text
            for segment in w.log.sizes:               # nothing damaged was copied
                data = w.log.read_segment(segment)
                assert parse_records(memoryview(data)[len(MAGIC):], len(MAGIC))[1] + len(MAGIC) == len(data)


def test_tombstones_behind_the_index_cache_are_not_skipped(tmp_path: Any, small: None,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A segment read only in part at load (the index cache covers the rest) may hold tombstones compaction must
    keep: it is read, not removed unread, even when none of its bytes are live."""
    directory = str(tmp_path)
    w = _Log(directory, monkeypatch)
    w.write("gone", delete=True)
    _fill_first_segment(w, [f"k{i}" for i in range(4)])
    sizes = dict(w.log.sizes)
    w.log.close()
    log = KeyLog(directory)
    log.keep_tombstone = lambda bucket, key: key == "gone"      # a per-key file of an earlier version remains
    for _segment, _data, _records in log.scan(resume=sizes):       # as the journal loads with a cache
        pass
    for key in w.expected:
        location = w.log.where[BUCKET][key]
        log.place_loaded(BUCKET, key, location)
    assert log.tombstones[1] >= UNCOUNTED
    w.log = log
    while 1 in log.sizes:
        w.write(f"k{w.generation % 4}")
    assert (1, KeyLog.COMPACT_STEP) in w.reads                     # segment 1 was read
    fresh = KeyLog(directory)
    kept = [r for _s, _d, records in fresh.scan() for r in records if r.key == "gone"]
    assert len(kept) == 1 and kept[0].start == kept[0].end            # the tombstone was copied
    assert w.state() == w.expected


@pytest.mark.parametrize("fsync", [False, True], ids=["page-cache", "fsync"])
@pytest.mark.parametrize("step", COMPACT_STEPS)
def test_kill_while_compacting_segments_removed_unread(tmp_path: Any, small: None, step: str, fsync: bool) -> None:
    """kill -9 at every compaction step of the bench's load (most segments removed unread): nothing is lost."""
    data_dir = str(tmp_path)
    ops = [("static", "s", 10)] + [(f"k{i % 6}", f"e{i}", 200) for i in range(1500)]
    acked = _run_until_crash(data_dir, step, fsync, ops, arm_after=300, concurrent=fsync)
    assert acked, "nothing was acknowledged before the crash"
    _check_after_crash(data_dir, ops, acked)


def test_fsync_copies_are_durable_before_a_segment_is_removed(tmp_path: Any, small: None,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """fsync mode: a segment compaction removes, read or not, goes only after the head (holding its copies) is
    fsynced, and the removal is made durable (the directory fsynced)."""
    events: list[tuple[str, Any]] = []
    w = _Log(str(tmp_path), monkeypatch, fsync=True)
    real_fsync, real_unlink, real_write = os.fsync, os.unlink, os.write
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", fd)), real_fsync(fd))[1])
    monkeypatch.setattr(os, "unlink", lambda path: (events.append(("unlink", path)), real_unlink(path))[1])
    monkeypatch.setattr(os, "write", lambda fd, data: (events.append(("write", fd)), real_write(fd, data))[1])
    w.write("static")
    for i in range(600):
        w.write(f"k{i % 8}")
    removals = [i for i, (kind, path) in enumerate(events) if kind == "unlink" and str(path).endswith(".seg")]
    assert len(removals) > 10
    for at in removals:
        before = events[:at]
        writes = [i for i, (kind, _fd) in enumerate(before) if kind == "write"]
        last_write_fd = before[writes[-1]][1]
        assert ("fsync", last_write_fd) in before[writes[-1]:], "the copies were not durable before the removal"
        assert events[at + 1][0] == "fsync"           # the directory
    _check_counts(w.log)
    assert w.state() == w.expected


def test_compaction_keeps_pace_with_writes_between_its_steps(tmp_path: Any, small: None,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A server runs one compaction step per event loop turn, after several concurrent writes, passing the budget
    of one: compaction counts every byte appended while it runs, so the log stays within its bounds."""
    w = _Log(str(tmp_path), monkeypatch)
    log = w.log
    rnd = random.Random(11)
    peak = 0
    for i in range(6000):
        w.generation += 1
        key = f"k{rnd.randrange(40)}"
        payload = _payload(key, w.generation)
        log.append([(BUCKET, key, encode_record(w.generation, BUCKET, key, payload), False)])
        w.expected[key] = payload
        if i % 8 == 7 and log.compaction_due():
            log.compact_step(2 * len(payload))
        peak = max(peak, log.total)
    assert log._top - len(log.sizes) > 50                  # compacted many times
    assert peak <= KeyLog.COMPACT_RATIO * max(log.live_total, KeyLog.COMPACT_MIN) + 3 * KeyLog.SEGMENT_LIMIT, peak
    _check_counts(log)
    assert w.state() == w.expected


def test_compaction_is_due_only_when_a_step_has_work(tmp_path: Any, small: None,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """While a segment is under way, a write path is asked for a step only once the budget makes a step (or no
    read is needed): no step is scheduled for nothing."""
    w = _Log(str(tmp_path), monkeypatch)

    def put(key: str) -> None:             # no compaction step after it
        w.generation += 1
        w.expected[key] = _payload(key, w.generation)
        w.log.append([(BUCKET, key, encode_record(w.generation, BUCKET, key, w.expected[key]), False)])

    put("static")
    _fill_first_segment(w, [f"k{i}" for i in range(8)])
    while not w.log.compaction_due():
        put(f"k{w.generation % 8}")
    w.log.compact_step(1)                       # starts segment 1: "static" is live in it, the budget is short
    assert w.log._compacting == [1, len(MAGIC)] and w.reads == []
    assert not w.log.compaction_due()
    appended = 0
    while not w.log.compaction_due():           # writes of other keys add budget until it makes a step
        before = w.log.total
        put(f"k{w.generation % 8}")
        appended += w.log.total - before
    assert KeyLog.COMPACT_STEP // 2 <= appended < KeyLog.COMPACT_STEP // 2 + 400
    w.log.compact_step(1)
    assert w.reads == [(1, KeyLog.COMPACT_STEP)] and not w.log.compaction_due()    # "static" copied
    assert 1 not in w.log.sizes or w.log.live[1] == 0
    put("k0")
    if 1 in w.log.sizes:                        # nothing in segment 1 is live: due at once, removed unread
        assert w.log.compaction_due()
        w.log.compact_step(1)
    assert 1 not in w.log.sizes and len(w.reads) == 1
    assert w.state() == w.expected


def test_records_longer_than_a_step(tmp_path: Any, small: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A live record longer than a step is read whole and copied; a dead one is passed on its header, unread."""
    w = _Log(str(tmp_path), monkeypatch)
    big = b"[" + b" " * (KeyLog.COMPACT_STEP * 3 // 2) + b"]"

    def put(key: str, payload: bytes) -> None:
        w.generation += 1
        w.expected[key] = payload
        w.log.append([(BUCKET, key, encode_record(w.generation, BUCKET, key, payload), False)])

    put("dead-big", big)
    put("live-big", big)
    put("static", _payload("static", 0))
    put("dead-big", _payload("dead-big", 0))
    _fill_first_segment(w, [f"k{i}" for i in range(4)])
    while not w.log.compaction_due():
        put(f"k{w.generation % 4}", _payload("k", w.generation))
    while 1 in w.log.sizes:
        w.log.compact_step(KeyLog.COMPACT_STEP)
    first = encode_record(1, BUCKET, "dead-big", big)
    # "dead-big" (first in the segment): a step read its header and names, the next step begins after it; the
    # next step finds "live-big" cut short and reads it whole
    assert [n for _, n in w.reads][:3] == [KeyLog.COMPACT_STEP, KeyLog.COMPACT_STEP, len(first)]
    assert w.log.where[BUCKET]["live-big"] >> 64 > 1 and w.log.where[BUCKET]["static"] >> 64 > 1
    _check_counts(w.log)
    assert w.state() == w.expected
