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
from mockserver.storage.keylog import KeyLog

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
