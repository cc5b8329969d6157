"""A --data-dir written by an earlier version (before the compact in-memory records) still loads and serves every
object, upload and version as it was; documents read and written back are the same JSON."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import tarfile
from typing import Any

import pytest

from mockserver.server import running_server
from mockserver.storage.base import ObjectVersion, Upload
from mockserver.storage.disk import DiskJournal
from tests.mockserver.data.make_legacy_datadir import BUCKET, SSEC_KEY, VERSIONED, body_of, ssec

ARCHIVE = os.path.join(os.path.dirname(__file__), "data", "legacy-datadir.tar.gz")


@pytest.fixture
def legacy(tmp_path: Any) -> tuple[str, dict[str, Any]]:
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(tmp_path, filter="data")
    with open(tmp_path / "expected.json") as f:
        expected = json.load(f)
    return str(tmp_path / "data"), expected


def _documents(data_dir: str) -> dict[str, dict[str, Any]]:
    out = {}
    for sub in ("keys", "uploads", "parts"):
        for d, _, files in os.walk(os.path.join(data_dir, "meta", sub)):
            for name in files:
                with open(os.path.join(d, name)) as f:
                    out[name.split(".")[0]] = json.load(f)
    return out


def test_documents_round_trip_unchanged(legacy: tuple[str, dict[str, Any]]) -> None:
    """Every key and upload document of the earlier version parses into the compact records and serialises back to
    exactly the same JSON (the on-disk format did not change)."""
    data_dir, _ = legacy
    docs = _documents(data_dir)
    seen = 0
    for doc in docs.values():
        if "versions" in doc:
            for v in doc["versions"]:
                assert ObjectVersion.from_json(v).to_json() == v
                seen += 1
        elif "initiated" in doc:
            assert Upload.from_json(doc).to_json() == doc
            seen += 1
    assert seen >= 13


def _check_objects(s3: Any, expected: dict[str, Any]) -> None:
    for key, want in expected["objects"].items():
        extra = ssec() if want["ssec"] else {}
        got = s3.get_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED", **extra)
        assert got["Body"].read() == body_of(key, want["size"]), key
        assert got["ETag"] == want["etag"], key
        assert got.get("ServerSideEncryption") == want["sse"], key
        assert got.get("SSEKMSKeyId") == want["kms_key"], key
        assert got.get("BucketKeyEnabled", False) == want["bucket_key"], key
        assert got.get("Metadata", {}) == want["metadata"], key
        if want["ssec"]:
            assert got["SSECustomerKeyMD5"] == base64.b64encode(hashlib.md5(SSEC_KEY).digest()).decode()
        for field, name in (("content_type", "ContentType"), ("cache_control", "CacheControl"),
                            ("checksum_sha256", "ChecksumSHA256"), ("checksum_crc64", "ChecksumCRC64NVME")):
            if want.get(field):
                assert got.get(name) == want[field], (key, field)
        if "last_modified" in want:
            assert got["LastModified"].isoformat() == want["last_modified"], key


def test_legacy_data_dir_serves_everything(legacy: tuple[str, dict[str, Any]]) -> None:
    data_dir, expected = legacy
    with running_server(data_dir=data_dir, allow_sse_c_over_http=True) as srv:
        s3 = srv.client()
        _check_objects(s3, expected)
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
        assert listed == sorted(expected["objects"])
        # The versioned bucket: a delete marker over two versions, each readable by id.
        versions = s3.list_object_versions(Bucket=VERSIONED)
        assert [m["VersionId"] for m in versions["DeleteMarkers"]] == [expected["delete_marker"]]
        assert [v["VersionId"] for v in versions["Versions"]] == [v["version_id"]
                                                                   for v in reversed(expected["versions"])]
        for v in expected["versions"]:
            body = s3.get_object(Bucket=VERSIONED, Key="v", VersionId=v["version_id"])["Body"].read()
            assert body == body_of(v["body_key"], v["size"])
        # The open upload: its part is listed with its checksum and it completes.
        upload = expected["upload"]
        parts = s3.list_parts(Bucket=BUCKET, Key=upload["key"], UploadId=upload["upload_id"])["Parts"]
        assert [(p["PartNumber"], p["ETag"], p["ChecksumCRC32"]) for p in parts] == [
            (1, upload["etag"], upload["checksum_crc32"])]
        s3.complete_multipart_upload(Bucket=BUCKET, Key=upload["key"], UploadId=upload["upload_id"],
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": upload["etag"],
                                                                 "ChecksumCRC32": upload["checksum_crc32"]}]})
        # Written by this version on top of the old data.
        s3.put_object(Bucket=BUCKET, Key="new", Body=b"new", Metadata={"m": "1"})
    with running_server(data_dir=data_dir, allow_sse_c_over_http=True) as srv:
        s3 = srv.client()
        _check_objects(s3, expected)
        assert s3.get_object(Bucket=BUCKET, Key=upload["key"])["Body"].read() == body_of(upload["key"], 3000)
        got = s3.get_object(Bucket=BUCKET, Key="new")
        assert (got["Body"].read(), got["Metadata"]) == (b"new", {"m": "1"})


def test_journal_load_of_legacy_documents(legacy: tuple[str, dict[str, Any]]) -> None:
    """The journal's loader gives compact records equal to the documents' dicts."""
    data_dir, expected = legacy
    journal = DiskJournal(data_dir)
    buckets, keys, uploads = journal.load()
    assert sorted(b.name for b in buckets) == [BUCKET, VERSIONED]
    by_key = {(b, k): vs for b, k, vs in keys}
    small = by_key[(BUCKET, "small-sse-s3")][0]
    assert small.sse["mode"] == "sse-s3" and small.sse["bind"]["key"] == "small-sse-s3"
    assert small.metadata == {"colour": "blue"} and small.headers == {"cache-control": "max-age=60"}
    assert [u.key for u in uploads] == [expected["upload"]["key"]]
    asyncio.run(journal.flush())


def _key_files(data_dir: str) -> list[str]:
    return [f for _, _, fs in os.walk(os.path.join(data_dir, "meta", "keys")) for f in fs]


def test_legacy_key_files_use_the_index_cache_and_migrate_when_rewritten(legacy: tuple[str, dict[str, Any]],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-key files of the earlier version stay until their key is written again (then the key log holds it); a
    clean shutdown caches them, so the next start parses none of them."""
    from mockserver.storage import disk

    data_dir, expected = legacy
    before = len(_key_files(data_dir))
    with running_server(data_dir=data_dir, allow_sse_c_over_http=True):
        pass                                                    # a clean shutdown: the index cache
    assert len(_key_files(data_dir)) == before
    parsed: list[Any] = []
    real = disk.ObjectVersion.from_json
    monkeypatch.setattr(disk.ObjectVersion, "from_json", staticmethod(lambda d: parsed.append(d) or real(d)))
    with running_server(data_dir=data_dir, allow_sse_c_over_http=True) as srv:
        assert not parsed                                       # every key came from the cache
        s3 = srv.client()
        _check_objects(s3, expected)
        s3.put_object(Bucket=BUCKET, Key="no-sse", Body=b"rewritten")
        s3.delete_object(Bucket=BUCKET, Key="blob-sse-s3")
        assert len(_key_files(data_dir)) == before - 2          # migrated: the key log holds those two keys now
    del expected["objects"]["no-sse"], expected["objects"]["blob-sse-s3"]
    with running_server(data_dir=data_dir, allow_sse_c_over_http=True) as srv:
        s3 = srv.client()
        _check_objects(s3, expected)
        assert s3.get_object(Bucket=BUCKET, Key="no-sse")["Body"].read() == b"rewritten"
        assert "blob-sse-s3" not in [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]


