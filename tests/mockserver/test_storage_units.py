"""Storage units: the disk journal's recovery rules and the listing index."""
from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os

from mockserver.storage import disk
from mockserver.storage.base import BucketIndex, ObjectVersion
from mockserver.storage.disk import DiskJournal
from mockserver.storage.keylog import encode_record


def _version(key: str, etag: str) -> ObjectVersion:
    return ObjectVersion(key=key, version_id="null", last_modified=1.0, owner_id="111122223333", etag=etag)


def _segments(root) -> list[str]:
    return sorted(str(p) for p in (root / "meta" / "log").glob("*.seg"))


def test_journal_keeps_newest_complete_record(tmp_path):
    journal = DiskJournal(str(tmp_path))
    asyncio.run(journal.save_key("b", "k", [_version("k", "first")]))
    asyncio.run(journal.save_key("b", "k", [_version("k", "second")]))
    assert not (tmp_path / "meta" / "keys").exists()          # no per-key files any more
    [segment] = _segments(tmp_path)
    # A newer record cut short by a kill -9 (its header says more bytes than follow) must not win.
    torn = encode_record(journal._next_generation(), "b", "k", b'[{"key":"k"}]')
    with open(segment, "ab") as f:
        f.write(torn[:len(torn) - 5])
    journal = DiskJournal(str(tmp_path))
    _, keys, _ = journal.load()
    assert [(b, k, [v.etag for v in vs]) for b, k, vs in keys] == [("b", "k", ["second"])]
    # The torn segment is not appended to again: the next record starts a new segment, and both load.
    asyncio.run(journal.save_key("b", "k2", [_version("k2", "third")]))
    assert len(_segments(tmp_path)) == 2
    _, keys, _ = DiskJournal(str(tmp_path)).load()
    assert sorted((k, [v.etag for v in vs]) for _, k, vs in keys) == [("k", ["second"]), ("k2", ["third"])]


def test_journal_ignores_a_record_whose_checksum_fails(tmp_path):
    journal = DiskJournal(str(tmp_path))
    asyncio.run(journal.save_key("b", "k", [_version("k", "first")]))
    size = os.path.getsize(_segments(tmp_path)[0])
    asyncio.run(journal.save_key("b", "k", [_version("k", "second")]))
    with open(_segments(tmp_path)[0], "r+b") as f:           # one byte of the second record's JSON flipped
        f.seek(os.path.getsize(f.name) - 3)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x20]))
    journal = DiskJournal(str(tmp_path))
    _, keys, _ = journal.load()
    assert [v.etag for v in keys[0][2]] == ["first"]
    assert journal.log.sizes == {1: size}


def _legacy_document(root, bucket: str, key: str, etag: str, generation: int) -> str:
    digest = hashlib.sha256(f"{bucket}\0{key}".encode()).hexdigest()
    directory = root / "meta" / "keys" / digest[:2]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{digest}.{generation:016x}.json"
    path.write_text(json.dumps({"bucket": bucket, "key": key, "versions": [_version(key, etag).to_json()]}))
    return str(path)


def test_key_documents_of_an_earlier_version_load_and_migrate(tmp_path):
    """Per-key files of an earlier version load; the highest generation wins between them and the log; a file is
    removed once its key has a record in the log (written again), or at load when the log's record is newer."""
    old = _legacy_document(tmp_path, "b", "old", "legacy", 5)
    journal = DiskJournal(str(tmp_path))
    asyncio.run(journal.save_key("b", "newer", [_version("newer", "log")]))
    stale = _legacy_document(tmp_path, "b", "newer", "superseded", 5)      # older than the log's record
    newest = _legacy_document(tmp_path, "b", "downgraded", "file", 2**62)  # newer than anything in the log
    asyncio.run(journal.save_key("b", "downgraded", [_version("downgraded", "log")]))
    journal = DiskJournal(str(tmp_path))
    _, keys, _ = journal.load()
    assert {k: [v.etag for v in vs] for _, k, vs in keys} == {"old": ["legacy"], "newer": ["log"],
                                                               "downgraded": ["file"]}
    assert not os.path.exists(stale) and os.path.exists(old) and os.path.exists(newest)
    assert journal._generation >= 2**62                        # later records stay newer than every file
    asyncio.run(journal.save_key("b", "old", [_version("old", "rewritten")]))
    assert not os.path.exists(old)                             # migrated
    asyncio.run(journal.save_key("b", "downgraded", []))      # deleted: its file goes, the tombstone wins
    assert not os.path.exists(newest)
    _, keys, _ = DiskJournal(str(tmp_path)).load()
    assert {k: [v.etag for v in vs] for _, k, vs in keys} == {"old": ["rewritten"], "newer": ["log"]}


