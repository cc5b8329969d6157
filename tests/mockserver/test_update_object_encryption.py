"""UpdateObjectEncryption on the reference server: boto3's current client calls it (with the checksum it sends by
default), the data key is re-wrapped while the stored ciphertext stays byte for byte, every other property of the
version is kept, KMS is called once per side, and the documented errors."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from typing import Any

import botocore.exceptions
import pytest
import requests

from mockserver.handlers import update_encryption as U
from mockserver.server import running_server
from tests.mockserver.conftest import Raw, client_error, error_of


def _metrics(srv: Any) -> dict[str, dict[str, int]]:
    return requests.get(srv.endpoint + "/_mockserver/metrics", timeout=30).json()["kms"]


def _calls(srv: Any, before: dict[str, dict[str, int]], arn: str, op: str) -> int:
    return _metrics(srv).get(arn, {}).get(op, 0) - before.get(arn, {}).get(op, 0)


def _kms(srv: Any) -> Any:
    return srv.client("kms")


def _sse_kms(arn: str, bucket_key: bool | None = None) -> dict[str, Any]:
    inner: dict[str, Any] = {"KMSKeyArn": arn}
    if bucket_key is not None:
        inner["BucketKeyEnabled"] = bucket_key
    return {"SSEKMS": inner}


@pytest.fixture(scope="module")
def srv() -> Any:
    with running_server() as server:
        yield server


@pytest.fixture(scope="module")
def s3(srv: Any) -> Any:
    return srv.client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"uoe-{uuid.uuid4().hex[:20]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def raw(srv: Any) -> Raw:
    return Raw(srv)


def _body(arn: str | None = None, bucket_key: str | None = None, inner: str | None = None) -> bytes:
    if inner is None:
        parts = []
        if arn is not None:
            parts.append(f"<KMSKeyArn>{arn}</KMSKeyArn>")
        if bucket_key is not None:
            parts.append(f"<BucketKeyEnabled>{bucket_key}</BucketKeyEnabled>")
        inner = f"<SSE-KMS>{''.join(parts)}</SSE-KMS>"
    return (f'<ObjectEncryption xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}</ObjectEncryption>').encode()


def _put_raw(raw: Raw, bucket: str, key: str, body: bytes, *, query: str = "encryption",
             headers: dict[str, str] | None = None) -> requests.Response:
    h = {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}
    h.update(headers or {})
    return raw("PUT", f"/{bucket}/{key}", query=query, body=body, headers={k: v for k, v in h.items() if v})


def test_boto3_sse_s3_to_kms_keeps_everything(srv: Any, s3: Any, bucket: str) -> None:
    key_arn = _kms(srv).create_key()["KeyMetadata"]["Arn"]
    data = os.urandom(100_000)
    s3.put_object(Bucket=bucket, Key="o", Body=data, Metadata={"colour": "blue"}, StorageClass="STANDARD_IA",
                  ChecksumAlgorithm="SHA256", ContentType="text/x-test")
    before_head = s3.head_object(Bucket=bucket, Key="o", ChecksumMode="ENABLED")
    assert before_head["ServerSideEncryption"] == "AES256"
    before = _metrics(srv)
    out = s3.update_object_encryption(Bucket=bucket, Key="o", ObjectEncryption=_sse_kms(key_arn))
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert _calls(srv, before, key_arn, "Encrypt") == 1
    assert _calls(srv, before, key_arn, "GenerateDataKey") == 0
    head = s3.head_object(Bucket=bucket, Key="o", ChecksumMode="ENABLED")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == key_arn
    assert "BucketKeyEnabled" not in head
    for field in ("ETag", "LastModified", "StorageClass", "Metadata", "ContentType", "ChecksumSHA256",
                  "ContentLength"):
        assert head.get(field) == before_head.get(field), field
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == data


def test_kms_key_a_to_b_one_decrypt_one_encrypt(srv: Any, s3: Any, bucket: str) -> None:
    kms = _kms(srv)
    a = kms.create_key()["KeyMetadata"]["Arn"]
    b = kms.create_key()["KeyMetadata"]["Arn"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x" * 5000, ServerSideEncryption="aws:kms", SSEKMSKeyId=a)
    etag = s3.head_object(Bucket=bucket, Key="k")["ETag"]
    before = _metrics(srv)
    s3.update_object_encryption(Bucket=bucket, Key="k", ObjectEncryption=_sse_kms(b))
    assert _calls(srv, before, a, "Decrypt") == 1
    assert _calls(srv, before, b, "Encrypt") == 1
    head = s3.head_object(Bucket=bucket, Key="k")
    assert (head["SSEKMSKeyId"], head["ETag"]) == (b, etag)
    # the old key is no longer needed: disable it and read
    kms.disable_key(KeyId=a)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x" * 5000
    # and the new key is: disable it and the read fails as KMS says
    kms.disable_key(KeyId=b)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket=bucket, Key="k")
    assert client_error(err.value)[1] == "KMS.DisabledException"


def test_apply_bucket_key(srv: Any, s3: Any, bucket: str) -> None:
    a = _kms(srv).create_key()["KeyMetadata"]["Arn"]
    for name in ("b1", "b2"):
        s3.put_object(Bucket=bucket, Key=name, Body=name.encode() * 3000, ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=a)
    before = _metrics(srv)
    for name in ("b1", "b2"):
        s3.update_object_encryption(Bucket=bucket, Key=name, ObjectEncryption=_sse_kms(a, True))
    assert _calls(srv, before, a, "Decrypt") == 2
    assert _calls(srv, before, a, "GenerateDataKey") == 1          # one bucket key for both
    assert _calls(srv, before, a, "Encrypt") == 0
    for name in ("b1", "b2"):
        head = s3.head_object(Bucket=bucket, Key=name)
        assert head["BucketKeyEnabled"] is True and head["SSEKMSKeyId"] == a
        assert s3.get_object(Bucket=bucket, Key=name)["Body"].read() == name.encode() * 3000
    # and away from the bucket key again
    b = _kms(srv).create_key()["KeyMetadata"]["Arn"]
    s3.update_object_encryption(Bucket=bucket, Key="b1", ObjectEncryption=_sse_kms(b, False))
    head = s3.head_object(Bucket=bucket, Key="b1")
    assert "BucketKeyEnabled" not in head and head["SSEKMSKeyId"] == b
    assert s3.get_object(Bucket=bucket, Key="b1")["Body"].read() == b"b1" * 3000


def test_multipart_object_and_specific_version(srv: Any, s3: Any, bucket: str) -> None:
    a = _kms(srv).create_key()["KeyMetadata"]["Arn"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    parts = []
    chunks = [os.urandom(5 * 1024 * 1024), os.urandom(1000)]
    for n, chunk in enumerate(chunks, 1):
        etag = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=n, Body=chunk)["ETag"]
        parts.append({"PartNumber": n, "ETag": etag})
    v1 = s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload,
                                      MultipartUpload={"Parts": parts})["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="m", Body=b"newer")["VersionId"]
    s3.update_object_encryption(Bucket=bucket, Key="m", VersionId=v1, ObjectEncryption=_sse_kms(a))
    old = s3.head_object(Bucket=bucket, Key="m", VersionId=v1)
    new = s3.head_object(Bucket=bucket, Key="m")
    assert old["SSEKMSKeyId"] == a and new["ServerSideEncryption"] == "AES256" and new["VersionId"] == v2
    listed = s3.list_object_versions(Bucket=bucket, Prefix="m")["Versions"]
    assert [v["VersionId"] for v in listed] == [v2, v1]
    got = s3.get_object(Bucket=bucket, Key="m", VersionId=v1, Range="bytes=5242870-5242889")["Body"].read()
    assert got == (chunks[0] + chunks[1])[5242870:5242890]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.update_object_encryption(Bucket=bucket, Key="m", VersionId="0" * 32, ObjectEncryption=_sse_kms(a))
    assert client_error(err.value)[:2] == (404, "NoSuchVersion")


def test_ciphertext_on_disk_unchanged(tmp_path: Any) -> None:
    data_dir = str(tmp_path / "data")
    with running_server(data_dir=data_dir) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="disk-bucket")
        s3.put_object(Bucket="disk-bucket", Key="big", Body=os.urandom(200_000))
        arn = server.client("kms").create_key()["KeyMetadata"]["Arn"]

        def snapshot() -> tuple[dict[str, bytes], str]:
            blobs = {}
            for root, _, files in os.walk(os.path.join(data_dir, "blobs")):
                for f in files:
                    with open(os.path.join(root, f), "rb") as fh:
                        blobs[os.path.join(root, f)] = fh.read()
            docs = []
            for sub in ("keys", "log"):                   # key documents: records of the key log (meta/log)
                for root, _, files in os.walk(os.path.join(data_dir, "meta", sub)):
                    for f in files:
                        with open(os.path.join(root, f), "rb") as fh:
                            docs.append(fh.read().decode("utf-8", "replace"))
            return blobs, "".join(docs)

        blobs_before, meta_before = snapshot()
        assert len(blobs_before) == 1
        s3.update_object_encryption(Bucket="disk-bucket", Key="big", ObjectEncryption=_sse_kms(arn))
        blobs_after, meta_after = snapshot()
        assert blobs_after == blobs_before                  # the ciphertext is not rewritten
        assert meta_after != meta_before and arn in meta_after
        body = s3.get_object(Bucket="disk-bucket", Key="big")["Body"].read()
    with running_server(data_dir=data_dir) as server:        # and it survives a restart
        s3 = server.client("s3")
        assert s3.head_object(Bucket="disk-bucket", Key="big")["SSEKMSKeyId"] == arn
        assert s3.get_object(Bucket="disk-bucket", Key="big")["Body"].read() == body


@pytest.mark.parametrize("body, message", [
    (_body(), U.MSG_NEED_ARN),
    (_body(arn=""), U.MSG_NEED_ARN),
    (_body(arn="1234abcd-12ab-34cd-56ef-1234567890ab"), U.MSG_BAD_ARN),
    (_body(arn="alias/my-key"), U.MSG_BAD_ARN),
    (_body(arn="arn:aws:kms:us-east-1:111122223333:alias/my-key"), U.MSG_BAD_ARN),
    (_body(arn="arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", bucket_key="yes"),
     U.MSG_BUCKET_KEY),
    (_body(inner=""), U.MSG_NEED_TYPE),
    (_body(inner="<SSE-S3/>"), U.MSG_NEED_TYPE),
    (_body(inner="<DSSE-KMS/>"), U.MSG_TARGET_TYPE),
    (_body(inner="<SSE-C/>"), U.MSG_TARGET_TYPE),
])
def test_documented_invalid_requests(raw: Raw, s3: Any, bucket: str, body: bytes, message: str) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"data")
    response = _put_raw(raw, bucket, "o", body)
    assert response.status_code == 400
    err = error_of(response)
    assert (err["Code"], err["Message"]) == ("InvalidRequest", message)


def test_source_types(srv: Any, raw: Raw, s3: Any, bucket: str) -> None:
    arn = _kms(srv).create_key()["KeyMetadata"]["Arn"]
    s3.put_object(Bucket=bucket, Key="dsse", Body=b"d", ServerSideEncryption="aws:kms:dsse", SSEKMSKeyId=arn)
    response = _put_raw(raw, bucket, "dsse", _body(arn))
    assert (response.status_code, error_of(response)["Message"]) == (400, U.MSG_SOURCE_TYPE)


def test_sse_c_source(tmp_path: Any) -> None:
    with running_server(allow_sse_c_over_http=True) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="ssec-bucket")
        s3.put_bucket_encryption(Bucket="ssec-bucket", ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
            "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]}}]})
        s3.put_object(Bucket="ssec-bucket", Key="c", Body=b"c", SSECustomerAlgorithm="AES256",
                      SSECustomerKey=os.urandom(32))
        arn = server.client("kms").create_key()["KeyMetadata"]["Arn"]
        with pytest.raises(botocore.exceptions.ClientError) as err:
            s3.update_object_encryption(Bucket="ssec-bucket", Key="c", ObjectEncryption=_sse_kms(arn))
        assert client_error(err.value) == (400, "InvalidRequest", U.MSG_SOURCE_TYPE)


def test_unencrypted_source_legacy_dialect() -> None:
    with running_server(dialect="aws-legacy") as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="plain-bucket")
        s3.put_object(Bucket="plain-bucket", Key="p", Body=b"p")
        arn = server.client("kms").create_key()["KeyMetadata"]["Arn"]
        with pytest.raises(botocore.exceptions.ClientError) as err:
            s3.update_object_encryption(Bucket="plain-bucket", Key="p", ObjectEncryption=_sse_kms(arn))
        assert client_error(err.value) == (400, "InvalidRequest", U.MSG_UNENCRYPTED)


def test_other_account_key_no_such_key_and_owner(srv: Any, s3: Any, raw: Raw, bucket: str) -> None:
    alt = srv.credentials["alt"]["account_id"]
    s3.put_object(Bucket=bucket, Key="o", Body=b"data")
    foreign = f"arn:aws:kms:{srv.region}:{alt}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.update_object_encryption(Bucket=bucket, Key="o", ObjectEncryption=_sse_kms(foreign))
    assert client_error(err.value) == (403, "AccessDenied", U.MSG_KEY_ACCOUNT)
    arn = _kms(srv).create_key()["KeyMetadata"]["Arn"]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.update_object_encryption(Bucket=bucket, Key="missing", ObjectEncryption=_sse_kms(arn))
    assert client_error(err.value)[:2] == (404, "NoSuchKey")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.update_object_encryption(Bucket=bucket, Key="o", ObjectEncryption=_sse_kms(arn),
                                    ExpectedBucketOwner=alt)
    assert client_error(err.value)[:2] == (403, "AccessDenied")
    missing = arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.update_object_encryption(Bucket=bucket, Key="o", ObjectEncryption=_sse_kms(missing))
    assert client_error(err.value)[:2] == (400, "KMS.NotFoundException")
    assert s3.head_object(Bucket=bucket, Key="o")["ServerSideEncryption"] == "AES256"


def test_integrity_headers(raw: Raw, s3: Any, bucket: str, srv: Any) -> None:
    arn = _kms(srv).create_key()["KeyMetadata"]["Arn"]
    s3.put_object(Bucket=bucket, Key="o", Body=b"data")
    body = _body(arn)
    response = _put_raw(raw, bucket, "o", body, headers={"Content-MD5": ""})
    assert (response.status_code, error_of(response)["Code"]) == (400, "InvalidRequest")
    response = _put_raw(raw, bucket, "o", body, headers={"Content-MD5": base64.b64encode(b"0" * 16).decode()})
    assert (response.status_code, error_of(response)["Code"]) == (400, "BadDigest")
    response = _put_raw(raw, bucket, "o", body, headers={"x-amz-sdk-checksum-algorithm": "CRC32", "Content-MD5": ""})
    assert response.status_code == 400
    response = _put_raw(raw, bucket, "o", b"<ObjectEncryption><SSE-KMS>")
    assert (response.status_code, error_of(response)["Code"]) == (400, "MalformedXML")
    response = _put_raw(raw, bucket, "o", body)
    assert response.status_code == 200 and response.content == b""


def test_sigv2_rejected(srv: Any, s3: Any, bucket: str) -> None:
    from botocore.auth import HmacV1Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    s3.put_object(Bucket=bucket, Key="o", Body=b"data")
    arn = _kms(srv).create_key()["KeyMetadata"]["Arn"]
    body = _body(arn)
    c = srv.credentials["main"]
    request = AWSRequest(method="PUT", url=f"{srv.endpoint}/{bucket}/o?encryption", data=body,
                         headers={"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()})
    HmacV1Auth(Credentials(c["access_key"], c["secret_key"])).add_auth(request)
    prepared = request.prepare()
    response = requests.put(prepared.url, headers=dict(prepared.headers), data=body, timeout=30)
    assert response.status_code == 400
    assert (error_of(response)["Code"], error_of(response)["Message"]) == ("InvalidRequest", U.MSG_SIGV4)


def test_metrics_json_shape(srv: Any) -> None:
    assert isinstance(json.loads(requests.get(srv.endpoint + "/_mockserver/metrics", timeout=30).text), dict)