@pytest.mark.parametrize("step", ["meta.key.partial", "meta.key.written"])
def test_kill_while_a_legacy_key_migrates(legacy: tuple[str, dict[str, Any]], step: str) -> None:
    """A kill -9 while a key of the earlier version gets its first log record: cut short, the earlier document
    stands; complete (its file not yet removed), the record wins and the next start removes the file."""
    from tests.mockserver.conftest import serve_until_crash
    from tests.mockserver.test_crash_points import DROPPED, running_client

    data_dir, expected = legacy
    before = len(_key_files(data_dir))
    with serve_until_crash(data_dir, step) as endpoint, pytest.raises(DROPPED):
        running_client(endpoint).put_object(Bucket=BUCKET, Key="no-sse", Body=b"migrated")
    with running_server(data_dir=data_dir, allow_sse_c_over_http=True) as srv:
        s3 = srv.client()
        body = s3.get_object(Bucket=BUCKET, Key="no-sse")["Body"].read()
        if step == "meta.key.partial":
            assert body == body_of("no-sse", expected["objects"]["no-sse"]["size"])
            assert len(_key_files(data_dir)) == before
        else:
            assert body == b"migrated"
            assert len(_key_files(data_dir)) == before - 1
        del expected["objects"]["no-sse"]
        _check_objects(s3, expected)
