"""GetPart on the reference server (boto3 1.44's get_part): a part of an in-progress upload and of a completed one,
a Range within the part, checksum mode, the SSE response headers and KMS Decrypt, the documented errors and the
choices mockserver/handlers/get_part.py makes where the documentation is silent."""
from __future__ import annotations

import base64
import hashlib
import os
import uuid
from typing import Any

import botocore.config
import botocore.exceptions
import pytest
import requests

from mockserver.handlers import get_part as G
from mockserver.server import running_server
from tests.mockserver.conftest import Raw, client_error, error_of

MIB5 = 5 * 1024 * 1024


def _upload(s3: Any, bucket: str, key: str, bodies: list[bytes], numbers: list[int] | None = None,
            **create: Any) -> tuple[str, list[str]]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    etags = []
    for number, body in zip(numbers or range(1, len(bodies) + 1), bodies, strict=True):
        etags.append(s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)["ETag"])
    return upload_id, etags


def _complete(s3: Any, bucket: str, key: str, upload_id: str, etags: list[str],
              numbers: list[int] | None = None) -> dict[str, Any]:
    parts = [{"PartNumber": n, "ETag": e} for n, e in zip(numbers or range(1, len(etags) + 1), etags, strict=True)]
    return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})


def _error(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[int, str, str]:
    return client_error(exc.value)


def _metrics(server: Any) -> dict[str, dict[str, int]]:
    return requests.get(server.endpoint + "/_mockserver/metrics", timeout=30).json()["kms"]


def test_in_progress_parts(s3: Any, bucket: str) -> None:
    one, two = os.urandom(MIB5), os.urandom(1000)
    upload_id, etags = _upload(s3, bucket, "k", [one, two])
    for number, body, etag in ((1, one, etags[0]), (2, two, etags[1])):
        out = s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=number)
        assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert out["Body"].read() == body
        assert out["ETag"] == etag
        assert out["ContentLength"] == len(body)
        assert out["MultipartUploadStatus"] == "IN_PROGRESS"
        assert out["ServerSideEncryption"] == "AES256"
        assert "VersionId" not in out and "ContentRange" not in out
    # a part uploaded again replaces the one GetPart serves
    again = os.urandom(500)
    etag = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2, Body=again)["ETag"]
    out = s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2)
    assert (out["Body"].read(), out["ETag"]) == (again, etag)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=3)
    assert _error(exc)[:2] == (404, "NoSuchPart")


def test_completed_parts_and_version_id(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    one, two = os.urandom(MIB5), os.urandom(70000)
    upload_id, etags = _upload(s3, bucket, "k", [one, two])
    version_id = _complete(s3, bucket, "k", upload_id, etags)["VersionId"]
    for number, body, etag in ((1, one, etags[0]), (2, two, etags[1])):
        out = s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=number)
        assert out["Body"].read() == body
        assert (out["ETag"], out["MultipartUploadStatus"], out["VersionId"]) == (etag, "COMPLETED", version_id)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=3)
    assert _error(exc)[:3] == (404, "NoSuchPart", "The specified multipart upload part does not exist.")
    # a newer version on top (and a delete marker) leaves the completed upload's version readable
    s3.put_object(Bucket=bucket, Key="k", Body=b"newer")
    s3.delete_object(Bucket=bucket, Key="k")
    assert s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2)["Body"].read() == two
    # the version itself deleted: the upload is gone
    s3.delete_object(Bucket=bucket, Key="k", VersionId=version_id)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1)
    assert _error(exc)[:2] == (404, "NoSuchUpload")


def test_unversioned_overwrite_aborted_unknown_and_wrong_key(s3: Any, bucket: str) -> None:
    upload_id, etags = _upload(s3, bucket, "k", [b"a" * 100])
    _complete(s3, bucket, "k", upload_id, etags)
    out = s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1)
    assert out["Body"].read() == b"a" * 100 and "VersionId" not in out
    s3.put_object(Bucket=bucket, Key="k", Body=b"over")
    aborted, _ = _upload(s3, bucket, "a", [b"b" * 10])
    s3.abort_multipart_upload(Bucket=bucket, Key="a", UploadId=aborted)
    other, _ = _upload(s3, bucket, "other", [b"c" * 10])
    for key, uid in (("k", upload_id), ("a", aborted), ("k", "not-an-upload"), ("k", other)):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            s3.get_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1)
        assert _error(exc)[:2] == (404, "NoSuchUpload"), (key, uid)


