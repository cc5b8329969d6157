"""--data-dir index cache (<data dir>/index.cache): a clean shutdown writes it, the next start reads it instead of
parsing every key document, and it never decides what exists: documents written, changed or removed after it
(a run killed before its shutdown, or a version that knows no cache) win; a broken cache is ignored."""
from __future__ import annotations

import json
import os
import shutil
from typing import Any

import pytest

from mockserver.server import running_server
from mockserver.storage import disk
from mockserver.storage.disk import disk_storage


def _put_all(s3: Any, bucket: str, bodies: dict[str, bytes]) -> None:
    for key, body in bodies.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata={"n": str(len(body))})


def _check(s3: Any, bucket: str, bodies: dict[str, bytes]) -> None:
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert listed == sorted(bodies)
    for key, body in bodies.items():
        got = s3.get_object(Bucket=bucket, Key=key)
        assert (got["Body"].read(), got["Metadata"]) == (body, {"n": str(len(body))}), key


def test_clean_shutdown_writes_cache_and_next_start_uses_it(tmp_path: Any, monkeypatch: Any) -> None:
    data_dir = str(tmp_path / "data")
    bodies = {f"k{i}": os.urandom(i * 700) for i in range(30)}       # inline and blob-file objects
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client()
        s3.create_bucket(Bucket="bkt")
        s3.put_bucket_versioning(Bucket="bkt", VersioningConfiguration={"Status": "Enabled"})
        _put_all(s3, "bkt", bodies)
        s3.put_object(Bucket="bkt", Key="k1", Body=b"older version", ServerSideEncryption="AES256")
        _put_all(s3, "bkt", {"k1": bodies["k1"]})
        uid = s3.create_multipart_upload(Bucket="bkt", Key="mp")["UploadId"]
        s3.upload_part(Bucket="bkt", Key="mp", UploadId=uid, PartNumber=1, Body=b"part")
    cache = os.path.join(data_dir, "index.cache")
    assert os.path.exists(cache)
    parsed: list[Any] = []
    real = disk.ObjectVersion.from_json

    def counting(data: Any) -> Any:
        parsed.append(data)
        return real(data)

    monkeypatch.setattr(disk.ObjectVersion, "from_json", staticmethod(counting))
    with running_server(data_dir=data_dir) as srv:
        assert not parsed                           # every key came from the cache
        assert not os.path.exists(cache)            # valid for one start only
        s3 = srv.client()
        _check(s3, "bkt", bodies)
        versions = [v for v in s3.list_object_versions(Bucket="bkt", Prefix="k1")["Versions"] if v["Key"] == "k1"]
        assert len(versions) == 3
        assert s3.get_object(Bucket="bkt", Key="k1", VersionId=versions[1]["VersionId"])["Body"].read() \
            == b"older version"
        assert [p["PartNumber"] for p in s3.list_parts(Bucket="bkt", Key="mp", UploadId=uid)["Parts"]] == [1]


def test_stale_cache_never_decides_what_exists(tmp_path: Any) -> None:
    """A cache older than the documents (the run after it was killed, or ran a version without the cache): keys
    changed, removed or added since are as the documents say."""
    data_dir = str(tmp_path / "data")
    bodies = {f"k{i}": os.urandom(100 + i) for i in range(10)}
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client()
        s3.create_bucket(Bucket="bkt")
        _put_all(s3, "bkt", bodies)
    cache = os.path.join(data_dir, "index.cache")
    stale = str(tmp_path / "stale.cache")
    shutil.copy(cache, stale)
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client()
        bodies["k1"] = b"changed after the cache"
        _put_all(s3, "bkt", {"k1": bodies["k1"]})
        s3.delete_object(Bucket="bkt", Key="k2")
        del bodies["k2"]
        bodies["new"] = b"added after the cache"
        _put_all(s3, "bkt", {"new": bodies["new"]})
    shutil.copy(stale, cache)                        # as if that run had not shut down cleanly
    with running_server(data_dir=data_dir) as srv:
        _check(srv.client(), "bkt", bodies)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "other-format", "huge-length", "max-length"])
def test_broken_cache_is_ignored(tmp_path: Any, damage: str) -> None:
    data_dir = str(tmp_path / "data")
    bodies = {f"k{i}": os.urandom(50) for i in range(5)}
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client()
        s3.create_bucket(Bucket="bkt")
        _put_all(s3, "bkt", bodies)
    cache = os.path.join(data_dir, "index.cache")
    with open(cache, "rb") as f:
        data = f.read()
    with open(cache, "wb") as f:
        f.write({"truncate": data[: len(data) // 2], "garbage": data[:40] + os.urandom(200), "empty": b"",
                 "other-format": b"mockserver-index-cache-0\n" + data[25:],
                 # a length prefix no read could satisfy (it made the read fail to allocate: MemoryError,
                 # OverflowError, in 1 of ~200 random "garbage" runs)
                 "huge-length": data[:25] + (1 << 40).to_bytes(8, "little") + data[33:],
                 "max-length": data[:25] + b"\xff" * 8 + data[33:]}[damage])
    with running_server(data_dir=data_dir) as srv:
        _check(srv.client(), "bkt", bodies)
    assert os.path.exists(cache)          # rewritten at this clean shutdown


def test_cache_round_trips_every_field(tmp_path: Any) -> None:
    """The cached form gives back versions equal to the documents' (records, inline bytes, parts)."""
    data_dir = str(tmp_path / "data")
    with running_server(data_dir=data_dir, allow_sse_c_over_http=True) as srv:
        s3 = srv.client()
        s3.create_bucket(Bucket="bkt")
        kms = srv.client("kms").create_key()["KeyMetadata"]["Arn"]
        s3.put_object(Bucket="bkt", Key="kms", Body=b"x" * 3000, ServerSideEncryption="aws:kms", SSEKMSKeyId=kms,
                      ChecksumAlgorithm="SHA256", CacheControl="no-cache", Tagging="a=b")
        s3.put_object(Bucket="bkt", Key="big", Body=os.urandom(50_000), ContentType="text/x-test")
    storage = disk_storage(data_dir)          # from the cache
    from_cache = {k: [v.to_json() for v in vs] for k, vs in storage.index["bkt"].versions.items()}
    assert not os.path.exists(os.path.join(data_dir, "index.cache"))      # used up by that start
    parsed = disk_storage(data_dir)           # no cache: every document parsed
    assert {k: [v.to_json() for v in vs] for k, vs in parsed.index["bkt"].versions.items()} == from_cache
    assert json.dumps(from_cache)             # plain JSON values
