"""SSE-C metadata keeps only the salted HMAC of the customer key (no unsalted MD5), responses
echo the MD5 the request carried, objects written with the old metadata keep working; the root key may live
outside the data directory (running_server(root_key_file=), serve --root-key-file, S3C_MOCK_ROOT_KEY_FILE)."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mockserver.server import running_server

# dialect aws-2023: buckets made before AWS blocked SSE-C for new buckets by default
KEY = bytes(range(32))
MD5 = base64.b64encode(hashlib.md5(KEY).digest()).decode()
SSEC = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": KEY}


def _files_text(root: Path) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in root.rglob("*") if p.is_file())


def _ssec_entries(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, dict):
        found = [document] if {"salt", "hmac"} <= set(document) else []
        return found + [e for v in document.values() for e in _ssec_entries(v)]
    if isinstance(document, list):
        return [e for v in document for e in _ssec_entries(v)]
    return []


def _documents(data: Path) -> list[Any]:
    """Every metadata document: the files under meta/ and each key of the key log (meta/log) as its document."""
    from mockserver.storage.disk import DiskJournal

    documents = [json.loads(p.read_text()) for p in (data / "meta").rglob("*.json")]
    _buckets, keys, _uploads = DiskJournal(str(data)).load()
    return documents + [{"bucket": b, "key": k, "versions": [v.to_json() for v in vs]} for b, k, vs in keys]


def _as_previous_version(data: Path) -> None:
    """The key documents as an earlier version wrote them: one file per key (meta/keys), no key log."""
    from mockserver.storage.disk import DiskJournal

    _buckets, keys, _uploads = DiskJournal(str(data)).load()
    for bucket, key, versions in keys:
        digest = hashlib.sha256(f"{bucket}\0{key}".encode()).hexdigest()
        path = data / "meta" / "keys" / digest[:2] / f"{digest}.{1:016x}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"bucket": bucket, "key": key, "versions": [v.to_json() for v in versions]}))
    shutil.rmtree(data / "meta" / "log")


def test_ssec_metadata_has_no_key_md5_and_responses_echo_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_server(dialect="aws-2023", data_dir=str(data), allow_sse_c_over_http=True) as srv:
        s3 = srv.client("s3")
        s3.create_bucket(Bucket="ssec-md5-bucket")
        put = s3.put_object(Bucket="ssec-md5-bucket", Key="k", Body=b"secret", **SSEC)
        assert put["SSECustomerKeyMD5"] == MD5
        got = s3.get_object(Bucket="ssec-md5-bucket", Key="k", **SSEC)
        assert got["SSECustomerKeyMD5"] == MD5 and got["Body"].read() == b"secret"
        assert s3.head_object(Bucket="ssec-md5-bucket", Key="k", **SSEC)["SSECustomerKeyMD5"] == MD5
        mpu = s3.create_multipart_upload(Bucket="ssec-md5-bucket", Key="m", **SSEC)
        assert mpu["SSECustomerKeyMD5"] == MD5
        part = s3.upload_part(Bucket="ssec-md5-bucket", Key="m", UploadId=mpu["UploadId"], PartNumber=1, Body=b"p",
                              **SSEC)
        assert part["SSECustomerKeyMD5"] == MD5
        done = s3.complete_multipart_upload(Bucket="ssec-md5-bucket", Key="m", UploadId=mpu["UploadId"],
                                            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
                                            **SSEC)
        # CompleteMultipartUpload answers no SSE-C fields (recorded: LocalStack test_multipart_upload_sse_c,
        # complete-multipart-checksum; botocore's output shape has none).
        assert "x-amz-server-side-encryption-customer-key-md5" not in done["ResponseMetadata"]["HTTPHeaders"]
        copy = s3.copy_object(Bucket="ssec-md5-bucket", Key="c", CopySource={"Bucket": "ssec-md5-bucket", "Key": "k"},
                              CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=KEY, **SSEC)
        assert copy["SSECustomerKeyMD5"] == MD5
    text = _files_text(data)
    assert MD5 not in text and hashlib.md5(KEY).hexdigest() not in text
    documents = _documents(data)
    assert _ssec_entries(documents) and all("md5" not in e for e in _ssec_entries(documents))


def test_objects_with_the_old_md5_metadata_still_read(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_server(dialect="aws-2023", data_dir=str(data), allow_sse_c_over_http=True) as srv:
        s3 = srv.client("s3")
        s3.create_bucket(Bucket="ssec-old")
        s3.put_object(Bucket="ssec-old", Key="k", Body=b"old object", **SSEC)
    # rewrite the metadata as the previous version wrote it: with the unsalted MD5 beside the HMAC
    _as_previous_version(data)
    changed = 0
    for path in (data / "meta").rglob("*.json"):
        document = json.loads(path.read_text())
        for entry in _ssec_entries(document):
            entry["md5"] = MD5
            changed += 1
        path.write_text(json.dumps(document))
    assert changed
    with running_server(dialect="aws-2023", data_dir=str(data), allow_sse_c_over_http=True) as srv:
        s3 = srv.client("s3")
        got = s3.get_object(Bucket="ssec-old", Key="k", **SSEC)
        assert got["Body"].read() == b"old object" and got["SSECustomerKeyMD5"] == MD5
        with pytest.raises(ClientError):
            s3.get_object(Bucket="ssec-old", Key="k", SSECustomerAlgorithm="AES256", SSECustomerKey=b"x" * 32)


def test_root_key_outside_the_data_directory(tmp_path: Path) -> None:
    data, key_file = tmp_path / "data", tmp_path / "keys" / "root.key"
    with running_server(data_dir=str(data), root_key_file=str(key_file)) as srv:
        s3, kms = srv.client("s3"), srv.client("kms")
        s3.create_bucket(Bucket="rk-bucket")
        s3.put_object(Bucket="rk-bucket", Key="s3", Body=b"sse-s3", ServerSideEncryption="AES256")
        arn = kms.create_key()["KeyMetadata"]["Arn"]
        s3.put_object(Bucket="rk-bucket", Key="kms", Body=b"sse-kms", ServerSideEncryption="aws:kms", SSEKMSKeyId=arn)
    assert not (data / "root.key").exists()
    assert key_file.stat().st_size == 32 and (key_file.stat().st_mode & 0o777) == 0o600
    with running_server(data_dir=str(data), root_key_file=str(key_file)) as srv:
        s3 = srv.client("s3")
        assert s3.get_object(Bucket="rk-bucket", Key="s3")["Body"].read() == b"sse-s3"
        assert s3.get_object(Bucket="rk-bucket", Key="kms")["Body"].read() == b"sse-kms"
    # another key for this data is refused at start, not used to misread it
    other = tmp_path / "other.key"
    other.write_bytes(os.urandom(32))
    (data / "root.key").write_bytes(key_file.read_bytes())
    with pytest.raises(RuntimeError), running_server(data_dir=str(data), root_key_file=str(other)):
        pass


def test_root_key_file_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, key_file = tmp_path / "data", tmp_path / "env.key"
    monkeypatch.setenv("S3C_MOCK_ROOT_KEY_FILE", str(key_file))
    with running_server(data_dir=str(data)) as srv:
        s3 = srv.client("s3")
        s3.create_bucket(Bucket="rk-env")
        s3.put_object(Bucket="rk-env", Key="k", Body=b"env", ServerSideEncryption="AES256")
    assert key_file.exists() and not (data / "root.key").exists()


def test_existing_data_dir_moves_its_root_key_out(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_server(data_dir=str(data)) as srv:
        s3 = srv.client("s3")
        s3.create_bucket(Bucket="rk-move")
        s3.put_object(Bucket="rk-move", Key="k", Body=b"moved", ServerSideEncryption="AES256")
    key_file = tmp_path / "outside.key"
    (data / "root.key").rename(key_file)
    with running_server(data_dir=str(data), root_key_file=str(key_file)) as srv:
        assert srv.client("s3").get_object(Bucket="rk-move", Key="k")["Body"].read() == b"moved"