def test_range_within_the_part(s3: Any, bucket: str) -> None:
    one, two = os.urandom(MIB5), os.urandom(200000)
    upload_id, etags = _upload(s3, bucket, "k", [one, two])
    for stage in ("in progress", "completed"):
        out = s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2, Range="bytes=100-199")
        assert out["ResponseMetadata"]["HTTPStatusCode"] == 206, stage
        assert out["Body"].read() == two[100:200]
        assert out["ContentRange"] == f"bytes 100-199/{len(two)}" and out["ContentLength"] == 100
        out = s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Range="bytes=-70000")
        assert out["Body"].read() == one[-70000:]
        assert out["ContentRange"] == f"bytes {MIB5 - 70000}-{MIB5 - 1}/{MIB5}"
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2, Range=f"bytes={len(two)}-")
        assert _error(exc)[:2] == (416, "InvalidRange")
        _complete(s3, bucket, "k", upload_id, etags)


@pytest.mark.parametrize(("algorithm", "digest"), [
    ("SHA256", lambda b: base64.b64encode(hashlib.sha256(b).digest()).decode()),
    ("SHA1", lambda b: base64.b64encode(hashlib.sha1(b).digest()).decode()),
    ("CRC32", None), ("CRC32C", None), ("CRC64NVME", None),
])
def test_checksum_mode(server: Any, s3: Any, bucket: str, algorithm: str, digest: Any) -> None:
    # boto3 >= 1.36 asks for checksums itself (response_checksum_validation when_supported); this one does not
    plain = server.client("s3", config=botocore.config.Config(response_checksum_validation="when_required"))
    one, two = os.urandom(MIB5), os.urandom(3000)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm=algorithm)["UploadId"]
    parts = []
    for number, body in ((1, one), (2, two)):
        out = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=number, Body=body,
                             ChecksumAlgorithm=algorithm)
        parts.append({"PartNumber": number, "ETag": out["ETag"], f"Checksum{algorithm}": out[f"Checksum{algorithm}"]})
    sent = parts[1][f"Checksum{algorithm}"]
    if digest is not None:
        assert sent == digest(two)
    for stage in ("in progress", "completed"):
        out = s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2, ChecksumMode="ENABLED")
        assert out[f"Checksum{algorithm}"] == sent, stage
        assert not [k for k in out if k.startswith("Checksum") and k not in ("ChecksumMode", f"Checksum{algorithm}")]
        out = plain.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2)
        assert not [k for k in out if k.startswith("Checksum")], stage
        out = s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2, ChecksumMode="ENABLED",
                          Range="bytes=0-9")
        assert not [k for k in out if k.startswith("Checksum")], stage
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": parts})


def test_sse_kms_headers_and_decrypt(server: Any, s3: Any, bucket: str) -> None:
    kms = server.client("kms")
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    body = os.urandom(100000)
    upload_id, etags = _upload(s3, bucket, "k", [body], ServerSideEncryption="aws:kms", SSEKMSKeyId=arn)
    before = _metrics(server).get(arn, {}).get("Decrypt", 0)
    out = s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1)
    assert out["Body"].read() == body
    assert (out["ServerSideEncryption"], out["SSEKMSKeyId"]) == ("aws:kms", arn)
    assert "BucketKeyEnabled" not in out
    assert _metrics(server)[arn]["Decrypt"] == before + 1
    _complete(s3, bucket, "k", upload_id, etags)
    kms.disable_key(KeyId=arn)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1)
    assert _error(exc)[:2] == (400, "KMS.DisabledException")
    kms.enable_key(KeyId=arn)
    # a bucket key
    upload_id, _ = _upload(s3, bucket, "bk", [b"x" * 10], ServerSideEncryption="aws:kms", SSEKMSKeyId=arn,
                           BucketKeyEnabled=True)
    out = s3.get_part(Bucket=bucket, Key="bk", UploadId=upload_id, PartNumber=1)
    assert out["BucketKeyEnabled"] is True and out["Body"].read() == b"x" * 10


def test_dsse_headers(s3: Any, bucket: str) -> None:
    upload_id, _ = _upload(s3, bucket, "k", [b"d" * 10], ServerSideEncryption="aws:kms:dsse")
    out = s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1)
    assert out["ServerSideEncryption"] == "aws:kms:dsse" and out["SSEKMSKeyId"].startswith("arn:aws:kms:")
    assert out["Body"].read() == b"d" * 10


@pytest.mark.parametrize("header", [{"x-amz-server-side-encryption": "AES256"},
                                    {"x-amz-server-side-encryption-aws-kms-key-id": "k"}])
def test_sse_request_header_is_400(raw: Raw, s3: Any, bucket: str, header: dict[str, str]) -> None:
    upload_id, _ = _upload(s3, bucket, "k", [b"x" * 10])
    response = raw("GET", f"/{bucket}/k", query=f"part&uploadId={upload_id}&partNumber=1", headers=header)
    assert response.status_code == 400
    assert error_of(response)["Code"] == "InvalidArgument"


