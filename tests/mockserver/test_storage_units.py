"""Storage units: the disk journal's recovery rules and the listing index."""
from __future__ import annotations

import asyncio
import os

from mockserver.storage.base import BucketIndex, ObjectVersion
from mockserver.storage.disk import DiskJournal


def _version(key: str, etag: str) -> ObjectVersion:
    return ObjectVersion(key=key, version_id="null", last_modified=1.0, owner_id="111122223333", etag=etag)


def test_journal_keeps_newest_complete_generation(tmp_path):
    journal = DiskJournal(str(tmp_path))
    asyncio.run(journal.save_key("b", "k", [_version("k", "first")]))
    asyncio.run(journal.save_key("b", "k", [_version("k", "second")]))
    files = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path / "meta" / "keys") for f in fs]
    assert len(files) == 1
    current = files[0]
    # A newer generation cut short by a kill -9 (partial JSON) must not win over the complete one.
    digest, generation, _ = os.path.basename(current).split(".")
    broken = os.path.join(os.path.dirname(current), f"{digest}.{int(generation, 16) + 1:016x}.json")
    with open(broken, "wb") as f:
        f.write(b'{"bucket": "b", "key": "k", "vers')
    _, keys, _ = DiskJournal(str(tmp_path)).load()
    assert [(b, k, [v.etag for v in vs]) for b, k, vs in keys] == [("b", "k", ["second"])]
    assert not os.path.exists(broken)
    # And an older generation left by a kill -9 between write and unlink is dropped.
    older = os.path.join(os.path.dirname(current), f"{digest}.{1:016x}.json")
    with open(older, "w") as f:
        f.write('{"bucket": "b", "key": "k", "versions": []}')
    _, keys, _ = DiskJournal(str(tmp_path)).load()
    assert [v.etag for v in keys[0][2]] == ["second"] and not os.path.exists(older)


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
    """Key documents are tracked by their digest's 32 bytes (memory per stored object); anything else, and a file
    in meta/keys that is not named by a lowercase digest, by its path."""
    journal = DiskJournal(str(tmp_path))
    digest = "ab" * 32
    assert journal._name(os.path.join(journal.keys_dir, "ab", digest)) == bytes.fromhex(digest)
    for odd in (digest.upper(), digest[:-2], "zz" * 32, ("ab " * 22)[:64]):
        path = os.path.join(journal.keys_dir, "ab", odd)
        assert journal._name(path) == path
    upload = os.path.join(journal.uploads_dir, digest)
    assert journal._name(upload) == upload
    asyncio.run(journal.save_key("b", "k", [_version("k", "first")]))
    asyncio.run(journal.save_key("b", "k", [_version("k", "second")]))     # the first generation is unlinked
    files = [f for _, _, fs in os.walk(tmp_path / "meta" / "keys") for f in fs]
    assert len(files) == 1 and list(journal._current) == [bytes.fromhex(files[0].split(".")[0])]


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