def test_journal_delete_removes_document(tmp_path):
    journal = DiskJournal(str(tmp_path))
    asyncio.run(journal.save_key("b", "k", [_version("k", "x")]))
    asyncio.run(journal.save_key("b", "k", []))
    assert DiskJournal(str(tmp_path)).load()[1] == []


def test_bucket_index_listing_order():
    index = BucketIndex()
    for key in ["b", "a/2", "a/1", "c", "ab"]:
        index.set(key, [_version(key, "e")])
    assert list(index.keys_from("", None)) == ["a/1", "a/2", "ab", "b", "c"]
    assert list(index.keys_from("a", "a/1")) == ["a/2", "ab"]
    assert list(index.keys_from("a/", None)) == ["a/1", "a/2"]
    index.set("a/1", [])
    assert list(index.keys_from("", None)) == ["a/2", "ab", "b", "c"]


def test_journal_names_key_documents_by_digest_bytes(tmp_path):
    """Key documents of an earlier version are tracked by their digest's 32 bytes (memory per stored object);
    anything else, and a file in meta/keys that is not named by a lowercase digest, by its path."""
    journal = DiskJournal(str(tmp_path))
    digest = "ab" * 32
    assert journal._name(os.path.join(journal.keys_dir, "ab", digest)) == bytes.fromhex(digest)
    for odd in (digest.upper(), digest[:-2], "zz" * 32, ("ab " * 22)[:64]):
        path = os.path.join(journal.keys_dir, "ab", odd)
        assert journal._name(path) == path
    upload = os.path.join(journal.uploads_dir, digest)
    assert journal._name(upload) == upload


def test_index_keeps_one_version_itself_and_lists_on_access():
    index = BucketIndex()
    a, b = _version("k", "a"), _version("k", "b")
    index.set("k", [a])
    assert index.entries["k"] is a and index.versions["k"] == [a] and index.latest("k") is a
    index.set("k", [b, a])
    assert index.entries["k"] == [b, a] and index.versions.get("k") == [b, a] and index.latest("k") is b
    assert list(index.all_versions()) == [b, a] and "k" in index.versions and len(index.versions) == 1
    index.set("k", [])
    assert index.latest("k") is None and index.versions.get("k") is None and index.sorted_keys == []


def test_journal_documents_encode_as_json_dumps() -> None:
    """The journal's reused C encoder writes the bytes json.dumps(separators=(",", ":")) writes."""
    import json

    from mockserver.storage.disk import _encode_document
    documents = [{}, {"a": float("nan"), "b": [1, 2.5, -0.0, 1e300, {"x": None, "y": True}], "c": "é\u2028\x00\"\\\udc80",
                      "d": {"k": [], "l": {}}}]
    for document in documents:
        assert _encode_document(document) == json.dumps(document, separators=(",", ":")).encode()


def test_a_deleted_key_whose_earlier_document_stays_is_not_brought_back_by_the_index_cache(tmp_path, monkeypatch):
    """A key of an earlier version's document is deleted, and the document cannot be removed (its tombstone in the
    log is what keeps it deleted): the index cache names only keys that exist and skips the log it covers, so it is
    not written then (the next start reads the log) and the key stays deleted. Found by the keylog3 review."""
    legacy = _legacy_document(tmp_path, "b", "gone", "legacy", 5)
    real_remove = disk.atomic_remove

    def remove(path: str, fsync: bool = True) -> None:
        if path == legacy:
            raise OSError(errno.EACCES, "denied")
        real_remove(path, fsync)
    monkeypatch.setattr(disk, "atomic_remove", remove)
    journal = DiskJournal(str(tmp_path))
    journal.load()
    asyncio.run(journal.save_key("b", "gone", []))
    asyncio.run(journal.save_key("b", "kept", [_version("kept", "1")]))
    journal.write_cache([("b", "kept", [_version("kept", "1")])])
    assert not os.path.exists(os.path.join(str(tmp_path), "index.cache"))
    _buckets, keys, _uploads = DiskJournal(str(tmp_path)).load()
    assert {k: vs[0].etag for _b, k, vs in keys} == {"kept": "1"}
    assert os.path.exists(legacy)          # still there (removal refused): the tombstone keeps deciding
