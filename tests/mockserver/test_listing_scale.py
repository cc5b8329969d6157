"""Listings seek in the sorted key index (no scan of the bucket): the pages they return are the ones a plain scan
of every key gives (the reference implementations below are the scanning versions they replaced), for random
buckets with common prefixes, delete markers and several versions per key; paging through a bucket returns
every key once, in order; and a restart loads the index sorted."""
from __future__ import annotations

import asyncio
import json
import os
import random

import pytest

from mockserver.handlers.listing import walk, walk_versions
from mockserver.storage.base import BucketIndex, ObjectVersion, Storage, prefix_end
from mockserver.storage.disk import _digest, disk_storage
from mockserver.storage.memory import memory_storage


def reference_walk(index: BucketIndex, prefix: str, delimiter: str, after: str | None, max_keys: int):
    out: list = []
    skip_prefix = after if (delimiter and after and after.endswith(delimiter) and after.startswith(prefix)) else None
    last_prefix = None
    for key in sorted(index.versions):
        if not key.startswith(prefix) or (after is not None and key <= after):
            continue
        if skip_prefix is not None and key.startswith(skip_prefix):
            continue
        latest = index.versions[key][0]
        if latest.delete_marker:
            continue
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                if common == last_prefix:
                    continue
                if len(out) >= max_keys:
                    return out, True
                out.append(common)
                last_prefix = common
                continue
        if len(out) >= max_keys:
            return out, True
        out.append(latest)
    return out, False


def reference_versions(index: BucketIndex, prefix: str, delimiter: str, key_marker: str, version_marker: str,
                       max_keys: int):
    found: list = []
    prefixes: list[str] = []
    count = 0
    truncated = False
    next_key = next_version = None
    skip_prefix = key_marker if (delimiter and key_marker.endswith(delimiter)) else None
    last_prefix = None
    for key in sorted(index.versions):
        if not key.startswith(prefix):
            continue
        if key_marker and (key < key_marker or (key == key_marker and not version_marker)):
            continue
        if skip_prefix is not None and key.startswith(skip_prefix):
            continue
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                if common == last_prefix:
                    continue
                if count >= max_keys:
                    truncated = True
                    break
                prefixes.append(common)
                last_prefix = common
                count += 1
                next_key, next_version = common, None
                continue
        skipping = key == key_marker and bool(version_marker)
        for i, v in enumerate(index.versions[key]):
            if skipping:
                if v.version_id == version_marker:
                    skipping = False
                continue
            if count >= max_keys:
                truncated = True
                break
            found.append((key, i == 0, v))
            count += 1
            next_key, next_version = key, v.version_id
        if truncated:
            break
    return found, prefixes, truncated, next_key, next_version


ALPHABET = ["a", "b", "/", "-", "z", "é", "\U0010ffff", "0"]


def random_bucket(rng: random.Random, n: int) -> Storage:
    storage = memory_storage()
    index = BucketIndex()
    storage.index["b"] = index
    for _ in range(n):
        key = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 6)))
        versions = [ObjectVersion(key, f"v{j}", 0.0, "o", delete_marker=rng.random() < 0.2)
                    for j in range(rng.randint(1, 3))]
        index.set(key, versions)
    return storage


def random_word(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 3)))


def test_prefix_end():
    assert prefix_end("a/") == "a0"
    assert prefix_end("a\U0010ffff") == "b"
    assert prefix_end("\U0010ffff") is None
    assert prefix_end("") is None


@pytest.mark.parametrize("seed", range(6))
def test_walk_matches_a_full_scan(seed):
    rng = random.Random(seed)
    storage = random_bucket(rng, 300)
    index = storage.index["b"]
    assert index.sorted_keys == sorted(index.versions)
    for _ in range(400):
        prefix, delimiter = random_word(rng), rng.choice(["", "/", "/", "a", "ab"])
        after = rng.choice([None, random_word(rng), rng.choice(index.sorted_keys)])
        if after is not None and rng.random() < 0.3 and delimiter:
            after = after + delimiter
        max_keys = rng.choice([0, 1, 2, 5, 1000])
        assert walk(storage, "b", prefix, delimiter, after, max_keys) == \
            reference_walk(index, prefix, delimiter, after, max_keys), (prefix, delimiter, after, max_keys)


