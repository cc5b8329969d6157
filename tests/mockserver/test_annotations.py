"""Object annotations on the reference server (boto3 1.44's put/get/list/delete_object_annotation): round trip,
versions, the encryption an annotation inherits, checksums, size and name limits, pagination, the documented errors,
persistence across a --data-dir restart and removal with the object version (mockserver/handlers/annotations.py,
mockserver/storage/annotations.py)."""
from __future__ import annotations

import base64
import glob
import hashlib
import os
import pathlib
import shutil
from typing import Any

import botocore.exceptions
import pytest

from mockserver.handlers import annotations as A
from mockserver.server import running_server
from tests.mockserver.conftest import Raw, client_error, error_of, serve_until_crash


def _err(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[int, str]:
    status, code, _ = client_error(exc.value)
    return status, code


def _put(s3: Any, bucket: str, key: str, name: str, payload: bytes, **kw: Any) -> dict[str, Any]:
    return s3.put_object_annotation(Bucket=bucket, Key=key, AnnotationName=name, AnnotationPayload=payload, **kw)


def _get(s3: Any, bucket: str, key: str, name: str, **kw: Any) -> tuple[dict[str, Any], bytes]:
    out = s3.get_object_annotation(Bucket=bucket, Key=key, AnnotationName=name, **kw)
    return out, out["AnnotationPayload"].read()


def test_round_trip(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"object")
    out = _put(s3, bucket, "k", "label", b'{"class": "cat"}')
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert out["ETag"] == '"' + hashlib.md5(b'{"class": "cat"}').hexdigest() + '"'
    assert out["ServerSideEncryption"] == "AES256"
    assert out["Key"] == "k" and out["AnnotationName"] == "label"
    assert "ObjectVersionId" not in out             # a bucket that never had versioning
    got, payload = _get(s3, bucket, "k", "label")
    assert payload == b'{"class": "cat"}'
    assert got["ETag"] == out["ETag"] and got["ContentLength"] == len(payload)
    assert got["ServerSideEncryption"] == "AES256"
    got, _ = _get(s3, bucket, "k", "label", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == out["ChecksumCRC32"] and got["ChecksumType"] == "FULL_OBJECT"  # boto3 sends CRC32
    # overwrite
    _put(s3, bucket, "k", "label", b"dog")
    assert _get(s3, bucket, "k", "label")[1] == b"dog"
    listed = s3.list_object_annotations(Bucket=bucket, Key="k")
    assert [(a["AnnotationName"], a["Size"]) for a in listed["Annotations"]] == [("label", 3)]
    assert listed["Annotations"][0]["ChecksumAlgorithm"] == ["CRC32"]
    assert listed["AnnotationCount"] == 1 and "NextContinuationToken" not in listed
    deleted = s3.delete_object_annotation(Bucket=bucket, Key="k", AnnotationName="label")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        _get(s3, bucket, "k", "label")
    assert _err(exc) == (404, "NoSuchAnnotation")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.delete_object_annotation(Bucket=bucket, Key="k", AnnotationName="label")
    assert _err(exc) == (404, "NoSuchAnnotation")
    assert s3.list_object_annotations(Bucket=bucket, Key="k").get("Annotations", []) == []
    # the object itself is untouched
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"object"


def test_list_order_prefix_and_pages(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    names = ["b", "a", "ab", "c.1", "c.2", "Z"]
    for n in names:
        _put(s3, bucket, "k", n, n.encode())
    listed = s3.list_object_annotations(Bucket=bucket, Key="k")
    assert [a["AnnotationName"] for a in listed["Annotations"]] == sorted(names)
    assert s3.list_object_annotations(Bucket=bucket, Key="k", AnnotationPrefix="c.")["AnnotationCount"] == 2
    seen, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        page = s3.list_object_annotations(Bucket=bucket, Key="k", MaxAnnotationResults=4, **kw)
        seen += [a["AnnotationName"] for a in page["Annotations"]]
        token = page.get("NextContinuationToken")
        if not token:
            break
    assert seen == sorted(names)
    paginated = [a["AnnotationName"] for p in s3.get_paginator("list_object_annotations").paginate(
        Bucket=bucket, Key="k", PaginationConfig={"PageSize": 2}) for a in p.get("Annotations", [])]
    assert paginated == sorted(names)


def test_versions(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    out = _put(s3, bucket, "k", "n", b"on v1", VersionId=v1)
    assert out["ObjectVersionId"] == v1
    assert _put(s3, bucket, "k", "n", b"on latest")["ObjectVersionId"] == v2
    assert _get(s3, bucket, "k", "n", VersionId=v1)[1] == b"on v1"
    got, payload = _get(s3, bucket, "k", "n")
    assert payload == b"on latest" and got["ObjectVersionId"] == v2
    # a new version starts without annotations
    s3.put_object(Bucket=bucket, Key="k", Body=b"three")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        _get(s3, bucket, "k", "n")
    assert _err(exc) == (404, "NoSuchAnnotation")
    # deleting a version deletes its annotations
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v1)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        _get(s3, bucket, "k", "n", VersionId=v1)
    assert _err(exc)[0] == 404
    assert _get(s3, bucket, "k", "n", VersionId=v2)[1] == b"on latest"


def test_null_version_overwrite_drops_annotations(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"one")
    _put(s3, bucket, "k", "n", b"x")
    s3.put_object(Bucket=bucket, Key="k", Body=b"two")
    assert s3.list_object_annotations(Bucket=bucket, Key="k").get("Annotations", []) == []


def test_encryption_inherited(server: Any, s3: Any, bucket: str) -> None:
    kms = server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    cases = [({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_id}, "aws:kms"),
             ({"ServerSideEncryption": "aws:kms:dsse", "SSEKMSKeyId": key_id}, "aws:kms:dsse"),
             ({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_id, "BucketKeyEnabled": True}, "aws:kms"),
             ({"ServerSideEncryption": "AES256"}, "AES256")]
    for n, (sse, expected) in enumerate(cases):
        key = f"k{n}"
        s3.put_object(Bucket=bucket, Key=key, Body=b"x", **sse)
        assert _put(s3, bucket, key, "n", b"payload")["ServerSideEncryption"] == expected
        got, payload = _get(s3, bucket, key, "n")
        assert payload == b"payload" and got["ServerSideEncryption"] == expected
    # the annotation of a KMS object is unreadable once its key is disabled (KMS Decrypt, as GetObject)
    kms.disable_key(KeyId=key_id)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        _get(s3, bucket, "k0", "n")
    assert _err(exc) == (400, "KMS.DisabledException")
    kms.enable_key(KeyId=key_id)


def test_sse_c_parent_refused(server: Any, bucket: str) -> None:
    with running_server(allow_sse_c_over_http=True) as srv:
        s3 = srv.client("s3")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BlockedEncryptionTypes": {
                "EncryptionType": ["NONE"]}}]})
        key = os.urandom(32)
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", SSECustomerAlgorithm="AES256", SSECustomerKey=key)
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            _put(s3, bucket, "k", "n", b"payload")
        assert _err(exc) == (400, "InvalidRequest")