def test_sse_c_is_not_supported() -> None:
    with running_server(dialect="aws-2023", allow_sse_c_over_http=True) as server:
        s3 = server.client("s3")
        bucket = f"ssec-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=bucket)
        key = os.urandom(32)
        ssec = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
        for complete in (False, True):
            upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k", **ssec)["UploadId"]
            etag = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"x" * 10,
                                  **ssec)["ETag"]
            if complete:
                _complete(s3, bucket, "k", upload_id, [etag])
            with pytest.raises(botocore.exceptions.ClientError) as exc:
                s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1)
            assert _error(exc) == (400, "InvalidRequest", G.MSG_SSE_C)
            headers = {"x-amz-server-side-encryption-customer-algorithm": "AES256",
                       "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
                       "x-amz-server-side-encryption-customer-key-md5":
                           base64.b64encode(hashlib.md5(key).digest()).decode()}
            response = Raw(server)("GET", f"/{bucket}/k", query=f"part&uploadId={upload_id}&partNumber=1",
                                   headers=headers)
            assert response.status_code == 400 and error_of(response)["Message"] == G.MSG_SSE_C


def test_bucket_errors_and_expected_owner(server: Any, s3: Any, bucket: str) -> None:
    upload_id, _ = _upload(s3, bucket, "k", [b"x" * 10])
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.get_part(Bucket=f"nope-{uuid.uuid4().hex[:12]}", Key="k", UploadId=upload_id, PartNumber=1)
    assert _error(exc)[:2] == (404, "NoSuchBucket")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, ExpectedBucketOwner="444455556666")
    assert _error(exc)[:2] == (403, "AccessDenied")
    out = s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, ExpectedBucketOwner="111122223333")
    assert out["Body"].read() == b"x" * 10
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        server.client("s3", account="alt").get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1)
    assert _error(exc)[:2] == (403, "AccessDenied")


@pytest.mark.parametrize("number", ["0", "10001", "x", "", "-1"])
def test_bad_part_number(raw: Raw, s3: Any, bucket: str, number: str) -> None:
    upload_id, _ = _upload(s3, bucket, "k", [b"x" * 10])
    response = raw("GET", f"/{bucket}/k", query=f"part&uploadId={upload_id}&partNumber={number}")
    assert response.status_code == 400
    assert error_of(response)["Code"] == "InvalidArgument"


def test_storage_classes(s3: Any, bucket: str) -> None:
    for storage_class in sorted(G.ARCHIVED_CLASSES):
        upload_id, etags = _upload(s3, bucket, storage_class, [b"g" * 10], StorageClass=storage_class)
        out = s3.get_part(Bucket=bucket, Key=storage_class, UploadId=upload_id, PartNumber=1)
        assert out["StorageClass"] == storage_class and out["Body"].read() == b"g" * 10
        _complete(s3, bucket, storage_class, upload_id, etags)
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            s3.get_part(Bucket=bucket, Key=storage_class, UploadId=upload_id, PartNumber=1)
        assert _error(exc)[:2] == (403, "InvalidObjectState")
    upload_id, etags = _upload(s3, bucket, "ia", [b"i" * 10], StorageClass="STANDARD_IA")
    _complete(s3, bucket, "ia", upload_id, etags)
    assert s3.get_part(Bucket=bucket, Key="ia", UploadId=upload_id, PartNumber=1)["StorageClass"] == "STANDARD_IA"


def test_non_consecutive_part_numbers(s3: Any, bucket: str) -> None:
    upload_id, etags = _upload(s3, bucket, "k", [os.urandom(MIB5), b"x" * 10], numbers=[1, 3])
    assert s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=3)["Body"].read() == b"x" * 10
    _complete(s3, bucket, "k", upload_id, etags, numbers=[1, 3])
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.get_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1)
    assert _error(exc) == (400, "InvalidRequest", G.MSG_NON_CONSECUTIVE)


def test_get_object_and_list_parts_still_route(s3: Any, bucket: str) -> None:
    upload_id, _ = _upload(s3, bucket, "k", [b"x" * 10])
    assert [p["PartNumber"] for p in s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]] == [1]
    s3.put_object(Bucket=bucket, Key="k", Body=b"plain")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"plain"


def test_after_a_restart(tmp_path: Any) -> None:
    """The disk backend: an in-progress upload's parts and a completed upload's object survive a restart."""
    big = os.urandom(MIB5)
    with running_server(data_dir=str(tmp_path)) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="disk")
        done, etags = _upload(s3, "disk", "done", [big, b"tail"])
        _complete(s3, "disk", "done", done, etags)
        open_id, _ = _upload(s3, "disk", "open", [b"x" * 1000])
    with running_server(data_dir=str(tmp_path)) as server:
        s3 = server.client("s3")
        out = s3.get_part(Bucket="disk", Key="done", UploadId=done, PartNumber=1)
        assert out["Body"].read() == big and out["MultipartUploadStatus"] == "COMPLETED"
        out = s3.get_part(Bucket="disk", Key="open", UploadId=open_id, PartNumber=1)
        assert out["Body"].read() == b"x" * 1000 and out["MultipartUploadStatus"] == "IN_PROGRESS"
