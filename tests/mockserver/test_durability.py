"""--data-dir durability: a crash inside CompleteMultipartUpload, a full disk at each write stage, KMS key storage
(issue 10 items 8, 9 and 14). The kill at every write step is tests/mockserver/test_crash_points.py."""
from __future__ import annotations

import errno
import itertools
import json
import logging
import os
import shutil
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from mockserver.server import running_server

BUCKET = "durable"
NO_RETRY = Config(retries={"total_max_attempts": 1})
KMS_FILE, KMS_JOURNAL = "kms.json", "kms.journal"
INTERNAL = ("InternalError", "We encountered an internal error. Please try again.")


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    r = exc.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"], r["Error"]["Message"]


def _upload_docs(data_dir: str) -> dict[str, bytes]:
    root = os.path.join(data_dir, "meta", "uploads")
    out = {}
    for name in os.listdir(root):
        with open(os.path.join(root, name), "rb") as f:
            out[name] = f.read()
    return out


# ----- item 8: kill -9 inside CompleteMultipartUpload ------------------------------------------------------------

def test_crash_inside_complete_is_settled_at_restart(tmp_path):
    """The state a kill -9 leaves between writing the object and removing the upload record (reproduced by putting
    the upload's document back after the Complete): after restart the upload is gone, Abort cannot free the
    object's parts, a repeated Complete answers as the first did, and the object stays byte-identical."""
    data_dir = str(tmp_path / "data")
    first, last = os.urandom(5 * 1024 * 1024), os.urandom(100_000)
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client(config=NO_RETRY)
        s3.create_bucket(Bucket=BUCKET)
        uid = s3.create_multipart_upload(Bucket=BUCKET, Key="mp")["UploadId"]
        e1 = s3.upload_part(Bucket=BUCKET, Key="mp", UploadId=uid, PartNumber=1, Body=first)["ETag"]
        e2 = s3.upload_part(Bucket=BUCKET, Key="mp", UploadId=uid, PartNumber=2, Body=last)["ETag"]
        s3.upload_part(Bucket=BUCKET, Key="mp", UploadId=uid, PartNumber=3, Body=os.urandom(50_000))  # unused
        parts = {"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]}
        before = _upload_docs(data_dir)
        etag = s3.complete_multipart_upload(Bucket=BUCKET, Key="mp", UploadId=uid, MultipartUpload=parts)["ETag"]
    assert _upload_docs(data_dir) == {}
    for name, data in before.items():                  # the crash: the upload record was not yet removed
        with open(os.path.join(data_dir, "meta", "uploads", name), "wb") as f:
            f.write(data)
    for _restart in range(2):
        with running_server(data_dir=data_dir) as srv:
            s3 = srv.client(config=NO_RETRY)
            assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
            with pytest.raises(ClientError) as exc:
                s3.abort_multipart_upload(Bucket=BUCKET, Key="mp", UploadId=uid)
            assert _error(exc)[1] == "NoSuchUpload"
            again = s3.complete_multipart_upload(Bucket=BUCKET, Key="mp", UploadId=uid, MultipartUpload=parts)
            assert again["ETag"] == etag
            got = s3.get_object(Bucket=BUCKET, Key="mp")
            assert got["ETag"] == etag and got["Body"].read() == first + last
    assert _upload_docs(data_dir) == {}
    blobs = [f for d, _, fs in os.walk(os.path.join(data_dir, "blobs")) for f in fs]
    assert len(blobs) == 2                              # parts 1 and 2, owned by the object


# ----- item 9: full disk ------------------------------------------------------------------------------------------

class FullDisk:
    """ENOSPC for writes into files under `root`/<area> (blobs/, meta/, or the whole data dir): the file system
    accepts `slack` more bytes (a short write at the edge), then every write fails as on a full disk."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, root: str) -> None:
        self.root = os.path.realpath(root)
        self.area: str | None = None
        self.slack = 0
        self.failures = 0
        real_write = os.write

        def write(fd: int, data) -> int:  # type: ignore[no-untyped-def]
            if self.area is not None:
                try:
                    path = os.readlink(f"/proc/self/fd/{fd}")
                except OSError:
                    path = ""
                if path.startswith(os.path.join(self.root, self.area)):
                    if self.slack <= 0:
                        self.failures += 1
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    n = min(len(data), self.slack)
                    self.slack -= n
                    return real_write(fd, memoryview(data)[:n])
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", write)

    def fill(self, area: str, slack: int = 0) -> None:
        self.area, self.slack, self.failures = area, slack, 0

    def free(self) -> None:
        self.area = None


def _setup(s3) -> tuple[str, str, bytes]:
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="small", Body=b"old small")
    s3.put_object(Bucket=BUCKET, Key="big", Body=b"B" * 200_000)
    uid = s3.create_multipart_upload(Bucket=BUCKET, Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket=BUCKET, Key="mp", UploadId=uid, PartNumber=1, Body=b"P" * 100_000)["ETag"]
    return uid, etag, b"P" * 100_000


OPERATIONS = {
    "put-small": ("meta",),
    "put-big": ("blobs", "meta"),
    "put-new-key": ("blobs", "meta"),
    "copy": ("blobs", "meta"),
    "upload-part": ("blobs", "meta"),
    "complete": ("meta",),
}
STAGES = [(op, area, slack) for op, areas in OPERATIONS.items() for area in areas for slack in (0, 100)]


def _run(s3, op: str, uid: str, etag: str) -> None:
    if op == "put-small":
        s3.put_object(Bucket=BUCKET, Key="small", Body=b"new small")
    elif op == "put-big":
        s3.put_object(Bucket=BUCKET, Key="big", Body=b"N" * 300_000)
    elif op == "put-new-key":
        s3.put_object(Bucket=BUCKET, Key="fresh", Body=b"F" * 300_000)
    elif op == "copy":
        s3.copy_object(Bucket=BUCKET, Key="small", CopySource={"Bucket": BUCKET, "Key": "big"},
                       MetadataDirective="REPLACE", Metadata={"x": "y"})
    elif op == "upload-part":
        s3.upload_part(Bucket=BUCKET, Key="mp", UploadId=uid, PartNumber=1, Body=b"Q" * 100_000)
    else:
        s3.complete_multipart_upload(Bucket=BUCKET, Key="mp", UploadId=uid,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})


def _check_unchanged(s3, uid: str, etag: str) -> None:
    assert s3.get_object(Bucket=BUCKET, Key="small")["Body"].read() == b"old small"
    assert s3.get_object(Bucket=BUCKET, Key="big")["Body"].read() == b"B" * 200_000
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == ["big", "small"]
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=BUCKET, Key="fresh")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])] == [uid]
    parts = s3.list_parts(Bucket=BUCKET, Key="mp", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == [(1, etag, 100_000)]


@pytest.mark.parametrize(("op", "area", "slack"), STAGES, ids=[f"{o}-{a}-{s}" for o, a, s in STAGES])
def test_full_disk_fails_cleanly_and_recovers(tmp_path, monkeypatch, caplog, op, area, slack):
    """ENOSPC injected at the syscall (os.write into files of the data dir's blobs/ or meta/, after `slack` bytes):
    S3's InternalError XML, one log line and no traceback, nothing of the failed write visible (before and after a
    restart), stored objects intact; the same write succeeds once space returns."""
    data_dir = str(tmp_path / "data")
    disk = FullDisk(monkeypatch, data_dir)
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client(config=NO_RETRY)
        uid, etag, _part = _setup(s3)
        caplog.clear()
        disk.fill(area, slack)
        with caplog.at_level(logging.WARNING), pytest.raises(ClientError) as exc:
            _run(s3, op, uid, etag)
        disk.free()
        assert disk.failures >= 1
        assert _error(exc) == (500, *INTERNAL)
        records = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(records) == 1 and records[0].exc_info is None, [r.getMessage() for r in records]
        assert "Traceback" not in caplog.text and "No space left on device" in records[0].getMessage()
        _check_unchanged(s3, uid, etag)
        _run(s3, op, uid, etag)                          # space is back
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client(config=NO_RETRY)
        if op == "put-small":
            assert s3.get_object(Bucket=BUCKET, Key="small")["Body"].read() == b"new small"
        elif op == "put-big":
            assert s3.get_object(Bucket=BUCKET, Key="big")["Body"].read() == b"N" * 300_000
        elif op == "put-new-key":
            assert s3.get_object(Bucket=BUCKET, Key="fresh")["Body"].read() == b"F" * 300_000
        elif op == "copy":
            got = s3.get_object(Bucket=BUCKET, Key="small")
            assert got["Body"].read() == b"B" * 200_000 and got["Metadata"] == {"x": "y"}
        elif op == "upload-part":
            assert s3.list_parts(Bucket=BUCKET, Key="mp", UploadId=uid)["Parts"][0]["Size"] == 100_000
        else:
            assert s3.get_object(Bucket=BUCKET, Key="mp")["Body"].read() == b"P" * 100_000
            assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


@pytest.mark.parametrize("op", ["put-big", "upload-part", "complete"])
def test_full_disk_with_fsync(tmp_path, monkeypatch, op):
    """The same with --fsync (metadata writes queued on a thread): the failed write is undone and rewritten."""
    data_dir = str(tmp_path / "data")
    disk = FullDisk(monkeypatch, data_dir)
    with running_server(data_dir=data_dir, fsync=True) as srv:
        s3 = srv.client(config=NO_RETRY)
        uid, etag, _part = _setup(s3)
        disk.fill("meta")
        with pytest.raises(ClientError) as exc:
            _run(s3, op, uid, etag)
        disk.free()
        assert _error(exc) == (500, *INTERNAL)
        _check_unchanged(s3, uid, etag)
    with running_server(data_dir=data_dir, fsync=True) as srv:
        _check_unchanged(srv.client(config=NO_RETRY), uid, etag)


def test_full_disk_then_restart_shows_nothing_failed(tmp_path, monkeypatch):
    """A PUT that failed at the metadata stage is not visible, before or after a restart, and no blob of it is left."""
    data_dir = str(tmp_path / "data")
    disk = FullDisk(monkeypatch, data_dir)
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client(config=NO_RETRY)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="k", Body=b"1" * 50_000)
        disk.fill("meta")
        with pytest.raises(ClientError):
            s3.put_object(Bucket=BUCKET, Key="k", Body=b"2" * 50_000)
        disk.free()
        assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"1" * 50_000
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client(config=NO_RETRY)
        assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"1" * 50_000
    blobs = [f for d, _, fs in os.walk(os.path.join(data_dir, "blobs")) for f in fs]
    assert len(blobs) == 1


# ----- item 14: KMS key storage ------------------------------------------------------------------------------------

def test_kms_create_key_appends_instead_of_rewriting(tmp_path):
    """Each CreateKey appends one line to kms.journal and leaves the snapshot alone; a restart replays the journal
    (ignoring a torn last line), folds it into the snapshot and empties it."""
    data_dir = str(tmp_path / "data")
    with running_server(data_dir=data_dir) as srv:
        kms = srv.client("kms")
        first = kms.create_key()["KeyMetadata"]["KeyId"]
        snapshot = os.path.join(data_dir, KMS_FILE)
        journal = os.path.join(data_dir, KMS_JOURNAL)
        before = os.stat(snapshot).st_mtime_ns if os.path.exists(snapshot) else None
        sizes = []
        for _ in range(20):
            kms.create_key()
            sizes.append(os.path.getsize(journal))
        growth = [b - a for a, b in itertools.pairwise(sizes)]
        assert max(growth) < 1000 and max(growth) - min(growth) < 50       # constant per key, not O(keys)
        assert (os.stat(snapshot).st_mtime_ns if os.path.exists(snapshot) else None) == before
        kms.create_alias(AliasName="alias/dur", TargetKeyId=first)
        kms.disable_key(KeyId=first)
        kms.delete_alias(AliasName="alias/dur")
        kms.create_alias(AliasName="alias/dur2", TargetKeyId=first)
        ids = {k["KeyId"] for k in kms.list_keys()["Keys"]}
    with open(journal, "ab") as f:
        f.write(b'{"keys":[{"key_id":"torn')            # a crash cut the last append short
    with running_server(data_dir=data_dir) as srv:
        kms = srv.client("kms")
        assert {k["KeyId"] for k in kms.list_keys()["Keys"]} == ids
        assert kms.describe_key(KeyId=first)["KeyMetadata"]["KeyState"] == "Disabled"
        assert [a["AliasName"] for a in kms.list_aliases(KeyId=first)["Aliases"]] == ["alias/dur2"]
        assert os.path.getsize(journal) == 0
        new = kms.create_key()["KeyMetadata"]["KeyId"]
    with running_server(data_dir=data_dir) as srv:
        assert {k["KeyId"] for k in srv.client("kms").list_keys()["Keys"]} == ids | {new}


def test_kms_loads_old_snapshot_only_data_dir(tmp_path):
    """A data dir written before the journal (kms.json rewritten per change, no kms.journal) loads as it was."""
    data_dir = str(tmp_path / "data")
    with running_server(data_dir=data_dir) as srv:
        key = srv.client("kms").create_key(Description="old")["KeyMetadata"]["KeyId"]
        srv.client("kms").create_alias(AliasName="alias/old", TargetKeyId=key)
    with running_server(data_dir=data_dir):
        pass                                               # folds the journal into kms.json
    os.remove(os.path.join(data_dir, KMS_JOURNAL))
    with open(os.path.join(data_dir, KMS_FILE)) as f:
        assert {k["key_id"] for k in json.load(f)["keys"]} >= {key}
    legacy = str(tmp_path / "legacy")
    shutil.copytree(data_dir, legacy)
    with running_server(data_dir=legacy) as srv:
        kms = srv.client("kms")
        assert kms.describe_key(KeyId="alias/old")["KeyMetadata"]["Description"] == "old"
        blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_kms_create_key_cost_does_not_grow_with_key_count(tmp_path):
    """Bytes written per CreateKey stay flat between the 1st and the 200th key (the old code rewrote every key)."""
    from mockserver.state import load_kms

    data_dir = str(tmp_path)
    os.makedirs(os.path.join(data_dir, "tmp"))
    engine = load_kms(data_dir, "us-east-1", os.urandom(32))
    written: list[int] = []
    real_write = os.write

    def counting(fd: int, data) -> int:  # type: ignore[no-untyped-def]
        n = real_write(fd, data)
        written.append(n)
        return n

    os.write = counting  # type: ignore[assignment]
    try:
        costs = []
        for _ in range(200):
            written.clear()
            t = time.perf_counter()
            engine.create_key("111122223333")
            costs.append((sum(written), time.perf_counter() - t))
    finally:
        os.write = real_write  # type: ignore[assignment]
    assert costs[-1][0] < 2 * costs[0][0] + 100