def test_names_and_sizes(s3: Any, raw: Raw, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    for name, code in (("aws-x", "InvalidAnnotationName"), ("S3thing", "InvalidAnnotationName"),
                       ("a/b", "InvalidAnnotationName"), ("a b", "InvalidAnnotationName"),
                       ("n" * 513, "AnnotationNameTooLong")):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            _put(s3, bucket, "k", name, b"p")
        assert _err(exc) == (400, code)
    _put(s3, bucket, "k", "é" * 256, b"p")                   # 512 bytes
    _put(s3, bucket, "k", "big", b"a" * A.MAX_PAYLOAD)
    assert len(_get(s3, bucket, "k", "big")[1]) == A.MAX_PAYLOAD
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        _put(s3, bucket, "k", "big", b"a" * (A.MAX_PAYLOAD + 1))
    assert _err(exc) == (400, "EntityTooLarge")
    response = raw("PUT", f"/{bucket}/k", query="annotation&annotationName=empty", body=b"")
    assert response.status_code == 400 and error_of(response)["Code"] == "InvalidRequest"
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        _put(s3, bucket, "k", "bin", b"\xff\xfe")
    assert _err(exc) == (415, "UnsupportedMediaType")


def test_annotation_limit(s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(A, "MAX_ANNOTATIONS", 3)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    for n in range(3):
        _put(s3, bucket, "k", f"n{n}", b"p")
    _put(s3, bucket, "k", "n0", b"overwrite is not a new one")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        _put(s3, bucket, "k", "n3", b"p")
    assert _err(exc) == (400, "AnnotationLimitExceeded")


def test_checksums(s3: Any, raw: Raw, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    out = _put(s3, bucket, "k", "n", b"payload", ChecksumAlgorithm="SHA256")
    assert out["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"payload").digest()).decode()
    got, _ = _get(s3, bucket, "k", "n", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == out["ChecksumSHA256"]
    plain = raw("GET", f"/{bucket}/k", query="annotation&annotationName=n")
    assert plain.status_code == 200 and plain.content == b"payload"
    assert "x-amz-checksum-sha256" not in plain.headers                 # only with x-amz-checksum-mode ENABLED
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    response = raw("PUT", f"/{bucket}/k", query="annotation&annotationName=m", body=b"payload",
                   headers={"x-amz-checksum-sha256": wrong})
    assert response.status_code == 400 and error_of(response)["Code"] == "BadDigest"
    response = raw("PUT", f"/{bucket}/k", query="annotation&annotationName=m", body=b"payload",
                   headers={"Content-MD5": base64.b64encode(hashlib.md5(b"other").digest()).decode()})
    assert response.status_code == 400 and error_of(response)["Code"] == "BadDigest"


def test_errors(s3: Any, s3_alt: Any, raw: Raw, bucket: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        _put(s3, bucket + "-missing", "k", "n", b"p")
    assert _err(exc) == (404, "NoSuchBucket")
    for call in (lambda: _put(s3, bucket, "nokey", "n", b"p"), lambda: _get(s3, bucket, "nokey", "n"),
                 lambda: s3.list_object_annotations(Bucket=bucket, Key="nokey"),
                 lambda: s3.delete_object_annotation(Bucket=bucket, Key="nokey", AnnotationName="n")):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            call()
        assert _err(exc) == (404, "NoSuchKey")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.list_object_annotations(Bucket=bucket, Key="k", AnnotationPrefix="p" * 513)
    assert _err(exc) == (400, "InvalidPrefix")
    response = raw("GET", f"/{bucket}/k", query="annotation&annotation-prefix=%00")
    assert response.status_code == 400 and error_of(response)["Code"] == "InvalidPrefix"
    for token in ("%25%25%25", "%FF", ""):
        response = raw("GET", f"/{bucket}/k", query=f"annotation&continuation-token={token}")
        assert response.status_code == 400 and error_of(response)["Code"] == "InvalidArgument", token
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        _put(s3, bucket, "k", "n", b"p", ExpectedBucketOwner="000000000001")
    assert _err(exc) == (403, "AccessDenied")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        _put(s3, bucket, "k", "n", b"p", ObjectIfMatch='"0123"')
    assert _err(exc) == (412, "PreconditionFailed")
    etag = s3.head_object(Bucket=bucket, Key="k")["ETag"]
    _put(s3, bucket, "k", "n", b"p", ObjectIfMatch=etag)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.delete_object_annotation(Bucket=bucket, Key="k", AnnotationName="n", ObjectIfMatch='"0123"')
    assert _err(exc) == (412, "PreconditionFailed")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        _get(s3_alt, bucket, "k", "n")
    assert _err(exc) == (403, "AccessDenied")


def test_after_a_restart_and_with_the_version(tmp_path: Any) -> None:
    with running_server(data_dir=str(tmp_path)) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="bkt-annot")
        s3.put_bucket_versioning(Bucket="bkt-annot", VersioningConfiguration={"Status": "Enabled"})
        v1 = s3.put_object(Bucket="bkt-annot", Key="k", Body=b"one")["VersionId"]
        v2 = s3.put_object(Bucket="bkt-annot", Key="k", Body=b"two")["VersionId"]
        _put(s3, "bkt-annot", "k", "kept", b"stays", VersionId=v2)
        _put(s3, "bkt-annot", "k", "gone", b"goes", VersionId=v1)
        _put(s3, "bkt-annot", "k", "removed", b"deleted")
        s3.delete_object_annotation(Bucket="bkt-annot", Key="k", AnnotationName="removed")
    documents = glob.glob(os.path.join(str(tmp_path), "meta", "annotations", "*", "*.json"))
    assert len(documents) == 2
    stored = b"".join(pathlib.Path(d).read_bytes() for d in documents)        # ciphertext at rest
    assert b"stays" not in stored and base64.b64encode(b"stays")[:6] not in stored
    with running_server(data_dir=str(tmp_path)) as server:
        s3 = server.client("s3")
        assert _get(s3, "bkt-annot", "k", "kept")[1] == b"stays"
        assert _get(s3, "bkt-annot", "k", "gone", VersionId=v1)[1] == b"goes"
        assert [a["AnnotationName"] for a in s3.list_object_annotations(Bucket="bkt-annot", Key="k")["Annotations"]] == [
            "kept"]
        s3.delete_object(Bucket="bkt-annot", Key="k", VersionId=v1)
    assert len(glob.glob(os.path.join(str(tmp_path), "meta", "annotations", "*", "*.json"))) == 1
    with running_server(data_dir=str(tmp_path)) as server:
        s3 = server.client("s3")
        assert _get(s3, "bkt-annot", "k", "kept")[1] == b"stays"
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            _get(s3, "bkt-annot", "k", "gone", VersionId=v1)
        assert _err(exc)[0] == 404


def test_orphans_removed_at_load(tmp_path: Any) -> None:
    """A document whose version is gone (a kill -9 between the two writes) is removed at the next start."""
    with running_server(data_dir=str(tmp_path)) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="bkt-annot")
        s3.put_object(Bucket="bkt-annot", Key="k", Body=b"one")
        _put(s3, "bkt-annot", "k", "n", b"p")
        documents = glob.glob(os.path.join(str(tmp_path), "meta", "annotations", "*", "*.json"))
        saved = {d: pathlib.Path(d).read_bytes() for d in documents}
        s3.delete_object(Bucket="bkt-annot", Key="k")
    for path, data in saved.items():          # as if the removal had not happened
        with open(path, "wb") as f:
            f.write(data)
    with running_server(data_dir=str(tmp_path)) as server:
        s3 = server.client("s3")
        s3.put_object(Bucket="bkt-annot", Key="k", Body=b"one")
        assert s3.list_object_annotations(Bucket="bkt-annot", Key="k").get("Annotations", []) == []
    assert glob.glob(os.path.join(str(tmp_path), "meta", "annotations", "*", "*.json")) == []


@pytest.mark.parametrize("step", ["meta.annotation.partial", "meta.annotation.written", "meta.annotation.removed"])
def test_kill_at_annotation_write_steps(tmp_path: Any, step: str) -> None:
    """Killed while an annotation is overwritten (or deleted), the restarted server has the old one or the new one
    (or none, once deleted), whole, and never a torn document."""
    import boto3
    from botocore.config import Config

    template = str(tmp_path / "template")
    with running_server(data_dir=template) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="bkt-annot")
        s3.put_object(Bucket="bkt-annot", Key="k", Body=b"x")
        _put(s3, "bkt-annot", "k", "n", b"old payload")
        credentials = server.credentials["main"]
    data_dir = str(tmp_path / "data")
    shutil.copytree(template, data_dir)
    with serve_until_crash(data_dir, step) as endpoint:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=credentials["access_key"], aws_secret_access_key=credentials["secret_key"],
                          config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=20))
        with pytest.raises((botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)):
            if step.endswith(".removed"):
                s3.delete_object_annotation(Bucket="bkt-annot", Key="k", AnnotationName="n")
            else:
                _put(s3, "bkt-annot", "k", "n", b"new payload")
    with running_server(data_dir=data_dir) as server:
        s3 = server.client("s3")
        listed = s3.list_object_annotations(Bucket="bkt-annot", Key="k").get("Annotations", [])
        if step.endswith(".removed"):
            assert listed == []
        else:
            assert [a["AnnotationName"] for a in listed] == ["n"]
            payload = _get(s3, "bkt-annot", "k", "n")[1]
            assert payload == (b"old payload" if step.endswith(".partial") else b"new payload")