@pytest.mark.parametrize("seed", range(6))
def test_version_walk_matches_a_full_scan(seed):
    rng = random.Random(seed)
    index = random_bucket(rng, 300).index["b"]
    for _ in range(400):
        prefix, delimiter = random_word(rng), rng.choice(["", "/", "/", "a"])
        key_marker = rng.choice(["", random_word(rng), rng.choice(index.sorted_keys)])
        if key_marker and delimiter and rng.random() < 0.3:
            key_marker += delimiter
        version_marker = rng.choice(["", "v0", "v1", "v2", "nope"]) if key_marker else ""
        max_keys = rng.choice([0, 1, 3, 1000])
        assert walk_versions(index, prefix, delimiter, key_marker, version_marker, max_keys) == \
            reference_versions(index, prefix, delimiter, key_marker, version_marker, max_keys)


def test_paging_through_many_keys_returns_each_once_in_order():
    storage = memory_storage()
    index = BucketIndex()
    storage.index["b"] = index
    keys = [f"d{i % 7}/k{i:05d}" for i in range(5000)]
    random.Random(1).shuffle(keys)
    for key in keys:
        index.set(key, [ObjectVersion(key, "null", 0.0, "o")])
    seen: list[str] = []
    after = None
    while True:
        out, truncated = walk(storage, "b", "", "", after, 333)
        seen += [v.key for v in out]
        if not truncated:
            break
        after = seen[-1]
    assert seen == sorted(keys)
    prefixes, truncated = walk(storage, "b", "", "/", None, 1000)
    assert prefixes == [f"d{i}/" for i in range(7)] and not truncated
    page, truncated = walk(storage, "b", "", "/", None, 3)
    assert page == ["d0/", "d1/", "d2/"] and truncated
    page, truncated = walk(storage, "b", "", "/", "d2/", 3)
    assert page == ["d3/", "d4/", "d5/"] and truncated


def test_restart_loads_the_index_sorted(tmp_path):
    async def fill() -> None:
        storage = disk_storage(str(tmp_path))
        from mockserver.storage.base import Bucket
        await storage.save_bucket(Bucket("b", "o", "us-east-1", 0.0))
        names = [f"k{i:04d}" for i in range(300)]
        random.Random(2).shuffle(names)
        for name in names:
            await storage.put_version("b", ObjectVersion(name, "null", 0.0, "o"))
        await storage.delete_version("b", "k0150", "null")

    asyncio.run(fill())
    index = disk_storage(str(tmp_path)).index["b"]
    expected = [f"k{i:04d}" for i in range(300) if i != 150]
    assert index.sorted_keys == expected
    assert sorted(index.versions) == expected


def _part_files(root) -> list[str]:
    return sorted(f for _, _, fs in os.walk(os.path.join(root, "meta", "parts")) for f in fs)


def test_upload_parts_are_documents_of_their_own(tmp_path):
    """UploadPart writes its part's document only (the upload's document does not grow with its parts); a restart
    puts the parts back; aborting removes them; part documents whose upload is gone (a crash in between) are
    removed at load."""
    from mockserver.storage.base import Bucket, Part, Upload

    async def create() -> None:
        storage = disk_storage(str(tmp_path))
        await storage.save_bucket(Bucket("b", "o", "us-east-1", 0.0))
        for upload_id in ("u1", "u2"):
            upload = Upload(upload_id, "b", "k", 0.0, "o")
            await storage.save_upload(upload)
            for n in (3, 1, 2, 2):
                await storage.put_part(upload, Part(n, "", 1, f"etag-{n}-{len(upload.parts)}", {}, 0.0, b"x"))

    asyncio.run(create())
    assert len(_part_files(tmp_path)) == 6
    storage = disk_storage(str(tmp_path))
    upload = storage.uploads["u1"]
    assert list(upload.parts) == [1, 2, 3]
    assert upload.parts[2].etag == "etag-2-3"            # the replaced part is the later one
    for _, _, files in os.walk(os.path.join(tmp_path, "meta", "uploads")):
        for name in files:
            with open(os.path.join(tmp_path, "meta", "uploads", name)) as fh:
                assert json.load(fh)["parts"] == []

    async def finish() -> None:
        await storage.delete_upload("u1")
        journal = storage.journal
        # u2: the upload's document goes, then a crash before its part documents are removed
        await journal._write("upload", os.path.join(journal.meta, "uploads", _digest("u2")), None)  # type: ignore[attr-defined]

    asyncio.run(finish())
    assert len(_part_files(tmp_path)) == 3
    again = disk_storage(str(tmp_path))
    assert again.uploads == {}
    assert _part_files(tmp_path) == []
